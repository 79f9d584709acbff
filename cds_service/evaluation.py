"""The seam between the protocol layer and the clinical logic: hook request in, cards and system actions out.

The protocol layer calls `evaluate` with a validated request and a loader for the patient's FHIR data. The loader
is called only when a draft order may be blinatumomab, so other orders never touch the FHIR server.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from cds_service.hook_request import HookRequest
from cds_service.record import PatientRecord

log = logging.getLogger(__name__)


@dataclass
class OrderOutcome:
    """What was decided for one order: the audit trail stores it."""

    order_id: str
    policy: str | None = None
    policy_version: str | None = None
    decision: str | None = None
    indication: str | None = None
    request_type: str | None = None
    cycle: int | None = None
    coverage_assertion_id: str | None = None
    card_uuids: list[str] = field(default_factory=list)
    suggestion_uuids: list[str] = field(default_factory=list)
    criteria: list[dict[str, Any]] = field(default_factory=list)
    # A "what if" call (davinci-crd.configuration unsolicited-determ false): never proof of a prior authorization.
    what_if: bool = False


@dataclass
class Evaluation:
    cards: list[dict[str, Any]] = field(default_factory=list)
    system_actions: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[OrderOutcome] = field(default_factory=list)


# (patient id, policy id, order ids to exclude) -> has the audit trail an order-sign meets-criteria for another order?
PriorApproval = Callable[[str, str, tuple[str, ...]], bool]


def _no_prior_approval(patient_id: str, policy_id: str, exclude: tuple[str, ...]) -> bool:
    return False


@dataclass
class EvaluationContext:
    today: date
    base_url: str  # public base URL of this service, for the Questionnaire canonical and links
    prior_approval: PriorApproval = _no_prior_approval


def evaluate(request: HookRequest, load_record: Callable[[], PatientRecord], ctx: EvaluationContext) -> Evaluation:
    """Evaluate every blinatumomab order of the request (the selected ones for order-select)."""
    from cds_service.pipeline import evaluate_orders

    return evaluate_orders(request, load_record, ctx)
