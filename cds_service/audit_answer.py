"""What the EHR was given in each order's cards, for its audit record (docs/audit.md §What is recorded): each card's
indicator, summary and kind, each suggestion's label and the orders its `create` actions make. The coverage-information
codes sent are recorded where the action is built (order_answers.py).

Read from the cards themselves once the request's configuration (`max-cards`) has cut them (order_answers.py drops a
cut card's uuid from its outcome too), so the record says what was sent. This runs on the request thread: a few
dictionary lookups per card; the writer bounds the texts to their columns.
"""
from __future__ import annotations

from typing import Any

from cds_service.evaluation import Evaluation

# card_kinds.KIND_EXTENSION, the extension naming a card's kind: card_kinds.py is on the clinical side, which the
# trail does not import (tests/test_layering.py).
_KIND_EXTENSION = "card-kind"


def record_answer(evaluation: Evaluation) -> None:
    """Fill each outcome's record of the cards sent from the answer's cards."""
    cards = {card["uuid"]: card for card in evaluation.cards}
    for outcome in evaluation.outcomes:
        for card in (cards[uuid] for uuid in outcome.card_uuids if uuid in cards):
            outcome.card_indicators[card["uuid"]] = card["indicator"]
            outcome.card_summaries[card["uuid"]] = card["summary"]
            kind = (card.get("extension") or {}).get(_KIND_EXTENSION)
            if isinstance(kind, str):
                outcome.card_kinds[card["uuid"]] = kind
            for suggestion in card.get("suggestions", ()):
                outcome.suggestion_labels[suggestion["uuid"]] = suggestion["label"]
                created = _created(suggestion)
                if created:  # only the split creates: most suggestions update the order alone
                    outcome.suggestion_creates[suggestion["uuid"]] = created


def _created(suggestion: dict[str, Any]) -> list[str]:
    """The references of the resources the suggestion's `create` actions make ("MedicationRequest/<its new id>")."""
    return [f"{action['resource']['resourceType']}/{action['resource']['id']}"
            for action in suggestion.get("actions", ()) if action.get("type") == "create"]
