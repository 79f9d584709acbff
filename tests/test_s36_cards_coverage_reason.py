"""The coverage information's reason when no indication is established (the diagnosis not on record).

The closest indication's label-schedule criterion reads that indication's own schedule (relapsed/refractory: step
days 1–7), which only the diagnosis would settle: the reason stored on the order had said "dose above label on days
1–7 and 8–28 (9 mcg/day on days 1–7 (label 4.66 mcg/day); ...)" as if the indication were known, beside a dose card
for days 8–28 alone. It now says the dose is above the label, that the schedule waits on the indication, and what
would establish it; with the diagnosis on record the days and doses stay."""
from __future__ import annotations

from typing import Any

from cds_service.decision import CriterionResult
from tests.crd_invariants import check_crd_invariants
from tests.test_coverage_info import action, decision, subs
from tests.test_pipeline import post
from tests.test_words35_dose_cards_agree import _child_on_adult_doses

STEP_DAYS = "dose above label on days 1–7 and 8–28"
STEP_NOTE = "9 mcg/day on days 1–7 (label 4.66 mcg/day); 28 mcg/day on days 8–28 (label 13.98 mcg/day)"


def _reason(answer: dict[str, Any]) -> str:
    (only,) = answer["systemActions"]
    extension = only["resource"]["extension"][-1]
    assert check_crd_invariants(extension) == []
    reasons = [p["valueCodeableConcept"]["text"] for p in extension["extension"] if p["url"] == "reason"]
    assert len(reasons) == 1
    return str(reasons[0])


def _child(diagnosis: bool) -> dict[str, Any]:
    """A 25 kg child ordered 9 mcg/day on days 1–7 and 28 mcg/day on days 8–28 of cycle 1 (above every schedule's
    label dose on days 8–28): with the relapsed ALL on record, or with no diagnosis at all (an answered, empty
    search: the record has none)."""
    body = _child_on_adult_doses(diagnosis)
    if not diagnosis:
        body["prefetch"]["conditions"] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    return body


def test_without_a_diagnosis_the_reason_names_no_indications_days_and_asks_for_the_diagnosis(client: Any) -> None:
    answer = post(client, _child(diagnosis=False))
    assert answer["cards"][0]["extension"]["coverage-decision"]["indication"] is None
    assert _reason(answer) == (
        "Not met as ordered: dose above label (the label schedule depends on the indication, not established: "
        "document ALL diagnosis and whether the disease is relapsed or refractory)")


def test_with_the_diagnosis_on_record_the_reason_keeps_the_days_and_doses(client: Any) -> None:
    reason = _reason(post(client, _child(diagnosis=True)))
    assert reason.startswith(f"Not met as ordered: {STEP_DAYS} — 9 mcg/day on days 1–7 (label 4.66 mcg/day); ")
    assert "not established" not in reason


def _unestablished(summary: str, *unknown: CriterionResult) -> dict[str, Any]:
    dose = CriterionResult("adult-rr.dose", "not-met", "Aspirus V", "Daily dose per the label schedule", kind="dose",
                           note=STEP_NOTE, summary=summary)
    return subs(action(decision("criteria-not-met", indication=None, indication_title=None,
                                criteria=[dose, *unknown])))


def _unknown(missing: str, received: bool = True) -> CriterionResult:
    return CriterionResult(f"adult-rr.{missing}", "unknown", "Aspirus III", missing, missing=missing,
                           received=received)


def test_what_the_ehr_did_not_send_is_said_apart_from_what_to_document() -> None:
    values = _unestablished(STEP_DAYS, _unknown("ALL diagnosis", received=False), _unknown("current weight"))
    assert values["reason"]["text"] == (
        "Not met as ordered: dose above label (the label schedule depends on the indication, not established: document "
        "current weight; ALL diagnosis not received from the EHR)")


def test_the_schedules_other_findings_stay_and_a_plan_limit_keeps_its_words() -> None:
    values = _unestablished(f"{STEP_DAYS}; infusion past day 28", _unknown("ALL diagnosis"))
    assert values["reason"]["text"] == (
        "Not met as ordered: dose above label (the label schedule depends on the indication, not established: "
        "document ALL diagnosis); infusion past day 28")
    # Florida Blue's 28 mcg/day is the same for every indication: its finding and note stay whole.
    plan_limit = _unestablished("dose above 28 mcg/day", _unknown("ALL diagnosis"))
    assert plan_limit["reason"]["text"] == f"Not met as ordered: dose above 28 mcg/day — {STEP_NOTE}"
