"""The clinical pipeline, `evaluate`: draft orders → facts → policy decision → cards and actions.

Blinatumomab orders of one `draftOrders` Bundle are one cycle (fhir-data-profile.md §The order) unless the label's
cycle rule separates them (cycle 1 and cycle 2 signed together: facts/course.signed_cycles): facts are read once for
each cycle, then each order gets its own decision, dose card and coverage information. The orders are found and
grouped by draft_orders.py and checked by order_validation.py; an order whose own lines fall in several cycles
gets the card splitting it (dosing/span.py, split_card.py); each order's answer goes into the `Evaluation` with
its audit outcome by order_answers.py; a fault is answered by fault_answers.py. Orders of a cycle with the same
dosage lines, a likely duplicate, get one card removing the copies, and what they would repeat is told once
(duplicate_answers.py).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any, Callable, Iterable, Mapping, NamedTuple

from cds_service import SERVICE_NAME
from cds_service.card_config import CardConfig
from cds_service.cards import decision_card, no_plan_card, unidentified_card
from cds_service.decision import Decision
from cds_service.duplicate_answers import fold_duplicates
from cds_service.draft_orders import (draft_resources, group_orders, may_be_blinatumomab, medication_requests,
                                      order_medications, record_medications, with_draft_resources)
from cds_service.dosing.api import QuantityLimit
from cds_service.dosing.cards import dose_card
from cds_service.dosing.checks import CycleLines, DoseReading, OrderDoseChecks, schedule_for
from cds_service.dosing.days_card import cycle_days_card
from cds_service.dosing.duplicates import duplicate_sets, running_orders
from cds_service.dosing.plan_limit_card import ceiling_card
from cds_service.dosing.quantity_card import quantity_card
from cds_service.dosing.reconcile import reconcile_corrections
from cds_service.dosing.rest_card import rest_card
from cds_service.dosing.span import CycleSpans
from cds_service.dosing.split_card import split_card, withhold_corrections
from cds_service.dosing.text import and_list, order_words
from cds_service.evaluation import (INITIAL, MEETS, NOT_MET_DECISION, Evaluation, EvaluationContext, OrderOutcome,
                                   PriorApproval)
from cds_service.facts.course import SignedCycle, dated_cycles
from cds_service.facts.coverage import PayerMatch, no_plan, select_payer, standing
from cds_service.facts.extract import extract_facts
from cds_service.facts.model import ClinicalFacts, Fact
from cds_service.facts.order import group_start, is_blinatumomab, order_ref
from cds_service.fault_answers import fault_answer, fault_outcome
from cds_service.hook_request import ORDER_SIGN, HookRequest
from cds_service.log_format import without_message
from cds_service.order_answers import (Call, add_answer, coverage_action, limit_cards, record_decision,
                                      stable_uuids)
from cds_service.order_validation import validate_orders
from cds_service.policies.engine import evaluate_policy
from cds_service.policies.loading import load_policy
from cds_service.policies.model import Policy
from cds_service.prior_approval import PriorApprovals
from cds_service.record import PatientRecord, no_server
from cds_service.valuesets import get_valuesets

log = logging.getLogger(__name__)


Answer = tuple[OrderOutcome, list[dict[str, Any]], list[dict[str, Any]]]  # an order's outcome, cards, actions
_NONE_DENIED: Fact[bool] = Fact(False)


@dataclass(frozen=True)
class _Cycle:
    """One cycle of the group as read once for every order of it."""

    record: PatientRecord
    facts: ClinicalFacts
    dose_lines: CycleLines  # every order's dosage lines
    # The cycle as the likely duplicate card's removal leaves it (dosing/duplicates.py; `dose_lines` when there is
    # none): what the dose and quantity cards judge, so that they add to the duplicate card what the order kept
    # still needs, not the doubled dose and quantity it already says (four cards had told one problem).
    kept_lines: CycleLines
    # id() of each order that removal takes out (its cards would be the kept order's) -> the order kept for it
    copies: Mapping[int, dict[str, Any]]
    spans: CycleSpans  # the orders whose own lines fall in several cycles (one order per cycle is asked)
    prior_approvals: PriorApprovals
    last_day: date  # the last infusion day of the cycle's orders: a Coverage ending before it ends mid-cycle
    answered: frozenset[int]  # id() of the orders answered (order-select: the selected ones, the only ones named)
    orders: list[dict[str, Any]]  # the cycle's blinatumomab orders (the group's, unless cycles are signed together)
    first: dict[str, Any] | None  # its first answered order not a copy, which the cycle's quantity card goes with
    named: str  # "cycle 2" when the call signs several cycles (a decision card says which), else ""
    # id() of each order with a likely duplicate (dosing/duplicates.py): its dose in words tells it from none of its
    # copies, and the decision card shown once for them all names its cycle alone (when the call signs several).
    duplicated: frozenset[int]
    # By policy: whether this call denied the earlier cycles signed with this one, none given before (_denied_before)
    denied: Mapping[str, Fact[bool]]


class _InCall(NamedTuple):
    """What this call decided for the cycles signed before the one read, by policy: the approvals the audit trail
    will count (newest first), and the outcomes of the orders it denied."""

    approved: dict[str, tuple[PriorApproval, ...]]
    denied: dict[str, tuple[OrderOutcome, ...]]


@dataclass(frozen=True)
class _Pending:
    """An order's answer but its quantity card, built once every answered order of its cycle has its dose card."""

    order: dict[str, Any]
    answer: Answer
    payer: PayerMatch | None
    limit: tuple[QuantityLimit, str] | None = None  # the plan's quantity limit and its label, when a card may come


