"""The card wording: the Jinja2 templates in this folder (README.md), shipped as this package's data so that an
installed service finds them (cds_service/card_text.py locates them with importlib.resources)."""
