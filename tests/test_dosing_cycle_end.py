"""Infusion days past a cycle's 28th (dosing/cycle_end.py): the label gives 28 days of continuous infusion, then 14
without. 28 mcg/day on days 8-35 passed the dose check as "not above the label schedule" (clinical review)."""
from __future__ import annotations

from typing import Any

from cds_service.dosing.cards import cycle_days_card, dose_card
from cds_service.dosing.checks import OrderDoseChecks
from cds_service.facts.model import ClinicalFacts
from tests.test_cycles_signed_together import by_order, criterion, decision, with_cycle_2
from tests.test_dosing_support import facts, line, order, order_checks, rate
from tests.test_pipeline import example, post

PAST = "the label gives 28 infusion days, then 14 without"


def step_order(end: str | None = "2026-12-28", start: str = "2026-12-08") -> dict[str, Any]:
    """9 mcg/day on days 1-7, then 28 mcg/day from day 8 to `end` (None: no end)."""
    return order(line(rate(9), "2026-12-01", "2026-12-07", sequence=1), line(rate(28), start, end, sequence=2))


def checks_of(order_: dict[str, Any], facts_: ClinicalFacts | None = None) -> OrderDoseChecks:
    return order_checks(order_, [order_], facts_ or facts())


def card(checks: OrderDoseChecks, schedule: str = "relapsed-refractory") -> dict[str, Any] | None:
    label = dose_card(checks.order, checks.facts, schedule, True, "Plan", checks)
    return cycle_days_card(label, checks.order, checks.facts, "Plan", checks)


def test_days_8_to_35_run_past_the_28_infusion_days() -> None:
    checks = checks_of(step_order("2027-01-04"))  # day 35
    verdict = checks.schedule("relapsed-refractory")
    assert verdict.status == "not-met"
    assert verdict.note == f"Runs to day 35: {PAST} (days 29–35 past them)"
    assert checks.reading("relapsed-refractory").past
    found = card(checks)
    assert found is not None and found["indicator"] == "warning" and "suggestions" not in found
    assert found["summary"] == ("Infusion past day 28 of cycle 1: runs to day 35; label gives 28 infusion days, then "
                                "14 off")
    assert len(found["summary"]) < 140
    assert "2026-12-28" in found["detail"] and "days 29–35" in found["detail"]


def test_days_8_to_28_and_an_open_ended_line_stay_within_the_cycle() -> None:
    for order_ in (step_order(), step_order(None)):  # a line stating no end runs to day 28
        checks = checks_of(order_)
        assert checks.past is None
        verdict = checks.schedule("relapsed-refractory")
        assert verdict.status == "met" and verdict.note.startswith("9 mcg/day on days 1–7; 28 mcg/day on day")
        assert card(checks) is None


def test_the_infusion_days_of_every_order_of_the_cycle_are_counted() -> None:
    """A step dose written as two orders: the second's days 8-35 are past the cycle's 28th infusion day, though it
    gives only 28 days itself."""
    first = order(line(rate(9), "2026-12-01", "2026-12-07"), id="step")
    second = order(line(rate(28), "2026-12-08", "2027-01-04"), id="full")
    group = [first, second]
    verdicts = [order_checks(o, group, facts()).schedule("relapsed-refractory") for o in group]
    assert [v.status for v in verdicts] == ["met", "not-met"]
    assert verdicts[1].note.startswith("Runs to day 35:")


def test_an_interruption_is_not_counted_as_infusion_days() -> None:
    """Days 1-7, then 12-32 after an interruption of 4 days (the cycle goes on: at most 7), are 28 infusion days;
    to day 33 is the 29th."""
    within = checks_of(step_order("2027-01-01", start="2026-12-12"))
    assert within.past is None and within.schedule("relapsed-refractory").status == "met"
    past = checks_of(step_order("2027-01-02", start="2026-12-12"))
    assert past.schedule("relapsed-refractory").note == f"Runs to day 33 (infusion day 29): {PAST} (day 33 past them)"


