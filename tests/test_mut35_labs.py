"""Lab results read together at their edges (facts/lab_result.py, facts/labs.py; fhir-data-profile.md §Labs: the
latest result decides). Mutants that the other tests let live."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.test_facts_labs import NEGATIVE, concept, labs, mrd, qty


def test_a_month_dated_result_may_be_of_its_last_day_as_the_latest_result() -> None:
    """MRD 0.5% dated only "2026-09" beside a negative one of 2026-09-30 (course from 2026-10-01): the positive may have
    been taken on the 30th too, so which is the latest is unknown, and so is MRD; the negative alone had decided."""
    found = labs(mrd("m1", "2026-09", **qty(0.5)), mrd("m2", "2026-09-30", **NEGATIVE))
    assert found.mrd_detectable.value is None
    assert set(found.mrd_detectable.evidence) == {"Observation/m1", "Observation/m2"}


def test_a_measured_zero_beside_a_detected_result_of_the_same_marrow_is_unknown() -> None:
    """0% and "detected" on one day: a value of zero is not what "detected" allows, so neither decides alone and the
    record cannot say whether MRD is detectable (Aspirus: detectable = above 0 or qualitatively positive)."""
    found = labs(mrd("a", "2026-09-10", **qty(0)), mrd("b", "2026-09-10", **concept("260373001")))
    assert found.mrd_detectable.value is None


def test_a_value_equal_to_a_greater_than_bound_of_the_same_day_does_not_decide_alone() -> None:
    """0.05% beside ">0.05%" of the same day: ">0.05%" does not allow 0.05% itself, so both decide, and Florida Blue's
    "MRD of 0.1% or more" (Position 1.b.i) is unknown: the ">0.05%" may be 0.1% or more. Read alone, 0.05% had ruled
    it out."""
    found = labs(mrd("a", "2026-09-10", **qty(0.05)), mrd("b", "2026-09-10", **qty(0.05, comparator=">")))
    assert found.mrd_percent.value is not None
    assert found.mrd_percent.value.at_least(Decimal("0.1")) is None


@pytest.mark.parametrize("day1", [qty(0.2), NEGATIVE])
def test_a_fall_shown_on_the_course_start_day_is_no_response_to_the_course(day1: dict) -> None:
    """MRD 1% in September, then 0.2% (or negative) in the marrow drawn on 2026-10-01, the day the course began: the
    fall came before the first bag, so it shows no response to blinatumomab (Aspirus IV renewal; fhir-data-profile.md
    §Labs), as the day-1 negative alone shows none. Unknown: the renewal asks for it."""
    found = labs(mrd("a", "2026-09-20", **qty(1)), mrd("b", "2026-10-01", **day1))
    assert found.response_or_stabilization.value is None


def test_a_fall_after_the_course_start_is_a_response() -> None:
    found = labs(mrd("a", "2026-09-20", **qty(1)), mrd("b", "2026-10-02", **qty(0.2)))
    assert (found.response_or_stabilization.value, found.response_or_stabilization.evidence) == (
        True, ("Observation/a", "Observation/b"))
