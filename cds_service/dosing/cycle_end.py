"""Infusion days past a cycle's 28th: the label gives each cycle 28 days of continuous infusion, then 14 days
without (a treatment-free interval). A line running past the 28th infusion day was compared day by day with the label
dose, and 28 mcg/day on days 8-35 passed as "not above the label schedule" (clinical review): the days are a
finding of their own (docs/dosing.md, "Infusion days of a cycle").

Infusion days, not calendar days, are counted: an interruption of up to 7 days keeps the cycle (facts/course.py), so
days 1-7, then 12-32, are 28 infusion days; after the 28th, days within the label's 14 days without infusion are
still the cycle's, past its 28th. The cycle's infusion days are those of every order of the cycle (a step dose
written as two orders: days 1-7 and 8-35), after the `days_before` already given when the orders continue it. Where
they are cut into cycles of their own (`cycle_stretches`) is read once for the cycle, by this card and by the split
of an order whose lines fall in several cycles (dosing/span.py) alike.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import replace
from datetime import date
from itertools import compress, repeat
from operator import gt, sub
from typing import Any, Iterable, NamedTuple, Sequence

from cds_service.dosing.instruction_text import days_unread
from cds_service.dosing.reading import DoseLine, cycle_day_date
from cds_service.dosing.rewrite import end_line
from cds_service.dosing.text import days_text
from cds_service.facts.course import MAX_INTERRUPTION
from cds_service.facts.label_cycles import INFUSION_DAYS_PER_CYCLE, rest_after


class PastCycle(NamedTuple):
    """An order's days past its cycle's 28th infusion day."""

    first: int  # the order's first cycle day past the 28th infusion day
    last: int  # the order's last cycle day
    infusion_day: int  # which infusion day of the cycle `last` is (`last` itself unless the cycle was interrupted)
    day_28: int  # the cycle day that is the 28th infusion day
    end: date | None  # its date, where the infusion should end (None: the cycle's start is unknown)
    rest: int  # the days without infusion after the cycle (`label_cycles.rest_after`: 14, 56 after cycle 6 on)

    @property
    def note(self) -> str:
        """'runs to day 35: the label gives 28 infusion days, then 14 without (days 29–35 past them)'."""
        counted = "" if self.infusion_day == self.last else f" (infusion day {self.infusion_day})"
        return (f"runs to day {self.last}{counted}: the label gives {INFUSION_DAYS_PER_CYCLE} infusion days, then "
                f"{self.rest} without ({days_text(self.first, self.last)} past them)")

    def runs_past(self, line: DoseLine) -> bool:
        """Whether `line` has days past the 28th infusion day in this cycle (a line after a break of more than 7 days
        is the next cycle's)."""
        return line.placed and line.first_day <= self.last and line.through > self.day_28


class CycleEnd(NamedTuple):
    """The one-click correction of an order running past its cycle's 28th infusion day: its line running past it
    ended there."""

    order: dict[str, Any]  # the corrected order, without its coverage information (rewrite.end_line)
    lines: list[DoseLine]  # the order's dose lines as corrected: the ended line's last day is the 28th infusion day


def cycle_end(order: dict[str, Any], lines: Sequence[DoseLine], past: PastCycle, cycle_start: date | None,
              days_before: int) -> CycleEnd | str:
    """`order` ending on its cycle's 28th infusion day (`past`: its days past it), or why that is no one-click
    correction ("" when the day's date is not known). It is one when a single line runs past the day: ending that
    line there is then the whole change (it states its end, boundsPeriod.end or boundsDuration: a line stating none
    runs to day 28, never past it).

    A line starting after the 28th infusion day is not removed: the prescriber wrote those days as a line of their own
    (a cycle dated too early, a dose meant for later), not as a length typed too long, and a suggestion deleting a
    line would drop an instruction no one has read; so the card stays a warning. As with the dose corrections, a line
    whose dose was not read, or a volume (pharmacy's bags set it: `DoseForm.volume`), is not rewritten."""
    if past.end is None or cycle_start is None:
        return ""
    later = [line for line in lines if past.runs_past(line)]
    after = [line for line in later if line.first_day > past.day_28]
    if after:
        return (f"line {after[0].index + 1} starts after it" if len(after) == 1
                else f"{len(after)} lines start after it") + ": removing lines is the prescriber's call"
    if len(later) > 1:
        return f"{len(later)} lines run past it"
    [line] = later
    if line.form is None:
        return f"the dose of line {line.index + 1} could not be read"
    if line.form.volume:
        return f"line {line.index + 1} ({line.form.volume}) is a volume, whose bags pharmacy prepares"
    if days_unread(order["dosageInstruction"][line.index]):
        return f"the text of line {line.index + 1} states its days in a form the suggestion cannot rewrite"
    return CycleEnd(end_line(order, line, past.day_28, cycle_start, days_before),
                    [replace(line, last_day=past.day_28) if other is line else other for other in lines])


def cycle_infusion_days(orders_lines: Iterable[Sequence[DoseLine]]) -> list[int]:
    """The distinct cycle days on which any line of the cycle's orders runs, in order (lines whose days are not
    known are left out: `DoseLine.placed`)."""
    # The lines' ranges joined in C, not a Python step per day: a cycle's lines run some 28 days.
    return sorted(set().union(*(line.days() for lines in orders_lines for line in lines if line.placed)))


def past_cycle(lines: Sequence[DoseLine], stretches: Sequence[Sequence[int]], days_before: int,
               cycle_start: date | None, number: int | None) -> PastCycle | None:
    """`lines`' days past the 28th infusion day of the cycle (`stretches`: the cycle's infusion days as
    `cycle_stretches` cuts them, numbered after the `days_before` infusion days given before them), or None when they
    have none. Each stretch after the first is a cycle of its own, counted from 1: one order holding cycle 1 on days
    1-28 and cycle 2 on days 43-70 runs no day past either, while days 30-35 after days 1-28 are past the 28th
    infusion day. `number`: the first stretch's cycle number (None: not known), which the rest after it follows."""
    mine = set().union(*(line.days() for line in lines if line.placed))
    given = days_before
    for position, stretch in enumerate(stretches):
        left = INFUSION_DAYS_PER_CYCLE - given  # the infusion days still to give in this cycle
        past = sorted(mine.intersection(stretch[max(left, 0):]))
        if left >= 1 and past:
            day_28, last = stretch[left - 1], past[-1]
            end = None if cycle_start is None else cycle_day_date(cycle_start, day_28, days_before)
            rest = rest_after(None if number is None else number + position)
            return PastCycle(past[0], last, given + bisect_right(stretch, last), day_28, end, rest)
        given = 0
    return None


def cycle_stretches(infusion_days: Sequence[int], given: int, number: int | None) -> list[Sequence[int]]:
    """`infusion_days` (`cycle_infusion_days`; the first cycle's after `given` infusion days already given) cut where a
    cycle of their own begins: after more than 7 days without infusion while the cycle has not given its 28 infusion
    days (the label's restart, the rule of facts/course.py), after the label's days without once it has (14, 56
    after cycle 6 on: `label_cycles.rest_after` of the stretch's cycle, counted from `number`, the first's; days within
    them are the cycle's days past its 28th, not a cycle begun after a short rest). The one place of this cut:
    the days card (`past_cycle`) and the split of one order's lines (dosing/span.py) read the same stretches, so that
    no line is days past the 28th for the one and a cycle to split off for the other."""
    cuts: list[int] = []
    start, before = 0, given  # the current stretch's first index, and the cycle's infusion days given before it
    rest = rest_after(number)
    for index in _skips(infusion_days):  # days running on are never cut (no gap, and a rest is at least 14 days)
        gap = infusion_days[index] - infusion_days[index - 1]
        count = before + index - start  # the cycle's infusion days through infusion_days[index - 1]
        if gap - 1 >= rest if count >= INFUSION_DAYS_PER_CYCLE else gap - 1 > MAX_INTERRUPTION.days:
            cuts.append(index)
            start, before = index, 0
            rest = rest_after(None if number is None else number + len(cuts))
    return [infusion_days[start:stop] for start, stop in zip([0, *cuts], [*cuts, len(infusion_days)])]


def _skips(days: Sequence[int]) -> list[int]:
    """The indexes of `days` (in order, distinct) whose day does not follow the one before: found in C (the gaps by
    `map`, those above 1 by `compress`), not by a Python step per day."""
    return list(compress(range(1, len(days)), map(gt, map(sub, days[1:], days), repeat(1))))
