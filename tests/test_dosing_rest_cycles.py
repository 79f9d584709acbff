"""The days without infusion owed after a cycle depend on its schedule and number (dosing/expected.cycle_days,
dosing/rest.py): relapsed/refractory cycles 6-9 are 84-day cycles, 28 infusion days then 56 without (Aspirus V), and
cycle 7 after 14 days off had met the criteria, its card giving an earliest start 42 days too early (review). A rest
the record leaves open (the cycle number, or the schedule, not known) is checked at the least the label gives, and
said so: a longer rest is never owed on a guess."""
from __future__ import annotations

import copy
import random
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from cds_service.dosing.checks import OrderDoseChecks
from cds_service.dosing.cycle_end import cycle_stretches
from cds_service.dosing.expected import cycle_days
from cds_service.dosing.rest_card import rest_card
from cds_service.facts.course import MAX_INTERRUPTION
from cds_service.facts.label_cycles import INFUSION_DAYS_PER_CYCLE, LEAST_REST, rest_after
from cds_service.facts.model import PreviousCycle
from tests.test_cycles_signed_together import by_order, criterion, decision, with_weight_on
from tests.test_dosing_rest import rest_cards
from tests.test_dosing_support import facts, line, order, order_checks, rate
from tests.test_pipeline import example, post

DAY = timedelta(days=1)
LAST = date(2026, 11, 16)  # the cycle before's last infusion day (the reviewer's cycle 6: 2026-10-20..11-16)
RR = "relapsed-refractory"


def test_the_label_schedules_cycle_lengths() -> None:
    assert [cycle_days(RR, n) for n in (1, 5, 6, 9)] == [42, 42, 84, 84]
    assert [cycle_days(schedule, 7) for schedule in ("standard", "interfant")] == [42, 42]
    assert (cycle_days(RR, None), cycle_days(None, 6)) == (None, None)  # left open by the record
    assert (cycle_days(None, 5), cycle_days("standard", None)) == (42, 42)  # no schedule's cycle 5 is longer
    # One order's lines are cut into cycles after the same 14 days (facts/course.span_cycles).
    assert LEAST_REST == 14


def after(cycle: int | None, days_off: int, phase: str = RR) -> OrderDoseChecks:
    """A 28 mcg/day order for 28 days starting cycle `cycle` (None: unknown) of a course in `phase` `days_off` days
    without infusion after the cycle before's last infusion day (LAST), that cycle having given its 28 infusion
    days."""
    start = LAST + (days_off + 1) * DAY
    base = facts(cycle=cycle, start=start, phase=phase)
    facts_ = replace(base, cycle=replace(base.cycle, previous=PreviousCycle(LAST, ("MedicationRequest/prior",))))
    written = order(line(rate(28), start.isoformat(), (start + 27 * DAY).isoformat()))
    return order_checks(written, [written], facts_)


@pytest.mark.parametrize(("cycle", "days_off", "owed", "earliest"), [
    (7, 55, 56, "2027-01-12"), (6, 13, 14, "2026-12-01")])
def test_a_day_short_of_the_rest_owed_is_not_met(cycle: int, days_off: int, owed: int, earliest: str) -> None:
    checks = after(cycle, days_off)
    verdict = checks.schedule(RR)
    assert verdict.status == "not-met" and verdict.evidence[-1] == "MedicationRequest/prior"
    assert f"the label gives {owed} days without infusion after 28 infusion days" in verdict.note
    assert verdict.note.endswith(f"earliest start {earliest})")
    card = rest_card(checks.order, "Plan", checks, RR)
    assert card is not None and f"The earliest start the label allows is {earliest}." in card["detail"]
    after_cycle = f" after cycle {cycle - 1}" if owed == 56 else ""
    assert card["summary"] == (f"Cycle {cycle} starts after {days_off} days without infusion: label gives "
                               f"{owed} days{after_cycle}; start on or after {earliest}")


