"""JSON in and out of the service's hot paths: orjson, with the standard library for what orjson refuses.

Parsing a request with its prefetch takes about half the time with orjson, and writing a response a fifteenth.
orjson refuses some JSON the standard library reads (NaN and Infinity, numbers beyond the range of a double, UTF-16
and UTF-32, a byte order mark, nesting deeper than 1,024 levels): those documents fall back to `json.loads`, so what
is accepted, and the error messages of what is not, are the standard library's. One difference remains: orjson reads
an integer beyond 64 bits as a float (RFC 8259 §6 leaves that range to implementations); validation.py re-reads a
request whose echoed part holds one. Writing, orjson refuses unpaired surrogates and integers beyond 64 bits, which
the standard library writes (escaped): those documents fall back too.
"""
from __future__ import annotations

import json
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
        return json.loads(document, parse_int=_integer)


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
    """`storable_json`'s text in UTF-8, as orjson writes it: for a driver that can take it so (db._SqliteInsert)."""
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
