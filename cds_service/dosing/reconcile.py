"""The suggestions of one order's cards made one: each replaces the whole order, so each carries every correction."""
from __future__ import annotations

import copy
from typing import Any

from cds_service.card_kinds import DAYS_KIND, DOSE_AND_DAYS_KIND, DOSE_KIND, DOSE_LIMIT_KIND, QUANTITY_KIND, kind_of
from cds_service.dosing.quantity import read_quantity
from cds_service.dosing.quantity_card import in_unit
from cds_service.sentences import mid_sentence

# What a card's suggestion corrects, by the card's kind (not its topic: the plan's dose limit and the quantity limit
# share the code `limits`, the dose and days cards `off-guideline`), as another suggestion's label names it
# ("" for the quantity, named by its value). In this order, the one whose dosage lines a combined order takes.
_CORRECTS = (
    (DOSE_KIND, "the dose to the label dose"),
    (DOSE_AND_DAYS_KIND, "the dose to the label dose and the end to the 28th infusion day"),
    (DOSE_LIMIT_KIND, "the dose to the plan's dose limit"),
    (DAYS_KIND, "the end to the 28th infusion day"),
    (QUANTITY_KIND, ""),
)


def reconcile_corrections(cards: list[dict[str, Any]]) -> None:
    """Suggestions for the same order each replace the whole order: accepted together, the one applied last would
    undo the others. Each then carries every correction, and its label says so. A dose correction is the label
    dose's or the plan's dose limit's (never both for one order: the pipeline's plan-limit card comes only without a
    label dose card); an end on the 28th infusion day is written into it where the order has both (the days card
    then offers the end alone, and the plan limit's correction is written on the order so ended)."""
    by_order: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for card in cards:
        if card.get("suggestions"):
            which = kind_of(card)
            kind = next((rank for rank, (corrects, _) in enumerate(_CORRECTS) if corrects.code == which), None)
            if kind is not None:
                order = card["extension"]["davinci-crd.associated-resource"][0]["reference"]
                by_order.setdefault(order, []).append((kind, card["suggestions"][0]))
    for found in by_order.values():
        if len(found) > 1:
            _combine(sorted(found, key=lambda item: item[0]))


def _combine(found: list[tuple[int, dict[str, Any]]]) -> None:
    """`found`: each suggestion of one order with its rank in `_CORRECTS`, in that order. The order they all write
    takes the first one's dosage lines and the quantity correction's quantity (what the lines use once ended, when
    the end on the 28th infusion day or the dose correction is offered: `CycleLines.offer`)."""
    actions = [suggestion["actions"][0] for _, suggestion in found]
    merged = copy.deepcopy(actions[0]["resource"])
    if _CORRECTS[found[-1][0]][0] is QUANTITY_KIND:
        merged["dispenseRequest"]["quantity"] = copy.deepcopy(actions[-1]["resource"]["dispenseRequest"]["quantity"])
    says = [_CORRECTS[kind][1] or f"quantity to {_quantity_text(merged)}" for kind, _ in found]
    described = [mid_sentence(action["description"]) for action in actions]
    for position, (_, suggestion) in enumerate(found):
        others = [index for index in range(len(found)) if index != position]
        suggestion["label"] += f" (and {' and '.join(says[index] for index in others)})"
        actions[position]["resource"] = copy.deepcopy(merged)
        actions[position]["description"] += "".join(f"; also: {described[index]}" for index in others)


def _quantity_text(order: dict[str, Any]) -> str:
    quantity = read_quantity(order)  # readable: the quantity card wrote it
    assert quantity.mcg is not None and quantity.per_unit is not None
    return in_unit(quantity.mcg / quantity.per_unit, quantity)
