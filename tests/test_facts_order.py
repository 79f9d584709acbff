"""Blinatumomab order identification, start dates and infusion spans (fhir-data-profile.md §The order)."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_service.dosing.reading import read_order_doses
from cds_service.facts.order import (group_start, is_blinatumomab, last_infusion_day, medication_concepts, order_ref,
                                     order_start, unidentified)
from tests.factories import concept, medication, medication_request

TODAY = date(2026, 3, 1)
NDC = "http://hl7.org/fhir/sid/ndc"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"


def _none(reference: str) -> None:
    return None


@pytest.mark.parametrize("med", [
    concept("1597258"),
    concept("1597267", "https://www.nlm.nih.gov/research/umls/rxnorm"),
    concept("55513-0160-01", NDC),
    concept("55513016001", NDC),
    concept("J9039", HCPCS),
    concept(None, text="BLINCYTO 35 mcg injection"),
    concept("999", display="blinatumomab 35 MCG Injection"),
])
def test_blinatumomab_by_code_or_text(med: dict) -> None:
    order = {"resourceType": "MedicationRequest", "id": "x", "medicationCodeableConcept": med}
    assert is_blinatumomab(order, _none)


def test_other_drugs_and_resources_are_not_blinatumomab() -> None:
    assert not is_blinatumomab(medication_request("282388", text="imatinib"), _none)
    observation = {"resourceType": "Observation", "code": concept("1597258")}
    assert not is_blinatumomab(observation, _none)


def test_contained_medication_is_read() -> None:
    order = medication_request(None, medicationReference={"reference": "#m"},
                               contained=[medication("1597262", id="m")])
    del order["medicationCodeableConcept"]
    assert is_blinatumomab(order, _none)


def test_referenced_medication_is_resolved_and_unresolvable_is_not_blinatumomab() -> None:
    order = medication_request(None, medicationReference={"reference": "Medication/m9"})
    del order["medicationCodeableConcept"]
    server = {"Medication/m9": medication(None, text="Blincyto", id="m9")}
    assert is_blinatumomab(order, server.get)
    assert not is_blinatumomab(order, _none)


def _referencing(display: str | None, reference: str = "Medication/eprior") -> dict[str, Any]:
    """A MedicationRequest in Epic's shape: a reference to a Medication this service cannot read, and its name."""
    pointer = {"reference": reference} | ({"display": display} if display else {})
    order = medication_request(None, medicationReference=pointer)
    del order["medicationCodeableConcept"]
    return order


def test_the_display_of_a_reference_names_the_medication_as_a_concept_text_would() -> None:
    assert is_blinatumomab(_referencing("BLINATUMOMAB 35 MCG IV SOLR"), _none)
    assert not is_blinatumomab(_referencing("ONDANSETRON 4 MG PO TBDP"), _none)
    # A contained Medication named only by a local code's display is read the same way.
    contained = _referencing(None, "#m")
    contained["contained"] = [{"resourceType": "Medication", "id": "m",
                               "code": concept("82744", "urn:oid:1.2.840.114350", display="BLINCYTO 35 MCG")}]
    assert is_blinatumomab(contained, _none)


def test_only_a_reference_read_neither_from_its_medication_nor_its_display_leaves_the_drug_unknown() -> None:
    def identity_unknown(order: dict[str, Any], resolve: Any = _none) -> bool:
        return unidentified(order, medication_concepts(order, resolve))

    assert identity_unknown(_referencing(None))
    assert not identity_unknown(_referencing(None), {"Medication/eprior": medication("282388", id="eprior")}.get)
    assert not identity_unknown(_referencing("ONDANSETRON 4 MG PO TBDP"))
    assert not identity_unknown(medication_request(None, text="ondansetron"))
    # No medication at all (the CDS Hooks sandbox's first order-select), or one that is not even a Reference.
    no_medication = medication_request(None)
    del no_medication["medicationCodeableConcept"]
    assert not identity_unknown(no_medication)
    assert not identity_unknown(no_medication | {"medicationReference": "Medication/x"})


def test_start_prefers_earliest_bounds_then_validity_then_authored_then_today() -> None:
    order = medication_request(start="2026-02-10", authored="2026-01-01")
    order["dosageInstruction"].append({"timing": {"repeat": {"boundsPeriod": {"start": "2026-02-03T08:00:00Z"}}}})
    assert order_start(order, TODAY) == date(2026, 2, 3)
    validity = medication_request(authored="2026-01-01",
                                  dispenseRequest={"validityPeriod": {"start": "2026-01-20"}})
    assert order_start(validity, TODAY) == date(2026, 1, 20)
    assert order_start(medication_request(authored="2026-01-05"), TODAY) == date(2026, 1, 5)
    assert order_start(medication_request(), TODAY) == TODAY


def test_group_start_is_the_earliest_and_order_ref() -> None:
    step = medication_request(start="2026-02-01", id="a")
    full = medication_request(start="2026-02-08", id="b")
    assert group_start([full, step], TODAY) == date(2026, 2, 1)
    assert group_start([], TODAY) == TODAY
    assert order_ref(step) == "MedicationRequest/a"


def test_last_infusion_day_from_period_end_duration_or_start_only() -> None:
    start = date(2026, 1, 1)
    assert last_infusion_day(medication_request(start="2026-01-01", end="2026-01-28"), start) == date(2026, 1, 28)
    midnight = medication_request(start="2026-01-01", end="2026-01-29T00:00:00Z")
    assert last_infusion_day(midnight, start) == date(2026, 1, 28)
    duration = medication_request()
    duration["dosageInstruction"] = [{"timing": {"repeat": {"boundsPeriod": {"start": "2026-01-01"}}}},
                                     {"timing": {"repeat": {"boundsDuration": {"value": 4, "code": "wk"}}}}]
    assert last_infusion_day(duration, start) == date(2026, 1, 28)
    assert last_infusion_day(medication_request(start="2026-01-01"), start) == start


@pytest.mark.parametrize("duration", [
    {"value": 14, "unit": "days"},
    {"value": 2, "unit": "weeks"},
    {"value": 2, "unit": "wk"},
    {"value": 2, "unit": "weeks", "system": "http://unitsofmeasure.org", "code": "wk"},
    {"value": 336, "unit": "hours"},
    {"value": 336, "unit": "hr", "system": "http://unitsofmeasure.org", "code": "h"},
    {"value": 20160, "unit": "min"},
])
def test_a_duration_spans_the_same_days_for_the_course_as_for_the_dose_check(duration: dict[str, Any]) -> None:
    # One unit table (facts/quantities.py): 2 weeks was 14 days for the dose check but 1 day for the cycle.
    order = medication_request()
    order["dosageInstruction"] = [{"timing": {"repeat": {"boundsDuration": duration}}}]
    assert last_infusion_day(order, date(2026, 1, 1)) == date(2026, 1, 14)
    [line] = read_order_doses(order, None, date(2026, 1, 1))
    assert line.last_day == 14


def test_a_duration_of_years_is_not_read_as_one() -> None:
    # A million weeks ends after date.max: the evaluation failed; such a line now states no end.
    endless = medication_request()
    endless["dosageInstruction"] = [{"timing": {"repeat": {"boundsDuration": {"value": 1000000, "code": "wk"}}}}]
    assert last_infusion_day(endless, date(2026, 1, 1)) == date(2026, 1, 1)
