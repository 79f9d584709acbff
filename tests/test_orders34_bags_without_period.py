"""Bags stating their duration and a count but no period (5 seven-day bags) run one after the other, as the dose
reading reads such a bag (its dose over its duration): the count bounds the line's days. 5 bags had been read as open,
to the cycle's 28th day, and approved though they run to day 35; the end correction keeps the count, set to its days.
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.dates_support import answer, covered, example, order, service, summaries

__all__ = ["service"]

UCUM = "http://unitsofmeasure.org"


def bags(dose: int, count: int, hours: int) -> dict[str, Any]:
    request = example("aspirus-adult-consolidation-mrd-positive")  # 28 mcg/day from 2026-12-01
    line = order(request)["dosageInstruction"][0]
    line["doseAndRate"] = [{"doseQuantity": {"value": dose, "unit": "ug", "system": UCUM, "code": "ug"}}]
    line["timing"] = {"repeat": {"boundsPeriod": {"start": "2026-12-01"}, "count": count, "duration": hours,
                                 "durationUnit": "h"}}
    return request


@pytest.mark.parametrize(("dose", "count", "hours", "code", "fixed"), [
    (196, 5, 168, "not-covered", 4),  # 5 seven-day bags: days 1-35
    (28, 35, 24, "not-covered", 28),
    (196, 4, 168, "covered", None),
    (56, 14, 48, "covered", None),
])
def test_a_count_of_bags_without_a_period_bounds_the_days(service: Any, dose: int, count: int, hours: int,
                                                          code: str, fixed: int | None) -> None:
    found = answer(service, bags(dose, count, hours))
    assert covered(found) == code
    if fixed is None:
        return
    assert "Infusion past day 28 of cycle 1: runs to day 35" in summaries(found)
    [suggestion] = [s for card in found["cards"] for s in card.get("suggestions", [])]
    repeat = suggestion["actions"][0]["resource"]["dosageInstruction"][0]["timing"]["repeat"]
    assert (repeat["count"], repeat["boundsPeriod"]) == (fixed, {"start": "2026-12-01", "end": "2026-12-28"})
