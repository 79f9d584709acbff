"""The JSON Schemas of the files an operator supplies (schemas/policy.schema.json, valueset.schema.json,
auth-config.schema.json), each compiled once, and their best error (jsonschema's best_match) as one line: the key path
and what is wrong.

The schemas say the structure: keys, types, enums, bounds. The loaders check what a schema cannot: references (to a
fact, a criterion, another file) and rules that span several parts of a file.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Callable

from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator

from cds_service.exceptions import path_expression


def _whole_number(_checker: Any, instance: Any) -> bool:
    # JSON Schema counts 7.0 as an integer; the loaders never took a float where a whole number goes (TOML's 7.0, a
    # JSON 300.0): a window of 7.0 days would be printed "7.0" on the card.
    return isinstance(instance, int) and not isinstance(instance, bool)


_FileValidator = validators.extend(
    Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _whole_number))


@lru_cache(maxsize=None)
def file_schema(name: str) -> dict[str, Any]:
    """schemas/<name>.schema.json, checked against the Draft 2020-12 meta-schema."""
    text = resources.files("cds_service.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    _FileValidator.check_schema(schema)
    return schema


@lru_cache(maxsize=None)
def file_validator(name: str, definition: str = "") -> Validator:
    """The validator of schemas/<name>.schema.json, or of one of its $defs (with the others, for its $refs)."""
    schema = file_schema(name)
    if definition:
        schema = {"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    validator: Validator = _FileValidator(schema)
    return validator


@dataclass(frozen=True)
class SchemaProblem:
    """The best error of a document: where (a key path) and what is wrong."""

    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        location = path_expression(self.path)
        return f"{location}: {self.message}" if location else self.message


def schema_problem(validator: Validator, document: Any, *, quote_text: bool = True) -> SchemaProblem | None:
    """The most relevant problem of `document`, or None when it is valid. A rejected value is quoted when it is a
    number, a boolean or (with `quote_text`) a string: never a whole list or table, nor a string of a file that may
    hold a secret."""
    error = best_match(validator.iter_errors(document))
    if error is None:
        return None
    message = _RULES.get(str(error.validator), _rule)(error)
    value = error.instance
    if isinstance(value, (int, float)) or (quote_text and isinstance(value, str)):
        message += f", got {value!r}"
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    if description:
        message += f" ({description})"
    return SchemaProblem(tuple(error.absolute_path), message)


# What each keyword requires, in words (jsonschema's own messages quote the whole rejected value, a table included).

_TYPES = {"string": "a string", "integer": "a whole number", "number": "a number", "boolean": "true or false",
          "array": "a list", "object": "an object", "null": "null"}


def _type(error: ValidationError) -> str:
    types: list[str] = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    return "must be " + " or ".join(_TYPES.get(t, t) for t in types)


def _required(error: ValidationError) -> str:
    missing = next(key for key in error.validator_value if key not in error.instance)
    return f"required key {missing!r} missing"


def _unknown_key(error: ValidationError) -> str:
    """An unknown key is a typo more often than not, and ignoring it would change the meaning silently ("tenant" for
    "tenants" lifts the tenant restriction): say which key was meant."""
    known = list(error.schema.get("properties", {}))
    key = next(key for key in error.instance if key not in known)
    close = difflib.get_close_matches(key, known, n=1)
    return f"unknown key {key!r}" + (f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})")


def _one_of(error: ValidationError, quantity: str) -> str:
    """"needs exactly one of the keys a, b" when each choice is a required key; else the rule itself."""
    choices = [choice.get("required") for choice in error.validator_value]
    if all(choices):
        return f"needs {quantity} of the keys {', '.join(key for keys in choices for key in keys)}"
    return _rule(error)


def _dependency(error: ValidationError) -> str:
    key, needed = next((key, needed) for key, needed in error.validator_value.items()
                       if key in error.instance and any(n not in error.instance for n in needed))
    return f"{key!r} goes only with {' and '.join(repr(n) for n in needed)}"


def _rule(error: ValidationError) -> str:
    return f"does not satisfy the schema's {error.validator} {error.validator_value!r}"


_RULES: dict[str, Callable[[ValidationError], str]] = {
    "type": _type,
    "required": _required,
    "additionalProperties": _unknown_key,
    "oneOf": lambda error: _one_of(error, "exactly one"),
    "anyOf": lambda error: _one_of(error, "one"),
    "dependentRequired": _dependency,
    "enum": lambda error: "must be one of " + ", ".join(repr(v) for v in error.validator_value),
    "const": lambda error: f"must be {error.validator_value!r}",
    "minimum": lambda error: f"must be at least {error.validator_value}",
    "maximum": lambda error: f"must be at most {error.validator_value}",
    "exclusiveMinimum": lambda error: f"must be above {error.validator_value}",
    "minItems": lambda error: "must not be empty" if error.validator_value == 1 else
    f"must have at least {error.validator_value} items",
    "minLength": lambda error: "must not be empty" if error.validator_value == 1 else
    f"must have at least {error.validator_value} characters",
    "pattern": lambda error: f"must match {error.validator_value!r}",
}
