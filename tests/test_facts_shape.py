"""The shape filter (facts/shape.py): which resources the readers never see, and what a note says about one."""
from __future__ import annotations

from typing import Any

import pytest

from cds_service.facts.shape import problem, split_well_formed
from tests.factories import condition, immunization, medication_request, observation


@pytest.mark.parametrize(("resource", "said"), [
    (immunization(occurrence="2026-02-20") | {"occurrenceDateTime": 20260220},
     "occurrenceDateTime is a number, not a date"),
    (medication_request(start="2026-02-01") | {"status": ["active"]}, "status is a list, not text"),
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


def test_a_well_formed_resource_or_one_without_a_schema_has_no_problem() -> None:
    assert problem(condition()) == "" and problem({"resourceType": "Basic", "code": 7}) == ""


def test_split_keeps_the_order_and_sets_aside_the_malformed_ones() -> None:
    good, bad = condition(), condition() | {"recordedDate": 7}
    assert split_well_formed([good, bad, good]) == ([good, good], [bad])
    assert split_well_formed([good]) == ([good], [])
