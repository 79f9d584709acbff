"""Card wording from the Jinja2 templates of the top-level `cards` package (env CDS_CARDS_DIR overrides the folder),
for every card of the service: the decision cards (cards.py) and the dose and quantity cards (dosing/cards.py). The
policies make their fixed texts `Wording`s when their files are loaded.

A template's body is the card's Markdown detail; short texts (summary, suggestion label, action description) are
top-level `{% set %}` blocks read back from the rendered template module. A `summary_tail` (what to do, for a card
offering no suggestion that does it) ends the summary when the whole fits the limit, and is left out otherwise: the
summary's own account comes first and is never cut for it.

Every value a template prints (`{{ ... }}`) is made inert for Markdown here, once, whatever its origin: text from the
patient's record or the client (a vaccine name, a unit, an order's dosage text) reaches the cards through many
variables, and a new one must not be able to forget it. Only `Markdown` (the `markdown` filter: a macro's rendered
lines) is printed as it is. The short texts are plain text (CDS Hooks): their escapes are undone.
"""
from __future__ import annotations

import os
import re
import traceback
import uuid
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, MutableMapping, NamedTuple

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from jinja2.filters import sync_do_join

from cds_service.printable import cut_between_words

# The shipped templates, found where Python imports the `cards` package from: the source tree, an editable install or
# site-packages alike. pip installs a wheel as plain files, so this is a folder FileSystemLoader can read.
DEFAULT_CARDS_DIR = Path(str(resources.files("cards")))
ENV_DIR = "CDS_CARDS_DIR"
SUMMARY_LIMIT = 140
# The code system of a card's topic (CDS Hooks card types, as Da Vinci CRD uses them).
CARD_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/cdshooks-card-type"
# Every template the service renders (cds_service/cards.py, dosing/cards.py): the start-up check
# (startup_checks.py) requires each of them, since an order whose card cannot be rendered gets no answer.
TEMPLATES = (
    "decision.j2", "decision-no-plan.j2", "evaluation-failed.j2", "order-unidentified.j2",
    "dose-above.j2", "dose-above-maximum.j2", "dose-above-plan-limit.j2", "dose-above-together.j2", "dose-below.j2",
    "dose-past-cycle.j2", "dose-per-m2-without-bsa.j2", "dose-unreadable.j2", "quantity-over.j2",
    "order-spans-cycles.j2", "cycle-rest.j2", "duplicate-order.j2",
)


# What GitHub-flavoured Markdown (card detail, as EHRs render it) would read as formatting in printed text: emphasis,
# code, links and images, HTML, table cells, headings, strikethrough and the escape character itself; a list marker or
# a numbered item's dot at the very start; a line break, which could open a heading, a list or a table row of its own.
_SPECIAL = re.compile(r"[\\`*_\[\]<>|#~]")
_ACTIVE = re.compile(r"[\\`*_\[\]<>|#~\r\n]")  # _SPECIAL or a line break
_LINE_BREAKS = re.compile(r"[\r\n]+")
_MARKER = re.compile(r"^(\s*)(?:([-+])|(\d+)([.)]))(?=\s|$)")
_MARKER_STARTS = " \t-+0123456789"  # how a text _MARKER matches can begin: most texts are not looked at further
_ESCAPED = re.compile(r"\\([\\`*_\[\]<>|#~.)+-])")  # what markdown_text escapes: undone in the plain short texts


class Markdown(str):
    """Text that is Markdown already (a macro's rendered lines, printed through the `markdown` filter): a template
    prints it as it is. Nothing from the record may be wrapped in it.

    No shipped template uses the filter now (decision.j2 writes its criteria itself), but it stays: an operator's
    reviewed copy of the cards folder (CDS_CARDS_DIR) made from an earlier version may print a macro's output with
    `| markdown`, and must keep starting and rendering as it did (cards/README.md documents the filter)."""


class Wording(str):
    """Fixed text printed on many cards (a policy's own words: its criteria, citations, titles), with its Markdown
    form made once, when the text is (a policy file is loaded), rather than searched for active characters on every
    card: a decision card prints some thirty of them, the longest of its values. Otherwise the text itself: equal to
    it, and written as it in JSON."""

    markdown: str

    def __new__(cls, text: str) -> Wording:
        wording = super().__new__(cls, text)
        wording.markdown = markdown_text(text)
        return wording


def markdown_text(value: Any) -> str:
    """`value` as text that Markdown shows as written: its active characters backslash-escaped, line breaks made
    spaces. The finalize of every template value, so the common case, nothing to escape, costs one search."""
    if type(value) is not str:
        if isinstance(value, Wording):  # before Markdown: a card prints a dozen Wordings for each Markdown
            return value.markdown
        if type(value) is int:  # digits, maybe after a minus: never Markdown (a cycle, a count); no search
            return str(value)
        if isinstance(value, Markdown):
            return value
        value = str(value)
    # value[0], not value[:1]: no slice object for every printed text (the empty text has nothing to escape).
    text: str = value
    if _ACTIVE.search(text) is None and (not text or text[0] not in _MARKER_STARTS or _MARKER.match(text) is None):
        return text
    return _MARKER.sub(_escaped_marker, _SPECIAL.sub(r"\\\g<0>", _LINE_BREAKS.sub(" ", text)))


def _escaped_marker(found: re.Match[str]) -> str:
    """Escapes the sign of "- x", or the dot of "1. x": what makes a list item of the line."""
    indent, sign, number, dot = found.groups()
    return f"{indent}\\{sign}" if sign else f"{indent}{number}\\{dot}"


