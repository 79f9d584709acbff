"""A dose or quantity card of one kind (card_kinds.py: a card's topic code and its `card-kind`) for an order."""
from __future__ import annotations

from typing import Any

from cds_service.card_kinds import CardKind, kind_card
from cds_service.card_text import CardText
from cds_service.facts.order import order_ref


def order_card(order: dict[str, Any], text: CardText, indicator: str, source_label: str,
               kind: CardKind) -> dict[str, Any]:
    """A card of `kind` for `order`, naming it as its associated resource."""
    return kind_card(order_ref(order), text, indicator, source_label, kind)
