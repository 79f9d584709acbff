"""The card on an order whose dosage lines fall in several cycles (dosing/span.py): a warning that says so, with the
one-click split into one order per cycle (dosing/split.py), shown whatever the payer (docs/dosing.md, "One order,
several cycles"). Signed again, the orders go down the path of cycles signed together (`course.dated_cycles`).
"""
from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from cds_service.card_kinds import SPLIT_KIND, kind_card
from cds_service.card_text import CardText, render_card
from cds_service.dosing.suggestions import recommended
from cds_service.dosing.span import CyclePart, CycleSpans
from cds_service.dosing.split import Piece, split_order
from cds_service.dosing.text import dose_words, lines_text
from cds_service.facts.model import ClinicalFacts
from cds_service.facts.order import order_ref


class SplitCard(NamedTuple):
    card: dict[str, Any]
    note: str  # the paragraph added to the order's other cards whose correction is left out (withhold_corrections)


def split_card(order: dict[str, Any], spans: CycleSpans, source_label: str) -> SplitCard | None:
    """`order`'s card when its lines fall in several cycles, else None. Its suggestion updates the order to its
    first cycle's lines and creates a draft order for each later cycle; none when a line's days are not known (which
    cycle it belongs to is not known)."""
    parts = spans.of(order)
    if not parts:
        return None
    facts = spans.facts
    pieces, quantity_left = split_order(order, parts, facts, spans.medication(order))
    guessed = spans.rest_guessed(order)
    why_not = _why_not(order, parts) or (_GUESSED if guessed else "")
    texts = _texts(parts, pieces, facts, quantity_left, why_not, guessed)
    card = kind_card(order_ref(order), texts[0], "warning", source_label, SPLIT_KIND)
    if not why_not:
        card["selectionBehavior"] = "at-most-one"
        card["suggestions"] = [_suggestion(texts, pieces, facts)]
    return SplitCard(card, texts[-1].detail)


def withhold_corrections(cards: list[dict[str, Any]], split: SplitCard) -> None:
    """The one-click corrections of the order's other cards (`cards`: its cards, the split card among them) left
    out, each card saying why: each replaces the whole order, so accepted after the split it would write the order
    back with every cycle's lines beside the new orders (a later cycle given twice), and before it be undone."""
    for card in cards:
        if card is not split.card and card.get("suggestions"):
            del card["suggestions"]
            card.pop("selectionBehavior", None)
            card["detail"] = f"{card['detail'].rstrip()}\n\n{split.note}\n"


# Why the split is not offered when its cycles rest on the least rest (`CycleSpans.rest_guessed`): one click would
# start a relapsed/refractory cycle 7 on after a short rest, where the label has the days past the 28th ended.
_GUESSED = ("the cycle number is not known, so the cycles are told apart by the label's least rest, 14 days without "
            "infusion; after relapsed/refractory cycle 6 on the rest is 56 days, and a later line here would then be "
            "days past the cycle's 28th infusion day, not a new cycle")


def _why_not(order: dict[str, Any], parts: list[CyclePart]) -> str:
    """Why the split is not offered: a line whose days are not known, which no cycle holds ("" when none)."""
    held = {line.index for part in parts for line in part.lines}
    left = [str(index + 1) for index in range(len(order["dosageInstruction"])) if index not in held]
    if not left:
        return ""
    if len(left) == 1:
        return f"line {left[0]}'s days could not be read, so the cycle it belongs to is not known"
    return f"the days of lines {', '.join(left)} could not be read, so the cycles they belong to are not known"


def _texts(parts: list[CyclePart], pieces: list[Piece], facts: ClinicalFacts, quantity_left: str,
           why_not: str, guessed: bool) -> list[CardText]:
    """The card's texts with the update's description, then each new order's description, then the paragraph added
    to the order's other cards (`withhold_corrections`)."""
    context = _context(parts, pieces, facts, quantity_left, why_not, guessed)
    texts = [render_card("order-spans-cycles.j2", described=index, withheld=False, **context)
             for index in range(len(parts))]
    return texts + [render_card("order-spans-cycles.j2", described=0, withheld=True, **context)]


def _context(parts: list[CyclePart], pieces: list[Piece], facts: ClinicalFacts, quantity_left: str,
             why_not: str, guessed: bool) -> dict[str, Any]:
    """order-spans-cycles.j2's context but `described` and `withheld` (see its header)."""
    number = facts.cycle.number.value
    rows = [{"name": f"cycle {number + position}" if number else f"the cycle from {piece.first.isoformat()}",
             "this": position == 0, "lines": lines_text([line.index + 1 for line in part.lines]),
             "doses": dose_words(piece.lines), "dates": f"{piece.first.isoformat()} to {piece.last.isoformat()}",
             "quantity": piece.quantity}
            for position, (part, piece) in enumerate(zip(parts, pieces))]
    return {"cycles": len(parts), "starts": [piece.first.isoformat() for piece in pieces], "parts": rows,
            "offered": not why_not, "why_not": why_not, "quantity_left": quantity_left, "guessed": guessed}


def _suggestion(texts: list[CardText], pieces: list[Piece], facts: ClinicalFacts) -> dict[str, Any]:
    """The split: an update of the order to its first cycle, a create of each later cycle's order (CDS Hooks 2.0
    actions). Offered, not recommended, when the label says stop, as the dose corrections are
    (`suggestions.recommended`)."""
    actions = [{"type": "update" if index == 0 else "create", "description": text.action, "resource": piece.resource}
               for index, (text, piece) in enumerate(zip(texts, pieces))]
    return {"uuid": str(uuid.uuid4()), "label": texts[0].label, "isRecommended": recommended(facts),
            "actions": actions}
