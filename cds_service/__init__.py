"""CDS Hooks decision support for blinatumomab (Blincyto) coverage."""

SERVICE_ID = "blinatumomab-coverage"
SERVICE_NAME = "Blinatumomab coverage check"
SERVICE_TITLE = "Blinatumomab (Blincyto) coverage requirements"  # of the discovery document
SERVICE_DESCRIPTION = (
    "Checks a blinatumomab order against the patient's health plan policy ({plans}) and the label dose; returns the "
    "coverage decision, what to document, and dose or quantity corrections."
)
__version__ = "0.1.0"
