"""The clinical pipeline, `evaluate`: draft orders → facts → policy decision → cards and actions.

Blinatumomab orders of one `draftOrders` Bundle are one cycle (fhir-data-profile.md §The order): facts are read once
for the group, then each order gets its own decision, dose card and coverage information.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from cds_service import SERVICE_NAME
from cds_service.card_config import CardConfig
from cds_service.coverage_info import coverage_codes, coverage_information_action
from cds_service.cards import decision_card, fault_card, no_plan_card, unidentified_card
from cds_service.decision import Decision
from cds_service.draft_orders import (Group, answered, draft_resources, group_orders, may_be_blinatumomab,
                                      medication_requests, with_draft_resources)
from cds_service.dosing.cards import ceiling_card, dose_card, quantity_card, reconcile_corrections
from cds_service.dosing.checks import CycleLines, OrderDoseChecks, schedule_for
from cds_service.evaluation import Evaluation, EvaluationContext, OrderOutcome
from cds_service.facts.coverage import PayerMatch, no_plan, select_payer
from cds_service.facts.extract import extract_facts
from cds_service.facts.model import ClinicalFacts
from cds_service.facts.order import group_start, is_blinatumomab, order_ref
from cds_service.facts.resolve import record_resolver
from cds_service.hook_request import ORDER_SIGN, HookRequest
from cds_service.order_validation import validate_orders
from cds_service.policies.engine import evaluate_policy
from cds_service.policies.loading import load_policy
from cds_service.policies.model import Policy
from cds_service.prior_approval import PriorApprovals
from cds_service.questionnaire import questionnaire_url
from cds_service.record import PatientRecord, no_server
from cds_service.valuesets import get_valuesets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Call:
    """What every step of one evaluation call shares."""

    request: HookRequest
    ctx: EvaluationContext
    config: CardConfig  # the request's davinci-crd.configuration
    group: Group


@dataclass(frozen=True)
class _Cycle:
    """The group's cycle as read once for every order of it."""

    record: PatientRecord
    facts: ClinicalFacts
    dose_lines: CycleLines  # every order's dosage lines
    prior_approvals: PriorApprovals


def evaluate(request: HookRequest, load_record: Callable[[], PatientRecord], ctx: EvaluationContext) -> Evaluation:
    """Evaluate every blinatumomab order of the request (the selected ones for order-select)."""
    candidates = medication_requests(request)
    drafts = draft_resources(request)
    if not any(may_be_blinatumomab(order, drafts) for _, order in candidates):
        return Evaluation()
    validated = validate_orders(request, candidates, lambda order: is_blinatumomab(order, no_server), set())
    record = with_draft_resources(drafts, load_record())
    group = group_orders(request, candidates, record)
    config = CardConfig.from_request(request.configuration)
    result = Evaluation()
    if group.targets:
        # Orders recognized only once their Medication was read are validated now.
        validate_orders(request, candidates, lambda order: id(order) in group.members, validated)
        result = _evaluate_group(Call(request, ctx, config, group), record)
    for order in group.unidentified:
        _add(result, OrderOutcome(order_id=order_ref(order), what_if=not config.unsolicited_determ),
             [unidentified_card(order)] if config.wants("coverage-info") else [], [])
    reconcile_corrections(result.cards)
    result.cards = config.limit(result.cards)
    _keep_sent(result)
    return result


def _evaluate_group(call: Call, record: PatientRecord) -> Evaluation:
    group = call.group
    try:
        facts = extract_facts(record, group.orders, call.ctx.today, other_drafts=group.others)
    except Exception:
        log.exception("fact extraction failed hookInstance=%s", call.request.hook_instance)
        return _faulted(call, record)
    result = Evaluation()
    prior_approvals = PriorApprovals(call.ctx.prior_approval, call.request, group.orders, facts.start_date)
    cycle = _Cycle(record, facts, CycleLines(group.orders, facts), prior_approvals)
    for order in group.targets:
        _add(result, *_evaluate_one(call, cycle, order))
    return result


