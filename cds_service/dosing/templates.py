"""Card wording from the Jinja2 templates in `cards/` (env CDS_CARDS_DIR overrides the folder).

A template's body is the card's Markdown detail; short texts (summary, suggestion label, action description) are
top-level `{% set %}` blocks read back from the rendered template module.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

DEFAULT_CARDS_DIR = Path(__file__).resolve().parents[2] / "cards"
SUMMARY_LIMIT = 140


@dataclass(frozen=True)
class CardText:
    summary: str
    detail: str
    label: str = ""
    action: str = ""


@lru_cache(maxsize=4)
def _environment(directory: str) -> Environment:
    # Markdown, not HTML: no autoescaping; StrictUndefined turns a template typo into an error, not a blank card.
    # auto_reload off: templates are read once per process, not stat()ed on every card (restart to reload them).
    return Environment(loader=FileSystemLoader(directory), autoescape=False, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False, auto_reload=False)


def render_card(template: str, **context: Any) -> CardText:
    directory = os.environ.get("CDS_CARDS_DIR") or str(DEFAULT_CARDS_DIR)
    module = _environment(directory).get_template(template).make_module(context)
    return CardText(
        summary=_short(str(getattr(module, "summary", ""))),
        detail=str(module).strip(),
        label=str(getattr(module, "label", "")).strip(),
        action=str(getattr(module, "action", "")).strip(),
    )


def _short(text: str) -> str:
    """One line under 140 characters (CDS Hooks summary)."""
    line = " ".join(text.split())
    return line if len(line) < SUMMARY_LIMIT else line[: SUMMARY_LIMIT - 2].rstrip() + "…"
