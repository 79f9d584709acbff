"""Text from clients made safe to print on one line of a log or a terminal.

A path, a hookInstance or a clinician's comment is the client's text: a newline in it would start a forged log line
("... WARNING ... jti reused by ..."), and an escape sequence would drive the terminal of whoever reads the audit
trail. Control characters are printed escaped instead, as Python writes them in a string ("\\n", "\\x1b").

A value a message quotes back is written as JSON writes it (`null`, `true`, `"text"`): the client sent JSON, and
Python's `None` or `'text'` named values it never sent. A text too long for its line (a card's summary, a drug's
name in a note) is cut between words (`cut_between_words`).
"""
from __future__ import annotations

import json
import re
from typing import Any

# C0 and C1 controls, DEL, the Unicode line and paragraph separators (which some viewers break lines at), and the
# bidirectional marks, embeddings, overrides and isolates: a client's id holding U+202E showed the rest of its log line,
# or of a `cds-service audit` row, reversed (another issuer, another status), as "Trojan Source" hides code.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
# What json.dumps leaves raw that _CONTROL escapes, and lone surrogates (JSON's "\\ud800", which no encoder writes).
_JSON_RAW = re.compile(f"[\x7f-\x9f\u2028\u2029{_BIDI}\ud800-\udfff]")
QUOTED_LENGTH = 80  # characters of a quoted string: a 5 MB id made a 5 MB line


def printable(text: str) -> str:
    """`text` with every control character escaped; text without one is returned as it is."""
    return _CONTROL.sub(_escaped, text)


def quoted_id(text: str) -> str:
    """A client-chosen id as a log line or a message carries it: a JSON string (a newline in it cannot forge a line,
    even where the log is not formatted by log_format.LogFormatter), cut to QUOTED_LENGTH characters."""
    return json_value(text)


def json_value(value: Any, limit: int | None = QUOTED_LENGTH) -> str:
    """A client's JSON value as a message quotes it: a string, number, `true`, `false` or `null` as JSON writes it,
    every control character and lone surrogate escaped (`\\u0085`, still JSON), a string cut to `limit` characters
    (None: whole); an object or an array by its kind, not its content (it may be megabytes, or clinical), unless
    empty."""
    if isinstance(value, dict | list):
        return json.dumps(value) if not value else ("an object" if isinstance(value, dict) else "an array")
    if isinstance(value, str):
        value = value[:limit]
    return _JSON_RAW.sub(_json_escaped, json.dumps(value, ensure_ascii=False))


def _escaped(control: re.Match[str]) -> str:
    return control.group().encode("unicode_escape").decode("ascii")


def _json_escaped(control: re.Match[str]) -> str:
    return f"\\u{ord(control.group()):04x}"


def cut_between_words(text: str, width: int, shortest: int = 1) -> str:
    """`text` within `width` characters, cut after a whole word with an ellipsis; cut within a word only when the
    whole words would keep fewer than `shortest` characters."""
    if len(text) <= width:
        return text
    cut = text[:width - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space >= shortest else cut).rstrip(" ,;") + "…"