def _evaluate_one(call: Call, cycle: _Cycle,
                  order: dict[str, Any]) -> tuple[OrderOutcome, list[dict[str, Any]], list[dict[str, Any]]]:
    """The order's audit outcome, cards and system actions."""
    facts = cycle.facts
    outcome = OrderOutcome(order_id=order_ref(order), cycle=facts.cycle.number.value,
                           what_if=not call.config.unsolicited_determ, not_received=list(facts.not_received),
                           valueset_digest=get_valuesets().digest)
    payer = None
    try:
        payer = select_payer(cycle.record, order, facts.start_date)
        outcome.coverage_reference = payer.coverage_reference if payer else None
        cards, actions = (_answer(call, cycle, order, payer, outcome) if payer else
                          (_without_plan(call, cycle, order, outcome), []))
    except Exception:
        log.exception("evaluation failed hookInstance=%s order=%s", call.request.hook_instance, outcome.order_id)
        cards, actions = _fault_cards(call, order), _fault_actions(call, order, payer, outcome)
    return outcome, cards, actions


def _add(result: Evaluation, outcome: OrderOutcome, cards: list[dict[str, Any]],
         actions: list[dict[str, Any]]) -> None:
    """One order's answer into the response, and the uuids of its cards into its audit outcome (feedback joins
    them; `_keep_sent` forgets those max-cards cuts)."""
    outcome.card_uuids = [c["uuid"] for c in cards]
    outcome.card_topics = {c["uuid"]: c["source"]["topic"]["code"] for c in cards}
    outcome.suggestion_uuids = [s["uuid"] for c in cards for s in c.get("suggestions", [])]
    outcome.suggestion_cards = {s["uuid"]: c["uuid"] for c in cards for s in c.get("suggestions", [])}
    result.cards.extend(cards)
    result.system_actions.extend(actions)
    result.outcomes.append(outcome)


def _keep_sent(result: Evaluation) -> None:
    """Only the cards max-cards let through were issued: the audit trail keeps their uuids alone, so that feedback
    naming a cut card counts as feedback on a card never issued."""
    sent = {card["uuid"] for card in result.cards}
    for outcome in result.outcomes:
        outcome.card_uuids = [card for card in outcome.card_uuids if card in sent]
        outcome.card_topics = {card: topic for card, topic in outcome.card_topics.items() if card in sent}
        outcome.suggestion_cards = {s: card for s, card in outcome.suggestion_cards.items() if card in sent}
        outcome.suggestion_uuids = [s for s in outcome.suggestion_uuids if s in outcome.suggestion_cards]


def _answer(call: Call, cycle: _Cycle, order: dict[str, Any], payer: PayerMatch,
            outcome: OrderOutcome) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    config, facts, group = call.config, cycle.facts, call.group
    doses = OrderDoseChecks(order, group.orders, facts, cycle.dose_lines)
    policy = load_policy(payer.policy_id)
    decision = evaluate_policy(policy, facts, doses, cycle.prior_approvals.for_policy(policy))
    _record_decision(outcome, decision, policy)
    cards: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    if config.wants("coverage-info"):
        determination = call.request.hook == ORDER_SIGN and config.unsolicited_determ
        cards.append(decision_card(decision, facts, order, call.ctx.base_url, determination))
        if call.request.hook == ORDER_SIGN:
            actions.append(_coverage_action(call, order, decision, payer, outcome))
    # A dose below the label dose is worth a note only against an indication's own schedule.
    schedule = schedule_for(facts, decision.label_schedule)
    dose = dose_card(order, facts, schedule, decision.label_schedule is not None, decision.payer_label, doses)
    if dose and config.wants("off-guideline"):
        cards.append(dose)
    elif dose is None and policy.dose_ceiling is not None and config.wants("limits"):
        # Within the label yet above the plan's own maximum: not covered as ordered, and as easily fixed.
        limit = ceiling_card(order, facts, policy.dose_ceiling, decision.payer_label, doses)
        cards.extend([limit] if limit else [])
    # The quantity limit applies to the cycle's orders together: one card, with the first answered order.
    if policy.quantity_limit is not None and config.wants("limits") and order is group.targets[0]:
        quantity = quantity_card(group.orders, facts, policy.quantity_limit, decision.payer_label)
        cards.extend([quantity] if quantity else [])
    return cards, actions


