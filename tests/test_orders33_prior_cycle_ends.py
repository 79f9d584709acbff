"""An earlier blinatumomab order whose end is recorded only to a month or a year. Read to its last day, a cycle of
November 1 to "2026-11" was a full cycle ending November 30, and a December 1 start "starts the day after cycle 1's
last infusion day": not covered as ordered, on a guess (ended November 10, it was an interrupted cycle, and no days
without infusion are owed). The full date is asked for instead; where every day the end may be gives the same
answer, nothing is asked."""
from __future__ import annotations

from typing import Any

import pytest

from tests.dates_support import answer, covered, example, prefetched, service, summaries

__all__ = ["service"]

ASKED = "the full date of the blinatumomab order ended 2026-1"


def with_earlier_cycle(start: str, end: str) -> dict[str, Any]:
    """The relapsed/refractory cycle-6 renewal example (Dec 1-28), its cycle 5 order dated `start` to `end`."""
    request = example("aspirus-relapsed-refractory-cycle6-renewal")
    cycle_5 = prefetched(request, "medicationRequests")["prior-cycle-5"]
    cycle_5["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": start, "end": end}
    return request


@pytest.mark.parametrize(("start", "end", "expected", "asked"), [
    ("2026-11-01", "2026-11", "conditional", True),  # Nov 1 (interrupted) to Nov 30 (full, 0 days off): was denied
    ("2026-11-01", "2026-11-30", "not-covered", False),  # a full cycle the day before: too short a rest
    ("2026-11-01", "2026-11-10", "covered", False),  # interrupted: the label restarts the cycle
    ("2026-10-01", "2026-10", "covered", False),  # any day of October: 14 days off or more before Dec 1
])
def test_an_earlier_cycle_ending_in_a_month(service: Any, start: str, end: str, expected: str,
                                            asked: bool) -> None:
    found = answer(service, with_earlier_cycle(start, end))
    assert covered(found) == expected, summaries(found)
    assert (ASKED in summaries(found)) is asked, summaries(found)
    assert ("without infusion" in summaries(found)) is (expected == "not-covered")


def test_the_cycle_number_decided_by_such_an_end_is_asked_for(service: Any) -> None:
    """Cycle 5 of Oct 1 to "2026-10" before a draft of Oct 30: cycle 5 continued (ended Oct 25) or cycle 6 (Oct
    31)."""
    request = with_earlier_cycle("2026-10-01", "2026-10")
    line = request["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]
    line["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-10-30", "end": "2026-11-02"}
    found = answer(service, request)
    assert ASKED in summaries(found) and covered(found) == "conditional", summaries(found)
