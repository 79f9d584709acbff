"""The shape filter (facts/shape.py): which resources the readers never see, what a note says about one, and that no
JSON of any type in any element of a resource they would read fails an evaluation (facts/unreadable.py classifies
those it leaves out from their raw JSON)."""
from __future__ import annotations

import copy
from datetime import date
from typing import Any, Iterator

import pytest
from fhir.resources.R4B import get_fhir_model_class

from cds_service.facts.extract import extract_facts
from cds_service.facts.model import read_within
from cds_service.facts.shape import SCHEMAS, STATUSES, direct_check, problem, split_well_formed, well_formed
from cds_service.policies import load_policy
from tests.factories import (condition, immunization, medication_request, observation, questionnaire_response,
                             record)

TODAY = date(2026, 3, 1)


@pytest.mark.parametrize(("resource", "said"), [
    (immunization(occurrence="2026-02-20") | {"occurrenceDateTime": 20260220},
     "occurrenceDateTime is a number, not a date"),
    (medication_request(start="2026-02-01") | {"status": ["active"]},
     "status is a list, not a code FHIR defines for it"),
    # A code or date that is text but names nothing: quoted, cut at 20 characters.
    (medication_request(start="2026-02-01") | {"status": "active "},
     'status is "active ", not a code FHIR defines for it'),
    (observation("29463-7", effectiveDateTime="2026-13-01"), 'effectiveDateTime is "2026-13-01", not a date'),
    (condition(onsetPeriod={"start": "2026-1-1"}), 'onsetPeriod.start is "2026-1-1", not a date'),
    (immunization(occurrence="x" * 30), f'occurrenceDateTime is "{"x" * 20}…", not a date'),
    (medication_request(dosageInstruction=[{"text": "daily"}, {"sequence": "2"}]),
     "dosageInstruction[1].sequence is text, not a whole number"),
    (observation("29463-7", valueQuantity={"value": True, "unit": "kg"}),
     "valueQuantity.value is true or false, not a number"),
    (condition(onsetPeriod={"start": None}), "onsetPeriod.start is null, not a date"),
    (condition(code="x") | {"code": "C91.02"}, "code is text, not an object"),
    ("Condition/1", "it is text, not a resource"),
])
def test_a_problem_names_the_first_element_of_a_wrong_type(resource: Any, said: str) -> None:
    assert problem(resource) == said


@pytest.mark.parametrize("kind", sorted(STATUSES))
def test_the_status_codes_are_fhirs(kind: str) -> None:
    """fhir.resources lists each status value set (Observation's only in part, ending "+")."""
    model = get_fhir_model_class(kind)
    listed = model.model_fields["status"].json_schema_extra["enum_values"]  # type: ignore[index]
    assert set(listed) - {"+"} <= STATUSES[kind] and (listed[-1] == "+" or set(listed) == STATUSES[kind])


def test_a_well_formed_resource_or_one_without_a_schema_has_no_problem() -> None:
    assert problem(condition()) == "" and problem({"resourceType": "Basic", "code": 7}) == ""


def test_split_keeps_the_order_and_sets_aside_the_malformed_ones() -> None:
    good, bad = condition(), condition() | {"recordedDate": 7}
    assert split_well_formed([good, bad, good]) == ([good, good], [bad])
    assert split_well_formed([good]) == ([good], [])