@pytest.mark.parametrize(("cycle", "days_off"), [(7, 56), (6, 14), (10, 56)])
def test_the_rest_owed_is_met(cycle: int, days_off: int) -> None:
    checks = after(cycle, days_off)
    assert checks.rest(RR) is None and rest_card(checks.order, "Plan", checks, RR) is None
    assert checks.schedule(RR).status == "met"


def test_after_cycle_6_the_note_and_card_name_its_84_days() -> None:
    checks = after(7, 3)
    assert checks.schedule(RR).note == (
        "starts after 3 days without infusion (cycle 6's last infusion day 2026-11-16): the label gives 56 days "
        "without infusion after 28 infusion days (cycle 6 of 84 days; earliest start 2027-01-12)")
    card = rest_card(checks.order, "Plan", checks, RR)
    assert card is not None
    detail = " ".join(card["detail"].split())
    assert "Cycle 7 starts before the label's 56 days without infusion have passed." in detail
    assert "In the label, cycle 6 is a cycle of 84 days: 28 days of continuous infusion, then 56 days" in detail


def test_a_standard_schedule_owes_14_days_after_any_cycle() -> None:
    checks = after(7, 20, "consolidation")
    assert checks.rest("standard") is None and checks.schedule("standard").status == "met"


@pytest.mark.parametrize("cycle", [None, 1])  # a cycle 1 after a full cycle: the one before is an earlier course's
def test_without_the_number_of_the_cycle_before_the_least_is_checked_and_said(cycle: int | None) -> None:
    """20 days off may be short after a cycle 6, not after a cycle 5: no finding. 13 days off are short after any
    cycle: not met, saying that the least was checked and why."""
    assert after(cycle, 20).rest(RR) is None
    checks = after(cycle, 13)
    note = checks.schedule(RR).note
    assert ("the label gives at least 14 days without infusion after 28 infusion days (earliest start 2026-12-01; 56 "
            "after relapsed/refractory cycle 6 on, and the previous cycle's number is not known)") in note
    card = rest_card(checks.order, "Plan", checks, RR)
    assert card is not None
    assert card["summary"].endswith("starts after 13 days without infusion: label gives at least 14 days; start on or "
                                    "after 2026-12-01")
    detail = " ".join(card["detail"].split())
    assert "As the previous cycle's number is not known, the least is checked." in detail
    assert "The earliest start the label allows is 2026-12-01, later if the longer rest applies." in detail


def test_without_the_schedule_the_least_is_checked_and_said() -> None:
    """The card without a schedule (no indication matched, the phase unknown): cycle 7's rest may be 56 days or 14."""
    assert after(7, 20).rest(None) is None
    checks = after(7, 3)
    card = rest_card(checks.order, "Plan", checks, None)
    assert card is not None
    assert card["summary"].startswith("Cycle 7 starts after 3 days without infusion: label gives at least 14 days; "
                                      "start on or after ")
    assert "As the schedule is not known, the least is checked." in " ".join(card["detail"].split())


# Through the service: the reviewer's requests


def cycle_7_on(first_day: date) -> dict[str, Any]:
    """The cycle 6 renewal example with cycle 6 on record (2026-10-20..11-16) and the draft, cycle 7, of 28 mcg/day
    for 28 days from `first_day` (the reviewer's c7_after3: 2026-11-20; c7_after14: 2026-12-01)."""
    body = example("aspirus-relapsed-refractory-cycle6-renewal")
    history = body["prefetch"]["medicationRequests"]
    cycle_6 = copy.deepcopy(history["entry"][-1])
    cycle_6["fullUrl"], cycle_6["resource"]["id"] = "urn:uuid:prior-cycle-6", "prior-cycle-6"
    [only] = cycle_6["resource"]["dosageInstruction"]
    only["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-10-20", "end": "2026-11-16"}
    history["entry"].append(cycle_6)
    history["total"] = len(history["entry"])
    [draft] = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"]
    last = first_day + 27 * DAY
    draft["timing"]["repeat"]["boundsPeriod"] = {"start": first_day.isoformat(), "end": last.isoformat()}
    return body


