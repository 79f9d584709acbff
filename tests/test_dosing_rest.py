"""A cycle started within the label's 14 days without infusion (dosing/rest.py, rest_card.py): the label follows each
cycle's 28 infusion days with 14 days without, and cycle 2 two days after cycle 1 had met the criteria without a card
(review). The cycle before may be on record or signed in the same call; one interrupted for more than 7 days is the
label's restart, never a short rest."""
from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from cds_service.card_kinds import kind_of
from cds_service.dosing.checks import OrderDoseChecks
from cds_service.dosing.rest_card import rest_card
from cds_service.facts.model import ClinicalFacts, PreviousCycle
from tests.factories import medication_request, record
from tests.test_cycles_signed_together import by_order, criterion, decision, with_cycle_2, with_weight_on
from tests.test_dosing_support import START, facts, line, order, order_checks, rate
from tests.test_facts_course import _cycle, _prior
from tests.test_pipeline import example, post

DAY = timedelta(days=1)
CYCLE_1_LAST = date(2026, 11, 28)  # a cycle 1 of 28 infusion days, 2026-11-01..28, before START (2026-12-01)
REST = "the label gives 14 days without infusion after 28 infusion days"
DAYS_KIND = "infusion-days"


# The cycle before, as facts/course.py reads it


def test_a_new_cycle_after_a_cycle_of_28_infusion_days_reads_that_cycle() -> None:
    prior = _prior(date(2026, 1, 1), days=28)
    for start in (date(2026, 1, 31), date(2026, 2, 12)):  # 2 days without infusion, or 14
        info = _cycle(record(prior), start)
        assert info.number.value == 2
        assert info.previous == PreviousCycle(date(2026, 1, 28), (f"MedicationRequest/{prior['id']}",))


def test_an_interrupted_or_continued_cycle_or_one_without_dates_is_no_cycle_before() -> None:
    """10 infusion days, then 9 without: the label's restart of an interrupted cycle (cycle 2, no rest owed); 5 days
    without continue the cycle; an earlier order without an end covers its start day only (never guessed longer)."""
    interrupted = _cycle(record(_prior(date(2026, 1, 1), days=10)), date(2026, 1, 20))
    assert (interrupted.number.value, interrupted.previous) == (2, None)
    continued = _cycle(record(_prior(date(2026, 1, 1), days=10)), date(2026, 1, 16))
    assert (continued.number.value, continued.previous) == (1, None)
    undated = medication_request(start=date(2026, 1, 1), status="completed")
    assert _cycle(record(undated), date(2026, 1, 5)).previous is None


# The finding: the dose schedule criterion, as for days past the 28th infusion day, and the card


def after_cycle_1(days_off: int, previous: PreviousCycle | None = None) -> ClinicalFacts:
    """Cycle 2's facts: its start `days_off` days without infusion after cycle 1 (28 infusion days to CYCLE_1_LAST)."""
    start = CYCLE_1_LAST + (days_off + 1) * DAY
    base = facts(cycle=2, start=start)
    previous = previous or PreviousCycle(CYCLE_1_LAST, ("MedicationRequest/cycle-1",))
    return replace(base, cycle=replace(base.cycle, previous=previous))


def cycle_2(days_off: int, **changes: Any) -> OrderDoseChecks:
    """A 28 mcg/day order for 28 days starting cycle 2 `days_off` days after cycle 1."""
    facts_ = after_cycle_1(days_off)
    first = facts_.cycle.start
    written = order(line(rate(28), first.isoformat(), (first + 27 * DAY).isoformat()), **changes)
    return order_checks(written, [written], facts_)


@pytest.mark.parametrize(("days_off", "starts"), [(2, "2 days"), (13, "13 days"), (1, "1 day")])
def test_a_cycle_starting_fewer_than_14_days_after_the_last_is_not_met(days_off: int, starts: str) -> None:
    checks = cycle_2(days_off)
    verdict = checks.schedule("standard")
    earliest = (CYCLE_1_LAST + 15 * DAY).isoformat()
    assert verdict.status == "not-met"
    assert verdict.note == (f"starts after {starts} without infusion (cycle 1's last infusion day 2026-11-28): {REST} "
                            f"(earliest start {earliest})")
    assert verdict.evidence == ("MedicationRequest/blin-1", "MedicationRequest/cycle-1")  # this order, cycle 1's
    card = rest_card(checks.order, "Plan", checks, "standard")
    assert card is not None
    assert card["summary"] == (f"Cycle 2 starts after {starts} without infusion: label gives 14 days; start on or "
                               f"after {earliest}")
    assert (card["indicator"], kind_of(card)) == ("warning", DAYS_KIND)
    assert "suggestions" not in card and f"The earliest start the label allows is {earliest}." in card["detail"]
    assert "the last on 2026-11-28" in card["detail"]


