"""Bidirectional controls in a client's text are printed escaped, as control characters are (printable.py): found by
a security review. A hookInstance (or a comment) holding U+202E RIGHT-TO-LEFT OVERRIDE showed the rest of its log
line, or of a `cds-service audit` row, reversed, so that what an operator read was not what was logged."""
from __future__ import annotations

import json
import logging

import pytest

from cds_service.log_format import LINE_FORMAT, LogFormatter
from cds_service.printable import json_value, printable

BIDI = ["\u202e", "\u202a", "\u202b", "\u202c", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f",
        "\u061c"]


@pytest.mark.parametrize("control", BIDI)
def test_a_bidirectional_control_is_escaped(control: str) -> None:
    text = f"call{control}1 ok"
    assert printable(text) == f"call\\u{ord(control):04x}1 ok"
    quoted = json_value(text)
    assert quoted.isascii() and json.loads(quoted) == text


def test_a_log_line_shows_a_spoofing_id_as_written() -> None:
    message = "400 on POST /x, hookInstance %s: ok; iss=https://ehr.example.org"
    record = logging.LogRecord("cds_service.routes", logging.INFO, __file__, 0, message, ("\u202egro.elpmaxe",), None)
    line = LogFormatter(LINE_FORMAT).format(record)
    assert "\u202e" not in line and "hookInstance \\u202egro.elpmaxe: ok" in line


def test_text_of_other_scripts_is_printed_as_it_is() -> None:
    assert printable("Müller, 山田, מרים, مريم") == "Müller, 山田, מרים, مريم"
