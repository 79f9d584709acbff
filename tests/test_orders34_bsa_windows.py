"""What a dose per m² asks for when no weight is on record: each size with the window it is read in (facts/body.py,
fhir-data-profile.md §The patient). An adult's height counts for 12 months, a child's for 30 days (as does a weight
and a BSA at any age): "weight and height (within 30 days)" had an adult measured again a height that counted."""
from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from cds_service.dosing.checks import (MISSING_BSA, MISSING_BSA_ADULT, MISSING_BSA_UNWEIGHED,
                                      MISSING_BSA_UNWEIGHED_ADULT)
from cds_service.facts.model import AgeRange, Fact
from tests.test_dosing_support import facts, order_checks, rate, single_line_order


@pytest.mark.parametrize(("age", "weight", "missing"), [
    (AgeRange(40, 40), None, MISSING_BSA_UNWEIGHED_ADULT),
    (AgeRange(18, 18), None, MISSING_BSA_UNWEIGHED_ADULT),
    (AgeRange(17, 17), None, MISSING_BSA_UNWEIGHED),
    (AgeRange(17, 18), None, MISSING_BSA_UNWEIGHED),  # a birth year alone: may be 17, the child's window read
    (None, None, MISSING_BSA_UNWEIGHED),  # an unknown age: the stricter window, as facts/body.py reads heights
    (AgeRange(40, 40), "80", MISSING_BSA_ADULT),
    (AgeRange(10, 10), "30", MISSING_BSA),
])
def test_a_dose_per_m2_asks_each_size_in_its_window(age: AgeRange | None, weight: str | None, missing: str) -> None:
    order = single_line_order(rate(15, "ug/m2/d"))
    sized = dataclasses.replace(facts(weight=weight), age_years=Fact(age))
    verdict = order_checks(order, [order], sized).ceiling(Decimal(28))
    assert (verdict.status, verdict.missing) == ("unknown", missing)


def test_the_adult_words_name_both_windows() -> None:
    assert MISSING_BSA_UNWEIGHED_ADULT == ("weight (within 30 days) and height (within 12 months), "
                                           "or BSA (within 30 days)")
    assert MISSING_BSA_UNWEIGHED == "BSA, or weight and height (within 30 days)"