def test_14_days_without_infusion_are_the_labels_and_met() -> None:
    checks = cycle_2(14)
    assert checks.rest("standard") is None and checks.schedule("standard").status == "met"
    assert rest_card(checks.order, "Plan", checks, "standard") is None


def test_a_start_the_day_after_or_before_the_last_infusion_day_is_said_so() -> None:
    assert cycle_2(0).schedule("standard").note.startswith("starts the day after cycle 1's last infusion day")
    overlapping = cycle_2(-3)
    assert overlapping.schedule("standard").note.startswith("starts before cycle 1's last infusion day (2026-11-28)")
    card = rest_card(overlapping.order, "Plan", overlapping, "standard")
    assert card is not None and card["summary"].startswith("Cycle 2 starts before cycle 1 ended:")
    assert "on 2026-11-26, before that day" in " ".join(card["detail"].split())


def test_without_the_cycle_number_the_cycle_before_is_not_numbered() -> None:
    base = after_cycle_1(2)
    unnumbered = replace(base, cycle=replace(base.cycle, number=replace(base.cycle.number, value=None)))
    written = order(line(rate(28), "2026-12-01", "2026-12-28"))
    checks = order_checks(written, [written], unnumbered)
    note = checks.schedule("standard").note
    assert note.startswith("starts after 2 days without infusion (the previous cycle's last infusion day 2026-11-28)")
    card = rest_card(written, "Plan", checks, "standard")
    assert card is not None
    assert card["summary"] == ("This cycle starts after 2 days without infusion: label gives 14 days; start on or "
                               "after 2026-12-13")


def test_a_dose_above_the_label_is_said_first() -> None:
    facts_ = after_cycle_1(2)
    written = order(line(rate(40), "2026-12-01", "2026-12-28"))
    verdict = order_checks(written, [written], facts_).schedule("standard")
    assert verdict.status == "not-met"
    assert verdict.note.startswith("40 mcg/day on days 1–28; label 28 mcg/day; starts after 2 days without infusion")
    assert "MedicationRequest/cycle-1" in verdict.evidence


def test_only_an_order_starting_the_cycle_on_a_recorded_date_gets_the_finding() -> None:
    """A step dose's second order (from day 8) does not start the cycle; an order without a start is taken to start
    today, no date to judge a rest by."""
    facts_ = after_cycle_1(2)
    later = order(line(rate(28), "2026-12-08", "2026-12-28"), id="later")
    first = order(line(rate(9), "2026-12-01", "2026-12-07"), id="first")
    assert order_checks(later, [first, later], facts_).rest("standard") is None
    assert order_checks(first, [first, later], facts_).rest("standard") is not None
    undated = order(line(rate(28)))
    assert facts_.cycle.start == START and order_checks(undated, [undated], facts_).rest("standard") is None


# Through the service: each reviewer's request


def on_record_after(first_day: str, last_day: str, prior: tuple[str, str, str] = ("2026-11-11", "2026-11-17",
                                                                                 "2026-12-08")) -> dict[str, Any]:
    """The relapsed/refractory example with cycle 1 on record (an active order: 9 mcg/day `prior[0]`..`prior[1]`,
    then 28 mcg/day to `prior[2]`) and a draft of 28 mcg/day from `first_day` to `last_day`."""
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    [entry] = body["context"]["draftOrders"]["entry"]
    draft = entry["resource"]
    earlier = copy.deepcopy(draft)
    earlier["id"], earlier["status"] = "prior-cycle-1", "active"
    step, full = earlier["dosageInstruction"]
    step["timing"]["repeat"]["boundsPeriod"] = {"start": prior[0], "end": prior[1]}
    day_after = (date.fromisoformat(prior[1]) + DAY).isoformat()
    full["timing"]["repeat"]["boundsPeriod"] = {"start": day_after, "end": prior[2]}
    history = body["prefetch"]["medicationRequests"]
    history["entry"], history["total"] = [{"fullUrl": "urn:uuid:prior-cycle-1", "resource": earlier}], 1
    only = draft["dosageInstruction"][1]
    only["sequence"], only["timing"]["repeat"]["boundsPeriod"] = 1, {"start": first_day, "end": last_day}
    draft["dosageInstruction"] = [only]
    return body


def rest_cards(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in cards if kind_of(c) == DAYS_KIND
            and c["summary"].startswith("Cycle")]


