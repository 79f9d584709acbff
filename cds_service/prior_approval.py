"""The prior approval a policy may read (policy-rules.md §3): this service's earlier initial approval of another order
of the patient, found in the audit trail through `EvaluationContext.prior_approval` (the audit store's query in the
service), as a `Fact` saying when it was approved and for which period, with what a pharmacist needs to find it:
the order, the call and the coverage assertion id.

Not a clinical fact: the policy engine takes it beside `ClinicalFacts`.
"""
from __future__ import annotations

import logging
from datetime import date
from typing import Any

from cds_service.evaluation import PriorApprovalLookup
from cds_service.facts.model import Fact
from cds_service.facts.order import order_ref
from cds_service.hook_request import HookRequest
from cds_service.policies.model import Policy

log = logging.getLogger(__name__)


class PriorApprovals:
    """A group's prior approvals by policy: the same for every order of the group (its own orders excluded, the
    cycle's `start`), so each is looked up once, and only for a policy that reads it."""

    def __init__(self, lookup: PriorApprovalLookup, request: HookRequest, orders: list[dict[str, Any]],
                 start: date) -> None:
        self._lookup, self._request, self._orders, self._start = lookup, request, orders, start
        self._by_policy: dict[str, Fact[bool]] = {}

    def for_policy(self, policy: Policy) -> Fact[bool]:
        if not policy.reads_prior_approval:
            return Fact()  # the policy never asks: no lookup
        if policy.id not in self._by_policy:
            self._by_policy[policy.id] = self._look_up(policy.id)
        return self._by_policy[policy.id]

    def _look_up(self, policy_id: str) -> Fact[bool]:
        request = self._request
        try:
            found = self._lookup(request.patient_id, request.client_iss, request.tenant, policy_id,
                                 tuple(order_ref(o) for o in self._orders), self._start)
        except Exception as exc:  # the audit database is down: unknown, and every other check still runs
            log.warning("prior approval lookup failed (%s) hookInstance=%s", type(exc).__name__,
                        request.hook_instance)
            return Fact(note="this service's records of earlier approvals could not be read")
        if found is None:
            return Fact(False, note="no approval of another order starting earlier in this service's records")
        # What a clinician and a pharmacist read first: when it was approved, for which period; then the ids that
        # find it in the audit trail (cds-service audit).
        period = f" for {found.start} to {found.end}" if found.end else f" from {found.start}"
        assertion = f", coverage assertion {found.coverage_assertion_id}" if found.coverage_assertion_id else ""
        return Fact(True, (found.order_id,),
                    note=f"approved on {found.time.date().isoformat()}{period} (this service's records: hookInstance "
                         f"{found.hook_instance}{assertion})")
