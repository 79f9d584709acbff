"""Request validation: Content-Type, JSON parsing, jsonschema (schemas/hook-request.json), then `HookRequest`.

The schema's verdict comes from its keywords compiled into plain checks (schema_checks.py); jsonschema finds what is
wrong with a request they refuse, and schema_messages.py words it.

Every problem becomes a `ClientError` whose expression names the offending field (service-contract.md §Errors).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import islice
from typing import Any, Callable, Iterator

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.protocols import Validator

from cds_service import json_codec
from cds_service.urls import normalized_url
from cds_service.discovery import CONFIGURATION_OPTIONS, HOOKS, RENAMED_OPTIONS
from cds_service.exceptions import ClientError, path_expression
from cds_service.hook_request import HookRequest
from cds_service.printable import json_value, quoted_id
from cds_service.schema_checks import compiled_check
from cds_service.schema_messages import SIZE_LIMITS, error_message

JSON_MEDIA_TYPES = ("application/json", "application/fhir+json")
CONFIGURATION_EXTENSION = "davinci-crd.configuration"
# FHIR resources nest a few dozen levels at most; anything deeper is hostile or broken, and deep nesting would
# exhaust the recursion of the code that walks it later.
MAX_JSON_DEPTH = 100
_INEXACT_FLOAT = 2.0**63  # orjson reads integers outside the 64-bit range as floats
# Schema errors looked at to word a 400: enough to pick the most relevant one.
_ERRORS_WORDED = 20


def check_content_type(content_type: str | None) -> None:
    """415 unless the body is declared JSON. A missing Content-Type is refused too (service-contract.md §Errors: the
    body is then not declared JSON; RFC 9110 §8.3 lets the recipient take it as application/octet-stream). CDS Hooks
    clients send application/json (the specification's example, the CDS Hooks sandbox, EHRs), and only a browser
    request declared JSON needs a CORS preflight: a page posting a body without Content-Type would otherwise reach the
    service from any origin, whatever CDS_CORS_ORIGINS allows, whenever no JWT is required."""
    if not content_type:
        raise ClientError(415, "Content-Type is missing; a CDS Hooks request is JSON: use application/json",
                          code="not-supported")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in JSON_MEDIA_TYPES:
        raise ClientError(415, f"Content-Type {quoted_id(media_type)} is not JSON; use application/json",
                          code="not-supported")


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 saying why not."""
    if not body.strip():
        raise ClientError(400, "Request body is empty; a CDS Hooks request is a JSON object")
    data = _parsed(body, json_codec.loads)
    if not isinstance(data, dict):
        raise ClientError(400, f"Request body must be a JSON object, got {json_value(data)}")
    # Prefetch resources are only read at known paths, never walked recursively, so their depth cannot hurt; the
    # rest (context, orders echoed back in the response) is checked. This keeps the check off the bulk of the body.
    too_deep, inexact = _inspect({k: v for k, v in data.items() if k != "prefetch"}, MAX_JSON_DEPTH)
    if too_deep:
        raise ClientError(400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    if inexact:  # orjson read an integer beyond 64 bits as a float, and the orders are echoed back: read exactly
        exact: dict[str, Any] = _parsed(body, json.loads)  # the same object, read again
        return exact
    return data


def _parsed(body: bytes, loads: Callable[[bytes], Any]) -> Any:
    try:
        return loads(body)
    except RecursionError:
        raise ClientError(400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except json_codec.Unreadable as exc:
        raise ClientError(400, f"Request body cannot be read: {exc}") from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise ClientError(400, f"Request body is not valid JSON: {exc}") from None


def _inspect(data: Any, limit: int) -> tuple[bool, bool]:
    """(nested deeper than `limit`, holds a float at or beyond 2**63: an integer orjson could not read exactly), of
    parsed JSON (plain dicts, lists, strings, numbers)."""
    # Level by level, so that checking depth cannot itself hit the recursion limit. One type() per value, strings (the
    # usual value) skipped first: isinstance tests per value cost nearly twice as much.
    inexact = False
    level, depth = [data], 1
    while level:
        if depth > limit:
            return True, inexact
        below = []
        for node in level:
            for child in node.values() if type(node) is dict else node:
                kind = type(child)
                if kind is str:
                    continue
                if kind is dict or kind is list:
                    below.append(child)
                elif kind is float and abs(child) >= _INEXACT_FLOAT:
                    inexact = True
        level = below
        depth += 1
    return False, inexact


@dataclass(frozen=True)
class _Schema:
    """A schema's jsonschema validator, which words the errors, and `valid`, its verdict on an instance."""

    validator: Draft202012Validator
    valid: Callable[[Any], bool]


@lru_cache(maxsize=1)
def _validators() -> tuple[_Schema, dict[str, _Schema]]:
    """The envelope's schema, and one per hook for its context (the schema's $defs)."""
    schema = json.loads(resources.files("cds_service.schemas").joinpath("hook-request.json").read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    contexts = schema.pop("$defs")
    return _schema(schema), {hook: _schema(s) for hook, s in contexts.items()}


def _schema(schema: dict[str, Any]) -> _Schema:
    validator = Draft202012Validator(schema)
    return _Schema(validator, compiled_check(schema) or validator.is_valid)


# A schema error with the path of what it validated inside the body: () for the envelope, ("context",) for a context.
_Found = tuple[ValidationError, tuple[str, ...]]
# Fields whose values diagnostics never quote: the access token, wherever a client put it (a token sent as the whole
# of fhirAuthorization, or pasted into fhirServer, would otherwise be echoed back and end up in the EHR's logs).
_SECRET_FIELDS = ("fhirAuthorization", "fhirServer")


def schema_error_expression(error: ValidationError, prefix: tuple[str, ...] = ()) -> str:
    """The field a schema error is about, as an OperationOutcome `expression`: for a missing member, the member."""
    path = path_expression((*prefix, *error.absolute_path))
    if error.validator == "required":
        missing = next(name for name in error.validator_value if name not in error.instance)
        return f"{path}.{missing}" if path else missing
    return path or "$this"


def _expression(found: _Found) -> str:
    return schema_error_expression(*found)


def _errors(schema: _Schema, instance: Any, prefix: tuple[str, ...]) -> list[_Found]:
    if schema.valid(instance):  # the common case, without collecting errors
        return []
    return [(error, prefix) for error in worded_errors(schema.validator, instance)]


def worded_errors(validator: Validator, instance: Any) -> Iterator[ValidationError]:
    """The first few schema errors of `instance`, from which a 400 is worded. jsonschema makes an error for every bad
    item of an array, lazily: taken whole, a 2 MB array of a million zeros held a worker past gunicorn's timeout. A
    size limit broken ends them, so that a schema listing `maxItems` before `items` never reads an oversized array's
    items."""
    for error in islice(validator.iter_errors(instance), _ERRORS_WORDED):
        yield error
        if error.validator in SIZE_LIMITS:
            return


def _schema_check(body: dict[str, Any]) -> None:
    envelope, contexts = _validators()
    found = _errors(envelope, body, ())
    hook, context = body.get("hook"), body.get("context")
    if isinstance(hook, str) and hook in contexts and isinstance(context, dict):
        found += _errors(contexts[hook], context, ("context",))
    if found:
        # Report the shallowest problem first: a missing `context` matters more than what is inside it.
        first = min(found, key=lambda f: (len(f[1]) + len(f[0].absolute_path), _expression(f)))
        field = _expression(first)
        raise ClientError(400, f"{field}: {_message(first)}", field)


def _message(found: _Found) -> str:
    """What is wrong, from the schema error; it quotes the offending value except under a secret field."""
    error, prefix = found
    path = (*prefix, *error.absolute_path)
    return error_message(error, secret=bool(path) and path[0] in _SECRET_FIELDS)


# The request's ids are the audit trail's keys, found again by `cds-service audit show` and in the EHR's logs: a
# control character (C0, DEL, C1) there is a broken client (PostgreSQL cannot even store NUL: it became "?", and the
# call could not be found), and a NUL in patientId failed the patient's fetch: a 412. No stricter rule than that (FHIR
# ids are [A-Za-z0-9-.]{1,64}): the schema takes any id its columns hold, as EHRs send ids of their own making.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTEXT_IDS = ("patientId", "userId", "encounterId")


def _semantic_checks(body: dict[str, Any]) -> None:
    if body["hook"] not in HOOKS:
        # Quoted cut (printable.quoted_id), as every value a 400 quotes: a 2 MB one came back whole.
        raise ClientError(400, f"hook {quoted_id(body['hook'])} is not declared by this service "
                               f"({', '.join(HOOKS)})", "hook")
    context = body["context"]
    ids = {"hookInstance": body["hookInstance"], **{f"context.{name}": context.get(name) for name in _CONTEXT_IDS}}
    for field, value in ids.items():
        control = _CONTROL.search(value) if isinstance(value, str) else None
        if control:
            raise ClientError(400, f"{field} holds a control character (U+{ord(control[0]):04X}); an id is printable "
                                   f"text", field)
    if body.get("fhirAuthorization") is not None and body.get("fhirServer") is None:
        raise ClientError(400, "fhirAuthorization was sent without fhirServer", "fhirAuthorization")
    if body.get("fhirServer") is not None:
        _check_fhir_server(body["fhirServer"])
    if body["hook"] == "order-select":
        _check_selections(body["context"])


def _check_fhir_server(url: str) -> None:
    """A fhirServer the service could never fetch from is the client's mistake, a 400: not the 412 of a server the
    configuration does not allow (the allowlist's comparison, urls.normalized_url, had refused it silently). Nor
    is one with a query or a fragment, which a FHIR base URL has neither of: the searches appended to it would be
    another URL than the base meant. The URL is not quoted back (it may hold a token pasted in by mistake)."""
    if normalized_url(url) is None:
        raise ClientError(400, "fhirServer is malformed: not an http(s) URL with a host and a valid port (and no "
                               "user, password or dot segments)", "fhirServer")
    if "?" in url or "#" in url:  # RFC 3986: delimiters, found nowhere else in a URL without a user or password
        raise ClientError(400, "fhirServer has a query or a fragment: a FHIR base URL has neither", "fhirServer")


def _check_selections(context: dict[str, Any]) -> None:
    entries = context["draftOrders"].get("entry") or []
    drafted = {
        f"{e['resource'].get('resourceType')}/{e['resource'].get('id')}"
        for e in entries
        if isinstance(e.get("resource"), dict)
    }
    for index, reference in enumerate(context["selections"]):
        if reference not in drafted:
            raise ClientError(400, f"selection {quoted_id(reference)} names no resource of draftOrders",
                              f"context.selections[{index}]")


def parse_configuration(body: dict[str, Any]) -> dict[str, Any]:
    """The davinci-crd.configuration extension: known options of the right type; anything else is ignored (CRD)."""
    extension = body.get("extension") or {}
    raw = extension.get(CONFIGURATION_EXTENSION)
    if not isinstance(raw, dict):
        return {}
    types = {option["code"]: option["type"] for option in CONFIGURATION_OPTIONS}
    known = {code: value for code, value in raw.items() if code in types and _has_type(value, types[code])}
    for old, new in RENAMED_OPTIONS.items():
        if new not in known and old in raw and _has_type(raw[old], types[new]):  # the current name wins
            known[new] = raw[old]
    return known


def _has_type(value: Any, option_type: str) -> bool:
    if option_type == "boolean":
        return isinstance(value, bool)
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def hook_request(body: dict[str, Any], service_id: str, client_iss: str | None = None,
                 tenant: str | None = None) -> HookRequest:
    """Validates a parsed request body and builds the `HookRequest` the rest of the service works on."""
    _schema_check(body)
    _semantic_checks(body)
    context = body["context"]
    return HookRequest(
        hook=body["hook"],
        hook_instance=body["hookInstance"],
        service_id=service_id,
        patient_id=context["patientId"],
        draft_orders=context["draftOrders"],
        user_id=context.get("userId"),
        encounter_id=context.get("encounterId"),
        # Read for order-select only (its schema checks them); order-sign has none, whatever a client sends.
        selections=tuple(context.get("selections") or ()) if body["hook"] == "order-select" else (),
        fhir_server=body.get("fhirServer"),
        fhir_authorization=body.get("fhirAuthorization"),
        prefetch=body.get("prefetch") or {},
        configuration=parse_configuration(body),
        client_iss=client_iss,
        tenant=tenant,
    )