def evaluate(request: HookRequest, load_record: Callable[[], PatientRecord], ctx: EvaluationContext) -> Evaluation:
    """Evaluate every blinatumomab order of the request (the selected ones for order-select)."""
    candidates = medication_requests(request)
    drafts = draft_resources(request)
    # Blinatumomab by the order's own code or a contained Medication: known before any other resource is read, and
    # whatever is read later (group_orders takes them as they are).
    known = {id(order) for _, order in candidates if is_blinatumomab(order, no_server)}
    if not known and not any(may_be_blinatumomab(order, drafts) for _, order in candidates):
        return Evaluation()
    validated = validate_orders(request, candidates, lambda order: id(order) in known, set())
    record = with_draft_resources(drafts, load_record())
    group = group_orders(request, candidates, record, known)
    config = CardConfig.from_request(request.configuration)
    result = Evaluation()
    if group.targets:
        # Orders recognized only once their Medication was read are validated now (the group holds every known one:
        # with no other, all are validated already).
        if len(group.orders) > len(known):
            validate_orders(request, candidates, lambda order: id(order) in group.members, validated)
        medications = order_medications(group.orders, known, record, drafts)
        result = _evaluate_group(Call(request, ctx, config, group), record, medications)
    for order in group.unidentified:
        add_answer(result, OrderOutcome(order_id=order_ref(order), what_if=not config.unsolicited_determ),
                   [unidentified_card(order)] if config.wants("coverage-info") else [], [])
    reconcile_corrections(result.cards)
    stable_uuids(result, request)
    limit_cards(result, config)
    return result


def _evaluate_group(call: Call, record: PatientRecord, medications: dict[int, dict[str, Any]]) -> Evaluation:
    """Each cycle of the group (course.signed_cycles: cycle 1 and cycle 2 signed together are two; most calls sign
    one) read once, after the cycles before it; then its orders answered, in the Bundle's order. `medications`: id()
    of each order -> the Medication it references (draft_orders.order_medications)."""
    answers: dict[int, Answer] = {}
    shared: dict[int, list[dict[str, Any]]] = {}  # the cards another order's answer carries for an order
    earlier: list[SignedCycle] = []
    in_call = _InCall({}, {})  # this call's decisions of the cycles before
    cycles = dated_cycles(call.group.orders, call.ctx.today)
    for cycle in cycles:
        found = _evaluate_cycle(call, record, medications, cycle, earlier, len(cycles) > 1, shared, in_call)
        answers.update(found)
        in_call = _InCall(_with_approvals(call, in_call.approved, found.values()),
                          _with_denials(in_call.denied, found.values()))
        earlier.append(cycle)
    result = Evaluation()
    for order in call.group.targets:
        add_answer(result, *answers[id(order)], shared.get(id(order), ()))
    return result