_WRONG = (7, 2.5, True, "x", None, [], [7], {}, {"x": [1]})


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every element of a JSON value, nested ones included."""
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield (*path, key)
        yield from _paths(child, (*path, key))


def _replaced(resource: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(resource)
    target: Any = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


_RESOURCES = [
    immunization("03", "2026-02-20", recorded="2026-02-21"),
    condition("C91.02", recorded="2026-02-15", clinical_status="relapse", text="B-ALL",
              verificationStatus={"coding": [{"code": "confirmed"}]}, onsetPeriod={"start": "2025-01"}),
    condition("D89.834", recorded="2026-02-15"),
    medication_request("475342", start="2026-02-01", end="2026-02-20", status="stopped", route="oral",
                       statusReason={"text": "intolerance"}, authored="2026-01-31",
                       dispenseRequest={"validityPeriod": {"start": "2026-02-01", "end": "2026-03"}}),
    medication_request(start="2026-01-01", end="2026-01-28", status="completed", id="prior",
                       medicationReference={"reference": "#m"},
                       contained=[{"resourceType": "Medication", "id": "m", "code": {"text": "blinatumomab"}}]),
    observation(text="MRD (flow)", effective="2026-02-20", interpretation=[{"coding": [{"code": "POS"}]}],
                valueQuantity={"value": 0.05, "unit": "%", "comparator": "<", "code": "%"}),
    observation("69548-6", effectivePeriod={"start": "2025-06-01", "end": "2025-06-02"},
                component=[{"code": {"text": "gene"}, "valueString": "BCR"},
                           {"code": {"text": "gene"}, "valueCodeableConcept": {"text": "ABL1"}}],
                valueCodeableConcept={"coding": [{"system": "http://snomed.info/sct", "code": "10828004"}]}),
    observation("101119-6", effective="2026-02-20", valueString="CD19 positive"),
    observation("29463-7", effective="2026-02-27", valueQuantity={"value": 70, "unit": "kg"}),
    questionnaire_response({"tki-failure": True, "cycle-number": 2}, authored="2026-02-25"),
]


@pytest.mark.parametrize("resource", _RESOURCES, ids=[f"{r['resourceType']}-{i}" for i, r in enumerate(_RESOURCES)])
def test_any_json_in_any_element_never_fails_an_evaluation(resource: dict[str, Any]) -> None:
    draft = medication_request(start="2026-03-01", end="2026-03-28", status="draft", id="draft")
    key = record(resource).lists  # the prefetch key of its kind, found before its resourceType may be changed
    kind = next(name for name, found in key.items() if found)
    for path in _paths(resource):
        for value in _WRONG:
            patient_record = record()
            patient_record.lists[kind] = [_replaced(resource, path, value)]
            facts = extract_facts(patient_record, [draft], TODAY, other_drafts=[_replaced(resource, path, value)])
            assert facts.start_date == TODAY


class _Text(str):
    """Text of a str subclass: JSON parsers do not make one, but the checks treat it as text all the same."""


@pytest.mark.parametrize("resource", _RESOURCES, ids=[f"{r['resourceType']}-{i}" for i, r in enumerate(_RESOURCES)])
def test_the_compiled_check_agrees_with_the_schema_walked(resource: dict[str, Any]) -> None:
    """well_formed (compiled; objects of strings only, as a Coding, passed in one step when every value is text)
    and problem (the schema walked element by element) agree whatever JSON replaces any element."""
    for path in _paths(resource):
        for value in (*_WRONG, _Text("x"), {"code": "x", "display": "y"}, {"code": "x", "display": 7}):
            changed = _replaced(resource, path, value)
            assert well_formed(changed) == (problem(changed) == ""), (path, value)


def test_a_direct_check_is_well_formed_for_its_type_and_refused_for_a_schema_referring_to_itself() -> None:
    """direct_check (read_med_orders' shape check) says what well_formed says of an object of its resourceType,
    whatever JSON replaces any element but the type; a schema whose checks may nest without end has none."""
    check = direct_check("MedicationRequest")
    for resource in (r for r in _RESOURCES if r["resourceType"] == "MedicationRequest"):
        for path in _paths(resource):
            for value in (*_WRONG, {"code": "x", "display": 7}):
                changed = _replaced(resource, path, value)
                if changed.get("resourceType") == "MedicationRequest":
                    assert check(changed) == well_formed(changed), (path, value)
    refused = [kind for kind in SCHEMAS if not _has_direct_check(kind)]
    assert refused == ["QuestionnaireResponse"]


def _has_direct_check(kind: str) -> bool:
    try:
        direct_check(kind)
    except ValueError:
        return False
    return True


def test_entries_that_are_not_resources_never_fail_an_evaluation() -> None:
    draft = medication_request(start="2026-03-01", end="2026-03-28", status="draft", id="draft")
    patient_record = record()
    for key in patient_record.lists:
        patient_record.lists[key] = ["junk", None, 7, [{"resourceType": "Condition"}]]
    facts = extract_facts(patient_record, [draft], TODAY, other_drafts=["junk", None])
    u1 = dict(load_policy("aspirus-magellan").windows)["live_vaccine_in_window"]
    assert facts.cycle.number.value == 1 and read_within(facts.live_vaccine_in_window, u1).value is False


@pytest.mark.parametrize("kind", ["Observation", "MedicationRequest", "Immunization", "Coverage",
                                  "QuestionnaireResponse"])
def test_a_resource_without_the_status_fhir_requires_is_not_well_formed(kind: str) -> None:
    """Left out, its status had read as none of the ones a reader counts: the resource dropped without a word."""
    resource = {"resourceType": kind, "id": "x"}
    assert not well_formed(resource) and problem(resource) == "status is missing"
    assert well_formed({**resource, "status": sorted(STATUSES[kind])[0]})


def test_a_condition_needs_no_status() -> None:
    assert well_formed({"resourceType": "Condition", "id": "x"})
