"""What the EHR was given in each order's cards, for its audit record (docs/audit.md §What is recorded): each card's
indicator and summary, each suggestion's label. The coverage-information codes sent are recorded where the action is
built (order_answers.py).

Read from the cards themselves once the request's configuration (`max-cards`) has cut them (order_answers.py drops a
cut card's uuid from its outcome too), so the record says what was sent. This runs on the request thread: a few
dictionary lookups per card; the writer bounds the texts to their columns.
"""
from __future__ import annotations

from cds_service.evaluation import Evaluation


def record_answer(evaluation: Evaluation) -> None:
    """Fill each outcome's record of the cards sent from the answer's cards."""
    cards = {card["uuid"]: card for card in evaluation.cards}
    for outcome in evaluation.outcomes:
        for card in (cards[uuid] for uuid in outcome.card_uuids if uuid in cards):
            outcome.card_indicators[card["uuid"]] = card["indicator"]
            outcome.card_summaries[card["uuid"]] = card["summary"]
            outcome.suggestion_labels.update((s["uuid"], s["label"]) for s in card.get("suggestions", ()))
