"""Card wording from the Jinja2 templates of the top-level `cards` package (env CDS_CARDS_DIR overrides the folder).

A template's body is the card's Markdown detail; short texts (summary, suggestion label, action description) are
top-level `{% set %}` blocks read back from the rendered template module.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

# The shipped templates, found where Python imports the `cards` package from: the source tree, an editable install or
# site-packages alike. pip installs a wheel as plain files, so this is a folder FileSystemLoader can read.
DEFAULT_CARDS_DIR = Path(str(resources.files("cards")))
ENV_DIR = "CDS_CARDS_DIR"
SUMMARY_LIMIT = 140
# Every template the service renders (cds_service/cards.py, dosing/cards.py) or a template imports (decision.j2):
# the start-up check (app.py) requires each of them, since an order whose card cannot be rendered gets no answer.
TEMPLATES = (
    "decision.j2", "decision-criteria.j2", "decision-no-plan.j2", "evaluation-failed.j2", "order-unidentified.j2",
    "dose-above.j2", "dose-above-maximum.j2", "dose-above-plan-limit.j2", "dose-above-together.j2", "dose-below.j2",
    "dose-unreadable.j2", "quantity-over.j2",
)


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


def cards_dir() -> Path:
    """The folder the templates are read from: CDS_CARDS_DIR, else the shipped one."""
    return Path(os.environ.get(ENV_DIR) or DEFAULT_CARDS_DIR)


def missing_templates(directory: Path) -> list[str]:
    """The TEMPLATES `directory` lacks."""
    return [name for name in TEMPLATES if not (directory / name).is_file()]


def compile_templates(directory: Path) -> None:
    """Compiles every template of `directory`, so a syntax error is raised (TemplateSyntaxError) now."""
    environment = _environment(str(directory))
    for name in TEMPLATES:
        environment.get_template(name)


def render_card(template: str, **context: Any) -> CardText:
    module = _environment(str(cards_dir())).get_template(template).make_module(context)
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
