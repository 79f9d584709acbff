"""The request-level checks of the blinatumomab draft orders, each a 400 (service-contract.md): a valid
MedicationRequest (fhir.resources, unknown elements ignored), the required bindings of its status and intent, an id
when it is answered, no two with the same id; and no more of them than one call answers."""
from __future__ import annotations

import copy
import re
from typing import Any, Callable

from fhir.resources.R4B.medicationrequest import MedicationRequest
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from cds_service.draft_orders import answered
from cds_service.exceptions import ClientError, path_expression
from cds_service.facts.shape import STATUSES, direct_check, json_kind, problem_at
from cds_service.hook_request import HookRequest
from cds_service.model_proof import proof_for
from cds_service.printable import json_value

# The required binding of MedicationRequest.intent (FHIR R4); its status's is shape.STATUSES'.
_INTENT_CODES = frozenset(("proposal", "plan", "order", "original-order", "reflex-order", "filler-order",
                           "instance-order", "option"))
# Built at import (~70 ms): the quick proof that an order is a valid MedicationRequest (model_proof.py).
_PROVEN_VALID = proof_for(MedicationRequest)
_WELL_FORMED = direct_check("MedicationRequest")
# pydantic's error type for a key the model does not define (fhir.resources forbids extra keys).
_UNKNOWN_ELEMENT = "extra_forbidden"
# What a pydantic error type (less its _type or _parsing) expects, as a pharmacist would name it: the 400 says "is a
# list, not text", never pydantic's "Input should be a valid string".
_EXPECTED = {"string": "text", "int": "a whole number", "int_from_float": "a whole number", "float": "a number",
             "decimal": "a number", "bool": "true or false", "list": "a list", "date": "a date", "datetime": "a date",
             "dict": "an object", "model": "an object"}
# The JSON values other than an object, named by shape.json_kind (pydantic's input may be any Python object).
_NOT_OBJECTS = (str, list, bool, int, float, type(None))
# Steps of a pydantic `loc` that are fhir.resources' own, not elements of the FHIR JSON: a FHIRPath has no place for
# them (its validators report a complex value of the wrong kind at "root", a resourceType at "resource_type").
_MODEL_STEPS = frozenset(("root", "__root__", "resource_type"))
_PRIMITIVE_MISMATCH = re.compile(r"Value error, (\w+) value string does not match spec regex")
_FHIR_STRING = "[ \r\n\t\\S]+"  # FHIR's string: fails an empty one, and one of whitespace other than " \r\n\t" alone
# fhir_core's primitive types checked by a pattern, whose pydantic message quotes the regular expression: what each
# says in FHIR's words, for the integration engineer reading the 400.
_PATTERN_SAID = {
    r"^[^\s]+(\s[^\s]+)*$": "is not a valid FHIR code: no space at either end, none doubled",
    r"^[A-Za-z0-9\-.]+$": "is not a valid FHIR id: letters, digits, '-' and '.' only",
    _FHIR_STRING: "is an empty string: FHIR leaves an element out rather than empty",
}
# A string of a no-break space alone fails that pattern too: not empty, so not called so.
_NO_TEXT = "holds no text, only whitespace such as a no-break space: FHIR leaves an element out rather than blank"
# The most blinatumomab orders one call answers. A cycle is one to a few orders (bag changes); each costs about a
# millisecond and a half to answer, so a body of thousands of copies would hold a worker for seconds, past gunicorn's
# timeout on a slow machine (a security review's finding: 9,000 orders in a 9 MB body).
MAX_ORDERS = 50


def validate_orders(request: HookRequest, candidates: list[tuple[int, dict[str, Any]]],
                    chosen: Callable[[dict[str, Any]], bool], done: set[int]) -> set[int]:
    """A blinatumomab order that is not a valid MedicationRequest is a 400, and so are two with the same id.

    `candidates` are the request's MedicationRequests with their positions (draft_orders.medication_requests);
    those `chosen` are validated unless their position is in `done` (each order is validated once), which is
    returned with theirs added."""
    count = sum(1 for _, order in candidates if chosen(order))
    if count > MAX_ORDERS:
        raise ClientError(400, f"{count} blinatumomab orders in one call: at most {MAX_ORDERS} are answered",
                          "context.draftOrders.entry", code="too-costly")
    for index, order in candidates:
        if index not in done and chosen(order):
            _validate(index, order, answered(request, order))
            done.add(index)
    _check_distinct_ids([(index, order) for index, order in candidates if index in done])
    return done


def _check_distinct_ids(orders: list[tuple[int, dict[str, Any]]]) -> None:
    """Each answer names its order by id (the coverage-information update, the cards' associated resource, the dose
    of the cycle's other orders): two blinatumomab orders with one id could not be told apart."""
    first_with: dict[str, int] = {}
    for index, order in orders:
        order_id = order.get("id")
        if not order_id:  # no id: a 400 already if the order is answered, else nothing names it
            continue
        if order_id in first_with:
            raise ClientError(400, f"Blinatumomab orders entry[{first_with[order_id]}] and entry[{index}] have the "
                                   f"same id {json_value(order_id)}: the coverage information updates must tell them "
                                   f"apart",
                              f"context.draftOrders.entry[{index}].resource.id")
        first_with[order_id] = index


