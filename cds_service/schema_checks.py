"""The request schema (schemas/hook-request.json) compiled into plain checks, once, when it loads.

jsonschema's is_valid cost ~100 us a request, most of it its own machinery (a validator object created for each
subschema it descends into), for the few keywords hook-request.json uses. Those keywords are compiled here once into
closures that give the same verdict in a few microseconds; jsonschema stays the authority on what is wrong (it words
every 400, validation.py) and judges any schema using a keyword not compiled here. tests/test_errors.py checks the two
agree.
"""
from __future__ import annotations

import re
import sys
from typing import Any, Callable

_Check = Callable[[Any], bool]
_ANNOTATIONS = frozenset(("$schema", "$id", "title", "description"))  # no effect on validity
# JSON types as the Python values a JSON parser gives (no Decimal or complex); a bool is no number (jsonschema's type
# checker).
_TYPE_CLASSES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "null": (type(None),), "boolean": (bool,),
    "number": (int, float),
}


def compiled_check(schema: Any) -> _Check | None:
    """A check giving jsonschema's verdict on an instance of `schema`; None when the schema uses a keyword (or a
    form of one) not compiled here."""
    if not isinstance(schema, dict):
        return None
    string = _string_check(schema)
    if string is not None:
        return string
    checks = []
    for keyword, value in schema.items():
        if keyword in _ANNOTATIONS:
            continue
        check = _keyword_check(keyword, value)
        if check is None:
            return None
        checks.append(check)
    return _all_of(checks)


# The checks below loop in plain code: all() over a generator costs a generator frame and a resumption per item, more
# than the checks themselves.
def _all_of(checks: list[_Check]) -> _Check:
    if len(checks) == 1:
        return checks[0]

    def check(instance: Any) -> bool:
        for each in checks:
            if not each(instance):
                return False
        return True

    return check


def _keyword_check(keyword: str, value: Any) -> _Check | None:
    if keyword == "type":
        return _type_check([value] if isinstance(value, str) else value)
    if keyword == "required" and isinstance(value, list):
        return _required_check(value)
    if keyword == "properties" and isinstance(value, dict):
        return _properties_check(value)
    if keyword == "items":
        each = compiled_check(value)
        return None if each is None else _items_check(each)
    if keyword == "minLength" and type(value) is int:
        return lambda instance: not isinstance(instance, str) or len(instance) >= value
    if keyword == "maxLength" and type(value) is int:
        return lambda instance: not isinstance(instance, str) or len(instance) <= value
    if keyword == "pattern" and isinstance(value, str):
        search = re.compile(value).search  # jsonschema's pattern is re.search too
        return lambda instance: not isinstance(instance, str) or search(instance) is not None
    if keyword == "const" and isinstance(value, str):  # a string equals only an equal string (jsonschema's equal)
        return lambda instance: instance == value
    return None


_STRING_KEYWORDS = frozenset(("type", "minLength", "maxLength"))


def _string_check(schema: dict[str, Any]) -> _Check | None:
    """A string schema's type and lengths (the request's ids: hookInstance, patientId, userId...) in one check, not a
    check per keyword and a loop over them: three calls less per id. None for any other schema."""
    if not schema.keys() - _ANNOTATIONS <= _STRING_KEYWORDS or schema.get("type") not in ("string", ["string", "null"]):
        return None
    low, high = schema.get("minLength", 0), schema.get("maxLength", sys.maxsize)
    if type(low) is not int or type(high) is not int:
        return None
    nullable = schema["type"] != "string"

    def check(instance: Any) -> bool:
        if isinstance(instance, str):
            return low <= len(instance) <= high
        return nullable and instance is None

    return check


def _type_check(names: list[str]) -> _Check | None:
    if not all(name in _TYPE_CLASSES for name in names):
        return None  # "integer" (a float may be one) is left to jsonschema
    classes = tuple(cls for name in names for cls in _TYPE_CLASSES[name])
    if "number" in names and "boolean" not in names:
        return lambda instance: isinstance(instance, classes) and not isinstance(instance, bool)
    return lambda instance: isinstance(instance, classes)


def _required_check(names: list[str]) -> _Check:
    def check(instance: Any) -> bool:
        if isinstance(instance, dict):
            for name in names:
                if name not in instance:
                    return False
        return True

    return check


def _items_check(each: _Check) -> _Check:
    def check(instance: Any) -> bool:
        if isinstance(instance, list):
            for item in instance:
                if not each(item):
                    return False
        return True

    return check


def _properties_check(properties: dict[str, Any]) -> _Check | None:
    checks: list[tuple[str, _Check]] = []
    for name, schema in properties.items():
        check = compiled_check(schema)
        if check is None:
            return None
        checks.append((name, check))

    def check_properties(instance: Any) -> bool:
        if isinstance(instance, dict):
            for name, each in checks:
                if name in instance and not each(instance[name]):
                    return False
        return True

    return check_properties
