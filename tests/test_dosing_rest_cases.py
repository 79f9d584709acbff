"""The short rest's words at their edges (dosing/rest.py; docs/dosing.md, "Days without infusion between cycles"): a
start on the last infusion day itself, and a cycle 1 whose cycle before is an earlier course's. Each case was a
mutant of dosing/rest.py that the other tests let live."""
from __future__ import annotations

from datetime import date

from cds_service.dosing.rest import ShortRest, owed_rest

LAST = date(2026, 11, 28)


def _note(start: date, cycle: int | None) -> str:
    return ShortRest(LAST, start, cycle, ("MedicationRequest/c1",), owed_rest("standard", 1)).note


def test_a_cycle_starting_on_the_last_infusion_day_of_the_one_before_starts_before_it_ended() -> None:
    assert _note(LAST, 2).startswith("starts before cycle 1's last infusion day (2026-11-28):")


def test_a_first_cycle_after_an_earlier_course_names_the_cycle_before_without_a_number() -> None:
    """Cycle 1 of a new course: the cycle before is the earlier course's, whose number is not read here."""
    assert _note(date(2026, 11, 30), 1).startswith(
        "starts after 1 day without infusion (the previous cycle's last infusion day 2026-11-28):")
