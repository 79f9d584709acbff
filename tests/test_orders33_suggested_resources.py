"""Every suggestion's order is a valid FHIR R4 MedicationRequest that keeps the clinician's other fields and changes
only what its card says (the dose, the days, the quantity, the split); a narrative generated from the order's data
(`text.status` generated), which kept "28 mcg/day, days 1-28" beside the corrected lines, is left out for the EHR to
regenerate; one holding more than the data (`additional`) stays."""
from __future__ import annotations

import copy
from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest

from tests.dates_support import CRD_COVERAGE, answer, example, order, service

__all__ = ["service"]

Json = dict[str, Any]
NARRATIVE = {"status": "generated",
             "div": '<div xmlns="http://www.w3.org/1999/xhtml">Blinatumomab 28 mcg/day, days 1-28</div>'}
KEPT = {
    "note": [{"text": "Pharmacy: 24-hour bags"}],
    "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C91.00"}]}],
    "requester": {"reference": "Practitioner/example-oncologist", "display": "Dr Onc"},
    "groupIdentifier": {"value": "regimen-7"},
    "courseOfTherapyType": {"text": "continuous"},
    "substitution": {"allowedBoolean": False},
    "priority": "urgent",
    "extension": [{"url": "http://example.org/local", "valueString": "kept"}],
}
DISPENSE = {"numberOfRepeatsAllowed": 0, "performer": {"reference": "Organization/pharmacy"},
            "validityPeriod": {"start": "2026-11-25", "end": "2027-01-31"}}


def dose_fix() -> Json:
    return example("aspirus-relapsed-refractory-single-line-dose-too-high")


def end_fix() -> Json:
    request = example("aspirus-adult-consolidation-mrd-positive")
    order(request)["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["end"] = "2027-01-04"
    return request


def split() -> Json:
    request = example("aspirus-adult-consolidation-mrd-positive")
    written = order(request)
    later = copy.deepcopy(written["dosageInstruction"][0])
    later["sequence"] = 2
    later["timing"]["repeat"]["boundsPeriod"] = {"start": "2027-01-12", "end": "2027-02-08"}
    written["dosageInstruction"].append(later)
    written["dispenseRequest"]["quantity"]["value"] = 56
    return request


CASES = {"dose": (dose_fix, {"dosageInstruction"}), "end": (end_fix, {"dosageInstruction"}),
         "quantity": (lambda: example("aspirus-quantity-over-limit"), {"dispenseRequest"}),
         "plan limit": (lambda: example("florida-blue-dose-28.4-above-plan-limit"), {"dosageInstruction"}),
         "split": (split, {"dosageInstruction", "dispenseRequest"})}


def actions(service: Any, request: Json, **fields: Any) -> tuple[Json, list[Json]]:
    """The order with `fields` added and its suggestions' actions."""
    written = order(request)
    written.update(copy.deepcopy(fields))
    written["extension"] = written.get("extension", []) + copy.deepcopy(KEPT["extension"])
    written["dispenseRequest"].update(copy.deepcopy(DISPENSE))
    found = [action for card in answer(service, request)["cards"]
             for suggestion in card.get("suggestions", []) for action in suggestion["actions"]]
    assert found
    return copy.deepcopy(written), found


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_suggestion_is_a_valid_order_changing_only_what_its_card_says(service: Any, case: str) -> None:
    build, changed = CASES[case]
    fields = {key: value for key, value in KEPT.items() if key != "extension"}
    written, found = actions(service, build(), text=NARRATIVE, **fields)
    for action in found:
        resource = action["resource"]
        MedicationRequest.model_validate(resource)
        assert "text" not in resource  # generated from the old data
        assert not [e for e in resource["extension"] if e["url"] == CRD_COVERAGE]
        assert resource["extension"] == KEPT["extension"]
        ignored = changed | {"text", "extension"} | ({"id", "status"} if action["type"] == "create" else set())
        assert {k: v for k, v in resource.items() if k not in ignored} == {
            k: v for k, v in written.items() if k not in ignored}
        for key in DISPENSE:
            assert resource["dispenseRequest"][key] == DISPENSE[key]


def test_a_narrative_holding_more_than_the_data_stays(service: Any) -> None:
    additional = {**NARRATIVE, "status": "additional"}
    _, found = actions(service, dose_fix(), text=additional)
    assert [action["resource"]["text"] for action in found] == [additional]