def _with_approvals(call: Call, approved: dict[str, tuple[PriorApproval, ...]],
                    answers: Iterable[Answer]) -> dict[str, tuple[PriorApproval, ...]]:
    """`approved` with the approvals among `answers` that the audit trail will count once this call is recorded
    (order-sign, met, not a what-if: audit_queries.py), newest first: the cycles signed after them read them as it
    (prior_approval.py), so that cycle 2 signed with cycle 1 is decided as if signed just after it."""
    if call.request.hook != ORDER_SIGN:
        return approved
    found = dict(approved)
    for outcome, _, _ in answers:
        period = outcome.authorization
        if outcome.decision != MEETS or outcome.what_if or not outcome.policy or not period:
            continue
        approval = PriorApproval(outcome.order_id, datetime.combine(call.ctx.today, time(), timezone.utc),
                                 call.request.hook_instance, outcome.coverage_assertion_id, str(period["start"]),
                                 str(period["end"]), outcome.request_type or INITIAL)
        found[outcome.policy] = (approval, *found.get(outcome.policy, ()))
    return found


def _with_denials(denied: dict[str, tuple[OrderOutcome, ...]],
                  answers: Iterable[Answer]) -> dict[str, tuple[OrderOutcome, ...]]:
    """`denied` with the outcomes among `answers` not covered under a plan (criteria not met), what-if or not: a
    later cycle continuing them depends on their approval either way."""
    found = dict(denied)
    for outcome, _, _ in answers:
        if outcome.decision == NOT_MET_DECISION and outcome.policy:
            found[outcome.policy] = (*found.get(outcome.policy, ()), outcome)
    return found


def _denied_before(denied: dict[str, tuple[OrderOutcome, ...]], facts: ClinicalFacts,
                   signed_before: int) -> dict[str, Fact[bool]]:
    """By policy, whether this call denied the earlier cycles of the course, signed before this one in the call
    (`signed_before` of them), when no cycle was given before the call's first (its number is 1): this cycle's
    continuation depends on their approval, which the card says, and no answer would open it. Earlier cycles given
    (counted on record or attested), a continuation may rest on them: nothing is said."""
    number = facts.cycle.number.value
    if number is None or number - signed_before > 1:
        return {}
    return {policy: _denied_fact(outcomes) for policy, outcomes in denied.items()}


def _denied_fact(outcomes: tuple[OrderOutcome, ...]) -> Fact[bool]:
    """'cycle 1, signed in this call, is not covered: this cycle depends on its approval' ('cycles 1 and 2, ... are
    ... their approval')."""
    numbers = [str(number) for number in dict.fromkeys(o.cycle for o in outcomes) if number]
    one = len(numbers) < 2
    cycles = "the earlier cycle" if not numbers else f"cycle{'' if one else 's'} {and_list(numbers)}"
    note = (f"{cycles}, signed in this call, {'is' if one else 'are'} not covered: this cycle depends on "
            f"{'its' if one else 'their'} approval")
    return Fact(True, tuple(dict.fromkeys(o.order_id for o in outcomes)), note=note)


