"""The label's cycles (Aspirus V; docs/dosing.md, "Days without infusion between cycles"): 28 days of continuous
infusion, then days without infusion to the cycle's end, 42 days, or 84 for relapsed/refractory cycles 6-9.

One home for these numbers that the course (facts/course.py) and the dose checks (dosing/expected.py, rest.py,
cycle_end.py) both import: the facts never import `dosing`, so course.py had kept its own copy of the rests.
"""
from __future__ import annotations

from typing import NamedTuple

INFUSION_DAYS_PER_CYCLE = 28
CYCLE_DAYS = 42


class LongerCycles(NamedTuple):
    first: int  # the first cycle of the schedule that is longer
    days: int
    said: str  # the schedule as a note names it


LONGER_CYCLES = {"relapsed-refractory": LongerCycles(6, 84, "relapsed/refractory")}
LONGER_FROM = min(longer.first for longer in LONGER_CYCLES.values())  # every schedule's earlier cycles are 42 days
LEAST_REST = CYCLE_DAYS - INFUSION_DAYS_PER_CYCLE  # 14: the days without infusion after any cycle of the label
# Every rest the label gives after a cycle, shortest first (14, 56): which one is owed depends on the schedule.
RESTS = tuple(sorted({LEAST_REST, *(longer.days - INFUSION_DAYS_PER_CYCLE for longer in LONGER_CYCLES.values())}))


def rest_after(cycle: int | None) -> int:
    """The days without infusion the label gives after cycle `cycle` in the schedule with the longest such cycle:
    56 after cycle 6 on (relapsed/refractory, the only schedule reaching it), else 14; 14 when the number is not known
    (the least any cycle owes). For cutting lines into cycles (dosing/cycle_end.py), before an indication's schedule
    is known: a line within these days after a full cycle is its days past the 28th, not a cycle begun too early."""
    longest = max((longer.days for longer in LONGER_CYCLES.values() if cycle is not None and cycle >= longer.first),
                  default=CYCLE_DAYS)
    return longest - INFUSION_DAYS_PER_CYCLE
