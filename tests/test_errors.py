"""Every row of the contract's error table, with its OperationOutcome, and garbage that must never give a 500."""
from __future__ import annotations

import copy
import gzip
import io
import itertools
import json
import logging
import os
import random
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests
from flask import Flask
from jsonschema import Draft202012Validator
from sqlalchemy.exc import IntegrityError

from cds_service.http_errors import register_error_handlers
from cds_service.order_validation import MAX_ORDERS
from cds_service.schema_messages import error_message
from cds_service.validation import worded_errors
from tests.conftest import close_app, local_settings, make_app
from tests.fhir_server import FhirTestServer, fhir_server  # noqa: F401 (the fixture)
from tests.live_server import LiveClient, serving
from tests.test_audit import _free_port, _wait_until_up
from tests.test_pipeline import example

SERVICE = "/cds-services/blinatumomab-coverage"
EXAMPLES = Path(__file__).resolve().parent.parent / "fhir_examples"



@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveClient]:
    """One app for the whole module (these tests leave nothing behind that another could see): a faster suite. It is
    served over real HTTP on loopback: the errors are the ones an EHR gets through a socket."""
    application = make_app(local_settings(tmp_path_factory.mktemp("errors")))
    with serving(application) as live:
        yield live
    close_app(application)


def other_order() -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "ondansetron-order",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": "ondansetron 8 mg tablet"},
    }


def sign_request() -> dict[str, Any]:
    """A valid order-sign call whose only order is not blinatumomab (nothing to evaluate)."""
    return {
        "hook": "order-sign",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {
            "userId": "Practitioner/1",
            "patientId": "p1",
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": other_order()}]},
        },
        "prefetch": {"patient": {"resourceType": "Patient", "id": "p1"}},
    }


def _selecting_an_order_whose_id_ends_in_a_line_feed(body: dict[str, Any]) -> None:
    body["context"]["draftOrders"]["entry"][0]["resource"]["id"] = "ondansetron-order\n"
    body["context"]["selections"] = ["MedicationRequest/ondansetron-order\n"]


def select_request() -> dict[str, Any]:
    body = sign_request()
    body["hook"] = "order-select"
    body["context"]["selections"] = ["MedicationRequest/ondansetron-order"]
    return body


def post(client: LiveClient, body: Any, content_type: str | None = "application/json") -> Any:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    headers = {"Content-Type": content_type} if content_type else {}
    return client.post(SERVICE, data=data, headers=headers)


