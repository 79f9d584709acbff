"""Each order's answer (cards, system actions) into the call's `Evaluation`, with what its audit outcome records of
it (docs/audit.md §What is recorded): the decision, the coverage-information assertion, the uuids of its cards, and
only those `max-cards` lets through. Shared by the pipeline and its fault answers, with `Call`, what every step of
one evaluation call shares.
"""
from __future__ import annotations

import hashlib
import uuid
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

from cds_service import SERVICE_ID
from cds_service.card_config import DECISION_EXTENSION, CardConfig
from cds_service.coverage_info import coverage_codes, coverage_information_action, name_assertion
from cds_service.decision import Decision
from cds_service.draft_orders import Group
from cds_service.evaluation import Evaluation, EvaluationContext, OrderOutcome
from cds_service.facts.coverage import PayerMatch
from cds_service.hook_request import HookRequest
from cds_service.json_codec import dumps
from cds_service.policies.model import Policy
from cds_service.questionnaire import questionnaire_url


@dataclass(frozen=True)
class Call:
    """What every step of one evaluation call shares."""

    request: HookRequest
    ctx: EvaluationContext
    config: CardConfig  # the request's davinci-crd.configuration
    group: Group


def add_answer(result: Evaluation, outcome: OrderOutcome, cards: list[dict[str, Any]],
               actions: list[dict[str, Any]], shared: Sequence[dict[str, Any]] = ()) -> None:
    """One order's answer into the response, and the uuids of its cards into its audit outcome (feedback joins
    them; `limit_cards` forgets those max-cards cuts). `shared`: cards answering it that another order's answer
    carries (a duplicate order's, duplicate_answers.py): recorded, not sent twice."""
    answering = [*cards, *shared]
    outcome.card_uuids = [c["uuid"] for c in answering]
    outcome.card_topics = {c["uuid"]: c["source"]["topic"]["code"] for c in answering}
    outcome.suggestion_uuids = [s["uuid"] for c in answering for s in c.get("suggestions", ())]
    outcome.suggestion_cards = {s["uuid"]: c["uuid"] for c in answering for s in c.get("suggestions", ())}
    result.cards.extend(cards)
    result.system_actions.extend(actions)
    result.outcomes.append(outcome)


# The namespace of the cards' and suggestions' uuids (stable_uuids), as uuid5 takes one.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, f"urn:{SERVICE_ID}:card")


def stable_uuids(result: Evaluation, request: HookRequest) -> None:
    """Each card's uuid derived from the call (hook, hookInstance, patient) and everything the card says, each of
    its suggestions' from the card's and its place on it; the audit outcomes follow. A call sent again (the same
    hookInstance: the same hook call, CDS Hooks 2.0) whose cards say the same gets the same uuids: feedback, which
    names a card by its uuid, joins whichever answer the EHR showed, and the trail counts one card, not two. A card
    saying anything else gets another uuid. Run on the final cards (after folding and combining), before max-cards."""
    call = f"{request.hook}\n{request.hook_instance}\n{request.patient_id}\n".encode()
    renamed: dict[str, str] = {}
    seen: Counter[str] = Counter()
    for card in result.cards:
        name = _derived(call + _fingerprint(_said(card)))
        seen[name] += 1  # two cards saying the same in one answer (none known) still get uuids of their own
        name = name if seen[name] == 1 else _derived(f"{name} {seen[name]}".encode())
        renamed[card["uuid"]] = name
        card["uuid"] = name
        for place, suggestion in enumerate(card.get("suggestions", ())):
            derived = _derived(f"{name} suggestion {place}".encode())
            renamed[suggestion["uuid"]] = derived
            suggestion["uuid"] = derived
    for outcome in result.outcomes:
        outcome.card_uuids = [renamed.get(card, card) for card in outcome.card_uuids]
        outcome.card_topics = {renamed.get(card, card): topic for card, topic in outcome.card_topics.items()}
        outcome.suggestion_uuids = [renamed.get(s, s) for s in outcome.suggestion_uuids]
        outcome.suggestion_cards = {renamed.get(s, s): renamed.get(card, card)
                                    for s, card in outcome.suggestion_cards.items()}


def _fingerprint(said: dict[str, Any]) -> bytes:
    """A CRC-32 of what a card or an action says, as JSON in the order its keys were set: the same input sets them
    in the same order, so a call sent again gives the same bytes. uuid5's SHA-1 then digests a short name, not the
    card's 5 KB (a tenth of the time). A call sent again that says something else keeps its id once in 2^32."""
    return zlib.crc32(dumps(said, default=str)).to_bytes(4, "big")


