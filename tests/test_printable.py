"""A client's value as a message or a log line quotes it (printable.py): as JSON, on one line, bounded."""
from __future__ import annotations

import json
from typing import Any

import pytest

from cds_service.printable import json_value, quoted_id


@pytest.mark.parametrize("value, quoted", [
    (None, "null"), (True, "true"), (False, "false"), (0, "0"), (1.5, "1.5"), (2**70, str(2**70)),
    ("Patient/1", '"Patient/1"'), ('say "hi"', '"say \\"hi\\""'), ("Müller", '"Müller"'),
    ({}, "{}"), ([], "[]"), ({"name": "Jane Doe"}, "an object"), (["Jane Doe"], "an array"),
])
def test_a_value_is_quoted_as_json_writes_it(value: Any, quoted: str) -> None:
    assert json_value(value) == quoted


@pytest.mark.parametrize("text", ["a\nb", "\u0000", "\x1b[31m", "\u007f", "\u0085", "next\u2028line", "\ud800"])
def test_control_characters_and_lone_surrogates_are_escaped_and_the_quote_stays_json(text: str) -> None:
    quoted = json_value(text)
    assert quoted.isprintable() and quoted.isascii()
    assert json.loads(quoted) == text


def test_a_long_string_is_cut() -> None:
    assert quoted_id("x" * 5_000) == json.dumps("x" * 80)
    assert json_value("x" * 300, 200) == json.dumps("x" * 200)
    assert json_value("x" * 300, None) == json.dumps("x" * 300)
