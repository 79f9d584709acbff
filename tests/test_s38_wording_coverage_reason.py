"""The CRD coverage-information reason reads in one pass (session 38): a finding's note that has parentheses of its own,
or follows a finding ending in some, comes after a dash, never nested in parentheses. A short rest between cycles had
read "rest too short (2 of 14 days) (starts after 2 days without infusion (cycle 1's last infusion day 2026-12-08):
... (earliest start 2026-12-23))", three deep; the same facts stay: the days of rest, the rest owed, the cycles."""
from __future__ import annotations

from cds_service.decision import CLINICAL, CriterionResult
from tests.live_server import LiveClient
from tests.test_coverage_info import action, decision, subs
from tests.test_dosing_rest import on_record_after
from tests.test_pipeline import post
from tests.test_s36_cards_coverage_reason import _reason


def _deepest(text: str) -> int:
    """How deep the text's parentheses nest."""
    depth = deepest = 0
    for character in text:
        depth += {"(": 1, ")": -1}.get(character, 0)
        deepest = max(deepest, depth)
    return deepest


def test_a_short_rest_s_reason_keeps_its_facts_without_nested_parentheses(client: LiveClient) -> None:
    reason = _reason(post(client, on_record_after("2026-12-11", "2027-01-07")))
    assert reason == (
        "Not met as ordered: rest too short (2 of 14 days) — starts after 2 days without infusion (cycle 1's last "
        "infusion day 2026-12-08): the label gives 14 days without infusion after 28 infusion days (earliest start "
        "2026-12-23)")
    assert _deepest(reason) == 1


def _reason_of(criterion: CriterionResult) -> str:
    return str(subs(action(decision("criteria-not-met", criteria=[criterion])))["reason"]["text"])


def test_a_clinical_note_with_its_own_date_follows_a_dash() -> None:
    cd19 = CriterionResult("r.cd19", "not-met", "FB 2", "CD19+ disease", kind=CLINICAL,
                           summary="CD19+ disease on the latest immunophenotype", note="CD19 negative (2026-11-12)")
    assert _reason_of(cd19) == ("Not met: requires CD19+ disease on the latest immunophenotype — chart: CD19 negative "
                                "(2026-11-12)")


def test_a_plain_note_stays_in_parentheses() -> None:
    cycles = CriterionResult("r.cycles", "not-met", "Aspirus I", "At most 9 cycles", kind="course-limit",
                             summary="more than 9 cycles in the course", note="cycle 10 of the course")
    assert _reason_of(cycles) == "Not met: more than 9 cycles in the course (cycle 10 of the course)"