def test_an_order_continuing_a_cycle_counts_the_days_already_given() -> None:
    """20 infusion days given: days 21-28 end the cycle; days 21-35 run 7 days past it."""
    continuing = facts(days_before=20)
    ends = checks_of(order(line(rate(28), "2026-12-01", "2026-12-08")), continuing)
    assert ends.past is None and ends.schedule("standard").status == "met"
    runs_on = checks_of(order(line(rate(28), "2026-12-01", "2026-12-15")), continuing)
    verdict = runs_on.schedule("standard")
    assert verdict.status == "not-met" and verdict.note == f"Runs to day 35: {PAST} (days 29–35 past them)"
    found = card(runs_on, "standard")
    assert found is not None and "2026-12-08" in found["detail"]  # the 28th infusion day, the 8th of this order
    assert checks_of(order(line(rate(28), "2026-12-01")), continuing).past is None  # open-ended: to day 28


def test_a_dose_above_the_label_and_days_past_the_cycle_are_one_card() -> None:
    """28 mcg/day on days 1-35 of relapsed/refractory cycle 1: above the step dose on days 1-7, and past day 28.
    The label card keeps its dose correction and says the days too."""
    checks = checks_of(order(line(rate(28), "2026-12-01", "2027-01-04", sequence=1)))
    verdict = checks.schedule("relapsed-refractory")
    assert verdict.note == (f"28 mcg/day on days 1–7; label 9 mcg/day; runs to day 35: {PAST} (days 29–35 past "
                            "them) (for weight 70 kg)")
    found = card(checks)
    assert found is not None and found["suggestions"]
    assert found["summary"].startswith("Dose above label: ") and "runs to day 35" in found["summary"]
    assert len(found["summary"]) < 140
    assert "End the infusion on the 28th infusion day, 2026-12-28" in found["detail"]


def test_without_a_weight_the_days_past_the_cycle_are_still_not_met() -> None:
    checks = checks_of(step_order("2027-01-04"), facts(weight=None))
    assert checks.schedule("relapsed-refractory").status == "not-met"
    found = card(checks)
    assert found is not None and found["summary"].startswith("Infusion past day 28")


def test_cycle_1_and_2_signed_together_run_no_day_past_either_cycle(client: Any) -> None:
    cards = by_order(post(client, with_cycle_2()))
    assert criterion(decision(cards["blinatumomab-order"]), "dose-schedule")["status"] == "met"
    assert all("past day 28" not in c["summary"] for found in cards.values() for c in found)


def test_the_service_answers_an_order_past_day_28_with_its_dose_card(client: Any) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    [entry] = body["context"]["draftOrders"]["entry"]
    entry["resource"]["dosageInstruction"][1]["timing"]["repeat"]["boundsPeriod"]["end"] = "2027-01-04"
    cards = by_order(post(client, body))["blinatumomab-order"]
    found = decision(cards)
    assert criterion(found, "dose-schedule")["status"] == "not-met"
    assert criterion(found, "dose-schedule")["note"].startswith("Runs to day 35:")
    [dose] = [c for c in cards if c["source"]["topic"]["code"] == "off-guideline"]
    assert dose["indicator"] == "warning" and dose["summary"].startswith("Infusion past day 28 of cycle 1")


def test_days_after_a_break_of_more_than_7_days_are_a_cycle_of_their_own() -> None:
    """One order holding cycle 1 (days 1-28) and cycle 2 (days 43-70) runs no day past either; resumed after 4 days
    without infusion (days 33-40), the cycle goes on, past its 28th infusion day."""
    cycle_2 = line(rate(28), "2027-01-12", "2027-02-08", sequence=3)
    two_cycles = checks_of(order(*step_order()["dosageInstruction"], cycle_2))
    assert two_cycles.past is None and two_cycles.schedule("relapsed-refractory").status == "met"
    resumed = checks_of(order(*step_order()["dosageInstruction"], line(rate(28), "2027-01-02", "2027-01-09", 3)))
    assert resumed.schedule("relapsed-refractory").note == (
        f"Runs to day 40 (infusion day 36): {PAST} (days 33–40 past them)")
