"""Infusion days past a cycle's 28th (dosing/cycle_end.py): the label gives 28 days of continuous infusion, then 14
without. 28 mcg/day on days 8-35 passed the dose check as "not above the label schedule" (clinical review)."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from cds_service.card_kinds import kind_of
from cds_service.dosing.cards import dose_card
from cds_service.dosing.days_card import cycle_days_card
from cds_service.dosing.checks import OrderDoseChecks
from cds_service.facts.model import ClinicalFacts
from tests.test_cycles_signed_together import by_order, criterion, decision, with_cycle_2
from tests.test_dosing_concentration import bag, strength
from tests.test_dosing_support import (COVERAGE_INFORMATION, UCUM, apply_suggestion, facts, line, order, order_checks,
                                      rate)
from tests.test_pipeline import example, post, with_configuration

PAST = "the label gives 28 infusion days, then 14 without"
DAYS_KIND, DOSE_AND_DAYS_KIND = "infusion-days", "dose-and-infusion-days"


def step_order(end: str | None = "2026-12-28", start: str = "2026-12-08") -> dict[str, Any]:
    """9 mcg/day on days 1-7, then 28 mcg/day from day 8 to `end` (None: no end)."""
    return order(line(rate(9), "2026-12-01", "2026-12-07", sequence=1), line(rate(28), start, end, sequence=2))


def checks_of(order_: dict[str, Any], facts_: ClinicalFacts | None = None) -> OrderDoseChecks:
    return order_checks(order_, [order_], facts_ or facts())


def card(checks: OrderDoseChecks, schedule: str = "relapsed-refractory") -> dict[str, Any] | None:
    label = dose_card(checks.order, checks.facts, schedule, True, "Plan", checks)
    return cycle_days_card(label, checks.order, checks.facts, "Plan", checks)


def ended_on(written: dict[str, Any], index: int, **repeat: Any) -> dict[str, Any]:
    """`written` as the suggestion should leave it: line `index`'s timing.repeat updated with `repeat` and its text,
    which states no days, saying the last infusion day (the 28th, 2026-12-28; a timed period ends the morning after
    it, so "ends 2026-12-28" would misstate it); nothing else."""
    expected = copy.deepcopy(written)
    ended = expected["dosageInstruction"][index]
    ended["timing"]["repeat"].update(repeat)
    ended["text"] += " (last infusion day 2026-12-28)"
    return expected


def assert_clean(resource: dict[str, Any], facts_: ClinicalFacts | None = None) -> None:
    """The accepted suggestion runs no day past the cycle, meets the schedule and raises no dose card."""
    checks = checks_of(resource, facts_)
    assert checks.past is None and checks.schedule("relapsed-refractory").status == "met"
    assert card(checks) is None


def test_days_8_to_35_run_past_the_28_infusion_days() -> None:
    checks = checks_of(step_order("2027-01-04"))  # day 35
    verdict = checks.schedule("relapsed-refractory")
    assert verdict.status == "not-met"
    assert verdict.note == f"runs to day 35: {PAST} (days 29–35 past them)"
    assert checks.reading("relapsed-refractory").past
    found = card(checks)
    assert found is not None and found["indicator"] == "warning"
    assert found["summary"] == ("Infusion past day 28 of cycle 1: runs to day 35; label gives 28 infusion days, then "
                                "14 days without infusion")
    assert len(found["summary"]) < 140
    assert "2026-12-28" in found["detail"] and "days 29–35" in found["detail"]


def test_the_days_card_offers_to_end_the_line_on_the_28th_infusion_day() -> None:
    """The one-click fix: the line running past day 28 ends on its date, nothing else of the order changes."""
    written = step_order("2027-01-04")
    found = card(checks_of(written))
    assert found is not None and kind_of(found) == DAYS_KIND
    assert found["selectionBehavior"] == "at-most-one"
    [suggestion] = found["suggestions"]
    assert suggestion["label"] == "End after infusion day 28 (2026-12-28)"
    assert suggestion["isRecommended"]
    resource = apply_suggestion(found)
    assert resource == ended_on(written, 1, boundsPeriod={"start": "2026-12-08", "end": "2026-12-28"})
    assert "the suggestion ends the" in found["detail"]
    assert_clean(resource)


@pytest.mark.parametrize(("timing", "ended"), [
    # A line stating its days by a duration keeps one (28 days from day 8 are days 8-35; days 8-28 are 21).
    ({"boundsDuration": {"value": 4, "unit": "wk", "system": UCUM, "code": "wk"}},
     {"boundsDuration": {"value": 21, "unit": "days", "system": UCUM, "code": "d"}}),
    # A timed period ends when the infusion stops: the morning after the 28th infusion day, at the start's time.
    ({"boundsPeriod": {"start": "2026-12-08T10:00:00-05:00", "end": "2027-01-05T10:00:00-05:00"}},
     {"boundsPeriod": {"start": "2026-12-08T10:00:00-05:00", "end": "2026-12-29T10:00:00-05:00"}}),
])
def test_the_line_is_ended_in_its_own_form(timing: dict[str, Any], ended: dict[str, Any]) -> None:
    """Whatever the form, the label says what it writes: the infusion ends after the 28th infusion day, whose date it
    names (a timed end the morning after it: "End the infusion on 2026-12-28" misstated it)."""
    written = order(line(rate(9), "2026-12-01", "2026-12-07", sequence=1),
                    {**line(rate(28), sequence=2), "timing": {"repeat": timing}})
    found = card(checks_of(written))
    assert found is not None
    assert found["suggestions"][0]["label"] == "End after infusion day 28 (2026-12-28)"
    assert "End the infusion after the 28th infusion day (2026-12-28)" in found["detail"]
    resource = apply_suggestion(found)
    expected = ended_on(written, 1)
    expected["dosageInstruction"][1]["timing"]["repeat"] = ended
    assert resource == expected
    assert_clean(resource)


@pytest.mark.parametrize(("text", "ended"), [
    ("28 mcg/day days 8-35", "28 mcg/day days 8–28"),
    ("28 mcg/day x 28 days", "28 mcg/day x 21 days"),
    ("28 mcg/day continuous", "28 mcg/day continuous (last infusion day 2026-12-28)"),  # no days stated: added
])
def test_the_days_the_ended_lines_text_states_become_its_own(text: str, ended: str) -> None:
    written = step_order("2027-01-04")
    written["dosageInstruction"][1]["text"] = text
    resource = apply_suggestion(card(checks_of(written)) or {})
    assert resource["dosageInstruction"][1]["text"] == ended


@pytest.mark.parametrize("text", ["28 mcg/day for 4 weeks", "28 mcg/day Dec 8 through Jan 4",
                                  "28 mcg/day days 8-21, then days 22-35", "28 mcg/day for 28 consecutive days",
                                  "28 mcg/day, 28-day infusion", "28 mcg/day D8-D35", "28 mcg/day d8-d35",
                                  "28 mcg/day (D8–D35)", "28 mcg/day, start 8-Dec, stop 4-Jan"])
def test_no_end_in_one_click_when_the_text_states_its_days_in_another_form(text: str) -> None:
    """Ended, the line would keep a text contradicting its timing (nurses read the text): the card says why."""
    written = step_order("2027-01-04")
    written["dosageInstruction"][1]["patientInstruction"] = text
    found = card(checks_of(written))
    assert found is not None and found["indicator"] == "warning" and "suggestions" not in found
    assert ("No one-click end: the text of line 2 states its days in a form the suggestion cannot rewrite."
            in found["detail"])


@pytest.mark.parametrize("text", ["28 mcg/day 10 mL/hr", "28 mcg/day 1.17 mcg/h"])
def test_a_dose_per_day_followed_by_a_number_states_no_days(text: str) -> None:
    """"/day 10" is a rate's unit and the next number, not day 10: the one-click end stays."""
    written = step_order("2027-01-04")
    written["dosageInstruction"][1]["patientInstruction"] = text
    found = card(checks_of(written))
    assert found is not None and found.get("suggestions")
    assert apply_suggestion(found)["dosageInstruction"][1]["patientInstruction"].startswith(f"{text} (")


