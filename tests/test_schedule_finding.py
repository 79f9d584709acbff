"""The decision card's summary says which part of the label schedule failed (the clinical review's F4): "dose above
label on days 1–7", "infusion past day 28", "rest too short (2 of 14 days)", where it said only "dose or days off
label schedule". The dose check's finding (Verdict.finding) is carried by the engine as the criterion's summary; the
detail keeps the criterion's text, status, evidence, note and policy section."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from cds_service.policies.vocabulary import Context, compile_test
from cds_service.verdict import Verdict
from tests.test_cycles_signed_together import criterion, decision
from tests.test_dosing_rest import cycle_2, on_record_after
from tests.test_dosing_support import facts, line, order, order_checks, rate
from tests.test_engine import Doses, _Doses, run
from tests.test_pipeline import example, post

STEP = [("2026-12-01", "2026-12-07"), ("2026-12-08", "2026-12-28")]


def schedule_of(*doses: tuple[float, str, str], schedule: str = "relapsed-refractory", weight: str | None = "70",
                cycle: int | None = 1) -> Verdict:
    written = order(*(line(rate(mcg), first, last, index + 1) for index, (mcg, first, last) in enumerate(doses)))
    return order_checks(written, [written], facts(weight=weight, cycle=cycle)).schedule(schedule)


# The dose check's finding


@pytest.mark.parametrize("doses, finding", [
    ([(9, *STEP[0]), (28, *STEP[1])], ""),  # the label's step dose: met, nothing to say
    ([(28, *STEP[0]), (28, *STEP[1])], "dose above label on days 1–7"),
    ([(28, *STEP[0]), (40, *STEP[1])], "dose above label on days 1–7 and 8–28"),
    ([(28, "2026-12-01", "2026-12-07"), (40, "2026-12-08", "2026-12-14"), (29, "2026-12-15", "2026-12-21"),
      (28, "2026-12-22", "2026-12-28")], "dose above label on days 1–7, 8–14 and 15–21"),
    ([(28, "2026-12-01", "2027-01-04")], "dose above label on days 1–7; infusion past day 28"),
    ([(9, *STEP[0]), (28, "2026-12-08", "2027-01-04")], "infusion past day 28"),
])
def test_the_schedule_verdict_names_the_part_that_failed(doses: list[tuple[float, str, str]], finding: str) -> None:
    verdict = schedule_of(*doses)
    assert (verdict.status, verdict.finding) == ("not-met" if finding else "met", finding)


def test_without_a_weight_the_dose_is_above_the_label_maximum() -> None:
    verdict = schedule_of((28, *STEP[0]), (28, *STEP[1]), weight=None)
    assert (verdict.status, verdict.finding) == ("not-met", "dose above label maximum on days 1–7")
    unknown = schedule_of((9, *STEP[0]), (28, *STEP[1]), weight=None)  # fits any weight's maximum: weight asked for
    assert (unknown.status, unknown.finding) == ("unknown", "")


def test_an_unknown_cycle_says_nothing_in_the_summary() -> None:
    """A flat 28 mcg/day is fit for cycle 2, above the step if this is cycle 1: unknown, the cycle number asked for."""
    verdict = schedule_of((28, "2026-12-01", "2026-12-28"), cycle=None)
    assert (verdict.status, verdict.finding) == ("unknown", "")


@pytest.mark.parametrize("days_off, finding", [
    (2, "rest too short (2 of 14 days)"), (0, "rest too short (0 of 14 days)"),
    (-3, "cycle starts before the previous one ended"), (14, ""),
])
def test_a_short_rest_is_named(days_off: int, finding: str) -> None:
    verdict = cycle_2(days_off).schedule("standard")
    assert (verdict.status, verdict.finding) == ("not-met" if finding else "met", finding)


# Through the engine: the finding is the criterion's summary, the policy's phrase otherwise


class Found(Doses):
    def schedule(self, schedule: str) -> Verdict:
        return Verdict(self.status, ("MedicationRequest/m",), note="28 mcg/day on days 1–7; label 9 mcg/day",
                       finding="dose above label on days 1–7" if self.status == "not-met" else "")


def test_the_engine_carries_the_finding_as_the_criterion_summary() -> None:
    not_met = run(therapy_phase="maintenance", doses=Found("not-met"))
    [dose] = [c for c in not_met.criteria if c.id == "first.dose"]
    assert (dose.status, dose.summary, dose.text, dose.citation) == (
        "not-met", "dose above label on days 1–7", "Label dose", "T3.b")
    assert dose.note == "28 mcg/day on days 1–7; label 9 mcg/day"
    plain = run(therapy_phase="maintenance", doses=Doses("not-met"))  # no finding: the policy's summary (none here)
    assert [c.summary for c in plain.criteria if c.id == "first.dose"] == [""]


@pytest.mark.parametrize("group", ["all", "any"])
def test_a_group_carries_the_finding_of_the_child_that_decided_it(group: str) -> None:
    facts_ = type("Facts", (), {"ph_positive": None})()
    verdict = Verdict("not-met", ("MedicationRequest/m",), finding="infusion past day 28")
    test = {group: [{"dose": "schedule"}]}
    outcome = compile_test(test, "standard")(Context(facts_, _Doses(verdict), None))  # type: ignore[arg-type]
    assert (outcome.status, outcome.finding) == ("not-met", "infusion past day 28")


# Over HTTP: the decision card


def coverage_card(cards: list[dict[str, Any]]) -> dict[str, Any]:
    [card] = [c for c in cards if "coverage-decision" in c.get("extension", {})]
    return card


def test_a_dose_above_the_label_is_named_in_the_summary(client: Any) -> None:
    answer = post(client, example("aspirus-relapsed-refractory-single-line-dose-too-high"))
    card = coverage_card(answer["cards"])
    assert card["summary"] == ("Aspirus Health Plan: not covered as ordered — meets adult relapsed/refractory ALL "
                               "except dose above label on days 1–7")
    # The pharmacist's detail: the criterion, its status, evidence, note and policy section, as before.
    [line_] = [text for text in card["detail"].splitlines() if "Daily dose per the label schedule" in text]
    assert line_.startswith("- ❌ not met: Daily dose per the label schedule for the weight or BSA")
    assert "(_Aspirus V (Dosage/Administration)_); evidence: MedicationRequest/" in line_
    assert "28 mcg/day on days 1–7; label 9 mcg/day" in line_


def test_a_short_rest_is_named_in_the_summary(client: Any) -> None:
    cards = post(client, on_record_after("2026-12-11", "2027-01-07"))["cards"]
    card = coverage_card(cards)
    assert card["summary"].endswith("except rest too short (2 of 14 days)") and len(card["summary"]) < 140
    assert criterion(decision(cards), "dose-schedule")["note"].startswith("starts after 2 days without infusion")


def test_days_past_day_28_are_named_in_the_summary(client: Any) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    written = body["context"]["draftOrders"]["entry"][0]["resource"]
    later = copy.deepcopy(written["dosageInstruction"][1])
    later["timing"]["repeat"]["boundsPeriod"]["end"] = "2027-01-04"
    written["dosageInstruction"][1] = later
    card = coverage_card(post(client, body)["cards"])
    assert card["summary"].endswith("except infusion past day 28")


def test_a_met_or_unknown_schedule_reads_as_before(client: Any) -> None:
    met = coverage_card(post(client, example("aspirus-adult-relapsed-refractory-cycle1"))["cards"])
    assert met["summary"].startswith("Aspirus Health Plan: meets criteria")
    body = example("aspirus-relapsed-refractory-no-weight-dose-above-maximum")
    [entry] = body["context"]["draftOrders"]["entry"]
    entry["resource"]["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"]["value"] = 9
    unknown = coverage_card(post(client, body)["cards"])
    assert unknown["extension"]["coverage-decision"]["decision"] == "information-needed"
    assert "dose above" not in unknown["summary"] and "document current weight" in unknown["summary"]
