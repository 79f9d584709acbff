"""The kinds of the dose and quantity cards (card_kinds.py: a card's topic code and its `card-kind`), and a card of
one for an order."""
from __future__ import annotations

from typing import Any

from cds_service.card_kinds import CardKind, kind_card
from cds_service.card_text import CardText
from cds_service.facts.order import order_ref

DOSE_KIND = CardKind("dose", "off-guideline")
# Days past a cycle's 28th infusion day: alone, or on the dose card whose suggestion ends them too. Kinds of their own,
# as the two `limits` cards have, for what their suggestions correct (reconcile_corrections).
DAYS_KIND = CardKind("infusion-days", "off-guideline")
DOSE_AND_DAYS_KIND = CardKind("dose-and-infusion-days", "off-guideline")
QUANTITY_KIND = CardKind("quantity-limit", "limits")
DOSE_LIMIT_KIND = CardKind("plan-dose-limit", "limits")


def order_card(order: dict[str, Any], text: CardText, indicator: str, source_label: str,
               kind: CardKind) -> dict[str, Any]:
    """A card of `kind` for `order`, naming it as its associated resource."""
    return kind_card(order_ref(order), text, indicator, source_label, kind)
