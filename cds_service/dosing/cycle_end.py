"""Infusion days past a cycle's 28th: the label gives each cycle 28 days of continuous infusion, then 14 days
without (a treatment-free interval). A line running past the 28th infusion day was compared day by day with the label
dose, and 28 mcg/day on days 8-35 passed as "not above the label schedule" (clinical review): the days are a
finding of their own (docs/dosing.md, "Infusion days of a cycle").

Infusion days, not calendar days, are counted: an interruption of up to 7 days keeps the cycle (facts/course.py), so
days 1-7, then 12-32, are 28 infusion days. The cycle's infusion days are those of every order of the cycle (a step
dose written as two orders: days 1-7 and 8-35), after the `days_before` already given when the orders continue it.
"""
from __future__ import annotations

from bisect import bisect_right
from datetime import date
from typing import Iterable, NamedTuple, Sequence

from cds_service.dosing.reading import DoseLine, cycle_day_date
from cds_service.dosing.text import days_text
from cds_service.facts.course import INFUSION_DAYS_PER_CYCLE

TREATMENT_FREE_DAYS = 14  # after the 28 infusion days of a cycle (the label)


class PastCycle(NamedTuple):
    """An order's days past its cycle's 28th infusion day."""

    first: int  # the order's first cycle day past the 28th infusion day
    last: int  # the order's last cycle day
    infusion_day: int  # which infusion day of the cycle `last` is (`last` itself unless the cycle was interrupted)
    day_28: int  # the cycle day that is the 28th infusion day
    end: date | None  # its date, where the infusion should end (None: the cycle's start is unknown)

    @property
    def note(self) -> str:
        """'runs to day 35: the label gives 28 infusion days, then 14 without (days 29–35 past them)'."""
        counted = "" if self.infusion_day == self.last else f" (infusion day {self.infusion_day})"
        return (f"runs to day {self.last}{counted}: the label gives {INFUSION_DAYS_PER_CYCLE} infusion days, then "
                f"{TREATMENT_FREE_DAYS} without ({days_text(self.first, self.last)} past them)")


def cycle_infusion_days(orders_lines: Iterable[Sequence[DoseLine]]) -> list[int]:
    """The distinct cycle days on which any line of the cycle's orders runs, in order (lines whose days are not
    known are left out: `DoseLine.placed`)."""
    return sorted({day for lines in orders_lines for line in lines if line.placed for day in line.days()})


def past_cycle(lines: Sequence[DoseLine], infusion_days: Sequence[int], days_before: int,
               cycle_start: date | None) -> PastCycle | None:
    """`lines`' days past the 28th infusion day of the cycle (`infusion_days`: `cycle_infusion_days`, numbered after
    the `days_before` infusion days given before them), or None when they have none."""
    left = INFUSION_DAYS_PER_CYCLE - days_before  # the cycle's infusion days still to give (a cycle holding 28 ends)
    if left < 1 or len(infusion_days) <= left:
        return None
    day_28 = infusion_days[left - 1]
    mine = [line.through for line in lines if line.placed and line.through > day_28]
    if not mine:
        return None
    first = max(day_28 + 1, min(line.first_day for line in lines if line.placed and line.through > day_28))
    last = max(mine)
    end = None if cycle_start is None else cycle_day_date(cycle_start, day_28, days_before)
    return PastCycle(first, last, days_before + bisect_right(infusion_days, last), day_28, end)
