"""JSON in and out of the service's hot paths: orjson, with the standard library for what orjson cannot do.

Parsing a request with its prefetch takes about half the time with orjson, and writing a response a fifteenth.
Reading, both parsers keep to RFC 8259 as exchanged between systems: UTF-8 text without a byte order mark (§8.1; not
UTF-16 or UTF-32), numbers without NaN or Infinity (§6), strings of Unicode characters (§8.2: an unpaired surrogate,
escaped or encoded, is none, and "the behavior of software that receives" one "is unpredictable"; it was echoed in
answers and stored as "?" in the audit trail). orjson refuses all of these; so does the standard library as set up
here (it reads them all by default). It reads what orjson refuses although RFC 8259 allows it: numbers beyond the range
of a double (a number read as infinite is refused, an integer is read exactly up to Python's 4,300 digits) and nesting
deeper than 1,024 levels (a RecursionError past Python's recursion limit). One difference remains: orjson reads an
integer beyond 64 bits as a float (RFC 8259 §6 leaves that range to implementations); validation.py re-reads a
request whose echoed part holds one. Writing, orjson refuses unpaired surrogates and integers beyond 64 bits, which
the standard library writes (escaped): those documents fall back too.

A key repeated in one object is read with its last value, by both parsers (RFC 8259 §4 leaves it to the receiver; a
gateway that reads the first would check another request than the one answered). orjson cannot tell that a key was
repeated, and finding out without it (the quotes of the body counted against those of the value written again, a
second reading when they differ) cost about a sixth of a realistic call's instructions: such a body is answered, not
refused (README, its paragraph on errors).
"""
from __future__ import annotations

import json
import math
import sys
from typing import Any, Callable

import orjson


class Unreadable(ValueError):
    """JSON the service does not read, though a parser might: its message says why in plain words (no Python)."""


def loads(document: bytes | str) -> Any:
    """Parse JSON; raises ValueError (or RecursionError for absurd nesting) as `json.loads` would, or `Unreadable`."""
    try:
        return orjson.loads(document)
    except orjson.JSONDecodeError:
        text = _utf8_text(document) if isinstance(document, bytes) else document
        value = json.loads(text, parse_int=_integer, parse_float=_finite, parse_constant=_not_a_number)
        try:  # only a string holding a surrogate cannot be written in UTF-8
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise Unreadable(f"a string holds an unpaired surrogate (\\u{ord(exc.object[exc.start]):04x}), which is no "
                             f"Unicode character (RFC 8259 §8.2)") from None
        return value


def _utf8_text(document: bytes) -> str:
    """`json.loads` reads UTF-16 and UTF-32 too, and UTF-8 with a byte order mark or encoded surrogates."""
    encoding = json.detect_encoding(document)
    if encoding == "utf-8-sig":
        raise Unreadable("it starts with a byte order mark, which JSON text must not (RFC 8259 §8.1)")
    if encoding != "utf-8":
        raise Unreadable(f"it is {encoding.upper()} text, and JSON between systems is UTF-8 (RFC 8259 §8.1)")
    try:
        return document.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"byte {exc.start} is not UTF-8, which JSON between systems is (RFC 8259 §8.1)") from None


def _not_a_number(name: str) -> float:
    raise Unreadable(f"{name} is not a JSON number (RFC 8259 §6)")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise Unreadable(f"the number {text[:20]}{'…' if len(text) > 20 else ''} is beyond the range of a double")
    return number


def _integer(digits: str) -> int:
    """An integer of the fallback parser. Python refuses to read one of more than 4,300 digits (by default), in words
    that send the client to sys.set_int_max_str_digits(): said here as what it is, a number too long."""
    limit = sys.get_int_max_str_digits()  # 0: no limit
    length = len(digits.lstrip("-"))
    if limit and length > limit:
        raise Unreadable(f"a number of {length} digits is too long to read (at most {limit})")
    return int(digits)


def dumps(document: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """UTF-8 JSON; `default` converts what JSON cannot carry, else TypeError (or ValueError) as `json.dumps` raises."""
    try:
        return orjson.dumps(document, default=default)
    except orjson.JSONEncodeError:
        return json.dumps(document, default=default).encode()


def storable(text: str) -> str:
    """A string read from JSON as a database can store it, with "?" for what it would refuse: an unpaired surrogate
    (JSON can carry one; UTF-8, and so the database driver, cannot) and NUL (which PostgreSQL text refuses)."""
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text.replace("\x00", "?")


def storable_json(document: Any) -> str:
    """JSON text for a database column: `dumps`, with every string made `storable` when one is not (only then: an
    unpaired surrogate makes orjson refuse the document, and PostgreSQL's json type refuses its escape)."""
    return storable_json_utf8(document).decode()


def storable_json_utf8(document: Any) -> bytes:
    """`storable_json`'s text in UTF-8, as orjson writes it: for a driver that can take it so (db_writes._SqliteInsert)."""
    try:
        return orjson.dumps(document, default=str)
    except orjson.JSONEncodeError:
        return json.dumps(_storable_strings(document), default=str).encode()


def _storable_strings(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {_storable_strings(k): _storable_strings(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_storable_strings(item) for item in value]
    return value
