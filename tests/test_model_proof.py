"""model_proof.py: the quick proof that an order is a valid MedicationRequest may leave a valid order to
fhir.resources, never pass one fhir.resources refuses; and it proves the orders EHRs send."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from pydantic import ValidationError

from bench.workload import order_sign_request
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
REPLACEMENTS: list[Any] = [None, 1, -1, 2**40, 1.5, True, "x", "", " ", "a b", "2024-02-30", "2024-13", "2024-01-01T10:00",
                           "urn:x", "\u00a0", {}, [], [None], {"extension": []}, {"id": "a"}]


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