def _evaluate_cycle(call: Call, record: PatientRecord, medications: dict[int, dict[str, Any]],
                    signed: SignedCycle, earlier: list[SignedCycle], several: bool,
                    shared: dict[int, list[dict[str, Any]]], in_call: _InCall) -> dict[int, Answer]:
    """The answers of a cycle's answered orders, by id(); `earlier`: the cycles signed before it; `several`: whether
    the call signs more than one; `shared`: filled with the cards another order's answer carries for an order (a
    likely duplicate's, told once: duplicate_answers.py); `in_call`: this call's decisions of the earlier cycles.
    A cycle none of whose orders is answered (order-select) is not read: it counts only as an earlier
    cycle."""
    orders = signed.orders
    members = {id(order) for order in orders}
    targets = [order for order in call.group.targets if id(order) in members]
    if not targets:
        return {}
    try:
        facts = extract_facts(record, orders, call.ctx.today, other_drafts=call.group.others, earlier=earlier)
    except Exception as exc:
        log.error("fact extraction failed hookInstance=%s", call.request.hook_instance, exc_info=without_message(exc))
        start = group_start(orders, call.ctx.today)
        return {id(order): fault_outcome(call, record, order, start) for order in targets}
    prior_approvals = PriorApprovals(call.ctx, call.request, orders, facts.start_date, in_call.approved)
    number = facts.cycle.number.value
    named = "" if not several else f"cycle {number}" if number else f"cycle from {facts.start_date.isoformat()}"
    running = running_orders(record, call.group.orders)
    read = {**medications, **record_medications(running, record)} if running else medications
    lines = CycleLines(orders, facts, read, running)
    answered = frozenset(id(order) for order in targets)
    duplicates = duplicate_sets(orders, lines, answered, running)
    copies = {id(copy): found.kept for found in duplicates for copy in found.copies}
    first = next((order for order in targets if id(order) not in copies), None)
    kept_lines = lines.among([order for order in orders if id(order) not in copies]) if copies else lines
    cycle = _Cycle(record, facts, lines, kept_lines, copies,
                   CycleSpans(orders, facts, lines, medications), prior_approvals, signed.last, answered, orders,
                   first, named, frozenset(id(o) for found in duplicates for o in found.orders),
                   _denied_before(in_call.denied, facts, len(earlier)))
    pending = [_evaluate_one(call, cycle, order) for order in targets]
    # The quantity cards last: each judges every order of the cycle as the suggestions offered for it leave it, and
    # a later order's end on the 28th infusion day is offered by its own dose card (CycleLines.offer).
    answers = {id(each.order): _with_quantity(call, cycle, each) for each in pending}
    shared.update(fold_duplicates(call, duplicates, answers))
    return answers


def _evaluate_one(call: Call, cycle: _Cycle, order: dict[str, Any]) -> _Pending:
    """The order's audit outcome, cards and system actions, but its quantity card."""
    facts = cycle.facts
    outcome = OrderOutcome(order_id=order_ref(order), cycle=facts.cycle.number.value,
                           what_if=not call.config.unsolicited_determ, not_received=list(facts.not_received),
                           valueset_digest=get_valuesets().digest)
    payer = None
    try:
        payer = select_payer(cycle.record, order, facts.start_date)
        outcome.coverage_reference = payer.coverage_reference if payer else None
        if payer is None:
            return _Pending(order, (outcome, _without_plan(call, cycle, order, outcome), []), payer)
        cards, actions, limit = _answer(call, cycle, order, payer, outcome)
        return _Pending(order, (outcome, cards, actions), payer, limit)
    except Exception as exc:
        return _Pending(order, _fault(call, order, payer, outcome, exc), payer)


def _with_quantity(call: Call, cycle: _Cycle, pending: _Pending) -> Answer:
    """The order's answer with its quantity card last, or the fault answer should building it fail."""
    if pending.limit is None or id(pending.order) in cycle.copies:
        return pending.answer
    outcome, cards, actions = pending.answer
    order, (limit, label) = pending.order, pending.limit
    try:
        card = quantity_card(order, cycle.facts, limit, label, cycle.kept_lines, cycle.answered, order is cycle.first)
    except Exception as exc:
        return _fault(call, order, pending.payer, outcome, exc)
    return outcome, cards + ([card] if card else []), actions


def _fault(call: Call, order: dict[str, Any], payer: PayerMatch | None, outcome: OrderOutcome,
           exc: Exception) -> Answer:
    """The fault answer of an order whose evaluation raised (logged with its traceback, not its message)."""
    log.error("evaluation failed hookInstance=%s order=%s", call.request.hook_instance, outcome.order_id,
              exc_info=without_message(exc))
    cards, actions = fault_answer(call, order, payer, outcome)
    return outcome, cards, actions


