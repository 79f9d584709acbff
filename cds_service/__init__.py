"""CDS Hooks decision support for blinatumomab (Blincyto) coverage."""

SERVICE_ID = "blinatumomab-coverage"
SERVICE_NAME = "Blinatumomab coverage check"
__version__ = "0.1.0"
