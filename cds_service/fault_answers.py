"""The answer to a fault of ours, not the patient's data (service-contract.md §Errors): each answered blinatumomab
order gets the fault card, saying nothing was checked, and on order-sign, when its Coverage is known, coverage
information `indeterminate`. The pipeline answers a fault of one order's steps, or of reading the group's facts,
with it; `evaluation_failed` answers a fault outside those steps (routes.py) the same way.
"""
from __future__ import annotations

import logging
from datetime import date
from typing import Any

from cds_service.card_config import CardConfig
from cds_service.cards import fault_card
from cds_service.draft_orders import Group, answered, draft_resources, medication_requests, with_draft_resources
from cds_service.evaluation import EVALUATION_FAILED, Evaluation, EvaluationContext, OrderOutcome
from cds_service.facts.course import signed_cycles
from cds_service.facts.coverage import PayerMatch, select_payer
from cds_service.facts.order import group_start, is_blinatumomab, order_ref
from cds_service.facts.resolve import record_resolver
from cds_service.hook_request import ORDER_SIGN, HookRequest
from cds_service.log_format import without_message
from cds_service.order_answers import Call, add_answer, coverage_action, limit_cards, stable_uuids
from cds_service.record import PatientRecord

log = logging.getLogger(__name__)


def evaluation_failed(request: HookRequest, record: PatientRecord | None, ctx: EvaluationContext) -> Evaluation:
    """The answer to a fault outside the per-order steps (which answer their own): as for a fault of one order, each
    blinatumomab order with an id gets the fault card and, when `record` tells its Coverage, the indeterminate
    coverage information (service-contract.md §Errors). An order is known as blinatumomab by its code, or by its
    Medication in the request or in `record` (read already, if the record was built)."""
    drafts = draft_resources(request)
    resolve = record_resolver(with_draft_resources(drafts, record)) if record else drafts.get
    orders = [order for _, order in medication_requests(request)
              if is_blinatumomab(order, resolve) and isinstance(order.get("id"), str) and order["id"]]
    config = CardConfig.from_request(request.configuration)
    targets = [order for order in orders if answered(request, order)]
    group = Group(orders, targets, [], [])
    result = faulted(Call(request, ctx, config, group), record)
    stable_uuids(result, request)
    limit_cards(result, config)
    return result


def faulted(call: Call, record: PatientRecord | None) -> Evaluation:
    """The fault answer of every answered order of the group; `record` None: not read, no Coverage known."""
    result = Evaluation()
    starts: dict[int, date] = {}  # id() of each order -> its cycle's start, as the evaluation would have read it
    for cycle in signed_cycles(call.group.orders, call.ctx.today):
        start = group_start(cycle, call.ctx.today)
        starts.update((id(order), start) for order in cycle)
    for order in call.group.targets:
        add_answer(result, *fault_outcome(call, record, order, starts[id(order)]))
    return result


def fault_outcome(call: Call, record: PatientRecord | None, order: dict[str, Any],
                  start: date) -> tuple[OrderOutcome, list[dict[str, Any]], list[dict[str, Any]]]:
    """One answered order's fault answer and audit outcome; `start`: its cycle's start, when the Coverage in force
    is read."""
    outcome = OrderOutcome(order_id=order_ref(order), what_if=not call.config.unsolicited_determ)
    payer = _payer_or_none(record, order, start)
    return (outcome, *fault_answer(call, order, payer, outcome))


def fault_answer(call: Call, order: dict[str, Any], payer: PayerMatch | None,
                 outcome: OrderOutcome) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One order's fault card and coverage-information action, its audit outcome "evaluation-failed". The client's
    `coverage-info: false` drops both, as it drops a decision's (CRD 2.2 dev-14)."""
    wanted = call.config.wants("coverage-info")
    cards = [fault_card(order, call.request.hook_instance)] if wanted else []
    outcome.decision = EVALUATION_FAILED
    if payer is None or call.request.hook != ORDER_SIGN:
        return cards, []
    outcome.policy = payer.policy_id
    return cards, [coverage_action(call, order, None, payer, outcome)] if wanted else []


def _payer_or_none(record: PatientRecord | None, order: dict[str, Any], start: date) -> PayerMatch | None:
    """The payer as the evaluation would have chosen it: the Coverage in force at the cycle's `start`, not today."""
    if record is None:
        return None
    try:
        return select_payer(record, order, start)
    except Exception as exc:
        log.error("payer selection failed order=%s", order_ref(order), exc_info=without_message(exc))
        return None
