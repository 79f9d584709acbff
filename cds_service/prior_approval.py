"""The prior approval a policy may read (policy-rules.md §3; Florida Blue Position, continuation 1): this service's
earlier approval of another order of the patient, found in the audit trail through `EvaluationContext.prior_approval`
(the audit store's query in the service), as a `Fact` saying whether it was an initial approval or a continuation,
when it was approved and for which period, with what a pharmacist needs to find it: the order, the call and the
coverage assertion id.

An initial approval shows that the initiation criteria were met, whenever it was. A continuation proves no initiation
criteria, but it is a reauthorization: it counts when its authorization began within the policy file's look-back
before this order's start (`look_back_years`, as for the attested authorization), so that one continuation leads to
the next only while each is within the policy's two years of the one before.

An approval this very call gave an earlier cycle signed with the order (cycle 1 and cycle 2 signed together) counts
as one the audit trail holds, as it would were the later cycle signed just after: never a second initiation.

Not a clinical fact: the policy engine takes it beside `ClinicalFacts`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any, Mapping

from cds_service.evaluation import INITIAL, EvaluationContext, PriorApproval
from cds_service.facts.codes import add_months
from cds_service.facts.model import Fact, Windowed
from cds_service.facts.order import order_ref
from cds_service.hook_request import HookRequest
from cds_service.policies.model import Policy

log = logging.getLogger(__name__)


class PriorApprovals:
    """A group's prior approvals by policy: the same for every order of the group (its own orders excluded, the
    cycle's `start`), so each is looked up once, and only for a policy that reads it. `ctx`: the lookup, and the
    clinical time zone an approval's day is said in."""

    def __init__(self, ctx: EvaluationContext, request: HookRequest, orders: list[dict[str, Any]],
                 start: date, in_call: Mapping[str, tuple[PriorApproval, ...]] | None = None) -> None:
        """`in_call`: by policy id, the approvals this call gave the orders of the cycles signed before this one."""
        self._lookup, self._zone = ctx.prior_approval, ctx.time_zone
        self._request, self._orders, self._start = request, orders, start
        self._in_call = in_call or {}
        self._by_policy: dict[str, Fact[bool] | Windowed[bool]] = {}

    def for_policy(self, policy: Policy) -> Fact[bool] | Windowed[bool]:
        if not policy.reads_prior_approval:
            return Fact()  # the policy never asks: no lookup
        if policy.id not in self._by_policy:
            self._by_policy[policy.id] = self._look_up(policy.id)
        return self._by_policy[policy.id]

    def _look_up(self, policy_id: str) -> Fact[bool] | Windowed[bool]:
        request = self._request
        # As the audit trail's (audit_queries.py): an authorization begun before this order's start.
        in_call = tuple(a for a in self._in_call.get(policy_id, ()) if a.start < self._start.isoformat())
        try:
            found = self._lookup(request.patient_id, request.client_iss, request.tenant, policy_id,
                                 tuple(order_ref(o) for o in self._orders), self._start)
        except Exception as exc:  # the audit database is down: unknown, and every other check still runs
            log.warning("prior approval lookup failed (%s) hookInstance=%s", type(exc).__name__,
                        request.hook_instance)
            if not in_call:  # this call's own approval needs no database
                return Fact(note="this service's records of earlier approvals could not be read")
            found = ()
        if not found and not in_call:
            return Fact(False, note="no approval of another order starting earlier in this service's records")
        # This call's approvals are the newest.
        return _ApprovedWithin(in_call + found, self._start, self._zone, frozenset(a.order_id for a in in_call))


@dataclass(frozen=True)
class _ApprovedWithin(Windowed[bool]):
    """The earlier approvals (newest first) as read with the policy's look-back: the newest that counts, an initial
    one whenever it was, a continuation only when its authorization began within the look-back before `start`."""

    approvals: tuple[PriorApproval, ...]
    start: date
    zone: tzinfo | None  # the clinical time zone (None: the server's), of the day each approval is said on
    in_call: frozenset[str] = frozenset()  # the orders approved by this very call (earlier cycles signed with it)

    def within(self, numbers: Mapping[str, int]) -> Fact[bool]:
        years = numbers["look_back_years"]
        since = add_months(self.start, -12 * years).isoformat()  # ISO dates compare as text
        counted = next((a for a in self.approvals if a.request_type == INITIAL or a.start >= since), None)
        if counted is not None:
            return Fact(True, (counted.order_id,), note=self._said(counted))
        latest = self.approvals[0]  # only continuations, all too old: the newest says why none counts
        return Fact(False, (latest.order_id,),
                    note=f"{self._said(latest)}: more than {years} year{'' if years == 1 else 's'} before this "
                         f"order's start ({self.start})")

    def _said(self, approval: PriorApproval) -> str:
        if approval.order_id not in self.in_call:
            return _said(approval, self.zone)
        kind = "initiation" if approval.request_type == INITIAL else "continuation"
        assertion = f", coverage assertion {approval.coverage_assertion_id}" if approval.coverage_assertion_id else ""
        return (f"{kind} approved for {approval.start} to {approval.end} in this call, for the earlier cycle signed "
                f"with this order{assertion}")


def _said(approval: PriorApproval, zone: tzinfo | None) -> str:
    """What a clinician and a pharmacist read first: which kind of approval, when (its day in the clinical time
    `zone`, as every other date the clinician reads: the audit trail stores UTC), for which period; then the ids that
    find it in the audit trail (cds-service audit)."""
    kind = "initiation" if approval.request_type == INITIAL else "continuation"
    period = f" for {approval.start} to {approval.end}" if approval.end else f" from {approval.start}"
    assertion = f", coverage assertion {approval.coverage_assertion_id}" if approval.coverage_assertion_id else ""
    day = approval.time.astimezone(zone).date().isoformat()
    return (f"{kind} approved on {day}{period} (this service's records: hookInstance {approval.hook_instance}"
            f"{assertion})")
