"""The audit trail's earlier approvals as Florida Blue continuation 1 reads them (policy-rules.md §3): an initial
approval whenever it was, a continuation (a reauthorization) when its authorization began within the policy file's
look-back before this order's start; the one counted named with its kind."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from cds_service.evaluation import INITIAL, RENEWAL, EvaluationContext, PriorApproval
from cds_service.facts.model import Fact, Windowed, read_within
from cds_service.policies import load_policy
from cds_service.prior_approval import PriorApprovals
from cds_service.validation import hook_request
from tests.test_policy_florida_blue import BASELINES, START, decide

EXAMPLE = Path(__file__).resolve().parents[1] / "fhir_examples" / "florida-blue-continuation.json"
REQUEST = hook_request(json.loads(EXAMPLE.read_text()), "blinatumomab-coverage")
FLORIDA_BLUE = load_policy("florida-blue")


def approval(order: str, start: str, request_type: str) -> PriorApproval:
    time = datetime.fromisoformat(f"{start}T09:00:00+00:00")
    return PriorApproval(f"MedicationRequest/{order}", time, f"hi-{order}", f"ca-{order}", start, "", request_type)


def found(*approvals: PriorApproval) -> Fact[bool] | Windowed[bool]:
    """What PriorApprovals gives Florida Blue for an order starting on START when the audit trail holds `approvals`
    (newest first)."""
    ctx = EvaluationContext(START, "http://127.0.0.1", lambda *args: approvals, timezone.utc)
    return PriorApprovals(ctx, REQUEST, [], START).for_policy(FLORIDA_BLUE)


def within_two_years(*approvals: PriorApproval) -> Fact[bool]:
    return read_within(found(*approvals), {"look_back_years": 2})


@pytest.mark.parametrize(("approvals", "counted"), [
    ((approval("a", "2026-10-20", RENEWAL),), "a"),  # the cycle before
    ((approval("a", "2024-12-01", RENEWAL),), "a"),  # exactly two years before this order's start (2026-12-01)
    ((approval("a", "2024-11-30", RENEWAL),), None),  # two years and a day
    ((approval("a", "2020-06-01", INITIAL),), "a"),  # initiation criteria met, however long ago
    # The newest that counts: a continuation too old does not hide an older initial approval, nor an initial
    # approval a later continuation.
    ((approval("b", "2024-06-01", RENEWAL), approval("a", "2023-12-01", INITIAL)), "a"),
    ((approval("b", "2026-10-20", RENEWAL), approval("a", "2026-06-01", INITIAL)), "b"),
])
def test_a_continuation_counts_within_the_look_back_an_initial_approval_always(
        approvals: tuple[PriorApproval, ...], counted: str | None) -> None:
    fact = within_two_years(*approvals)
    assert fact.value is (counted is not None)
    assert fact.evidence == (approvals[0].order_id if counted is None else f"MedicationRequest/{counted}",)


def test_the_approval_counted_is_named_with_its_kind_date_and_period() -> None:
    continuation = PriorApproval("MedicationRequest/a", datetime(2026, 10, 16, 15, tzinfo=timezone.utc), "hi-a",
                                 "ca-a", "2026-10-20", "2027-10-20", RENEWAL)
    assert within_two_years(continuation).note == (
        "continuation approved on 2026-10-16 for 2026-10-20 to 2027-10-20 (this service's records: hookInstance "
        "hi-a, coverage assertion ca-a)")
    initial = continuation._replace(request_type=INITIAL, coverage_assertion_id=None)
    assert within_two_years(initial).note == (
        "initiation approved on 2026-10-16 for 2026-10-20 to 2027-10-20 (this service's records: hookInstance hi-a)")


def test_a_continuation_too_old_is_named_with_the_look_back_it_falls_outside() -> None:
    too_old = approval("a", "2024-11-30", RENEWAL)
    assert within_two_years(too_old) == Fact(False, ("MedicationRequest/a",), note=(
        "continuation approved on 2024-11-30 from 2024-11-30 (this service's records: hookInstance hi-a, coverage "
        "assertion ca-a): more than 2 years before this order's start (2026-12-01)"))
    assert read_within(found(too_old), {"look_back_years": 3}).value is True  # the test's number, not the code's
    one_year = read_within(found(approval("a", "2025-11-30", RENEWAL)), {"look_back_years": 1})
    assert (one_year.value, one_year.note.endswith(": more than 1 year before this order's start (2026-12-01)")) == (
        False, True)  # a plan's one year, in the singular


def test_no_approval_is_not_met_and_an_unreadable_trail_is_unknown() -> None:
    assert found() == Fact(False, note="no approval of another order starting earlier in this service's records")

    def database_down(*args: Any) -> tuple[PriorApproval, ...]:
        raise ConnectionRefusedError("the audit database is down")

    ctx = EvaluationContext(START, "http://127.0.0.1", database_down)
    unread = PriorApprovals(ctx, REQUEST, [], START).for_policy(FLORIDA_BLUE)
    assert unread == Fact(note="this service's records of earlier approvals could not be read")


@pytest.mark.parametrize(("first_start", "request_type"), [("2024-12-01", "renewal"), ("2024-11-30", "initial")])
def test_florida_blue_reads_a_continuation_with_its_two_years(first_start: str, request_type: str) -> None:
    """The policy file's look-back (2 years): the same continuation opens Florida Blue's continuation on one side of
    it and leaves initiation evaluated on the other."""
    decision = decide(BASELINES["fb-relapsed-refractory-ph-negative"], found(approval("a", first_start, RENEWAL)))
    assert (decision.decision, decision.request_type) == ("meets-criteria", request_type)
    assert (decision.indication == "fb-continuation") is (request_type == "renewal")


def test_the_trail_is_read_once_per_policy_and_never_for_a_policy_that_does_not_read_it() -> None:
    """Aspirus has no continuation: no lookup, an empty fact (nothing found, nothing said); Florida Blue's answer is
    looked up once for the group, whichever of its orders asks."""
    calls: list[str] = []

    def lookup(*args: Any) -> tuple[PriorApproval, ...]:
        calls.append(args[3])
        return (approval("a", "2026-10-20", RENEWAL),)

    approvals = PriorApprovals(EvaluationContext(START, "http://127.0.0.1", lookup), REQUEST, [], START)
    assert approvals.for_policy(load_policy("aspirus-magellan")) == Fact()
    assert calls == []
    first, again = approvals.for_policy(FLORIDA_BLUE), approvals.for_policy(FLORIDA_BLUE)
    assert first is again and calls == ["florida-blue"]
    assert read_within(first, {"look_back_years": 2}).value is True