def test_the_suggestion_drops_the_coverage_information() -> None:
    written = step_order("2027-01-04")
    written["extension"] = [{"url": COVERAGE_INFORMATION, "extension": []}]
    resource = apply_suggestion(card(checks_of(written)) or {})
    assert "extension" not in resource


@pytest.mark.parametrize(("written", "why"), [
    # A line of its own after the 28th infusion day would have to be removed: the prescriber's call.
    (order(*step_order()["dosageInstruction"], line(rate(28), "2026-12-29", "2027-01-04", sequence=3)),
     "line 3 starts after it: removing lines is the prescriber's call"),
    # Two lines running past it (together on the same days): which one to end, or both, is not clear.
    (order(line(rate(9), "2026-12-01", "2026-12-07", sequence=1), line(rate(14), "2026-12-08", "2027-01-04", 2),
           line(rate(14), "2026-12-08", "2027-01-04", sequence=2)), "2 lines run past it"),
])
def test_no_suggestion_when_ending_one_line_is_not_the_whole_change(written: dict[str, Any], why: str) -> None:
    found = card(checks_of(written))
    assert found is not None and found["indicator"] == "warning" and "suggestions" not in found
    assert f"No one-click end: {why}." in found["detail"]
    assert "then sign again" in found["detail"]


def test_a_line_written_as_a_volume_is_not_ended_in_one_click() -> None:
    """As the dose corrections leave a volume (mL/h of the bag's strength) to pharmacy, so does the end."""
    written = order(line(rate(9), "2026-12-01", "2026-12-07", sequence=1),
                    line(rate(10, "mL/h"), "2026-12-08", "2027-01-04", sequence=2),
                    contained=[bag(strength(28, "ug"))], medicationReference={"reference": "#bag"})
    found = card(checks_of(written))
    assert found is not None and "suggestions" not in found
    assert "No one-click end: line 2 (10 mL/h of 28 mcg per 240 mL) is a volume" in found["detail"]


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
    assert verdicts[1].note.startswith("runs to day 35:")


