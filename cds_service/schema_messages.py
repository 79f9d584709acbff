"""A request schema's error in words, for a 400's diagnostics (the hook request's and the feedback's schemas).

jsonschema's own messages quote the value sent as Python writes it (`None is not of type 'string'`) and a pattern as
its regex; an integration engineer reads JSON and rules. So each keyword is worded here, the value quoted as JSON
(printable.json_value), and a rule a keyword cannot say in words (a pattern, an anyOf) by the `description` kept beside
it in the schema: "must be <description>". tests/test_errors.py checks every pattern has one.
"""
from __future__ import annotations

from typing import Any, Callable

from jsonschema import ValidationError

from cds_service.printable import json_value

# Keywords bounding a size: their errors end the errors looked at (validation.worded_errors), and quote no value, which
# would be cut before saying what is wrong.
SIZE_LIMITS = frozenset({"maxItems", "maxProperties", "maxLength"})
# Keywords whose message names what is missing or too long, with no value to quote.
_WITHOUT_VALUE = SIZE_LIMITS | {"required"}
_CHOICES = frozenset({"anyOf", "oneOf"})


def error_message(error: ValidationError, *, secret: bool = False) -> str:
    """What is wrong: the rule broken, then the value sent, as JSON; with `secret`, never the value (an access token,
    wherever a client put it)."""
    error = _outermost_choice(error)
    rule = _RULES.get(str(error.validator), _described)(error)
    if error.validator in _WITHOUT_VALUE:
        return rule
    return f"{rule} (value not shown)" if secret else f"{rule}, got {json_value(error.instance)}"


def _outermost_choice(error: ValidationError) -> ValidationError:
    """For a value matching none of a choice's alternatives, the choice that holds the others at the same place:
    best_match ends in the innermost one (feedback's bare Coding, one form of an override reason), whose words would
    give one of the forms allowed as the only one."""
    while (error.validator in _CHOICES and error.parent is not None and error.parent.validator in _CHOICES
           and error.parent.absolute_path == error.absolute_path):
        error = error.parent
    return error


def _type(error: ValidationError) -> str:
    types = error.validator_value
    return f"must be of type {' or '.join(types) if isinstance(types, list) else types}"


def _min_length(error: ValidationError) -> str:
    least: int = error.validator_value
    return "must not be empty" if least == 1 else f"must have at least {least} characters"


def _described(error: ValidationError) -> str:
    """A rule in the words of the schema's description beside it; a keyword without one is named."""
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    return f"must be {description}" if description else f"does not satisfy the schema's {error.validator}"


def _enum(values: list[Any]) -> str:
    return "must be one of " + ", ".join(json_value(value) for value in values)


_RULES: dict[str, Callable[[ValidationError], str]] = {
    "type": _type,
    "required": lambda error: "is required",  # the field's expression names the missing member
    "minLength": _min_length,
    "maxLength": lambda error: f"is longer than {error.validator_value} characters",
    "maxItems": lambda error: f"is longer than {error.validator_value} items",
    "maxProperties": lambda error: f"is longer than {error.validator_value} items",
    "const": lambda error: f"must be {json_value(error.validator_value)}",
    "enum": lambda error: _enum(error.validator_value),
}
