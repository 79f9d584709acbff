"""A request body repeating a key in one object is read with the key's last value, and answered (README on errors, the
json_codec docstring): orjson cannot say that a key was repeated, and finding out otherwise (the body's quotes counted
against the value written again, then a second reading) cost about a sixth of a realistic call's instructions. A
gateway that checks the body must read it the same way. These tests pin the behaviour on every path a body is read."""
from __future__ import annotations

import json

from cds_service import json_codec
from cds_service.audit import AuditStore
from cds_service.validation import parse_json_object
from tests.live_server import LiveClient
from tests.test_errors import post, sign_request


def test_each_parser_keeps_the_last_value_of_a_repeated_key() -> None:
    assert json_codec.loads(b'{"a": 1, "b": {"c": "x", "c": "y"}, "a": 2}') == {"a": 2, "b": {"c": "y"}}
    # An integer beyond 64 bits sends the request to the standard library's parser (orjson reads it as a float).
    big = 2**64 + 1  # as a float, 2**64
    repeated = f'"n": {big}, "hookInstance": "first", "hookInstance": '
    read = parse_json_object(json.dumps(sign_request()).replace('"hookInstance": ', repeated).encode())
    assert read["n"] == big and read["hookInstance"] == sign_request()["hookInstance"]


def test_a_hook_call_repeating_its_hook_instance_is_answered_and_recorded_with_the_last(client: LiveClient) -> None:
    body = json.dumps(sign_request()).replace('"hookInstance": ', '"hookInstance": "repeated-first", "hookInstance": ')
    body = body.replace(sign_request()["hookInstance"], "repeated-last")
    assert post(client, body).status_code == 200
    store: AuditStore = client.application.extensions["cds_service"].store
    assert store.flush()
    assert [detail.record.hook_instance for detail in store.show("repeated-last")] == ["repeated-last"]
    assert store.show("repeated-first") == []