def test_an_interruption_is_not_counted_as_infusion_days() -> None:
    """Days 1-7, then 12-32 after an interruption of 4 days (the cycle goes on: at most 7), are 28 infusion days;
    to day 33 is the 29th."""
    within = checks_of(step_order("2027-01-01", start="2026-12-12"))
    assert within.past is None and within.schedule("relapsed-refractory").status == "met"
    past = checks_of(step_order("2027-01-02", start="2026-12-12"))
    assert past.schedule("relapsed-refractory").note == f"runs to day 33 (infusion day 29): {PAST} (day 33 past them)"


def test_an_order_continuing_a_cycle_counts_the_days_already_given() -> None:
    """20 infusion days given: days 21-28 end the cycle; days 21-35 run 7 days past it."""
    continuing = facts(days_before=20)
    ends = checks_of(order(line(rate(28), "2026-12-01", "2026-12-08")), continuing)
    assert ends.past is None and ends.schedule("standard").status == "met"
    runs_on = checks_of(order(line(rate(28), "2026-12-01", "2026-12-15")), continuing)
    verdict = runs_on.schedule("standard")
    assert verdict.status == "not-met" and verdict.note == f"runs to day 35: {PAST} (days 29–35 past them)"
    found = card(runs_on, "standard")
    assert found is not None and "2026-12-08" in found["detail"]  # the 28th infusion day, the 8th of this order
    resource = apply_suggestion(found)
    assert resource["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["end"] == "2026-12-08"
    assert checks_of(resource, continuing).past is None
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
    assert "End the infusion after the 28th infusion day (2026-12-28)" in found["detail"]


def test_the_dose_correction_of_an_order_past_the_cycle_ends_it_too() -> None:
    """One suggestion carries both corrections: two, each replacing the whole order, would undo each other."""
    found = card(checks_of(order(line(rate(28), "2026-12-01", "2027-01-04", sequence=1))))
    assert found is not None and kind_of(found) == DOSE_AND_DAYS_KIND
    [suggestion] = found["suggestions"]
    assert suggestion["label"] == ("Change dose to 9 mcg/day on days 1–7, then 28 mcg/day on days 8–28, and end after "
                                   "infusion day 28 (2026-12-28)")
    assert suggestion["actions"][0]["description"].endswith(
        "; end the infusion after infusion day 28 (2026-12-28)")
    resource = apply_suggestion(found)
    assert [(d["doseAndRate"][0]["rateQuantity"]["value"], d["timing"]["repeat"]["boundsPeriod"])
            for d in resource["dosageInstruction"]] == [(9, {"start": "2026-12-01", "end": "2026-12-07"}),
                                                       (28, {"start": "2026-12-08", "end": "2026-12-28"})]
    assert "the suggestion does both" in found["detail"]
    assert_clean(resource)


def test_a_dose_correction_beside_an_end_that_is_not_one_says_it_corrects_the_dose_only() -> None:
    written = order(line(rate(28), "2026-12-01", "2027-01-04", sequence=1),
                    line(rate(28), "2027-01-05", "2027-01-07", sequence=2))
    found = card(checks_of(written))
    assert found is not None and kind_of(found) == "dose"
    resource = apply_suggestion(found)
    assert resource["dosageInstruction"][1]["timing"]["repeat"]["boundsPeriod"]["end"] == "2027-01-04"
    assert {**resource["dosageInstruction"][2], "sequence": 2} == written["dosageInstruction"][1]  # renumbered
    assert "end after" not in found["suggestions"][0]["label"]
    assert ("No one-click end in the suggestion, which corrects the dose only: line 2 starts after it"
            in found["detail"])


def test_a_dose_card_without_a_correction_offers_no_end_alone() -> None:
    """Lines together above the label: no correction of the dose, and ending the days alone would leave it."""
    written = order(line(rate(28), "2026-12-01", "2027-01-04", sequence=1),
                    line(rate(20), "2026-12-01", "2026-12-28", sequence=1))
    found = card(checks_of(written), "standard")
    assert found is not None and found["indicator"] == "warning" and "suggestions" not in found
    assert "runs to day 35" in found["summary"] and "No one-click end" not in found["detail"]


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
    assert criterion(found, "dose-schedule")["note"].startswith("runs to day 35:")
    [dose] = [c for c in cards if c["source"]["topic"]["code"] == "off-guideline"]
    assert dose["indicator"] == "warning" and dose["summary"].startswith("Infusion past day 28 of cycle 1")
    resource = apply_suggestion(dose)
    assert resource == ended_on(entry["resource"], 1, boundsPeriod={"start": "2026-12-08", "end": "2026-12-28"})
    entry["resource"] = resource
    again = by_order(post(client, body))["blinatumomab-order"]
    assert criterion(decision(again), "dose-schedule")["status"] == "met"
    assert [c["source"]["topic"]["code"] for c in again] == ["coverage-info"]


def test_order_select_offers_the_end_as_it_offers_a_dose_correction(client: Any) -> None:
    body = past_day_28("aspirus-adult-relapsed-refractory-cycle1")
    body["hook"] = "order-select"
    body["context"]["selections"] = ["MedicationRequest/blinatumomab-order"]
    [dose] = [c for c in post(client, body)["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert apply_suggestion(dose)["dosageInstruction"][1]["timing"]["repeat"]["boundsPeriod"]["end"] == "2026-12-28"


def past_day_28(name: str) -> dict[str, Any]:
    """The example's order with its last line running to day 35."""
    body = example(name)
    written = body["context"]["draftOrders"]["entry"][0]["resource"]
    written["dosageInstruction"][-1]["timing"]["repeat"]["boundsPeriod"]["end"] = "2027-01-04"
    return body


def suggestions_by_kind(cards: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {kind_of(c): c["suggestions"][0] for c in cards if c.get("suggestions")}


def resource_of(suggestion: dict[str, Any]) -> dict[str, Any]:
    [action] = suggestion["actions"]
    resource: dict[str, Any] = action["resource"]
    return resource


def with_40_vials(name: str) -> dict[str, Any]:
    """The example's order running past day 28 (`past_day_28`) with 40 vials, above Aspirus's 28."""
    body = past_day_28(name)
    body["context"]["draftOrders"]["entry"][0]["resource"]["dispenseRequest"]["quantity"]["value"] = 40
    return body


def beside_a_quantity_correction(client: Any, name: str, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The suggestions of the card of `kind` and of the quantity card for the example's order running past
    day 28 with 40 vials: each replaces the whole order, so each carries both corrections."""
    found = suggestions_by_kind(post(client, with_40_vials(name))["cards"])
    other, quantity = found[kind], found["quantity-limit"]
    assert resource_of(other) == resource_of(quantity)
    return other, quantity


def test_the_end_and_a_quantity_correction_each_carry_both(client: Any) -> None:
    days, quantity = beside_a_quantity_correction(client, "aspirus-adult-relapsed-refractory-cycle1", DAYS_KIND)
    # What the order's days use once ended on day 28 (28 vials at most), not the 35 of its days 1-35 as written.
    assert resource_of(days)["dispenseRequest"]["quantity"]["value"] == 28
    assert resource_of(days)["dosageInstruction"][1]["timing"]["repeat"]["boundsPeriod"]["end"] == "2026-12-28"
    assert days["label"].endswith("(and quantity to 28 vials)")
    assert quantity["label"] == "Change quantity to 28 vials (and the end to the 28th infusion day)"


@pytest.mark.parametrize("kind", [DAYS_KIND, "quantity-limit"])
def test_accepting_the_end_with_the_quantity_and_signing_again_gives_neither_card(client: Any, kind: str) -> None:
    body = with_40_vials("aspirus-adult-relapsed-refractory-cycle1")
    entry = body["context"]["draftOrders"]["entry"][0]
    entry["resource"] = resource_of(suggestions_by_kind(post(client, body)["cards"])[kind])
    again = post(client, body)["cards"]
    assert again[0]["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    assert [c["source"]["topic"]["code"] for c in again] == ["coverage-info"]


def test_a_dose_and_end_correction_and_a_quantity_correction_each_carry_all(client: Any) -> None:
    dose, quantity = beside_a_quantity_correction(client, "aspirus-relapsed-refractory-single-line-dose-too-high",
                                                  DOSE_AND_DAYS_KIND)
    lines = resource_of(dose)["dosageInstruction"]
    assert [d["doseAndRate"][0]["rateQuantity"]["value"] for d in lines] == [9, 28]
    assert lines[1]["timing"]["repeat"]["boundsPeriod"]["end"] == "2026-12-28"
    assert quantity["label"] == ("Change quantity to 28 vials (and the dose to the label dose and the end to the 28th "
                                 "infusion day)")


def florida_blue_above_its_limit_past_day_28() -> dict[str, Any]:
    """1.18 mcg/h (28.32 mcg/day: within the label, above Florida Blue's 28) on days 8-35."""
    body = past_day_28("florida-blue-relapsed-refractory-ph-negative")
    body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][1]["doseAndRate"] = [
        {"rateQuantity": {"value": 1.18, "unit": "ug/h", "system": UCUM, "code": "ug/h"}}]
    return body


def test_the_end_and_florida_blues_plan_limit_correction_each_carry_both(client: Any) -> None:
    """The plan limit card corrects the dose, the days card ends the line; accepted in either order, neither undoes
    the other."""
    body = florida_blue_above_its_limit_past_day_28()
    entry = body["context"]["draftOrders"]["entry"][0]
    found = suggestions_by_kind(post(client, body)["cards"])
    days, limit = found[DAYS_KIND], found["plan-dose-limit"]
    assert resource_of(days) == resource_of(limit)
    full = resource_of(days)["dosageInstruction"][1]
    assert full["doseAndRate"][0]["rateQuantity"]["value"] == 1.16
    assert full["timing"]["repeat"]["boundsPeriod"]["end"] == "2026-12-28"
    assert days["label"].endswith("(and the dose to the plan's dose limit)")
    assert limit["label"].endswith("(and the end to the 28th infusion day)")
    entry["resource"] = resource_of(limit)
    again = post(client, body)
    assert again["cards"][0]["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    assert [c["source"]["topic"]["code"] for c in again["cards"]] == ["coverage-info"]


def test_the_plan_limit_card_names_the_dose_on_the_days_it_was_ordered_for(client: Any) -> None:
    """Corrected on the order ended on day 28, the card still says 28.32 mcg/day was ordered for days 8-35."""
    [limit] = [c for c in post(client, florida_blue_above_its_limit_past_day_28())["cards"]
               if kind_of(c) == "plan-dose-limit"]
    assert limit["summary"] == "Dose above Florida Blue's 28 mcg/day limit: 28.32 mcg/day on days 8–35"
    assert "| days 8–35 | 28.32 mcg/day" in limit["detail"] and "days 8–28" not in limit["detail"]


def test_days_after_the_labels_14_days_without_infusion_are_a_cycle_of_their_own() -> None:
    """One order holding cycle 1 (days 1-28) and cycle 2 (days 43-70, after 14 days without infusion) runs no day
    past either; resumed after 4 days without infusion (days 33-40), or 9 or 13 (more than 7, but the 28 infusion
    days are given: no interrupted cycle to restart, and too soon for the next), the cycle goes on, past its 28th
    infusion day. The split card reads the lines so too (cycle_end.cycle_stretches)."""
    cycle_2 = line(rate(28), "2027-01-12", "2027-02-08", sequence=3)
    two_cycles = checks_of(order(*step_order()["dosageInstruction"], cycle_2))
    assert two_cycles.past is None and two_cycles.schedule("relapsed-refractory").status == "met"
    resumed = [("2027-01-02", "2027-01-09", "runs to day 40 (infusion day 36)", "days 33–40"),
               ("2027-01-07", "2027-01-14", "runs to day 45 (infusion day 36)", "days 38–45"),
               ("2027-01-11", "2027-01-14", "runs to day 45 (infusion day 32)", "days 42–45")]
    for start, end, runs, past in resumed:
        checks = checks_of(order(*step_order()["dosageInstruction"], line(rate(28), start, end, 3)))
        assert checks.schedule("relapsed-refractory").note == f"{runs}: {PAST} ({past} past them)"


def test_an_interrupted_cycle_restarts_after_more_than_7_days_without_infusion() -> None:
    """10 infusion days, then 9 without: the label's restart, counted from 1 (no day past the 28th)."""
    restarted = checks_of(order(line(rate(28), "2026-12-01", "2026-12-10", sequence=1),
                                line(rate(28), "2026-12-20", "2027-01-16", sequence=2)))
    assert restarted.past is None


def test_without_dose_cards_the_plan_limit_correction_does_not_end_the_line(client: Any) -> None:
    """Dose cards turned off (off-guideline): no card says the days, so no suggestion changes them."""
    body = with_configuration(florida_blue_above_its_limit_past_day_28(), **{"off-guideline": False})
    [limit] = suggestions_by_kind(post(client, body)["cards"]).values()
    assert limit["label"] == "Change dose to 1.16 mcg/h, within the plan's 28 mcg/day"
    assert resource_of(limit)["dosageInstruction"][1]["timing"]["repeat"]["boundsPeriod"]["end"] == "2027-01-04"


def test_the_per_m2_card_states_the_label_dose_on_the_days_its_suggestion_leaves() -> None:
    """15 mcg/m²/day on days 1-35 for an 80 kg adult without a BSA: the suggestion sets 9 then 28 mcg/day and ends
    the line on day 28, and the card says the label dose on days 8-28, not on the days 8-35 as written."""
    facts_ = facts(weight="80")
    found = card(checks_of(order(line(rate(15, "ug/m2/d"), "2026-12-01", "2027-01-04")), facts_))
    assert found is not None and kind_of(found) == DOSE_AND_DAYS_KIND
    fixed = "from 45 kg the label dose is 9 mcg/day on days 1–7, 28 mcg/day on days 8–28"
    assert found["summary"].startswith(f"Dose per m² not checked without a BSA; {fixed}")
    assert "days 8–35" not in found["detail"]
    resource = apply_suggestion(found)
    assert resource["dosageInstruction"][1]["timing"]["repeat"]["boundsPeriod"]["end"] == "2026-12-28"
    assert_clean(resource, facts_)


def with_35_vials() -> dict[str, Any]:
    """Aspirus's adult cycle 1 running to day 35 with 35 vials: what its days 1-35 as written use at most, over the
    plan's 28."""
    body = past_day_28("aspirus-adult-relapsed-refractory-cycle1")
    body["context"]["draftOrders"]["entry"][0]["resource"]["dispenseRequest"]["quantity"]["value"] = 35
    return body


@pytest.mark.parametrize("kind", [DAYS_KIND, "quantity-limit"])
def test_a_quantity_its_days_use_only_as_written_is_corrected_with_the_end(client: Any, kind: str) -> None:
    """35 vials for days 1-35 is no more than its days use as written, but the days card ends it on day 28: judged
    on the ended lines, the quantity card corrects it to 28 beside the end, so one click fixes both."""
    body = with_35_vials()
    found = suggestions_by_kind(post(client, body)["cards"])
    assert resource_of(found[DAYS_KIND]) == resource_of(found["quantity-limit"])
    assert found["quantity-limit"]["label"] == "Change quantity to 28 vials (and the end to the 28th infusion day)"
    entry = body["context"]["draftOrders"]["entry"][0]
    entry["resource"] = resource_of(found[kind])
    again = post(client, body)["cards"]
    assert again[0]["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    assert [c["source"]["topic"]["code"] for c in again] == ["coverage-info"]


def test_the_quantity_cards_row_states_what_the_ended_lines_use(client: Any) -> None:
    """The table names what the order uses as its suggestion ends it (days 1-28: 651 mcg, at most 28 vials), not its
    days 1-35 as written (847 mcg, at most 35), which would contradict the 28 vials the suggestion sets."""
    [quantity] = [c for c in post(client, with_35_vials())["cards"] if c["source"]["topic"]["code"] == "limits"]
    [row] = [line for line in quantity["detail"].splitlines() if "(this order)" in line]
    assert row == ("| 9 mcg/day on days 1–7; 28 mcg/day on days 8–35 (this order) | 35 vials | ended on day 28 (28th "
                   "infusion day): 651 mcg: 19 to 28 vials | more than its days use |")


def test_the_quantity_row_beside_a_dose_and_end_correction_states_what_its_lines_use(client: Any) -> None:
    """28 mcg/day on days 1-35 with 40 vials: the suggestion writes 9 mcg/day on days 1-7, then 28 to day 28 (651
    mcg), so the row says so, not the 784 mcg of 28 mcg/day on days 1-28, and that the dose is corrected too."""
    cards = post(client, with_40_vials("aspirus-relapsed-refractory-single-line-dose-too-high"))["cards"]
    [quantity] = [c for c in cards if kind_of(c) == "quantity-limit"]
    [row] = [line for line in quantity["detail"].splitlines() if "(this order)" in line]
    assert "| dose corrected and ended on day 28 (28th infusion day): 651 mcg: 19 to 28 vials |" in row
