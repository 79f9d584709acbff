"""The answers of a likely duplicate order (dosing/duplicates.py) told once: the duplicate card beside the first
answered order's decision card, and each card another order of the set would repeat word for word (its decision,
its dose card) shown once, naming every order it answers (`davinci-crd.associated-resource`) and saying so. Each
order keeps its own coverage-information action and audit outcome; the cards shown once are recorded with each
(order_answers.add_answer's `shared`), so feedback on them is joined to every order they answer.
"""
from __future__ import annotations

from typing import Any

from cds_service import SERVICE_NAME
from cds_service.card_config import DECISION_EXTENSION
from cds_service.card_kinds import kind_of
from cds_service.dosing.duplicates import DuplicateSet, duplicate_card, folded_note
from cds_service.evaluation import OrderOutcome
from cds_service.facts.order import order_ref
from cds_service.order_answers import Call
from cds_service.policies.loading import load_policy

Answer = tuple[OrderOutcome, list[dict[str, Any]], list[dict[str, Any]]]  # an order's outcome, cards, actions
Card = dict[str, Any]
_ASSOCIATED = "davinci-crd.associated-resource"


def fold_duplicates(call: Call, sets: list[DuplicateSet], answers: dict[int, Answer]) -> dict[int, list[Card]]:
    """Each set's cards told once in `answers` (id() of each answered order -> its answer, changed in place); for
    each order whose cards another order's answer now carries, those cards. With dose cards turned off
    (`off-guideline`), nothing changes: the duplicate card is of their type."""
    shared: dict[int, list[Card]] = {}
    if not call.config.wants("off-guideline"):
        return shared
    for found in sets:
        members = [order for order in found.orders if id(order) in answers]
        outcome, lead, _ = answers[id(members[0])]
        label = _label(outcome, lead)
        card = duplicate_card(found, label)
        folded: dict[str, Card] = {}
        for member in members[1:]:
            shared[id(member)] = [card, *_fold(answers[id(member)][1], lead, member, folded)]
        note = folded_note(found)
        for twin in folded.values():
            twin["detail"] = f"{twin['detail'].rstrip()}\n\n{note}\n"
        after_decision = bool(lead) and DECISION_EXTENSION in lead[0].get("extension", {})
        lead.insert(1 if after_decision else 0, card)
    return shared


def _label(outcome: OrderOutcome, cards: list[Card]) -> str:
    """The source label of the order's other cards: its plan's, else the service's. Its cards may be none (coverage
    information turned off, and no dose card left once the copies are removed: pipeline.py)."""
    if cards:
        return str(cards[0]["source"]["label"])
    return load_policy(outcome.policy).payer_label if outcome.policy else SERVICE_NAME


def _fold(cards: list[Card], lead: list[Card], member: dict[str, Any], folded: dict[str, Card]) -> list[Card]:
    """`member`'s cards that one of the lead's says word for word, removed from `cards` and returned as the lead's
    (`folded`: every lead card so far shown for another order, by uuid), which now name `member` too."""
    twins = {_said(card): card for card in lead if not card.get("suggestions")}
    taken = []
    for card in list(cards):
        twin = None if card.get("suggestions") else twins.get(_said(card))
        if twin is not None:
            cards.remove(card)
            twin["extension"][_ASSOCIATED].append({"reference": order_ref(member)})
            folded[twin["uuid"]] = twin
            taken.append(twin)
    return taken


def _said(card: Card) -> tuple[Any, ...]:
    """What a clinician reads of a card at a glance, and a decision card's decision: the same for two orders with
    the same lines, though its detail names its own order and its criteria's evidence lists it first."""
    decision = dict(card.get("extension", {}).get(DECISION_EXTENSION) or {})
    criteria = tuple((c["id"], c["status"]) for c in decision.pop("criteria", ()))
    return (card["source"]["topic"]["code"], kind_of(card), card["indicator"], card["summary"],
            repr(sorted(decision.items())), criteria)