def test_cycle_1_on_record_then_2_days_off(client: Any) -> None:
    """The reviewer's prior_c1_then_c2_gap2: 'meets criteria ... cycle 2', no card. Then (second review) the card and
    the note said 'starts 2 days after' of a start 3 days after the last infusion day (12-08, 12-11): 2 days without
    infusion is what they say now."""
    cards = by_order(post(client, on_record_after("2026-12-11", "2027-01-07")))["blinatumomab-order"]
    found = decision(cards)
    assert (found["cycle"], found["decision"]) == (2, "criteria-not-met")
    schedule = criterion(found, "dose-schedule")
    assert schedule["status"] == "not-met"
    assert schedule["note"].startswith("starts after 2 days without infusion (cycle 1's last infusion day 2026-12-08)")
    [card] = rest_cards(cards)
    assert card["summary"] == ("Cycle 2 starts after 2 days without infusion: label gives 14 days; start on or after "
                               "2026-12-23")
    assert "on 2026-12-11, after 2 days without infusion" in " ".join(card["detail"].split())
    assert "The earliest start the label allows is 2026-12-23." in card["detail"]


def test_cycle_1_on_record_then_14_days_off_is_the_label(client: Any) -> None:
    body = with_weight_on(on_record_after("2026-12-23", "2027-01-19"), "2026-12-20")  # within 30 days of its start
    cards = by_order(post(client, body))["blinatumomab-order"]
    assert criterion(decision(cards), "dose-schedule")["status"] == "met" and not rest_cards(cards)


def test_an_interrupted_cycle_on_record_owes_no_rest(client: Any) -> None:
    """10 infusion days (2026-11-11..20), then 9 days without: the label restarts the cycle."""
    body = on_record_after("2026-11-30", "2026-12-27", ("2026-11-11", "2026-11-17", "2026-11-20"))
    cards = by_order(post(client, body))["blinatumomab-order"]
    assert decision(cards)["cycle"] == 2 and not rest_cards(cards)
    assert criterion(decision(cards), "dose-schedule")["status"] == "met"


def test_two_orders_days_1_to_28_then_30_to_35(client: Any) -> None:
    """The reviewer's twoorders_day30_35: two drafts, both met, no card. The second is cycle 2 one day after cycle 1."""
    body = with_weight_on(with_cycle_2(days=("2026-12-30", "2027-01-04")), "2026-12-20")
    cards = by_order(post(client, body))
    assert not rest_cards(cards["blinatumomab-order"])
    second = decision(cards["cycle-2-order"])
    assert (second["cycle"], criterion(second, "dose-schedule")["status"]) == (2, "not-met")
    [card] = rest_cards(cards["cycle-2-order"])
    assert card["summary"].startswith("Cycle 2 starts after 1 day without infusion: label gives 14 days; start on or "
                                      "after")


def test_cycle_1_and_2_signed_together_4_days_apart(client: Any) -> None:
    """The reviewer's cyc2_gap4."""
    body = with_weight_on(with_cycle_2(days=("2027-01-02", "2027-01-29")), "2026-12-20")
    [card] = rest_cards(by_order(post(client, body))["cycle-2-order"])
    assert card["summary"] == ("Cycle 2 starts after 4 days without infusion: label gives 14 days; start on or after "
                               "2027-01-12")
    assert "The earliest start the label allows is 2027-01-12." in card["detail"]


def test_one_order_with_days_30_to_35_is_past_day_28_not_two_cycles(client: Any) -> None:
    """The reviewer's oneorder_day30_35: the split card ('Order covers 2 cycles') contradicted the days card; a split
    would start cycle 2 after one day without infusion. The days card alone is the answer."""
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    written = body["context"]["draftOrders"]["entry"][0]["resource"]
    later = copy.deepcopy(written["dosageInstruction"][1])
    later["sequence"], later["timing"]["repeat"]["boundsPeriod"] = 3, {"start": "2026-12-30", "end": "2027-01-04"}
    written["dosageInstruction"].append(later)
    written["dispenseRequest"]["quantity"]["value"] = 34
    answer = post(client, body)
    kinds = [kind_of(c) for c in answer["cards"]]
    assert "order-per-cycle" not in kinds
    [days] = [c for c in answer["cards"] if kind_of(c) == DAYS_KIND]
    assert days["summary"].startswith("Infusion past day 28 of cycle 1: runs to day 35")
    assert "(2026-12-28)" in days["detail"] and "days 30–35 are past" in " ".join(days["detail"].split())
    schedule = criterion(decision(answer["cards"]), "dose-schedule")
    assert schedule["note"].startswith("runs to day 35 (infusion day 34)")


def test_without_a_plan_the_card_comes_from_the_service(client: Any) -> None:
    body = on_record_after("2026-12-11", "2027-01-07")
    body["prefetch"]["coverage"] = {"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []}
    [card] = rest_cards(post(client, body)["cards"])
    assert card["source"]["label"] != "Aspirus Health Plan" and card["indicator"] == "warning"


def test_turned_off_with_the_dose_cards(client: Any) -> None:
    body = on_record_after("2026-12-11", "2027-01-07")
    body["extension"] = {"davinci-crd.configuration": {"off-guideline": False}}
    assert not rest_cards(post(client, body)["cards"])