def assert_outcome(response: Any, status: int, expression: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/fhir+json"
    outcome = response.get_json(force=True)
    assert outcome["resourceType"] == "OperationOutcome"
    issue: dict[str, Any] = outcome["issue"][0]
    assert issue["severity"] == "error" and issue["diagnostics"]
    if expression is not None:
        assert issue["expression"] == [expression]
    return issue


def test_valid_requests_are_answered_with_cards_and_system_actions(client: LiveClient) -> None:
    for body in (sign_request(), select_request()):
        response = post(client, body)
        assert response.status_code == 200
        assert response.get_json() == {"cards": [], "systemActions": []}


@pytest.mark.parametrize("content_type", ["application/fhir+json; charset=utf-8", "application/json;charset=UTF-8",
                                          "Application/JSON"])
def test_json_content_types_are_accepted(client: LiveClient, content_type: str) -> None:
    assert post(client, sign_request(), content_type).status_code == 200


def test_the_cds_hooks_sandboxs_request_is_accepted(client: LiveClient) -> None:
    """The sandbox posts with axios, which declares a JSON body as application/json;charset=utf-8."""
    headers = {"Content-Type": "application/json;charset=utf-8", "Accept": "application/json"}
    assert client.post(SERVICE, data=json.dumps(sign_request()), headers=headers).status_code == 200


@pytest.mark.parametrize("content_type", [None, ""])
def test_a_missing_content_type_is_a_415(client: LiveClient, content_type: str | None) -> None:
    """Not declared JSON (service-contract.md §Errors). A browser page can post a body without Content-Type from any
    origin with no CORS preflight; declared JSON, the preflight gates it by CDS_CORS_ORIGINS."""
    headers = {"Content-Type": content_type} if content_type is not None else {}
    response = client.post(SERVICE, data=json.dumps(sign_request()), headers=headers)
    issue = assert_outcome(response, 415)
    assert issue["code"] == "not-supported" and "application/json" in issue["diagnostics"]


@pytest.mark.parametrize("coding", ["gzip", "GZIP", "identity, gzip", "br"])
def test_a_body_in_a_content_coding_is_a_415_naming_it(client: LiveClient, coding: str) -> None:
    """RFC 9110 §8.4: 415 for a content coding the service does not read (it was read as JSON text: a 400 quoting
    byte 0x8b); Accept-Encoding says which it would read."""
    headers = {"Content-Type": "application/json", "Content-Encoding": coding}
    response = client.post(SERVICE, data=gzip.compress(json.dumps(sign_request()).encode()), headers=headers)
    issue = assert_outcome(response, 415)
    assert issue["code"] == "not-supported"
    assert issue["diagnostics"] == f"Content-Encoding {json.dumps(coding)} is not supported; send the body " \
                                   "uncompressed (identity)"
    assert response.headers["Accept-Encoding"] == "identity"


def test_a_body_declared_identity_is_read(client: LiveClient) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": "identity"}
    assert client.post(SERVICE, data=json.dumps(sign_request()), headers=headers).status_code == 200


Mutation = Callable[[dict[str, Any]], None]


def _parent(body: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    *parents, last = path.split(".")
    for key in parents:
        body = body[key]
    return body, last


def _without(path: str) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        parent, key = _parent(body, path)
        del parent[key]

    return mutate


def _setting(path: str, value: Any) -> Mutation:
    def mutate(body: dict[str, Any]) -> None:
        parent, key = _parent(body, path)
        parent[key] = value

    return mutate


BAD_REQUESTS: list[tuple[str, Callable[[], dict[str, Any]], Mutation, str]] = [
    ("missing hook", sign_request, _without("hook"), "hook"),
    ("hook not a string", sign_request, _setting("hook", 7), "hook"),
    ("hook not declared", sign_request, _setting("hook", "patient-view"), "hook"),
    ("missing hookInstance", sign_request, _without("hookInstance"), "hookInstance"),
    ("hookInstance not a string", sign_request, _setting("hookInstance", ["x"]), "hookInstance"),
    ("hookInstance too long for the audit trail", sign_request, _setting("hookInstance", "h" * 201), "hookInstance"),
    # A 400 is worded from the first few schema errors: all 200,000 once held a worker for 8 s.
    ("200,000 draft entries that are not objects", sign_request,
     _setting("context.draftOrders.entry", [0] * 200_000), "context.draftOrders.entry[0]"),
    ("missing context", sign_request, _without("context"), "context"),
    ("context not an object", sign_request, _setting("context", "p1"), "context"),
    ("missing patientId", sign_request, _without("context.patientId"), "context.patientId"),
    ("patientId not a string", sign_request, _setting("context.patientId", 12), "context.patientId"),
    ("patientId too long", sign_request, _setting("context.patientId", "p" * 201), "context.patientId"),
    # A control character in an id: a NUL in patientId failed the patient's fetch (a 412), one in hookInstance was
    # audited as "?" where `cds-service audit show` could not find it.
    ("NUL in patientId", sign_request, _setting("context.patientId", "p\u00001"), "context.patientId"),
    ("line feed in patientId", sign_request, _setting("context.patientId", "p1\n"), "context.patientId"),
    ("NUL in hookInstance", sign_request, _setting("hookInstance", "a\u0000b"), "hookInstance"),
    ("C1 control in userId", sign_request, _setting("context.userId", "Practitioner/\u0085"), "context.userId"),
    ("DEL in encounterId", sign_request, _setting("context.encounterId", "e\u007f"), "context.encounterId"),
    ("missing draftOrders", sign_request, _without("context.draftOrders"), "context.draftOrders"),
    ("draftOrders not a Bundle", sign_request, _setting("context.draftOrders", {"resourceType": "List"}),
     "context.draftOrders.resourceType"),
    ("draftOrders entry not a list", sign_request, _setting("context.draftOrders.entry", {}), "context.draftOrders.entry"),
    ("fhirAuthorization without fhirServer", sign_request, _setting("fhirAuthorization", {"access_token": "t"}),
     "fhirAuthorization"),
    ("fhirServer not http", sign_request, _setting("fhirServer", "file:///etc/passwd"), "fhirServer"),
    ("fhirServer port out of range", sign_request, _setting("fhirServer", "https://ehr.example.org:99999/fhir"),
     "fhirServer"),
    ("fhirServer without a host", sign_request, _setting("fhirServer", "http:///ok"), "fhirServer"),
    ("prefetch not an object", sign_request, _setting("prefetch", []), "prefetch"),
    ("missing selections", select_request, _without("context.selections"), "context.selections"),
    ("selections not an array", select_request, _setting("context.selections", "MedicationRequest/x"),
     "context.selections"),
    ("selection not a reference", select_request, _setting("context.selections", [3]), "context.selections[0]"),
    ("selection not in draftOrders", select_request, _setting("context.selections", ["MedicationRequest/other"]),
     "context.selections[0]"),
    # An order that is not blinatumomab is not validated, so its id may end in a line feed: the selection naming it
    # passed the pattern (Python's `$` matches before a final line feed).
    ("selection ending in a line feed", select_request, _selecting_an_order_whose_id_ends_in_a_line_feed,
     "context.selections[0]"),
]


@pytest.mark.parametrize("name, build, mutate, expression", BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_each_invalid_field_is_a_400_naming_it(
    client: LiveClient, name: str, build: Callable[[], dict[str, Any]], mutate: Mutation, expression: str
) -> None:
    body = build()
    mutate(body)
    assert_outcome(post(client, body), 400, expression)


# Values for every schema keyword's edge: each type, empty and overlong strings, near misses of the patterns.
_ODD_VALUES: list[Any] = [None, True, 0, 1.5, 2**70, "", "x", "h" * 200, "h" * 201, "Bundle", "bundle", [], ["x"], [3],
                          {}, {"resourceType": "Bundle"}, "https://ehr.example.org/fhir", "HtTp://x", "http://a b",
                          "ftp://x", "abc.DEF-123~+/==", "a=b", "MedicationRequest/x", "MedicationRequest/x/y",
                          "https://x\n", "abc==\n", "MedicationRequest/x\n"]


def _variants(value: Any, depth: int = 0) -> Iterator[Any]:
    """`value`, then copies of it with one member (at most 5 levels down) removed or replaced by one of _ODD_VALUES."""
    yield value
    if depth == 5 or not isinstance(value, (dict, list)):
        return
    for key in list(value) if isinstance(value, dict) else range(len(value)):
        for replacement in [*_ODD_VALUES, *itertools.islice(_variants(value[key], depth + 1), 1, None)]:
            changed = copy.copy(value)
            changed[key] = replacement
            yield changed
        if isinstance(value, dict):
            yield {k: v for k, v in value.items() if k != key}


def test_a_400_is_worded_from_the_first_few_schema_errors() -> None:
    validator = Draft202012Validator({"type": "array", "items": {"type": "object"}})
    errors = list(worded_errors(validator, [0] * 1000))
    assert 1 <= len(errors) <= 20
    assert [error.path[0] for error in errors] == list(range(len(errors)))


def test_an_oversized_array_is_refused_without_reading_its_items() -> None:
    validator = Draft202012Validator({"type": "array", "maxItems": 2, "items": {"type": "object"}})
    errors = list(worded_errors(validator, [0] * 1000))
    assert [error.validator for error in errors] == ["maxItems"]
    assert error_message(errors[0]) == "is longer than 2 items"  # not the list quoted and cut before the problem


def test_the_compiled_schema_check_agrees_with_jsonschema() -> None:
    """validation.py judges requests with the schema compiled into plain checks, and asks jsonschema only what is
    wrong: the two must accept and refuse the same instances."""
    from cds_service.validation import _validators

    envelope, contexts = _validators()
    assert all(schema.valid != schema.validator.is_valid for schema in (envelope, *contexts.values())), \
        "hook-request.json uses a keyword the compiled check does not know: requests cost ~100 us more to validate"
    bodies = [sign_request(), select_request(), {**sign_request(), "fhirServer": "https://ehr.example.org/fhir",
                                                "fhirAuthorization": {"access_token": "t", "expires_in": 300}}]
    checked = 0
    for body in bodies:
        for variant in _variants(body):
            assert envelope.valid(variant) == envelope.validator.is_valid(variant), variant
            context = variant.get("context") if isinstance(variant, dict) else None
            for schema in contexts.values():
                assert schema.valid(context) == schema.validator.is_valid(context), context
            checked += 1
    assert checked > 1000


SECRET = "SECRET-ACCESS-TOKEN-0123456789"
# The patterns' rules in words (their descriptions in hook-request.json), never the regex.
A_BEARER_TOKEN = "must be a bearer token: letters, digits and -._~+/ only, optionally ending in = (value not shown)"
AN_HTTP_URL = "must be an http or https URL, without spaces or line breaks (value not shown)"
MISPLACED_TOKENS = [
    ("fhirAuthorization", f"Bearer {SECRET}", "fhirAuthorization", "of type object or null"),
    ("fhirAuthorization", [SECRET], "fhirAuthorization", "of type object or null"),
    ("fhirAuthorization", {"access_token": [SECRET]}, "fhirAuthorization.access_token", "of type string"),
    ("fhirAuthorization", {"access_token": "t", "scope": [SECRET]}, "fhirAuthorization.scope", "of type string"),
    # Sent as the Authorization header of every fetch, where CR/LF would inject headers (requests refuses it, and
    # every key was then "not received": a 412 blaming the EHR's server instead of the field).
    ("fhirAuthorization", {"access_token": f"A B\r\nX-Injected: {SECRET}"}, "fhirAuthorization.access_token",
     A_BEARER_TOKEN),
    ("fhirAuthorization", {"access_token": f"{SECRET} extra"}, "fhirAuthorization.access_token", A_BEARER_TOKEN),
    ("fhirAuthorization", {"access_token": ""}, "fhirAuthorization.access_token", A_BEARER_TOKEN),
    # Python's `$` also matches before a final line feed: "token\n" passed the pattern, and requests then refused
    # the header, failing every fetch.
    ("fhirAuthorization", {"access_token": f"{SECRET}\n"}, "fhirAuthorization.access_token", A_BEARER_TOKEN),
    ("fhirServer", f"https://ehr.example.org/{SECRET}\n", "fhirServer", AN_HTTP_URL),
    ("fhirServer", f"ftp://ehr.example.org/{SECRET}", "fhirServer", AN_HTTP_URL),
    ("fhirServer", {"url": SECRET}, "fhirServer", "of type string or null"),
]


@pytest.mark.parametrize("field, value, expression, problem", MISPLACED_TOKENS)
def test_diagnostics_never_echo_an_access_token(client: LiveClient, field: str, value: Any, expression: str,
                                                problem: str) -> None:
    """A token sent in the wrong shape is named by field and problem, never quoted back (EHRs log diagnostics)."""
    body = sign_request() | {"fhirServer": "https://ehr.example.org/fhir", field: value}
    response = post(client, body)
    issue = assert_outcome(response, 400, expression)
    assert issue["diagnostics"].startswith(f"{expression}: ") and problem in issue["diagnostics"]
    assert SECRET not in response.get_data(as_text=True)


# What an integration engineer reads: the rule in words (a pattern's by its description in hook-request.json, never the
# regex), and the value sent as JSON wrote it ("null", not Python's "None").
WORDED_400S = [
    (select_request, _setting("context.selections", ["urn:uuid:5e0c1f4a"]), "context.selections[0]: must be a "
     'reference such as MedicationRequest/123 (a resource type, a slash and an id, without spaces), got "urn:uuid:'
     '5e0c1f4a"'),
    (sign_request, _setting("hookInstance", None), "hookInstance: must be of type string, got null"),
    (sign_request, _setting("hook", True), "hook: must be of type string, got true"),
    (sign_request, _setting("context.draftOrders.resourceType", "List"),
     'context.draftOrders.resourceType: must be "Bundle", got "List"'),
    (sign_request, _setting("hook", "patient-view\n"),
     'hook "patient-view\\n" is not declared by this service (order-select, order-sign)'),
    (sign_request, _setting("fhirAuthorization", {"access_token": "two words"}),
     f"fhirAuthorization.access_token: {A_BEARER_TOKEN}"),
    (sign_request, _setting("fhirServer", "ftp://ehr.example.org/fhir"), f"fhirServer: {AN_HTTP_URL}"),
]


@pytest.mark.parametrize("build, mutate, said", WORDED_400S)
def test_a_400_says_the_rule_in_words_and_quotes_the_value_as_json(
        client: LiveClient, build: Callable[[], dict[str, Any]], mutate: Mutation, said: str) -> None:
    body = build() | {"fhirServer": "https://ehr.example.org/fhir"}
    mutate(body)
    assert assert_outcome(post(client, body), 400)["diagnostics"] == said


@pytest.mark.parametrize("raw, said", [(b"null", "null"), (b"[1, 2]", "an array"), (b'"a string"', '"a string"')])
def test_a_body_that_is_no_object_is_named_as_json(client: LiveClient, raw: bytes, said: str) -> None:
    issue = assert_outcome(post(client, raw), 400)
    assert issue["diagnostics"] == f"Request body must be a JSON object, got {said}"


@pytest.mark.parametrize("build, mutate, expression", [
    (sign_request, _setting("hook", "h" * 2_000_000), "hook"),
    (select_request, _setting("context.selections", ["MedicationRequest/" + "x" * 2_000_000]),
     "context.selections[0]"),
])
def test_a_400_quotes_a_long_value_cut(client: LiveClient, build: Callable[[], dict[str, Any]], mutate: Mutation,
                                       expression: str) -> None:
    """An undeclared hook or a selection naming no order was quoted back whole: a 2 MB one made a 2 MB answer."""
    body = build()
    mutate(body)
    response = post(client, body)
    assert_outcome(response, 400, expression)
    assert len(response.get_data()) < 1_000


@pytest.mark.parametrize("token", ["t", "eyJhbGciOiJSUzM4NCJ9.eyJzdWIiOiJ4In0.c2ln-_~", "mF_9.B5f-4.1JqM", "a+b/c=="])
def test_bearer_tokens_of_every_b64token_form_are_accepted(client: LiveClient, token: str) -> None:
    body = sign_request() | {"fhirServer": "https://ehr.example.org/fhir", "fhirAuthorization": {"access_token": token}}
    assert post(client, body).status_code == 200


def test_a_missing_access_token_is_named(client: LiveClient) -> None:
    body = sign_request() | {"fhirServer": "https://ehr.example.org/fhir", "fhirAuthorization": {"scope": "x"}}
    issue = assert_outcome(post(client, body), 400, "fhirAuthorization.access_token")
    assert "required" in issue["diagnostics"]


def test_a_control_character_in_an_id_is_named_in_plain_words(client: LiveClient) -> None:
    body = sign_request()
    body["context"]["patientId"] = "p\u00001"
    issue = assert_outcome(post(client, body), 400, "context.patientId")
    assert issue["diagnostics"] == "context.patientId holds a control character (U+0000); an id is printable text"


@pytest.mark.parametrize("server, said", [
    ("https://ehr.example.org:99999/fhir", "fhirServer is malformed: not an http(s) URL with a host and a valid port"),
    ("http:///ok", "fhirServer is malformed: not an http(s) URL with a host and a valid port"),
    ("https://ehr.example.org/fhir?x=1", "fhirServer has a query or a fragment: a FHIR base URL has neither"),
    ("https://ehr.example.org/fhir#f", "fhirServer has a query or a fragment: a FHIR base URL has neither"),
    ("https://ehr.example.org/fhir?", "fhirServer has a query or a fragment: a FHIR base URL has neither"),
])
def test_a_fhir_server_that_is_no_fhir_base_url_is_a_400_not_a_412(client: LiveClient, server: str, said: str) -> None:
    """It was answered 412 "fhirServer is not allowed for this client" (the allowlist refused it), or, with a query or
    a fragment, fetched from with the searches appended after them."""
    body = sign_request() | {"fhirServer": server}
    del body["prefetch"]["patient"]
    issue = assert_outcome(post(client, body), 400, "fhirServer")
    assert issue["diagnostics"].startswith(said)


def test_the_fhir_server_scheme_is_case_insensitive(client: LiveClient, fhir_server: FhirTestServer) -> None:
    """RFC 3986: schemes are case-insensitive, and the allowlist compares them lowercased (docs/configuration.md): an
    EHR writing `HTTP://` is fetched from, not refused by the schema's pattern."""
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    del body["prefetch"]["conditions"]
    fhir_server.add(*(entry["resource"] for entry in example("aspirus-adult-relapsed-refractory-cycle1")
                      ["prefetch"]["conditions"]["entry"]))
    body["fhirServer"] = "HTTP" + fhir_server.base_url.removeprefix("http")
    response = post(client, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert fhir_server.paths() == ["/Condition"]


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe\x00", b"", b"   ", b'"a string"', b"[1, 2]", b"null", b"1e5"])
def test_a_body_that_is_not_a_json_object_is_a_400(client: LiveClient, raw: bytes) -> None:
    assert_outcome(post(client, raw), 400)


def test_a_number_too_long_to_read_is_a_400_saying_so(client: LiveClient) -> None:
    body = json.dumps(sign_request())[:-1] + ', "extension": {"x": ' + "1" * 5000 + "}}"
    issue = assert_outcome(post(client, body), 400)
    said = "a number of 5000 digits is too long to read (at most 4300)"
    assert issue["diagnostics"] == f"Request body cannot be read: {said}"


@pytest.mark.parametrize("depth", [150, 100_000])
def test_deeply_nested_json_is_a_400(client: LiveClient, depth: int) -> None:
    body = sign_request()
    raw = json.dumps(body)[:-1] + ', "extension": {"x": ' + "[" * depth + "]" * depth + "}}"
    issue = assert_outcome(post(client, raw), 400)
    assert "nested" in issue["diagnostics"]


def test_a_trailing_slash_is_answered_as_without_it(client: LiveClient) -> None:
    assert client.get("/cds-services/").json["services"][0]["id"] == "blinatumomab-coverage"
    body = json.loads((EXAMPLES / "aspirus-adult-maintenance.json").read_text())
    answer = client.post(SERVICE + "/", json=body)
    assert answer.status_code == 200 and answer.json["cards"][0]["summary"].startswith("Aspirus")


def test_more_blinatumomab_orders_than_one_call_answers_is_a_400(client: LiveClient) -> None:
    """Each answered order costs real work: thousands of copies would hold a worker past gunicorn's timeout."""
    body = json.loads((EXAMPLES / "aspirus-adult-relapsed-refractory-cycle1.json").read_text())
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    assert order["resourceType"] == "MedicationRequest"

    def with_orders(count: int) -> dict[str, Any]:
        entries = [{"resource": {**order, "id": f"o{i}"}} for i in range(count)]
        return {**body, "context": {**body["context"], "draftOrders": {**body["context"]["draftOrders"],
                                                                        "entry": entries}}}

    assert client.post(SERVICE, json=with_orders(MAX_ORDERS)).status_code == 200
    issue = assert_outcome(client.post(SERVICE, json=with_orders(MAX_ORDERS + 1)), 400, "context.draftOrders.entry")
    assert issue["code"] == "too-costly" and issue["diagnostics"].startswith(f"{MAX_ORDERS + 1} blinatumomab orders")


def test_unknown_service_id_is_a_404(client: LiveClient) -> None:
    issue = assert_outcome(client.post("/cds-services/other-service", json=sign_request()), 404)
    # The id is in the URL, not the request's JSON: no FHIRPath expression names it.
    assert issue["code"] == "not-found" and "expression" not in issue
    assert issue["diagnostics"] == 'No CDS service with id "other-service"'
    assert_outcome(client.get("/no/such/path"), 404)


@pytest.mark.parametrize("method, path", [("GET", "/cds-services/other-service"), ("PUT", "/cds-services/other-service"),
                                          ("GET", "/cds-services/other-service/feedback")])
def test_unknown_service_id_is_a_404_whatever_the_method(client: LiveClient, method: str, path: str) -> None:
    """The contract's 404 for an unknown id: a 405 "use POST" sent the engineer to post to a service not there."""
    response = client.open(path, method=method)
    issue = assert_outcome(response, 404)
    assert issue["diagnostics"] == 'No CDS service with id "other-service"' and "Allow" not in response.headers


@pytest.mark.parametrize("method, path", [("GET", SERVICE), ("PUT", SERVICE), ("POST", "/cds-services"), ("DELETE", "/healthz")])
def test_wrong_method_is_a_405(client: LiveClient, method: str, path: str) -> None:
    response = client.open(path, method=method)
    assert_outcome(response, 405)
    assert response.headers["Allow"]


def test_a_hook_call_posted_to_the_discovery_url_is_told_where_hook_calls_go(client: LiveClient) -> None:
    issue = assert_outcome(client.post("/cds-services", json=sign_request()), 405)
    assert issue["diagnostics"] == ("Method POST is not allowed on /cds-services, the discovery endpoint (GET): post "
                                    "hook calls to /cds-services/blinatumomab-coverage")
    issue = assert_outcome(client.post("/cds-services/", json=sign_request()), 405)
    assert issue["diagnostics"].endswith("/cds-services/, the discovery endpoint (GET): post hook calls to "
                                         "/cds-services/blinatumomab-coverage")
    issue = assert_outcome(client.open("/cds-services", method="PUT"), 405)
    assert issue["diagnostics"] == "Method PUT is not allowed on /cds-services: use GET"


def blinatumomab_request() -> dict[str, Any]:
    """An order-sign call with a decision card and a dose card to give, and another (non-blinatumomab) order."""
    body: dict[str, Any] = json.loads((EXAMPLES / "aspirus-relapsed-refractory-single-line-dose-too-high.json")
                                      .read_text())
    body["context"]["draftOrders"]["entry"].append({"resource": other_order()})
    return body


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def answer_of(client: LiveClient, body: dict[str, Any]) -> Any:
    """The answer, with the ids each call draws afresh (card and suggestion uuids, coverage-assertion-id) masked."""
    response = post(client, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = json.loads(UUID.sub("<uuid>", response.get_data(as_text=True)))
    assert answer["cards"] and answer["systemActions"]  # something to lose
    return answer


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("GET", SERVICE + "/feedback", "POST"), ("PUT", SERVICE + "/feedback", "POST"),
    ("POST", "/fhir/Questionnaire/blinatumomab-coverage-attestation", "GET"), ("POST", "/metrics", "GET")])
def test_wrong_method_on_feedback_questionnaire_and_metrics_is_a_405(client: LiveClient, method: str, path: str,
                                                                     allowed: str) -> None:
    """service-contract.md, Errors: a wrong method is a 405 with an OperationOutcome, on every endpoint."""
    response = client.open(path, method=method)
    issue = assert_outcome(response, 405)
    assert issue["code"] == "not-supported" and method in issue["diagnostics"]
    methods = response.headers["Allow"].split(", ")
    assert allowed in methods and method not in methods


@pytest.mark.parametrize("selections", [5, 1.5, {"a": 1}, "MedicationRequest/x", [],
                                        ["MedicationRequest/ondansetron-order"]])
def test_selections_sent_with_order_sign_are_ignored(client: LiveClient, selections: Any) -> None:
    """order-sign has no selections; a number there was a 500 (it was read as if it were order-select's list), and
    a list there must not narrow the orders signed."""
    body = blinatumomab_request()
    body["context"]["selections"] = selections
    assert answer_of(client, body) == answer_of(client, blinatumomab_request())


def test_no_obtainable_patient_is_a_412(client: LiveClient) -> None:
    body = json.loads((EXAMPLES / "aspirus-adult-maintenance.json").read_text())
    del body["prefetch"]["patient"]
    body.pop("fhirServer", None)
    body.pop("fhirAuthorization", None)
    issue = assert_outcome(post(client, body), 412)
    assert issue["code"] == "not-found"


def _without_patient() -> dict[str, Any]:
    body = json.loads((EXAMPLES / "aspirus-adult-maintenance.json").read_text())
    del body["prefetch"]["patient"]
    return body


@pytest.mark.parametrize(
    ("hook_instance", "make_body", "status"),
    [("forged\nWARNING line " + "x" * 300, sign_request, 400),  # too long: the 400 is about it
     ("call\u2028412", _without_patient, 412)],
    ids=["400", "412"],
)
def test_a_refused_hook_call_is_logged_with_its_hook_instance_quoted_and_cut(
        client: LiveClient, caplog: pytest.LogCaptureFixture, hook_instance: str,
        make_body: Callable[[], dict[str, Any]], status: int) -> None:
    """The hookInstance finds the call in the EHR's logs and the audit trail; it is the client's text, so it is
    quoted (no forged line) and cut, as feedback.py logs card ids."""
    body = make_body()
    body["hookInstance"] = hook_instance
    with caplog.at_level(logging.INFO, logger="cds_service"):
        assert post(client, body).status_code == status
    logged = [r.getMessage() for r in caplog.records if r.name == "cds_service.routes"]
    quoted = json.dumps(hook_instance[:80], ensure_ascii=False).replace("\u2028", "\\u2028")
    assert [m for m in logged if m.startswith(f"{status} on POST {SERVICE}, hookInstance {quoted}: ")]
    assert hook_instance[:81] not in caplog.text


def test_a_refusal_before_the_body_is_read_is_logged_without_a_hook_instance(
        client: LiveClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="cds_service"):
        assert post(client, b"{not json").status_code == 400
    logged = [r.getMessage() for r in caplog.records if r.name == "cds_service.routes"]
    assert [m for m in logged if m.startswith(f"400 on POST {SERVICE}: Request body is not valid JSON")]


def test_a_412_says_the_fhir_server_refused_the_token(client: LiveClient) -> None:
    """The EHR got "missing and not fetchable" whatever happened: a token its own server refuses is its to fix. The
    audit record's reason says it too; neither quotes the token or the URL."""
    body = json.loads((EXAMPLES / "aspirus-adult-maintenance.json").read_text())
    del body["prefetch"]["patient"]
    body["hookInstance"] = "refused-by-the-fhir-server"
    with FhirTestServer(token="the-right-token") as server:
        body["fhirServer"] = server.base_url
        body["fhirAuthorization"] = {"access_token": "a-stale-token", "token_type": "Bearer"}
        issue = assert_outcome(post(client, body), 412, "prefetch.patient")
    assert issue["diagnostics"].endswith("prefetch 'patient' missing and the FHIR server answered 401: it refused "
                                         "fhirAuthorization's access token (expired, revoked, or without the scope "
                                         "to read it)")
    store = client.application.extensions["cds_service"].store
    store.flush()
    [row] = [row for row in store.rejected() if row.hook_instance == body["hookInstance"]]
    assert row.reason.startswith("not-found at prefetch.patient: the FHIR server answered 401: it refused ")
    assert "a-stale-token" not in json.dumps(issue) + row.reason and server.base_url not in json.dumps(issue)


@pytest.fixture
def small_limit_client(tmp_path: Path) -> Iterator[LiveClient]:
    application: Flask = make_app(local_settings(tmp_path, max_body_bytes=2_000))
    with serving(application) as live:
        yield live
    close_app(application)


def test_a_body_over_the_configured_limit_is_a_413(small_limit_client: LiveClient) -> None:
    body = sign_request()
    assert post(small_limit_client, body).status_code == 200
    body["context"]["padding"] = "x" * 2_000
    issue = assert_outcome(post(small_limit_client, body), 413)
    # The limit and the setting that changes it (docs/configuration.md): what the EHR's engineer asks the operator.
    assert issue["diagnostics"] == "Request body is larger than the configured limit of 2000 bytes (CDS_MAX_BODY_BYTES)"


def test_the_default_limit_is_10_mib(client: LiveClient) -> None:
    """service-contract.md's default, through a socket: a body of 10 MiB is read, one byte more is a 413."""
    body = sign_request()
    body["context"]["padding"] = ""
    size = len(json.dumps(body).encode())
    body["context"]["padding"] = "x" * (10 * 1024 * 1024 - size)
    assert len(json.dumps(body).encode()) == 10 * 1024 * 1024
    assert post(client, body).status_code == 200
    body["context"]["padding"] += "x"
    assert_outcome(post(client, body), 413)


def test_feedback_over_the_configured_limit_is_a_413(small_limit_client: LiveClient) -> None:
    """A feedback body declaring a Content-Length above the limit (the chunked case is below)."""
    feedback = {"feedback": [{"card": "a1b2c3d4-0000-4000-8000-000000000001", "outcome": "overridden",
                              "outcomeTimestamp": "2026-12-01T10:00:00Z"}]}
    small = json.dumps(feedback)
    padded = small[:-1] + ', "padding": "' + "x" * 2_000 + '"}'
    path = SERVICE + "/feedback"
    headers = {"Content-Type": "application/json"}
    assert small_limit_client.post(path, data=small, headers=headers).status_code == 200
    response = small_limit_client.post(path, data=padded, headers=headers)  # the test client declares its length
    issue = assert_outcome(response, 413)
    assert issue["code"] == "too-costly"


def _chunks(data: bytes, size: int = 500) -> Iterator[bytes]:
    """A generator body: `requests` sends it chunked, without a Content-Length."""
    yield from (data[i:i + size] for i in range(0, len(data), size))


@pytest.mark.parametrize("path", [SERVICE, SERVICE + "/feedback"])
def test_a_chunked_body_over_the_limit_is_a_413(app: Flask, live_service: str, path: str) -> None:
    """Without a Content-Length the body is cut at the limit by werkzeug: it must still be refused, not read cut."""
    app.config["MAX_CONTENT_LENGTH"] = 2_000
    body = json.dumps(sign_request()).encode()
    headers = {"Content-Type": "application/json"}
    small = requests.post(live_service + SERVICE, data=_chunks(body), headers=headers, timeout=10)
    assert small.status_code == 200, small.text
    padded = body + b" " * 2_000  # still valid JSON: cut at the limit it would be answered as if whole
    response = requests.post(live_service + path, data=_chunks(padded), headers=headers, timeout=10)
    assert response.status_code == 413 and response.json()["issue"][0]["code"] == "too-costly"
    assert "limit of 2000 bytes" in response.json()["issue"][0]["diagnostics"]


class _Trickle(io.RawIOBase):
    """A wsgi.input handing out at most `step` bytes a read, as a socket may."""

    def __init__(self, data: bytes, step: int = 1_000) -> None:
        self._data, self._at, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = min(len(buffer), self._step, len(self._data) - self._at)
        buffer[:size] = self._data[self._at:self._at + size]
        self._at += size
        return size


def _wsgi_post(app: Flask, stream: Any, length: int) -> tuple[str, bytes]:
    """POSTs the service through the WSGI callable with the given input and Content-Length."""
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": SERVICE, "SERVER_NAME": "localhost", "SERVER_PORT": "80",
               "SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(length),
               "wsgi.input": stream, "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr}
    status: list[str] = []
    body = b"".join(app.wsgi_app(environ, lambda answered, headers, exc_info=None: status.append(answered)))
    return status[0], body


def test_a_body_read_in_short_pieces_is_read_whole(app: Flask) -> None:
    body = json.dumps(sign_request()).encode()
    assert _wsgi_post(app, _Trickle(body), len(body)) == _wsgi_post(app, io.BytesIO(body), len(body))
    assert _wsgi_post(app, _Trickle(body), len(body))[0] == "200 OK"


def test_a_body_shorter_than_its_content_length_is_a_400(app: Flask) -> None:
    """The client went away mid-body (werkzeug's ClientDisconnected): refused, not parsed as cut."""
    body = json.dumps(sign_request()).encode()
    status, answer = _wsgi_post(app, _Trickle(body), len(body) + 10)
    assert status.startswith("400") and json.loads(answer)["resourceType"] == "OperationOutcome"


@pytest.fixture(scope="module")
def gunicorn_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The production server, one worker, local mode on its own SQLite file."""
    port = _free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    environment = {**os.environ, "CDS_DATA_DIR": str(tmp_path_factory.mktemp("gunicorn"))}
    server = subprocess.Popen([str(gunicorn), "-w", "1", "-b", f"127.0.0.1:{port}", "cds_service.app:create_app()"],
                              env=environment, stderr=subprocess.DEVNULL)
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/healthz")
        yield port
    finally:
        server.terminate()
        server.wait(30)


def _raw_post(port: int, path: str, framed_body: bytes) -> tuple[int, dict[str, Any]]:
    """POSTs a chunked body exactly as given (requests would frame it correctly); the status and the JSON answer."""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head + framed_body)
        answer = b"".join(iter(lambda: connection.recv(65536), b""))
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2])


@pytest.mark.parametrize("path", [SERVICE, SERVICE + "/feedback"])
@pytest.mark.parametrize("framed_body", [b"zz\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n"],
                         ids=["invalid-chunk-size", "missing-chunk-terminator"])
def test_broken_chunked_framing_is_a_400_under_gunicorn(gunicorn_port: int, path: str, framed_body: bytes) -> None:
    """gunicorn finds a broken chunk only as the body is read, and raised its parse error into the request: a 500."""
    status, outcome = _raw_post(gunicorn_port, path, framed_body)
    assert status == 400 and outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "structure" and "chunked" in outcome["issue"][0]["diagnostics"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_content_type_that_is_not_json_is_a_415(client: LiveClient, content_type: str) -> None:
    assert_outcome(post(client, sign_request(), content_type), 415)


def test_unknown_configuration_settings_are_ignored(client: LiveClient) -> None:
    """service-contract.md: unknown settings, and known ones of the wrong type, are ignored: the answer is the one
    given with the valid settings alone (`limits` is a card type the service offers)."""
    body, reference = blinatumomab_request(), blinatumomab_request()
    reference["extension"] = {"davinci-crd.configuration": {"limits": False}}
    body["extension"] = {"davinci-crd.configuration": {"no-such-option": False, "max-cards": "many", "limits": False,
                                                       "coverage-info": "no", "off-guideline": 0}}
    assert answer_of(client, body) == answer_of(client, reference)


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 6 else 4)
    if kind == 0:
        return rng.choice([None, True, False, 0, -1, 1.5e308, "", "order-sign", "Bundle"])
    if kind == 1:
        return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(8)))
    if kind == 2:
        return rng.randrange(-(10**6), 10**6)
    if kind == 3:
        return rng.random()
    if kind == 4:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["hook", "hookInstance", "context", "patientId", "draftOrders", "entry", "resource", "selections",
            "prefetch", "fhirServer", "fhirAuthorization", "extension", "resourceType", "id"]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randrange(5))}


def _mutated_request(rng: random.Random, examples: list[dict[str, Any]]) -> dict[str, Any]:
    body = copy.deepcopy(rng.choice([sign_request(), select_request(), *examples]))
    target: Any = body
    for _ in range(rng.randrange(1, 10)):  # walk down a random path and replace what is there
        if isinstance(target, list) and target:
            index = rng.randrange(len(target))
            if rng.random() < 0.3 or not isinstance(target[index], (dict, list)):
                target[index] = _random_json(rng)
                break
            target = target[index]
        elif isinstance(target, dict) and target:
            key = rng.choice(list(target))
            if rng.random() < 0.3 or not isinstance(target[key], (dict, list)):
                target[key] = _random_json(rng)
                break
            target = target[key]
        else:
            break
    return body


def test_garbage_never_gives_a_500(client: LiveClient) -> None:
    rng = random.Random(20261121)
    examples = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json")) if p.name != "expected.json"]
    for _ in range(300):
        choice = rng.randrange(3)
        if choice == 0:
            raw: bytes = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
        elif choice == 1:
            raw = json.dumps(_random_json(rng)).encode()
        else:
            raw = json.dumps(_mutated_request(rng, examples)).encode()
        response = post(client, raw)
        assert response.status_code in (200, 400, 412), (raw[:200], response.get_data(as_text=True))


def test_a_database_fault_is_a_500_logged_without_the_rows_content(caplog: pytest.LogCaptureFixture) -> None:
    app = Flask(__name__)
    register_error_handlers(app)

    @app.post("/boom")
    def boom() -> str:
        # PostgreSQL repeats the failing row in its message: here, a clinician's override comment.
        raise IntegrityError("INSERT INTO feedback ...", {}, Exception("Failing row contains (patient declined)"))

    with serving(app) as client:
        response = client.post("/boom")
    assert response.status_code == 500
    assert response.get_json()["issue"][0]["code"] == "exception"
    assert "database fault on POST /boom: IntegrityError / Exception" in caplog.text
    assert "patient declined" not in caplog.text


NOT_RFC_8259 = [
    ("-Infinity in prefetch", lambda raw: raw.replace('"value": 72', '"value": -Infinity', 1).encode(),
     "-Infinity is not a JSON number (RFC 8259 §6)"),
    ("NaN in prefetch", lambda raw: raw.replace('"value": 72', '"value": NaN', 1).encode(),
     "NaN is not a JSON number (RFC 8259 §6)"),
    ("UTF-16", lambda raw: raw.encode("utf-16"),
     "it is UTF-16 text, and JSON between systems is UTF-8 (RFC 8259 §8.1)"),
    # Valid JSON, invalid Unicode: the key came back in the answer, the audit trail stored the id as "?".
    ("unpaired surrogate in a key", lambda raw: raw.replace('"system":', '"sys\\ud800tem":', 1).encode(),
     "a string holds an unpaired surrogate (\\ud800), which is no Unicode character (RFC 8259 §8.2)"),
    ("unpaired surrogate in a record's id", lambda raw: raw.replace('"mrd-1"', '"mrd-1\\udc80"').encode(),
     "a string holds an unpaired surrogate (\\udc80), which is no Unicode character (RFC 8259 §8.2)"),
]


@pytest.mark.parametrize("name, change, said", NOT_RFC_8259, ids=[c[0] for c in NOT_RFC_8259])
def test_json_that_rfc_8259_does_not_allow_between_systems_is_a_400_naming_the_problem(
        client: LiveClient, name: str, change: Callable[[str], bytes], said: str) -> None:
    """orjson refuses each; the standard library, which reads what orjson refuses, read each and answered."""
    raw = (EXAMPLES / "aspirus-adult-maintenance.json").read_text()
    assert post(client, raw.encode()).status_code == 200
    issue = assert_outcome(post(client, change(raw)), 400)
    assert issue["diagnostics"] == f"Request body cannot be read: {said}"


def test_an_integer_beyond_64_bits_in_an_order_is_echoed_exactly(client: LiveClient) -> None:
    raw = (EXAMPLES / "aspirus-adult-maintenance.json").read_text()
    extension = '"extension": [{"url": "http://example.org/x", "valueDecimal": 123456789012345678901234567890}],'
    body = raw.replace('"resourceType": "MedicationRequest",', '"resourceType": "MedicationRequest", ' + extension, 1)
    response = post(client, body.encode())
    assert response.status_code == 200
    answer = json.loads(response.get_data())  # the standard library reads integers exactly
    assert answer["systemActions"]  # the order comes back in the coverage-information update
    assert 123456789012345678901234567890 in _decimal_values(answer["systemActions"])


def _decimal_values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        own = [value["valueDecimal"]] if "valueDecimal" in value else []
        return own + [v for x in value.values() for v in _decimal_values(x)]
    return [v for x in value for v in _decimal_values(x)] if isinstance(value, list) else []


def test_the_app_works_out_once_which_registered_functions_are_coroutines(app: Flask) -> None:
    """app._App.ensure_sync: a function registered when the app was built is returned as it is, from the answers
    worked out then; any other is asked as Flask asks it, and not remembered (nothing of a request is kept)."""
    for view in app.view_functions.values():
        assert app.ensure_sync(view) is view
    before = dict(app._sync)  # type: ignore[attr-defined]

    def later() -> str:
        return "answered"

    async def coroutine() -> str:
        return "answered"

    assert app.ensure_sync(later) is later
    with pytest.raises(RuntimeError, match="async"):  # Flask's own answer: it would wrap it, given its async extra
        app.ensure_sync(coroutine)
    assert app._sync == before  # type: ignore[attr-defined]
