"""json_codec: orjson where it can, the standard library where orjson refuses a document, both held to RFC 8259."""
from __future__ import annotations

import json

import orjson
import pytest

from cds_service import json_codec

DOCUMENT = {"hook": "order-sign", "n": [1, 2.5, -3e-7, True, None], "text": "Blinatumomab µg/day — ✓"}


def test_a_plain_document_reads_as_the_standard_library_reads_it() -> None:
    raw = json.dumps(DOCUMENT).encode()
    assert json_codec.loads(raw) == json.loads(raw) == DOCUMENT
    assert json_codec.loads(raw.decode()) == DOCUMENT


@pytest.mark.parametrize("raw, said", [
    (b'{"value": NaN}', "NaN is not a JSON number (RFC 8259 §6)"),
    (b'{"value": -Infinity}', "-Infinity is not a JSON number (RFC 8259 §6)"),
    (b'{"value": 1e400}', "the number 1e400 is beyond the range of a double"),
    ('{"value": 1}'.encode("utf-16"), "it is UTF-16 text, and JSON between systems is UTF-8 (RFC 8259 §8.1)"),
    ('{"value": 1}'.encode("utf-32-le"), "it is UTF-32-LE text, and JSON between systems is UTF-8 (RFC 8259 §8.1)"),
    (b"\xff\xfe\x00", "it is UTF-16 text, and JSON between systems is UTF-8 (RFC 8259 §8.1)"),
    (b'\xef\xbb\xbf{"value": 1}', "it starts with a byte order mark, which JSON text must not (RFC 8259 §8.1)"),
    (b'{"\\ud800": 1}', "a string holds an unpaired surrogate (\\ud800), which is no Unicode character "
                        "(RFC 8259 §8.2)"),
    (b'{"value": ["\\udc80"]}', "a string holds an unpaired surrogate (\\udc80), which is no Unicode character "
                                "(RFC 8259 §8.2)"),
    (b'{"value": "\xed\xa0\x80"}', "byte 11 is not UTF-8, which JSON between systems is (RFC 8259 §8.1)"),
])
def test_what_rfc_8259_does_not_allow_between_systems_is_refused_as_orjson_refuses_it(raw: bytes, said: str) -> None:
    """The standard library, which reads what orjson refuses, reads each of these by default."""
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(raw)
    with pytest.raises(json_codec.Unreadable) as raised:
        json_codec.loads(raw)
    assert str(raised.value) == said


def test_what_orjson_refuses_but_rfc_8259_allows_is_read_by_the_standard_library() -> None:
    raw = b'{"value": ' + b"7" * 400 + b', "pair": "\\ud83d\\ude00", "fraction": 2.5}'
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(raw)
    assert json_codec.loads(raw) == {"value": int("7" * 400), "pair": "\U0001f600", "fraction": 2.5}


def test_an_integer_beyond_64_bits_reads_as_a_float_as_rfc_8259_allows() -> None:
    assert json_codec.loads(b'{"value": 123456789012345678901234567890}') == {"value": 1.2345678901234568e29}


def test_an_integer_too_long_for_python_is_refused_in_plain_words() -> None:
    """Python reads at most 4,300 digits (by default) and said so by naming sys.set_int_max_str_digits()."""
    assert json_codec.loads(b'{"value": ' + b"9" * 4300 + b"}") == {"value": int("9" * 4300)}
    with pytest.raises(json_codec.Unreadable) as raised:
        json_codec.loads(b'{"value": -' + b"9" * 4301 + b"}")
    assert str(raised.value) == "a number of 4301 digits is too long to read (at most 4300)"


@pytest.mark.parametrize("raw", [b"", b"{", b'{"a": 1,}', b'{"a": "\x01"}'])
def test_invalid_json_raises_the_standard_library_error(raw: bytes) -> None:
    with pytest.raises(ValueError) as raised:
        json_codec.loads(raw)
    with pytest.raises(ValueError) as expected:
        json.loads(raw)
    assert str(raised.value) == str(expected.value)


def test_nesting_too_deep_for_either_parser_is_a_recursion_error() -> None:
    with pytest.raises(RecursionError):
        json_codec.loads(b"[" * 100_000 + b"]" * 100_000)


def test_dumps_writes_utf8_json_and_refuses_what_json_cannot_carry() -> None:
    assert json.loads(json_codec.dumps(DOCUMENT).decode("utf-8")) == DOCUMENT
    with pytest.raises(TypeError):
        json_codec.dumps({"value": object()})


@pytest.mark.parametrize("value", ["id-\udc80", 123456789012345678901234567890])
def test_what_orjson_will_not_write_is_written_by_the_standard_library(value: object) -> None:
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps(value)
    assert json.loads(json_codec.dumps({"value": value})) == {"value": value}


def test_dumps_converts_with_default_what_json_cannot_carry() -> None:
    assert json.loads(json_codec.dumps({"since": object}, default=lambda v: "converted")) == {"since": "converted"}
    assert json.loads(json_codec.dumps({"note": "MRD \udc80"}, default=str)) == {"note": "MRD \udc80"}


@pytest.mark.parametrize("text, expected", [
    ("plain", "plain"), ("µg/day ✓", "µg/day ✓"), ("id-\udc80", "id-?"), ("a\u0000b", "a?b"), ("µ\u0000\udc80", "µ??"),
])
def test_storable_replaces_what_a_database_refuses(text: str, expected: str) -> None:
    """UTF-8 (and so every database driver) refuses an unpaired surrogate; PostgreSQL text refuses NUL."""
    assert json_codec.storable(text) == expected