def _answer(call: Call, cycle: _Cycle, order: dict[str, Any], payer: PayerMatch, outcome: OrderOutcome
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], tuple[QuantityLimit, str] | None]:
    """The order's cards and actions but its quantity card, and the quantity limit that card is built with (None:
    no card)."""
    config, facts = call.config, cycle.facts
    doses = OrderDoseChecks(order, cycle.orders, facts, cycle.dose_lines)
    policy = load_policy(payer.policy_id)
    checks = cycle.spans.checks(doses, order)  # no quantity verdict while an order of the cycle spans cycles
    decision = evaluate_policy(policy, facts, checks, cycle.prior_approvals.for_policy(policy),
                               cycle.denied.get(policy.id, _NONE_DENIED))
    record_decision(outcome, decision, policy)
    schedule = schedule_for(facts, decision.label_schedule)
    copy = id(order) in cycle.copies  # removed by the duplicate card: its other cards would be the kept order's
    kept = None if copy else _kept_checks(cycle, order, doses)
    cards, actions = _coverage_answer(call, cycle, order, payer, outcome, decision, doses, kept, schedule)
    split = split_card(order, cycle.spans, decision.payer_label) if config.wants("off-guideline") and not copy \
        else None
    cards.extend([split.card] if split else [])  # beside the decision: the order's real problem
    if kept is not None:
        cards.extend(_dose_cards(call, cycle, order, policy, decision, kept, schedule))
    # The quantity limit applies to the cycle's orders together: a card for each answered order whose own quantity
    # is more than its days use, else one, without a suggestion, with the cycle's first answered order.
    # Not while an order of the cycle holds another cycle's days: no cycle's quantity is known (dosing/span.py).
    quantity_limit = policy.quantity_limit if config.wants("limits") and not cycle.spans.parts else None
    if split:
        withhold_corrections(cards, split)
    return cards, actions, (quantity_limit, decision.payer_label) if quantity_limit is not None else None


def _kept_checks(cycle: _Cycle, order: dict[str, Any], doses: OrderDoseChecks) -> OrderDoseChecks:
    """The order's dose checks in the cycle as the likely duplicate card's removal leaves it (_Cycle.kept_lines); a
    copy's read in the place of the order kept for it, whose lines are its own (the removal leaves no copy to read).
    `doses`, its checks in the cycle as signed, when the cycle has no likely duplicate: the same, read once."""
    if not cycle.copies:
        return doses
    kept = cycle.copies.get(id(order))
    if kept is None:
        return OrderDoseChecks(order, cycle.kept_lines.orders, cycle.facts, cycle.kept_lines)
    lines = cycle.kept_lines.among([other for other in cycle.kept_lines.orders if other is not kept] + [order])
    return OrderDoseChecks(order, lines.orders, cycle.facts, lines)


