"""model_proof.py: the quick proof that an order is a valid MedicationRequest may leave a valid order to
fhir.resources, never pass one fhir.resources refuses; and it proves the orders EHRs send."""
from __future__ import annotations

import copy
import datetime
import decimal
import json
import math
import random
import struct
import typing
from pathlib import Path
from typing import Any, Iterator

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir_core import types as fhir_types
from pydantic import TypeAdapter, ValidationError

from bench.workload import order_sign_request
from cds_service import model_proof
from cds_service.model_proof import proof_for

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
PROVEN_VALID = proof_for(MedicationRequest)


def _orders() -> list[dict[str, Any]]:
    """Every distinct MedicationRequest of the examples and the benchmark's request: draft orders and prefetched."""
    bodies = [json.loads(path.read_text()) for path in sorted(EXAMPLES.glob("*.json")) if path.stem != "expected"]
    found: dict[str, dict[str, Any]] = {}
    for body in [*bodies, order_sign_request()]:
        for resource in _resources(body):
            if resource.get("resourceType") == "MedicationRequest":
                found.setdefault(json.dumps(resource, sort_keys=True), resource)
    return list(found.values())


def _resources(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if "resourceType" in value:
            yield value
        for item in value.values():
            yield from _resources(item)
    elif isinstance(value, list):
        for item in value:
            yield from _resources(item)


ORDERS = _orders()


def _accepted(order: dict[str, Any]) -> bool:
    try:
        MedicationRequest.model_validate(order)
    except (ValidationError, LookupError):
        return False
    return True


def test_every_example_order_is_proven_valid() -> None:
    """The orders EHRs send are proved, not sent on to fhir.resources' slower validation."""
    assert len(ORDERS) > 20
    unproven = [order.get("id") for order in ORDERS if not PROVEN_VALID(order)]
    assert not unproven
    assert all(_accepted(order) for order in ORDERS)


# Replacements for a value: other JSON kinds, nulls, and strings that break one primitive's rules or another's.
REPLACEMENTS: list[Any] = [None, 1, -1, 2**40, 1.5, True, "x", "", " ", "a b", "2024-02-30", "2024-13",
                           "2024-01-01T10:00", "urn:x", "\u00a0", {}, [], [None], {"extension": []}, {"id": "a"}]


def _variants(value: Any) -> Iterator[Any]:
    """The order with one change somewhere: each value replaced, each key dropped, unknown and doubled keys added."""
    yield from _changed(value, lambda node: _node_variants(node))


def _changed(value: Any, variants: Any) -> Iterator[Any]:
    yield from variants(value)
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in list(children):
        for replaced in _changed(child, variants):
            changed = copy.copy(value)
            changed[key] = replaced
            yield changed


def _node_variants(node: Any) -> Iterator[Any]:
    for replacement in REPLACEMENTS:
        if replacement != node:
            yield replacement
    if isinstance(node, list) and node:
        yield node[0]
        yield [*node, None]
        yield [*node, node[0]]
    if isinstance(node, dict):
        for key in node:
            yield {k: v for k, v in node.items() if k != key}
            yield {**node, f"_{key}": {"extension": [{"url": "http://example.org/x", "valueString": "y"}]}}
            yield {**node, f"_{key}": {}}
        yield {**node, "unknownElement": 1}
        yield {**node, "resourceType": "MedicationRequest"}
        yield {**node, "fhir_comments": "note"}
        yield {**node, "medicationReference": {"reference": "Medication/x"}}
        yield {**node, "valueString": "x", "valueBoolean": True}
        yield {**node, "contained": [{"resourceType": "Medication", "id": "m"}]}


@pytest.mark.parametrize("order", ORDERS[:12], ids=lambda order: str(order.get("id")))
def test_what_the_proof_passes_fhir_resources_accepts(order: dict[str, Any]) -> None:
    proven = refused = 0
    for variant in _variants(order):
        if PROVEN_VALID(variant):
            assert _accepted(variant), variant
            proven += 1
        elif not _accepted(variant):
            refused += 1
    # Both verdicts occur: the proof is neither a constant True nor a constant False.
    assert proven > 50 and refused > 50


@pytest.mark.parametrize("order", [
    {"resourceType": "MedicationRequest", "status": "draft", "intent": "order", "subject": {"reference": "Patient/p"},
     "medicationCodeableConcept": {"text": "blinatumomab"}},
], ids=["minimal"])
def test_left_to_fhir_resources_what_the_proof_cannot_show(order: dict[str, Any]) -> None:
    """Valid orders the proof does not try to show valid: fhir.resources decides them."""
    assert PROVEN_VALID(order)
    for unproven in [
        {**order, "_status": {"extension": [{"url": "http://example.org/x", "valueString": "y"}]}},
        {**order, "contained": [{"resourceType": "Medication", "id": "m"}]},
        {**order, "note": [{"text": "a"}], "fhir_comments": "note"},
        {**copy.deepcopy(order), "subject": {"reference": "Patient/p", "resourceType": "Reference"}},
        {**order, "priorPrescription": None},
    ]:
        assert not PROVEN_VALID(unproven), unproven
        assert _accepted(unproven), unproven


def _fhir_core_check(annotation: Any) -> Any:
    return TypeAdapter(annotation).validator.isinstance_python


def _days() -> Iterator[str]:
    """Every day of years around the leap-year rules and the ends of the range, a sample of the rest, and days that
    do not exist."""
    rng = random.Random(7)
    years = [1, 4, 99, 100, 400, 1900, 1999, 2000, 2023, 2024, 2026, 9999]
    days = [day for year in years for day in range(datetime.date(year, 1, 1).toordinal(),
                                                   datetime.date(year, 12, 31).toordinal() + 1)]
    days += rng.sample(range(1, datetime.date.max.toordinal() + 1), 3000)
    yield from (datetime.date.fromordinal(day).isoformat() for day in days)
    for year in [0, *years]:
        yield from (f"{year:04d}-{month:02d}-{day:02d}" for month in range(14) for day in range(33))
    yield from ["2024-1-01", "2024-01-1", "20240101", "2024-W01-1", "+024-01-01", "2024-01-01 ", "２０２４-01-01",
                "2024-01-01T00:00:00Z", "2024", "2024-01", 20240101, None]


@pytest.mark.parametrize("fhir_type", [typing.Annotated[datetime.date, fhir_types.Date()],
                                       typing.Annotated[datetime.datetime, fhir_types.DateTime()]],
                         ids=["date", "dateTime"])
def test_full_dates_proved_as_fhir_core_validates_them(fhir_type: Any) -> None:
    proved, validated = model_proof._primitive_check(fhir_type), _fhir_core_check(fhir_type)
    for value in _days():
        assert proved(value) == validated(value), value
        # What fhir_core accepts as a full date is proved without its validator.
        assert model_proof._is_calendar_day(value) == (isinstance(value, str) and len(value) == 10
                                                       and validated(value)), value


def test_numbers_proved_as_fhir_core_validates_them() -> None:
    fhir_type = typing.Annotated[decimal.Decimal, fhir_types.Decimal()]
    proved, validated = model_proof._primitive_check(fhir_type), _fhir_core_check(fhir_type)
    rng = random.Random(7)
    floats = [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(20_000)]
    int64 = [*range(-300, 300), 2**63 - 1, -2**63]
    beyond = [2**63, -2**63 - 1, 2**64, 10**30, 10**4300, -10**4300]
    for value in [*int64, *beyond, *floats, 0.0, -0.0, 4.65, 1e16, 1e-7, 5e-324, math.inf, -math.inf, math.nan, True,
                  False, "1", None]:
        assert proved(value) == validated(value), value
    # Integers orjson reads and every finite float are proved without fhir_core's validator.
    assert all(model_proof._is_plain_number(value) for value in [*int64, *floats] if validated(value))