def _said(card: dict[str, Any]) -> dict[str, Any]:
    """What a card says, for its uuid: all of it but its own uuid and its suggestions' uuids, and the ids of the
    orders its suggestions would create, which are new on every call (dosing/split.py) and name nothing said."""
    return {**card, "uuid": "", "suggestions": [
        {**suggestion, "uuid": "", "actions": [_without_new_id(action) for action in suggestion.get("actions", ())]}
        for suggestion in card.get("suggestions", ())]}


def _without_new_id(action: dict[str, Any]) -> dict[str, Any]:
    if action.get("type") != "create" or not isinstance(action.get("resource"), dict):
        return action
    return {**action, "resource": {**action["resource"], "id": ""}}


def _derived(name: bytes) -> str:
    """uuid5 of `name` in the cards' namespace (uuid.uuid5 of Python 3.11 takes text only)."""
    return str(uuid.UUID(bytes=hashlib.sha1(_NAMESPACE.bytes + name).digest()[:16], version=5))


def limit_cards(result: Evaluation, config: CardConfig) -> None:
    """The cards max-cards lets through. Only they were issued: the audit trail keeps their uuids alone, so that
    feedback naming a cut card counts as feedback on a card never issued. Then which decisions were handed out."""
    issued = config.limit(result.cards)
    if len(issued) < len(result.cards):
        result.cards = issued
        sent = {card["uuid"] for card in result.cards}
        for outcome in result.outcomes:
            outcome.card_uuids = [card for card in outcome.card_uuids if card in sent]
            outcome.card_topics = {card: topic for card, topic in outcome.card_topics.items() if card in sent}
            outcome.suggestion_cards = {s: card for s, card in outcome.suggestion_cards.items() if card in sent}
            outcome.suggestion_uuids = [s for s in outcome.suggestion_uuids if s in outcome.suggestion_cards]
    decisions = {card["uuid"] for card in result.cards if DECISION_EXTENSION in (card.get("extension") or {})}
    for outcome in result.outcomes:
        outcome.handed_out = bool(outcome.coverage_assertion_id) or not decisions.isdisjoint(outcome.card_uuids)


def record_decision(outcome: OrderOutcome, decision: Decision, policy: Policy) -> None:
    outcome.policy = decision.policy_id
    outcome.policy_version = decision.policy_version
    # Which file decided: the version is the file's own word, which an edited copy need not change.
    outcome.policy_digest, outcome.policy_source = policy.digest, policy.source
    outcome.decision = decision.decision
    outcome.indication = decision.indication
    outcome.request_type = decision.request_type
    # The card's criteria, and for the pharmacist which of them an attestation decided.
    # 'attested' last, as the audit trail has always written it; the card's own dicts are left without it.
    outcome.criteria = [{**entry, "attested": criterion.attested}
                        for entry, criterion in zip(decision.criteria_dicts, decision.criteria)]
    # Every indication evaluated, compactly: with the card's one alone, a denial could not be reconstructed.
    outcome.indications = [indication.as_audit_entry() for indication in decision.indications]
    outcome.missing = list(decision.missing)
    outcome.authorization = dict(decision.authorization) if decision.authorization else None


def coverage_action(call: Call, order: dict[str, Any], decision: Decision | None, payer: PayerMatch,
                    outcome: OrderOutcome, secondary: bool = False) -> dict[str, Any]:
    """The order's coverage-information action (`decision` None: indeterminate, a fault), its assertion id and codes
    kept for the audit record. `secondary`: the payer's Coverage is the patient's secondary one."""
    outcome.covered, outcome.pa_needed = coverage_codes(decision, call.config.unsolicited_determ)
    action = coverage_information_action(order, decision, payer.coverage_reference, "", call.ctx.today,
                                         questionnaire_url(call.ctx.base_url), call.config.unsolicited_determ,
                                         secondary)
    outcome.coverage_assertion_id = _assertion_id(call.request, action)
    name_assertion(action, outcome.coverage_assertion_id)
    return action


def _assertion_id(request: HookRequest, action: dict[str, Any]) -> str:
    """The coverage-assertion-id, derived as the card uuids are (`stable_uuids`) from the call and all the action
    says (the order, with its id, and the whole assertion, its date included). CRD 2.2 makes it the trace id a claim
    quotes (X12 837 K3) so that the payer can hold to what it asserted: a call sent again (the same hookInstance)
    asserting the same for the same order is the same assertion, whichever answer the EHR applied, and a claim
    quoting either finds it; a new id had read as a new assertion, which CRD 2.2 says is sent only when something is
    new. Any other call, order, coverage or assertion gets another id."""
    call = f"coverage-assertion\n{request.hook}\n{request.hook_instance}\n{request.patient_id}\n".encode()
    return _derived(call + _fingerprint(action))
