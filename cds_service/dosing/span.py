"""One order whose dosage lines fall in more than one cycle (docs/dosing.md, "One order, several cycles").

The label gives a cycle 28 days of continuous infusion, then 14 without; facts/course.py starts a new cycle after
an interruption of more than 7 days or once 28 infusion days are given. Orders signed together are cut into cycles
by that rule (`course.dated_cycles`), but one order's lines are not: an order of cycle 1 on 2026-12-01..28 and
cycle 2 on 2027-01-12..02-08 was judged as one cycle, its 56 vials a quantity above the per-cycle limit. Its lines
are told apart here, for the card that splits it (dosing/split.py) and for the quantity criterion, which cannot read
a cycle's quantity off such an order (`PerCycleChecks`), by where the days card cuts the cycle's infusion days
(`CycleLines.stretches`, dosing/cycle_end.py): after 28 infusion days, given by any order of the cycle, lines
starting within the label's days without infusion (14, 56 after cycle 6 on) are no cycle to split off (which would
start it after a short rest) but the cycle's days past its 28th infusion day, which the days card ends there.
"""
from __future__ import annotations

from bisect import bisect_right
from datetime import date
from decimal import Decimal
from typing import Any, Mapping, NamedTuple, Sequence

from cds_service.dosing.api import DoseChecks, QuantityLimit
from cds_service.dosing.checks import CycleLines
from cds_service.dosing.cycle_end import cycle_infusion_days, cycle_stretches
from cds_service.dosing.reading import DoseLine, cycle_day_date
from cds_service.facts.label_cycles import LONGER_FROM
from cds_service.facts.model import ClinicalFacts
from cds_service.facts.order import order_ref
from cds_service.verdict import UNKNOWN, Verdict

# What the quantity criterion asks for, after "document" on the decision card.
MISSING_PER_CYCLE = "quantity per cycle (one order per cycle)"


class CyclePart(NamedTuple):
    """The dosage lines of one order that fall in one cycle, and the first day they run."""

    lines: tuple[DoseLine, ...]  # in the order's written order
    first: date


def cycle_parts(lines: Sequence[DoseLine], stretches: Sequence[Sequence[int]], start: date,
                days_before: int) -> list[CyclePart]:
    """The cycles `lines` (one order's, numbered from cycle day 1 on `start`, after `days_before` infusion days) fall
    in, oldest first; [] when they fall in one. `stretches`: the infusion days of every order of their cycle, cut
    where a cycle of their own begins (`CycleLines.stretches`): the days card's cycles, so that the infusion days of
    another order of the cycle (a step dose's days 1-7) count towards the 28 as the days card counts them. A line
    whose days are not known (`DoseLine.placed`) is in none: where it belongs is not told (a line stating no end runs
    to the cycle's 28th day, as the dose check runs it)."""
    placed = [line for line in lines if line.placed]
    if len(placed) < 2 or len(stretches) < 2:
        return []
    firsts = [stretch[0] for stretch in stretches]
    groups: dict[int, list[DoseLine]] = {}
    for line in placed:  # a line's days run on, so they fall in the one stretch holding its first day
        groups.setdefault(bisect_right(firsts, line.first_day) - 1, []).append(line)
    if len(groups) < 2:
        return []
    return [CyclePart(tuple(group), min(cycle_day_date(start, line.first_day, days_before) for line in group))
            for _, group in sorted(groups.items())]