def _validate(index: int, order: dict[str, Any], answered: bool) -> None:
    where = f"context.draftOrders.entry[{index}].resource"
    try:
        _validate_known_elements(order)
    except ValidationError as exc:
        path, said = _worded(exc.errors()[0])
        where_said = f"{path} {said}" if path else said  # a problem of the whole order names no element
        raise ClientError(400, f"Blinatumomab order is not a valid MedicationRequest: {where_said}",
                          where + (f".{path}" if path else "")) from None
    except LookupError:  # fhir_core's lookup of a contained resource's model: a resourceType FHIR R4 does not have
        raise ClientError(400, "Blinatumomab order is not a valid MedicationRequest: a contained resource has an "
                               "unknown resourceType", f"{where}.contained") from None
    # fhir.resources checks the codes' syntax only: the required bindings are checked here.
    for element, codes in (("status", STATUSES["MedicationRequest"]), ("intent", _INTENT_CODES)):
        if order[element] not in codes:
            raise ClientError(400, f"Blinatumomab order {element} {json_value(order[element])} is not a "
                                   f"MedicationRequest {element} code", f"{where}.{element}")
    # fhir.resources takes a JSON number for a dateTime (as a Unix time) and text for a number, which FHIR JSON does
    # not allow: the readers would pass such a value over (an order's start read as absent dropped its first line).
    # The elements they read are checked as they check a record's (facts/shape.py).
    path, said = ("", "") if _WELL_FORMED(order) else problem_at(order, nulls_absent=True)
    if said:
        raise ClientError(400, f"Blinatumomab order is not a valid MedicationRequest: {path} {said}",
                          f"{where}.{path}")
    # An order-select order not selected gets no answer, so nothing needs to name it.
    if answered and not order.get("id"):
        raise ClientError(400, "Blinatumomab order has no id: the coverage information update must name it",
                          f"{where}.id")


def _worded(error: ErrorDetails) -> tuple[str, str]:
    """The FHIR path of the element a pydantic error names, and what is wrong with it in plain words. fhir.resources
    judges; only its wording is replaced where it speaks Python: a list where an object belongs ("Value is expected
    from the instance of Quantity, but got type <class 'list'>"), text there (it parses text as JSON: "Invalid JSON:
    expected value at line 1 column 1"), a resourceType inside an element (it quotes its module, over three lines)."""
    kind, value = error["type"], error["input"]
    path = path_expression(step for step in error["loc"] if step not in _MODEL_STEPS)
    if kind in ("model_validation_format", "json_invalid") and type(value) in _NOT_OBJECTS:
        return path, f"is {json_kind(value)}, not an object"
    if kind == "fhir-validation-wrong-resource-type":
        return path, _resource_type_said(error.get("ctx") or {})
    if kind == "list_type" and isinstance(value, list):  # fhir.resources' own check of a list's items
        return path, "holds a null item"
    expected = _EXPECTED.get(kind.removesuffix("_type").removesuffix("_parsing"))
    if expected is not None:
        return path, f"is {json_kind(value)}, not {expected}"
    if kind in ("missing", "model_field_validation.missing"):
        return path, "is required"
    pattern = (error.get("ctx") or {}).get("pattern")
    if kind == "string_pattern_mismatch" and pattern in _PATTERN_SAID:
        return path, _NO_TEXT if pattern == _FHIR_STRING and value else _PATTERN_SAID[pattern]
    # fhir_core's check of a primitive's regular expression: "DateTime value string does not match spec regex."
    primitive = _PRIMITIVE_MISMATCH.match(str(error["msg"]))
    if primitive:
        name = primitive[1]
        return path, f"is not a valid FHIR {name[0].lower()}{name[1:]}"
    # Any other (a value outside its range, two medication[x]): pydantic's words, on one line.
    said = " ".join(str(error["msg"]).removeprefix("Value error, ").split())
    return path, f"is invalid: {said}" if path else said


def _resource_type_said(context: dict[str, Any]) -> str:
    """What is wrong with an element holding a resourceType, naming the FHIR type it was read as: fhir.resources has
    a module per FHIR type (quantity.Quantity); its class for an element of one resource or type
    (MedicationRequestDispenseRequest, DosageDoseAndRate) is no FHIR name."""
    module, name = str(context.get("module_name", "")), str(context.get("class_name", ""))
    if name and module.rpartition(".")[2] == name.lower():
        return f"has an element {name} does not define: resourceType"
    return "has an element FHIR does not define there: resourceType"


def _validate_known_elements(order: dict[str, Any]) -> None:
    """Validate the order as a MedicationRequest, ignoring elements R4 does not define (an R5
    `renderedDosageInstruction`, a vendor's key): CRD clients and servers SHALL ignore unexpected elements (CRD
    2.2.1). fhir.resources forbids them, so only after a failure is a copy without them validated again: a valid
    order is validated once. The order itself is never changed (the actions return it as received). An order the
    quick proof shows valid (model_proof.py: the usual case) is not validated by fhir.resources at all."""
    if _PROVEN_VALID(order):
        return
    try:
        MedicationRequest.model_validate(order)
    except ValidationError as exc:
        known = _without_unknown_elements(order, exc)
        if known is None:
            raise
        # Validated again: an unknown key stops its object's own checks (e.g. one medication[x]) from running.
        _validate_known_elements(known)


def _without_unknown_elements(order: dict[str, Any], exc: ValidationError) -> dict[str, Any] | None:
    """A copy of the order without the elements `exc` found unknown; None when it found none, or one it names is
    not where it says (then the error stands)."""
    unknown = [error["loc"] for error in exc.errors() if error["type"] == _UNKNOWN_ELEMENT]
    if not unknown:
        return None
    known = copy.deepcopy(order)
    try:
        for *path, key in unknown:
            parent: Any = known
            for step in path:
                parent = parent[step]
            del parent[key]
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return known