def _without_plan(call: Call, cycle: _Cycle, order: dict[str, Any], outcome: OrderOutcome) -> list[dict[str, Any]]:
    """No recognized payer: no decision, but the dose is still checked against the label (policy-rules.md §5). The
    audit trail keeps why there was no plan: the card says it, and an auditor must tell the cases apart."""
    config, facts = call.config, cycle.facts
    why = no_plan(cycle.record, order, facts.start_date)
    # The Coverage whose payer could not be known, for the auditor as for the card.
    outcome.no_plan_reason, outcome.coverage_reference = why.reason, why.coverage
    not_received = {"coverage-not-received": "coverage", "payer-not-received": "payer"}.get(why.reason, "")
    doses = OrderDoseChecks(order, call.group.orders, facts, cycle.dose_lines)
    problem = why.unreadable.problem if why.unreadable else ""
    cards = [no_plan_card(order, not_received, why.coverage, problem)] if config.wants("coverage-info") else []
    dose = dose_card(order, facts, schedule_for(facts), False, SERVICE_NAME, doses)
    return cards + ([dose] if dose and config.wants("off-guideline") else [])


def _record_decision(outcome: OrderOutcome, decision: Decision, policy: Policy) -> None:
    outcome.policy = decision.policy_id
    outcome.policy_version = decision.policy_version
    # Which file decided: the version is the file's own word, which an edited copy need not change.
    outcome.policy_digest, outcome.policy_source = policy.digest, policy.source
    outcome.decision = decision.decision
    outcome.indication = decision.indication
    outcome.request_type = decision.request_type
    # The card's criteria, and for the pharmacist which of them an attestation decided.
    outcome.criteria = [{**c.as_dict(), "attested": c.attested} for c in decision.criteria]
    outcome.missing = list(decision.missing)
    outcome.authorization = dict(decision.authorization) if decision.authorization else None


def _coverage_action(call: Call, order: dict[str, Any], decision: Decision | None, payer: PayerMatch,
                     outcome: OrderOutcome) -> dict[str, Any]:
    """The order's coverage-information action, its assertion id and codes kept for the audit record."""
    outcome.coverage_assertion_id = str(uuid.uuid4())
    outcome.covered, outcome.pa_needed = coverage_codes(decision, call.config.unsolicited_determ)
    return coverage_information_action(order, decision, payer.coverage_reference, outcome.coverage_assertion_id,
                                       call.ctx.today, questionnaire_url(call.ctx.base_url),
                                       call.config.unsolicited_determ)


def _fault_actions(call: Call, order: dict[str, Any], payer: PayerMatch | None,
                   outcome: OrderOutcome) -> list[dict[str, Any]]:
    """A fault, not the patient's data: tell the EHR coverage is indeterminate (service-contract.md)."""
    outcome.decision = "evaluation-failed"
    if payer is None or call.request.hook != ORDER_SIGN:
        return []
    outcome.policy = payer.policy_id
    return [_coverage_action(call, order, None, payer, outcome)]


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
    group = Group(orders, targets, [], [], {id(order) for order in orders})
    result = _faulted(Call(request, ctx, config, group), record)
    result.cards = config.limit(result.cards)
    _keep_sent(result)
    return result


def _faulted(call: Call, record: PatientRecord | None) -> Evaluation:
    result = Evaluation()
    start = group_start(call.group.orders, call.ctx.today)  # the cycle's, as the evaluation would have read it
    for order in call.group.targets:
        outcome = OrderOutcome(order_id=order_ref(order), what_if=not call.config.unsolicited_determ)
        payer = _payer_or_none(record, order, start)
        _add(result, outcome, _fault_cards(call, order), _fault_actions(call, order, payer, outcome))
    return result


def _fault_cards(call: Call, order: dict[str, Any]) -> list[dict[str, Any]]:
    return [fault_card(order, call.request.hook_instance)] if call.config.wants("coverage-info") else []


def _payer_or_none(record: PatientRecord | None, order: dict[str, Any], start: date) -> PayerMatch | None:
    """The payer as the evaluation would have chosen it: the Coverage in force at the cycle's `start`, not today."""
    if record is None:
        return None
    try:
        return select_payer(record, order, start)
    except Exception:
        log.exception("payer selection failed order=%s", order_ref(order))
        return None
