"""What the EHR was given for each order, for its audit record (docs/audit.md §What is recorded): the covered and
pa-needed codes of the coverage-information action sent, each card's indicator and summary, each suggestion's label.

Read from the answer itself once the request's configuration (`max-cards`) has cut it (pipeline.py drops a cut
card's uuid from its outcome too), so the record says what was sent. This runs on the request thread: a few dictionary
lookups per card; the writer bounds the texts to their columns.
"""
from __future__ import annotations

from typing import Any

from cds_service.coverage_info import EXTENSION_URL
from cds_service.evaluation import Evaluation


def record_answer(evaluation: Evaluation) -> None:
    """Fill each outcome's record of what was sent from the answer's cards and system actions."""
    cards = {card["uuid"]: card for card in evaluation.cards}
    codes = _coverage_codes(evaluation.system_actions)
    for outcome in evaluation.outcomes:
        if outcome.coverage_assertion_id in codes:
            outcome.covered, outcome.pa_needed = codes[outcome.coverage_assertion_id]
        for card in (cards[uuid] for uuid in outcome.card_uuids if uuid in cards):
            outcome.card_indicators[card["uuid"]] = card["indicator"]
            outcome.card_summaries[card["uuid"]] = card["summary"]
            outcome.suggestion_labels.update((s["uuid"], s["label"]) for s in card.get("suggestions", ()))


def _coverage_codes(actions: list[dict[str, Any]]) -> dict[str, tuple[str | None, str | None]]:
    """coverage-assertion-id -> (covered, pa-needed) of the coverage information each action sends. Ours is the
    order's last extension (coverage_information_action appends it); the others are the client's, as received."""
    codes = {}
    for action in actions:
        ours = action["resource"]["extension"][-1]
        if ours.get("url") == EXTENSION_URL:
            values = {sub["url"]: sub.get("valueCode", sub.get("valueString")) for sub in ours["extension"]}
            codes[values["coverage-assertion-id"]] = (values.get("covered"), values.get("pa-needed"))
    return codes
