"""Weight, height and BSA as of the order's start at their edges (facts/body.py; fhir-data-profile.md §The patient:
the latest weight within 30 days, a recorded BSA used within ±10% of Mosteller). Mutants of body.py that the other
tests let live."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import body_sizes
from tests.test_body import BSA, HEIGHT, START, WEIGHT, obs, record


def test_a_weight_taken_on_the_start_day_is_the_current_one() -> None:
    """Weighed 44 kg ten days before and 46 kg on day 1 before the bag is hung: the day-1 weight is the latest as of
    the start, so the fixed adult dose applies (Aspirus V, from 45 kg), not the per-m² one."""
    size = body_sizes(record(obs("old", WEIGHT, 44, days_before=10), obs("day1", WEIGHT, 46, days_before=0)),
                      START, 30)
    assert (size.weight_kg.value, size.weight_kg.evidence) == (Decimal(46), ("Observation/day1",))


def test_a_height_and_bsa_taken_on_the_start_day_count() -> None:
    rec = record(obs("w", WEIGHT, 30, days_before=0), obs("h", HEIGHT, 120, days_before=0))
    assert body_sizes(rec, START, 8).bsa_m2.value == Decimal("1.000")  # √(120 × 30 / 3600)


@pytest.mark.parametrize(("recorded", "used"), [
    ("1.1", "1.100"),  # +10% of Mosteller's 1.000: within ±10%, used as recorded
    ("0.9", "0.900"),  # −10%
    ("1.11", "1.000"),  # beyond: Mosteller's
])
def test_a_recorded_bsa_exactly_ten_percent_from_mosteller_is_used(recorded: str, used: str) -> None:
    """A child of 120 cm and 30 kg: Mosteller √(120 × 30 / 3600) is 1 m² exactly, so ±10% is exactly 0.9 to 1.1."""
    rec = record(obs("w", WEIGHT, 30), obs("h", HEIGHT, 120), obs("b", BSA, Decimal(recorded)))
    assert body_sizes(rec, START, 8).bsa_m2.value == Decimal(used)
