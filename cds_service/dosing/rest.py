"""A cycle started within the label's days without infusion after the cycle before (docs/dosing.md, "Days without
infusion between cycles"), or those days not known (`rest_unknown`: earlier orders dated only to a month or a year).
The label follows each cycle's 28 days of continuous infusion with 14 days without, 56 after relapsed/refractory
cycles 6-9 (84-day cycles: `expected.cycle_days`); facts/course.py counts cycles leniently
(a new one once 28 infusion days are given), which is right for reading what was given, so cycle 2 starting 2 days
after cycle 1 had passed unremarked. The cycle before may be an earlier order's or signed in the same call
(`CycleInfo.previous`); one interrupted for more than 7 days is the label's restart, never a short rest. When the
record does not tell the rest owed (the cycle number, or the schedule, unknown), the least the label gives is checked
and the note says so: a longer rest is never owed on a guess.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, NamedTuple

from cds_service.dosing.expected import cycle_days
from cds_service.facts.course import days_off
from cds_service.facts.label_cycles import CYCLE_DAYS, INFUSION_DAYS_PER_CYCLE, LEAST_REST, LONGER_CYCLES
from cds_service.facts.model import ClinicalFacts, Fact
from cds_service.facts.order import recorded_start


class Owed(NamedTuple):
    """The days without infusion the label gives after the cycle before."""

    days: int  # 14, 56 after a cycle of 84 days; the least (14) when `unknown` is said
    cycle_days: int | None  # the cycle before's days (42, 84); None when not known
    unknown: str  # what leaves a longer rest open ("the previous cycle's number", "the schedule"), "" when known

    @property
    def longer(self) -> str:
        """'56 after relapsed/refractory cycle 6 on': the rest the record cannot rule out."""
        return "; ".join(f"{longer.days - INFUSION_DAYS_PER_CYCLE} after {longer.said} cycle {longer.first} on"
                         for longer in LONGER_CYCLES.values())


def owed_rest(schedule: str | None, before: int | None) -> Owed:
    """The rest owed after cycle `before` (None: its number not known) of `schedule` (None: not known)."""
    days = cycle_days(schedule, before)
    if days is not None:
        return Owed(days - INFUSION_DAYS_PER_CYCLE, days, "")
    return Owed(LEAST_REST, None, "the previous cycle's number" if before is None else "the schedule")


class ShortRest(NamedTuple):
    """An order starting its cycle before the label's days without infusion after the cycle before it, which gave
    its 28 infusion days, have passed."""

    previous_last: date  # the cycle before's last infusion day
    start: date  # this cycle's first day, the order's start
    cycle: int | None  # this cycle's number (None: unknown)
    evidence: tuple[str, ...]  # the cycle before's orders
    owed: Owed

    @property
    def days_off(self) -> int:
        """The days without infusion between the cycles (negative when this one starts before the other ended)."""
        return days_off(self.previous_last, self.start)

    @property
    def earliest(self) -> date:
        """The earliest start the label allows: after the days without infusion owed."""
        return self.previous_last + timedelta(days=self.owed.days + 1)

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
        return f"starts {when}: the label gives {self._owed_words}"

    @property
    def _owed_words(self) -> str:
        """'14 days without infusion after 28 infusion days (earliest start 2026-12-23)', with the cycle before's
        length when longer, or what the record leaves open."""
        owed, earliest = self.owed, f"earliest start {self.earliest.isoformat()}"
        rest = f"{owed.days} days without infusion after 28 infusion days"
        if owed.unknown:
            return f"at least {rest} ({earliest}; {owed.longer}, and {owed.unknown} is not known)"
        if owed.cycle_days != CYCLE_DAYS:
            return f"{rest} ({self.previous} of {owed.cycle_days} days; {earliest})"
        return f"{rest} ({earliest})"


def rest_unknown(order: dict[str, Any], facts: ClinicalFacts) -> Fact[Any] | None:
    """The full dates to document when the days without infusion before `order`'s cycle are not known
    (`CycleInfo.rest_unknown`), for the order starting that cycle on a recorded date, as `short_rest` reads it."""
    unknown = facts.cycle.rest_unknown
    return unknown if unknown is not None and recorded_start(order) == facts.cycle.start else None


def short_rest(order: dict[str, Any], facts: ClinicalFacts, schedule: str | None) -> ShortRest | None:
    """The short rest before `order`'s cycle, of `schedule` (None: not known), when the order starts that cycle on a
    recorded date (an order without one is taken to start today, no date to judge a rest by; a later order of the
    cycle does not start it)."""
    cycle = facts.cycle
    previous, number = cycle.previous, cycle.number.value
    if previous is None:
        return None
    # The cycle before this cycle 1 is an earlier course's: its number is not known here.
    owed = owed_rest(schedule, number - 1 if number is not None and number > 1 else None)
    if days_off(previous.last, cycle.start) >= owed.days or recorded_start(order) != cycle.start:
        return None
    return ShortRest(previous.last, cycle.start, number, previous.evidence, owed)