def plain_text(text: str) -> str:
    """A short text (summary, label, action) as plain text: CDS Hooks does not render it as Markdown, so the escapes
    markdown_text added to its values are undone (the templates' own words have no backslash)."""
    return _ESCAPED.sub(r"\1", text) if "\\" in text else text


class CardText(NamedTuple):
    """A card's texts. A NamedTuple, not a frozen dataclass, which sets each field through object.__setattr__."""

    summary: str
    detail: str
    label: str = ""
    action: str = ""
    # The summary's whole line, before render_card's cut at the limit: a card composing its summary by parts gives
    # them up whole from it (cards.decision_card), where the cut text would keep a phrase cut in its middle.
    line: str = ""


class _CardEnvironment(Environment):
    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        # A template's globals as a plain dict, not Jinja's ChainMap over the environment's: each card copies its
        # template's globals into a new context (and decision.j2's import compares them with its own), which for a
        # ChainMap runs key by key in Python. The environment's globals never change once it is made: a copy
        # misses nothing.
        return {**self.globals, **(d or {})}


@lru_cache(maxsize=4)
def _environment(directory: str) -> Environment:
    # Markdown, not HTML: no HTML autoescaping, but every printed value passes markdown_text (finalize).
    # StrictUndefined turns a template typo into an error, not a blank card.
    # auto_reload off: templates are read once per process, not stat()ed on every card (restart to reload them).
    # cache_size -1: the templates are a fixed few, kept in a plain dict rather than Jinja's LRU cache, whose every
    # lookup takes a lock and reorders a queue (each card looks up its template, decision.j2 its macro's too).
    environment = _CardEnvironment(loader=FileSystemLoader(directory), autoescape=False, undefined=StrictUndefined,
                                   trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
                                   auto_reload=False, cache_size=-1, finalize=markdown_text)
    environment.filters["markdown"] = Markdown  # for operators' macros (see Markdown)
    # Jinja's `join` is a wrapper that asks, on every call, whether the environment is async before calling this,
    # its synchronous form: a decision card joins up to nine lists (each criterion's evidence among them).
    environment.filters["join"] = sync_do_join
    return environment


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


def render_problem(directory: Path, samples: Iterable[tuple[str, dict[str, Any]]]) -> str:
    """"" when every template of `directory` renders with its sample contexts (card_samples.py); else the first
    failure: "<template> line <n>: <error>", the template being the one that failed (maybe one imported)."""
    environment = _environment(str(directory))
    for name, context in samples:
        try:
            environment.get_template(name).render(context)
        except Exception as exc:  # an operator's template can fail as any Python code can: each stops the start-up
            return f"{_failed_at(exc, directory, name)}: {exc}"
    return ""


def _failed_at(exc: Exception, directory: Path, name: str) -> str:
    # Jinja rewrites the traceback of a failed render so that a template's frames carry its file and line.
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename)
        if path.parent == directory and path.suffix == ".j2":
            return f"{path.name} line {frame.lineno}"
    return name


def _one_blank_line(detail: str) -> str:
    """Runs of blank lines a template's optional paragraphs leave, as one: one blank line in Markdown, but an EHR that
    shows the detail as text shows them all. Replaced in C, not by a regular expression, which scanned a 5 KB detail
    at every character (37 µs a card)."""
    while "\n\n\n" in detail:
        detail = detail.replace("\n\n\n", "\n\n")
    return detail


def render_card(template: str, **context: Any) -> CardText:
    # The folder as text, not cards_dir(): a Path built for every card cost more than the lookup it keys.
    directory = os.environ.get(ENV_DIR) or str(DEFAULT_CARDS_DIR)
    module = _environment(directory).get_template(template).make_module(context)
    # The template's top-level {% set %}s, read from the module's __dict__ (where Jinja puts them), not by getattr
    # with a default: most cards set no label and no action, and each such getattr raised and cleared an error.
    names = module.__dict__
    line = " ".join(plain_text(str(names.get("summary", ""))).split())
    tail = " ".join(plain_text(str(names.get("summary_tail", ""))).split())
    line = line + tail if tail and len(line) + len(tail) < SUMMARY_LIMIT else line
    return CardText(
        summary=_short(line),
        detail=_one_blank_line(str(module).strip()),
        label=plain_text(str(names.get("label", "")).strip()),
        action=plain_text(str(names.get("action", "")).strip()),
        line=line,
    )


def card_shell(reference: str, text: CardText, indicator: str, label: str, topic: dict[str, str]) -> dict[str, Any]:
    """A CDS Hooks card of the rendered `text` answering the order `reference`: a uuid naming it within this call
    (order_answers.stable_uuids gives the one sent, once the card is final), the summary, the indicator, the source
    (`label` and a copy of `topic`), the Markdown detail and the extension naming the order."""
    return {"uuid": str(uuid.uuid4()), "summary": text.summary, "indicator": indicator,
            "source": {"label": label, "topic": dict(topic)}, "detail": text.detail,
            "extension": {"davinci-crd.associated-resource": [{"reference": reference}]}}


def _short(text: str) -> str:
    """One line under 140 characters (CDS Hooks summary), cut after a whole word if need be: a cut within one ("28
    mcg/d…", "Condition/al…") misleads where a whole word left out does not."""
    line = " ".join(text.split())
    return line if len(line) < SUMMARY_LIMIT else cut_between_words(line, SUMMARY_LIMIT - 1)
