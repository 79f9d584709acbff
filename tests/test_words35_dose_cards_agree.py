"""The decision card and the dose card of one order name the same days above the label.

With no indication established (the diagnosis not on record), the dose card reads the label dose the chart supports
(policy-rules.md §5: the phase's schedule, else the ceiling), while the closest indication's dose criterion reads that
indication's own schedule (Aspirus V; relapsed/refractory: step days 1–7). The decision card's summary had said
"dose above label on days 1–7 and 8–28" beside a dose card, and its correction, for days 8–28 alone."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from cds_service.cards import _dose_card_days, decision_card
from cds_service.decision import CriterionResult
from cds_service.dosing.checks import DoseReading
from tests.test_cards import BASE, ORDER, pick
from tests.test_pipeline import example, post

CEILING_DAYS = "dose above label on days 8–28"
STEP_DAYS = "dose above label on days 1–7 and 8–28"


def _child_on_adult_doses(diagnosis: bool) -> dict[str, Any]:
    """A 25 kg child (BSA 0.932 m²) ordered 9 mcg/day on days 1–7 and 28 mcg/day on days 8–28 of cycle 1; with or
    without the relapsed ALL on record."""
    body = example("aspirus-pediatric-relapsed-refractory-bsa-step")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    for line, mcg in zip(order["dosageInstruction"], (9, 28)):
        line["doseAndRate"][0]["rateQuantity"]["value"] = mcg
        line["text"] = f"{mcg} ug/d continuous IV infusion"
    if not diagnosis:
        body["prefetch"]["conditions"]["entry"] = []
    return body


def _cards(client: Any, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    decision, dose = post(client, body)["cards"]
    assert "coverage-decision" in decision["extension"]
    return decision, dose


def test_without_a_diagnosis_the_decision_names_the_dose_cards_days(client: Any) -> None:
    decision, dose = _cards(client, _child_on_adult_doses(diagnosis=False))
    assert decision["summary"] == f"Aspirus Health Plan: not covered as ordered — {CEILING_DAYS}"
    assert dose["summary"].startswith("Dose above label: 28 mcg/day on days 8–28 of cycle 1")
    assert "days 1–7" not in dose["summary"] and "days 1–7" not in decision["summary"]
    # The detail says why the closest indication's criterion names other days, and still names them.
    assert f"the dose card checks the label dose the chart supports ({CEILING_DAYS}); each indication's" \
           in " ".join(decision["detail"].split())
    assert "9 mcg/day on days 1–7 (label 4.66 mcg/day)" in decision["detail"]


def test_with_the_relapse_on_record_both_cards_name_the_step_days(client: Any) -> None:
    decision, dose = _cards(client, _child_on_adult_doses(diagnosis=True))
    assert decision["summary"].endswith(f"except {STEP_DAYS}")
    assert "days 1–7" in dose["summary"]
    assert "**Dose:**" not in decision["detail"]


def _failing(summary: str) -> tuple[Any, Any]:
    decision, facts = pick("criteria-not-met")
    dose = CriterionResult("adult-rr.dose", "not-met", "Aspirus V", "Daily dose per the label schedule", kind="dose",
                           summary=summary)
    return replace(decision, indication=None, criteria=[dose]), facts


def test_the_dose_cards_days_only_where_they_differ_and_no_indication_is_established() -> None:
    above = DoseReading("", True, finding=CEILING_DAYS)
    decision, _ = _failing(STEP_DAYS)
    assert _dose_card_days(decision, above) == CEILING_DAYS
    assert _dose_card_days(replace(decision, indication="adult-rr"), above) == ""  # the same schedule then
    assert _dose_card_days(decision, above._replace(above=False)) == ""  # no dose card says it
    assert _dose_card_days(decision, above._replace(by_copies=True)) == ""  # the duplicate card does
    assert _dose_card_days(decision, above._replace(finding=STEP_DAYS)) == ""  # they agree
    # A plan's own limit (Florida Blue's 28 mcg/day) is the same for every indication: its words stay.
    assert _dose_card_days(_failing("dose above 28 mcg/day")[0], above) == ""


def test_the_schedules_other_findings_stay_beside_the_dose_cards_days() -> None:
    decision, facts = _failing(f"{STEP_DAYS}; infusion past day 28")
    card = decision_card(decision, facts, ORDER, BASE, DoseReading("", True, finding=CEILING_DAYS))
    assert card["summary"].endswith(f"not covered as ordered — {CEILING_DAYS}; infusion past day 28")