@pytest.mark.parametrize("first_day", [date(2026, 11, 20), date(2026, 12, 1)])
def test_cycle_7_within_56_days_of_cycle_6_is_not_covered_as_ordered(client: Any, first_day: date) -> None:
    cards = by_order(post(client, cycle_7_on(first_day)))["blinatumomab-order"]
    found = decision(cards)
    assert (found["cycle"], found["decision"]) == (7, "criteria-not-met")
    schedule = criterion(found, "dose-schedule")
    assert schedule["status"] == "not-met" and "earliest start 2027-01-12" in schedule["note"]
    [card] = rest_cards(cards)
    days_off = (first_day - LAST).days - 1
    assert card["summary"] == (f"Cycle 7 starts after {days_off} days without infusion: "
                               "label gives 56 days after cycle 6; start on or after 2027-01-12")
    assert "The earliest start the label allows is 2027-01-12." in card["detail"]


def test_cycle_7_after_56_days_without_infusion_meets_the_criteria(client: Any) -> None:
    body = with_weight_on(cycle_7_on(date(2027, 1, 12)), "2027-01-05")  # weighed within 30 days of its start
    cards = by_order(post(client, body))["blinatumomab-order"]
    found = decision(cards)
    assert (found["cycle"], found["decision"]) == (7, "meets-criteria") and not rest_cards(cards)


# Where one cycle's lines are cut into cycles, and the days card: the same rest


def test_the_rest_after_a_cycle_of_the_schedule_reaching_it() -> None:
    assert [rest_after(n) for n in (None, 1, 5, 6, 9)] == [14, 14, 14, 56, 56]


def test_after_cycle_6_days_within_56_days_are_past_the_28th_not_a_cycle() -> None:
    """Cycle 7 on days 1-28, then days 43-70: 14 days off split it after cycle 5 (two cycles), not after cycle 6,
    whose 56 days are not over (the split's cycle 8 would then be denied for its short rest: review)."""
    days = [*range(1, 29), *range(43, 71)]
    assert [len(s) for s in cycle_stretches(days, 0, 5)] == [28, 28]
    assert [len(s) for s in cycle_stretches(days, 0, 7)] == [56]
    assert [len(s) for s in cycle_stretches([*range(1, 29), *range(85, 113)], 0, 7)] == [28, 28]


def test_the_days_card_of_cycle_7_says_its_56_days_without() -> None:
    start = date(2027, 1, 12)
    written = order(line(rate(28), start.isoformat(), (start + 34 * DAY).isoformat()))
    past = order_checks(written, [written], facts(cycle=7, start=start, phase=RR)).past
    assert past is not None and "then 56 without (days 29–35 past them)" in past.note
    written = order(line(rate(28), start.isoformat(), (start + 34 * DAY).isoformat()))
    past = order_checks(written, [written], facts(cycle=5, start=start, phase=RR)).past
    assert past is not None and "then 14 without" in past.note


def _stretches_day_by_day(days: list[int], given: int, number: int | None) -> list[list[int]]:
    """cycle_stretches' rule walked one day at a time, as it was written before it looked only where days skip."""
    stretches: list[list[int]] = []
    count, rest = given, rest_after(number)
    for index, day in enumerate(days):
        gap = day - days[index - 1] if index else 0
        if index and (gap - 1 >= rest if count >= INFUSION_DAYS_PER_CYCLE else gap - 1 > MAX_INTERRUPTION.days):
            count, rest = 0, rest_after(None if number is None else number + len(stretches))
        if not index or count == 0:
            stretches.append([])
        stretches[-1].append(day)
        count += 1
    return stretches or [[]]


def test_cycles_are_cut_where_days_skip_as_a_day_by_day_count_cuts_them() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        days = sorted(rng.sample(range(1, 160), rng.randint(0, 70)))
        given, number = rng.choice((0, 3, 20, 27, 28)), rng.choice((None, 1, 5, 6, 7))
        assert [list(s) for s in cycle_stretches(days, given, number)] == _stretches_day_by_day(days, given, number)
