"""A cycle started within the label's 14 days without infusion (docs/dosing.md, "Days without infusion between
cycles"). The label follows each cycle's 28 days of continuous infusion with 14 days without; facts/course.py counts
cycles leniently (a new one once 28 infusion days are given), which is right for reading what was given, so cycle 2
starting 2 days after cycle 1 had passed unremarked. The cycle before may be an earlier order's or signed in the same
call (`CycleInfo.previous`); one interrupted for more than 7 days is the label's restart, never a short rest.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, NamedTuple

from cds_service.facts.course import TREATMENT_FREE_DAYS, days_off
from cds_service.facts.model import ClinicalFacts
from cds_service.facts.order import recorded_start


class ShortRest(NamedTuple):
    """An order starting its cycle fewer than 14 days after the cycle before it gave its 28th infusion day and
    last."""

    previous_last: date  # the cycle before's last infusion day
    start: date  # this cycle's first day, the order's start
    cycle: int | None  # this cycle's number (None: unknown)
    evidence: tuple[str, ...]  # the cycle before's orders

    @property
    def days_off(self) -> int:
        """The days without infusion between the cycles (negative when this one starts before the other ended)."""
        return days_off(self.previous_last, self.start)

    @property
    def earliest(self) -> date:
        """The earliest start the label allows: after 14 days without infusion."""
        return self.previous_last + timedelta(days=TREATMENT_FREE_DAYS + 1)

    @property
    def previous(self) -> str:
        """'cycle 1', or 'the previous cycle' when this cycle's number is not known."""
        return f"cycle {self.cycle - 1}" if self.cycle and self.cycle > 1 else "the previous cycle"

    @property
    def note(self) -> str:
        """'starts after 2 days without infusion (cycle 1's last infusion day 2026-12-08): the label gives 14 days
        without infusion after 28 infusion days (earliest start 2026-12-23)'. The days without infusion, not the days
        after: a start on 12-11 after a last infusion on 12-08 is 3 days after it, 2 without (review)."""
        off, last, day = self.days_off, f"{self.previous}'s last infusion day", self.previous_last.isoformat()
        when = (f"before {last} ({day})" if off < 0 else f"the day after {last} ({day})" if off == 0
                else f"after {off} day{'s' if off > 1 else ''} without infusion ({last} {day})")
        return (f"starts {when}: the label gives {TREATMENT_FREE_DAYS} days without infusion after 28 infusion days "
                f"(earliest start {self.earliest.isoformat()})")


def short_rest(order: dict[str, Any], facts: ClinicalFacts) -> ShortRest | None:
    """The short rest before `order`'s cycle when the order starts that cycle on a recorded date (an order without one
    is taken to start today, no date to judge a rest by; a later order of the cycle does not start it)."""
    cycle = facts.cycle
    previous = cycle.previous
    if previous is None or days_off(previous.last, cycle.start) >= TREATMENT_FREE_DAYS:
        return None
    if recorded_start(order) != cycle.start:
        return None
    return ShortRest(previous.last, cycle.start, cycle.number.value, previous.evidence)
