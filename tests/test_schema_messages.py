"""The 400s worded from a request schema's errors (schema_messages.py): each rule in words, the client's value as JSON,
and every pattern of every schema with its words kept beside it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

import cds_service
from cds_service.feedback import FEEDBACK_SCHEMA
from cds_service.schema_messages import error_message

SCHEMAS = Path(cds_service.__file__).resolve().parent / "schemas"


def _patterns(node: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Every subschema holding a `pattern`, with where it is."""
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield path, node
        for key, value in node.items():
            yield from _patterns(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _patterns(value, (*path, index))


def _schemas() -> dict[str, Any]:
    files = {file.name: json.loads(file.read_text("utf-8")) for file in sorted(SCHEMAS.glob("*.json"))}
    return files | {"feedback.FEEDBACK_SCHEMA": FEEDBACK_SCHEMA}


def test_every_pattern_of_every_schema_has_its_rule_in_words() -> None:
    """A 400 says a pattern's rule by the `description` beside it: a pattern without one cannot ship, or the client
    would be told only that its value "does not satisfy the schema's pattern"."""
    found = [(name, path, schema) for name, document in _schemas().items() for path, schema in _patterns(document)]
    assert {name for name, _, _ in found} >= {"hook-request.json", "policy.schema.json", "valueset.schema.json"}
    without_words = [(name, path) for name, path, schema in found
                     if not isinstance(schema.get("description"), str) or not schema["description"].strip()]
    assert without_words == []
    assert [(name, path) for name, path, schema in found if schema["pattern"] in schema["description"]] == []


def _message(schema: dict[str, Any], instance: Any, secret: bool = False) -> str:
    error = best_match(Draft202012Validator(schema).iter_errors(instance))
    assert error is not None
    return error_message(error, secret=secret)


@pytest.mark.parametrize("schema, instance, said", [
    ({"type": "string"}, None, "must be of type string, got null"),
    ({"type": ["object", "null"]}, True, "must be of type object or null, got true"),
    ({"type": "string"}, {"patient": "Jane Doe"}, "must be of type string, got an object"),
    ({"type": "object"}, [], "must be of type object, got []"),
    ({"type": "string"}, 1.5, "must be of type string, got 1.5"),
    ({"const": "Bundle"}, "List", 'must be "Bundle", got "List"'),
    ({"enum": ["accepted", "overridden"]}, "dismissed", 'must be one of "accepted", "overridden", got "dismissed"'),
    ({"type": "string", "minLength": 1}, "", 'must not be empty, got ""'),
    ({"type": "string", "minLength": 3}, "ab", 'must have at least 3 characters, got "ab"'),
    ({"type": "string", "maxLength": 2}, "abc", "is longer than 2 characters"),
    ({"type": "array", "maxItems": 1}, [1, 2], "is longer than 1 items"),
    ({"required": ["hook"]}, {}, "is required"),
    ({"type": "string", "pattern": "^[a-z]+/[0-9]+$", "description": "a reference such as order/1"}, "a b\n\u0085",
     'must be a reference such as order/1, got "a b\\n\\u0085"'),
    # No words beside it (tests above make sure no schema ships so): the keyword named, never the regex.
    ({"type": "string", "pattern": "^[a-z]+$"}, "A", 'does not satisfy the schema\'s pattern, got "A"'),
    # best_match ends in the innermost alternative; the words are those of the choice holding them all.
    ({"anyOf": [{"required": ["reason"]}, {"anyOf": [{"required": ["code"]}, {"required": ["display"]}],
                                           "description": "a Coding"}],
      "description": "a reason or a Coding"}, {}, "must be a reason or a Coding, got {}"),
])
def test_each_rule_is_worded_with_the_value_as_json(schema: dict[str, Any], instance: Any, said: str) -> None:
    assert _message(schema, instance) == said


def test_a_secret_fields_rule_is_worded_without_its_value() -> None:
    schema = {"type": "string", "pattern": "^[a-z]+$", "description": "a token of small letters"}
    assert _message(schema, "SECRET token", secret=True) == "must be a token of small letters (value not shown)"
    assert _message({"type": "string"}, ["SECRET"], secret=True) == "must be of type string (value not shown)"
