"""Florida Blue cycles signed in one call (policy-rules.md §3, §4). The guideline authorizes a therapy, not an order:
cycle 1 and cycle 2 signed together were two initial approvals, cycle 2 with its own 6 months from its start. Cycle 2
is now decided as it is when signed just after cycle 1: cycle 1's approval (order-sign, not a what-if) is an approval
of another order, so cycle 2 is a continuation (Florida Blue Position, continuation 1), and each order's CRD coverage
information carries its own decision's period."""
from __future__ import annotations

import copy
from datetime import date, datetime, timezone
from typing import Any

from cds_service.evaluation import INITIAL, EvaluationContext, PriorApproval
from cds_service.facts.model import read_within
from cds_service.policies import load_policy
from cds_service.prior_approval import PriorApprovals
from tests.live_server import LiveClient
from tests.test_cycles_signed_together import by_order, decision
from tests.test_florida_blue_http import result
from tests.test_pipeline import example, post, with_configuration
from tests.test_prior_approval import REQUEST

EXAMPLE = "florida-blue-relapsed-refractory-ph-negative"  # cycle 1: 2026-12-01..28, 9 then 28 mcg/day
CYCLE_2 = {"start": "2027-01-12", "end": "2027-02-08"}
CD19_NEGATIVE = {"valueString": "CD19 negative blasts"}


def cycle_2_order(body: dict[str, Any]) -> dict[str, Any]:
    order = copy.deepcopy(body["context"]["draftOrders"]["entry"][0]["resource"])
    line = copy.deepcopy(order["dosageInstruction"][-1])
    line.update(sequence=1)
    line["timing"]["repeat"]["boundsPeriod"] = dict(CYCLE_2)
    order.update(id="cycle-2-order", dosageInstruction=[line])
    return order


def together(body: dict[str, Any] | None = None) -> dict[str, Any]:
    body = body or example(EXAMPLE)
    body["context"]["draftOrders"]["entry"].append({"resource": cycle_2_order(body)})
    return body


def expiry(answer: dict[str, Any], order_id: str) -> str | None:
    [action] = [a for a in answer["systemActions"] if a["resource"]["id"] == order_id]
    [info] = [e for e in action["resource"]["extension"] if e["url"].endswith("ext-coverage-information")]
    return next((s["valueDate"] for s in info["extension"] if s["url"] == "expiry-date"), None)


def _brief(found: dict[str, Any]) -> tuple[Any, ...]:
    return found["decision"], found["indication"], found["request"], found["authorization"]


def test_cycle_2_signed_with_cycle_1_is_a_continuation_not_a_second_initiation(client: LiveClient) -> None:
    answer = post(client, together())
    cards = by_order(answer)
    first, second = decision(cards["blinatumomab-order"]), decision(cards["cycle-2-order"])
    assert _brief(first) == ("meets-criteria", "fb-relapsed-refractory-ph-negative", "initial",
                             {"start": "2026-12-01", "end": "2027-06-01", "cycles": None})
    assert _brief(second) == ("meets-criteria", "fb-continuation", "renewal",
                              {"start": "2027-01-12", "end": "2028-01-12", "cycles": None})
    [gate] = [c for c in second["criteria"] if c["id"] == "fb-continuation.prior-approval"]
    assert gate["evidence"] == ["MedicationRequest/blinatumomab-order"]
    assert gate["note"].startswith("initiation approved for 2026-12-01 to 2027-06-01 in this call")
    # The coverage information says what each decision says.
    assert (expiry(answer, "blinatumomab-order"), expiry(answer, "cycle-2-order")) == ("2027-06-01", "2028-01-12")


def test_signed_together_or_one_after_the_other_cycle_2_is_decided_alike(client: LiveClient) -> None:
    signed_together = decision(by_order(post(client, together()))["cycle-2-order"])
    first = example(EXAMPLE)
    first["hookInstance"] = "cycle-1-alone"
    post(client, first)  # cycle 1 approved, in the audit trail
    second = example(EXAMPLE)
    earlier = copy.deepcopy(first["context"]["draftOrders"]["entry"][0]["resource"])
    second["prefetch"]["medicationRequests"]["entry"] = [{"resource": {**earlier, "status": "active"}}]
    second["context"]["draftOrders"]["entry"] = [{"resource": cycle_2_order(first)}]
    after = decision(by_order(post(client, second))["cycle-2-order"])
    assert _brief(after) == _brief(signed_together)


def test_a_what_if_call_approves_nothing_a_later_cycle_could_count(client: LiveClient) -> None:
    cards = by_order(post(client, with_configuration(together(), **{"unsolicited-determ": False})))
    assert decision(cards["cycle-2-order"])["indication"] == "fb-relapsed-refractory-ph-negative"


def test_cycle_1_not_met_gives_cycle_2_no_continuation(client: LiveClient) -> None:
    """Cycle 2, whose only earlier cycle is cycle 1 of this call, denied, depends on it: no answer is asked for (it had
    asked for the prior authorization, as if cycle 1 might be approved: test_orders35_cycle_1_denied)."""
    body = example(EXAMPLE)
    result("cd19-1", **CD19_NEGATIVE)(body)
    cards = by_order(post(client, together(body)))
    assert decision(cards["blinatumomab-order"])["decision"] == "criteria-not-met"
    second = decision(cards["cycle-2-order"])
    assert (second["decision"], second["missing"]) == ("criteria-not-met", [])


def test_this_calls_approval_counts_when_the_audit_trail_cannot_be_read() -> None:
    def unreadable(*_: Any) -> tuple[PriorApproval, ...]:
        raise OSError("database down")

    ctx = EvaluationContext(date(2026, 11, 24), "http://127.0.0.1", unreadable, timezone.utc)
    cycle_1 = PriorApproval("MedicationRequest/cycle-1", datetime(2026, 11, 24, tzinfo=timezone.utc), "hi", "ca-1",
                            "2026-12-01", "2027-06-01", INITIAL)
    approvals = PriorApprovals(ctx, REQUEST, [], date(2027, 1, 12), {"florida-blue": (cycle_1,)})
    found = read_within(approvals.for_policy(load_policy("florida-blue")), {"look_back_years": 2})
    assert (found.value, found.evidence) == (True, ("MedicationRequest/cycle-1",))
    assert found.note == ("initiation approved for 2026-12-01 to 2027-06-01 in this call, for the earlier cycle "
                          "signed with this order, coverage assertion ca-1")
    # Not one starting on or after this order's start (the audit trail's rule too): the records unread say so.
    later = PriorApprovals(ctx, REQUEST, [], date(2026, 12, 1), {"florida-blue": (cycle_1,)})
    assert later.for_policy(load_policy("florida-blue")).value is None  # type: ignore[union-attr]