def _coverage_answer(call: Call, cycle: _Cycle, order: dict[str, Any], payer: PayerMatch, outcome: OrderOutcome,
                     decision: Decision, doses: OrderDoseChecks, kept: OrderDoseChecks | None, schedule: str | None
                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The decision card and, on order-sign, the coverage-information action (none when the client turned the
    coverage information off). `kept`: the order's checks as its dose cards read them (_kept_checks), None for a
    copy the duplicate card removes."""
    config, facts = call.config, cycle.facts
    if not config.wants("coverage-info"):
        return [], []
    determination = call.request.hook == ORDER_SIGN and config.unsolicited_determ
    reading = _shown_reading(doses.reading(schedule), config)
    if reading.above and id(order) in cycle.duplicated and \
            not (kept or _kept_checks(cycle, order, doses)).reading(schedule).above:
        reading = reading._replace(by_copies=True)
    which = "" if len(call.group.targets) == 1 else (
        cycle.named if id(order) in cycle.duplicated else order_words(doses.lines, cycle.named))
    coverage = standing(cycle.record, payer, facts.start_date)
    card = decision_card(decision, facts, order, call.ctx.base_url, reading, determination, which, coverage,
                         cycle.last_day, doses.lines)
    if call.request.hook != ORDER_SIGN:
        return [card], []
    return [card], [coverage_action(call, order, decision, payer, outcome, coverage.secondary)]


def _dose_cards(call: Call, cycle: _Cycle, order: dict[str, Any], policy: Policy, decision: Decision,
                doses: OrderDoseChecks, schedule: str | None) -> list[dict[str, Any]]:
    """The order's dose, days, rest and plan dose limit cards, each as the client's options allow; the lines their
    suggestions write are offered to the cycle's quantity cards, built last."""
    config, facts = call.config, cycle.facts
    # A dose below the label dose is worth a note only against an indication's own schedule.
    label = dose_card(order, facts, schedule, decision.label_schedule is not None, decision.payer_label, doses,
                      policy.dose_ceiling)
    dose = cycle_days_card(label, order, facts, decision.payer_label, doses)
    rest = rest_card(order, decision.payer_label, doses, schedule)
    cards = [card for card in (dose, rest) if card] if config.wants("off-guideline") else []
    # A dose card's suggestion shown beside the limits cards: the order it writes may end on the cycle's 28th
    # infusion day, and their corrections are written on the order so ended (reconcile_corrections gives each
    # suggestion every correction).
    ended = dose is not None and "suggestions" in dose and config.wants("off-guideline")
    if label is None and policy.dose_ceiling is not None and config.wants("limits"):
        # Within the label yet above the plan's own maximum: not covered as ordered, and as easily fixed. (Days past
        # the cycle's 28th infusion day are a card of their own, whose dose the plan's limit still corrects.)
        limit = ceiling_card(order, facts, policy.dose_ceiling, decision.payer_label, doses, schedule, ended,
                             policy.dose_ceiling_citation(decision.shown_indication))
        cards.extend([limit] if limit else [])
    offered = doses.offered() if ended else None
    if offered is not None:  # its quantity is judged on the lines the suggestion writes
        cycle.kept_lines.offer(order, offered)
    return cards


def _without_plan(call: Call, cycle: _Cycle, order: dict[str, Any], outcome: OrderOutcome) -> list[dict[str, Any]]:
    """No recognized payer: no decision, but the dose is still checked against the label (policy-rules.md §5). The
    audit trail keeps why there was no plan: the card says it, and an auditor must tell the cases apart."""
    config, facts = call.config, cycle.facts
    why = no_plan(cycle.record, order, facts.start_date)
    # The Coverage whose payer could not be known, for the auditor as for the card.
    outcome.no_plan_reason, outcome.coverage_reference = why.reason, why.coverage
    not_received = {"coverage-not-received": "coverage", "payer-not-received": "payer"}.get(why.reason, "")
    doses = OrderDoseChecks(order, cycle.orders, facts, cycle.dose_lines)
    problem = why.unreadable.problem if why.unreadable else ""
    schedule = schedule_for(facts)
    reading = _shown_reading(doses.reading(schedule), config)
    cards = ([no_plan_card(order, facts, reading, not_received, why.coverage, problem, why.out_of_force, why.in_force,
                           why.in_force_payer)]
             if config.wants("coverage-info") else [])
    if id(order) in cycle.copies:  # removed by the duplicate card: its other cards would be the kept order's
        return cards
    kept = _kept_checks(cycle, order, doses)
    dose = cycle_days_card(dose_card(order, facts, schedule, False, SERVICE_NAME, kept), order, facts, SERVICE_NAME,
                           kept)
    split = split_card(order, cycle.spans, SERVICE_NAME) if config.wants("off-guideline") else None
    rest = rest_card(order, SERVICE_NAME, kept, schedule)
    cards += ([split.card] if split else []) + [card for card in (dose, rest) if card and config.wants("off-guideline")]
    if split:
        withhold_corrections(cards, split)
    return cards


def _shown_reading(reading: DoseReading, config: CardConfig) -> DoseReading:
    """The dose reading as the cards shown tell it: with dose cards turned off (off-guideline), none says the dose
    is above the label, so the decision card must not point to one."""
    return reading if config.wants("off-guideline") else reading._replace(above=False)
