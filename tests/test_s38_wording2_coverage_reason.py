"""The CRD coverage-information reason says each thing once, and tells its findings apart (session 38, second wording
review): Florida Blue's plan limit had read "dose above 28 mcg/day (28.4 mcg/day on days 1–28: above 28 mcg/day)";
several findings were joined by "; ", which a finding's own note holds too (a dose above the label on two ranges of
days), so that a reader could not tell where one finding ended. They are numbered now."""
from __future__ import annotations

from typing import Any

from cds_service.decision import CriterionResult
from tests.live_server import LiveClient
from tests.test_coverage_info import action, decision, subs
from tests.test_pipeline import example, post
from tests.test_s36_cards_coverage_reason import _reason


def test_the_plan_limit_is_said_once(client: LiveClient) -> None:
    reason = _reason(post(client, example("florida-blue-dose-28.4-above-plan-limit")))
    assert reason == "Not met as ordered: dose above 28 mcg/day (28.4 mcg/day on days 1–28)"


def _above_the_label_and_the_quantity() -> dict[str, Any]:
    """Aspirus: 18 mcg/day on days 1–7 and 56 mcg/day on days 8–28 (above the label on both), 40 vials a cycle."""
    body = example("aspirus-quantity-over-limit")
    lines = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"]
    for line, dose in zip(lines, (18, 56)):
        line["doseAndRate"][0]["rateQuantity"]["value"] = dose
        line["text"] = f"{dose} ug/d continuous IV infusion"
    return body


def test_several_findings_are_numbered_apart_from_the_semicolons_of_their_notes(client: LiveClient) -> None:
    reason = _reason(post(client, _above_the_label_and_the_quantity()))
    assert reason.startswith("Not met as ordered: (1) more than 28 vials (980 mcg) per cycle — ")
    first, second = reason.split("; (2) ")
    assert second == ("dose above label on days 1–7 and 8–28 — 18 mcg/day on days 1–7 (label 9 mcg/day); 56 mcg/day "
                      "on days 8–28 (label 28 mcg/day) (for weight 80 kg on 2026-11-20)")
    assert "(3)" not in reason


def test_one_finding_is_not_numbered() -> None:
    cycles = CriterionResult("r.cycles", "not-met", "Aspirus I", "At most 9 cycles", kind="course-limit",
                             summary="more than 9 cycles in the course", note="cycle 10 of the course")
    reason = subs(action(decision("criteria-not-met", criteria=[cycles])))["reason"]["text"]
    assert reason == "Not met: more than 9 cycles in the course (cycle 10 of the course)"


def test_a_verdict_the_finding_does_not_say_stays_in_its_note() -> None:
    rest = CriterionResult("r.rest", "not-met", "Aspirus V", "Rest between cycles", kind="course-limit",
                           summary="rest too short (2 of 14 days)", note="starts after 2 days: the label gives 14 days")
    reason = subs(action(decision("criteria-not-met", criteria=[rest])))["reason"]["text"]
    assert reason == "Not met: rest too short (2 of 14 days) — starts after 2 days: the label gives 14 days"