class CycleSpans:
    """The orders of one cycle (as `course.dated_cycles` cut the call) whose own lines fall in several cycles, read
    once for the cycle: each such order gets its card, and no order of the cycle a quantity verdict."""

    def __init__(self, orders: list[dict[str, Any]], facts: ClinicalFacts, lines: CycleLines,
                 medications: Mapping[int, dict[str, Any]]) -> None:
        self.facts = facts
        self._medications = medications  # id(order) -> the Medication it references (draft_orders.order_medications)
        cycle = facts.cycle
        # Only orders of two lines or more can span cycles: the usual order reads nothing more here.
        found = ((order, cycle_parts(lines.of(order), lines.stretches(), cycle.start, cycle.infusion_days_before))
                 for order in orders if len(order.get("dosageInstruction") or ()) > 1)
        self.parts: Mapping[int, list[CyclePart]] = {id(order): parts for order, parts in found if parts}
        self._spanning = [order_ref(order) for order in orders if id(order) in self.parts]
        self._guessed = _cut_on_least_rest(self.parts, orders, facts, lines)

    def rest_guessed(self, order: dict[str, Any]) -> bool:
        """Whether `order`'s cycles were told apart by the least rest the label gives, 14 days, with the cycle number
        not known: after the 56 of relapsed/refractory cycle 6 on, they would not be the same cycles (a later line
        the days past the cycle's 28th infusion day), so a split would rest on a guess (split_card.py)."""
        return id(order) in self._guessed

    def of(self, order: dict[str, Any]) -> list[CyclePart]:
        """The cycles `order`'s lines fall in; [] when one."""
        return self.parts.get(id(order), [])

    def medication(self, order: dict[str, Any]) -> dict[str, Any] | None:
        return self._medications.get(id(order))

    def checks(self, checks: DoseChecks, order: dict[str, Any]) -> DoseChecks:
        """`order`'s dose checks as the policy reads them: with the quantity unknown when an order of the cycle spans
        cycles (`PerCycleChecks`), else `checks` themselves."""
        if not self._spanning:
            return checks
        return PerCycleChecks(checks, self._spanning, len(self.of(order)))


def _cut_on_least_rest(parts: Mapping[int, list[CyclePart]], orders: list[dict[str, Any]], facts: ClinicalFacts,
                       lines: CycleLines) -> frozenset[int]:
    """The orders (by id) of `parts` whose cycles would be others after the label's longest rest (56 days, from
    relapsed/refractory cycle 6 on) than after the least (14), which `lines` cut by when the cycle number is not
    known (`label_cycles.rest_after`); none when it is known."""
    cycle = facts.cycle
    if not parts or cycle.number.value is not None:
        return frozenset()
    longest = cycle_stretches(cycle_infusion_days(lines.of(o) for o in lines.orders), cycle.infusion_days_before,
                              LONGER_FROM)
    return frozenset(id(order) for order in orders if id(order) in parts and parts[id(order)] != cycle_parts(
        lines.of(order), longest, cycle.start, cycle.infusion_days_before))


class PerCycleChecks:
    """Dose checks whose quantity verdict is unknown: the plan limits each cycle's quantity (Aspirus II), and an order
    holding several cycles' days gives one quantity for them all, which no cycle's limit can be read against. Not a
    denial (policy-rules.md §1: what cannot be read gives information-needed): the split card (dosing/split.py) sets
    each cycle's order to the quantity its own days use. The dose verdicts are the order's own."""

    def __init__(self, checks: DoseChecks, spanning: list[str], cycles: int) -> None:
        self._checks = checks
        self._spanning = tuple(spanning)  # the cycle's orders spanning cycles, as references
        self._cycles = cycles  # how many cycles this order's lines fall in (0: another order of its cycle spans)

    def schedule(self, schedule: str) -> Verdict:
        return self._checks.schedule(schedule)

    def ceiling(self, mcg_per_day: Decimal) -> Verdict:
        return self._checks.ceiling(mcg_per_day)

    def quantity(self, limit: QuantityLimit) -> Verdict:
        if self._cycles:
            note = (f"this order's dosage lines fall in {self._cycles} cycles: its quantity is not one cycle's, "
                    "which the limit is for")
        else:
            note = "an order of this cycle also holds another cycle's days: the cycle's quantity is not known"
        return Verdict(UNKNOWN, self._spanning, note, MISSING_PER_CYCLE)
