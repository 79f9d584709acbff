"""What a card is, twice over: its `source.topic`, a Coding of the CDS Hooks card-type code system (HL7 THO,
`cdshooks-card-type`) carrying that code system's own display, which CRD and discovery's configuration options name;
and the service's own kind of card, sent as the card's `card-kind` extension. One topic code covers several kinds
(the dose, days, split and duplicate cards are all `off-guideline`; the plan's dose limit and the quantity limit are
both `limits`): the code says which cards a client may turn off, the kind which card this is (the suggestions
combined for one order, the cards told once for orders alike, the tests)."""
from __future__ import annotations

from typing import Any, NamedTuple

from cds_service.card_text import CARD_TYPE_SYSTEM, CardText, card_shell

# The displays of the codes the service uses, as the code system defines them: a client validating the Coding
# against THO refuses any other display.
CARD_TYPE_DISPLAYS = {"coverage-info": "Coverage Information", "off-guideline": "Off Guideline", "limits": "Limits"}
KIND_EXTENSION = "card-kind"


class CardKind(NamedTuple):
    """A kind of card: its own code (the `card-kind` extension) and its topic's code."""

    code: str
    topic_code: str

    @property
    def topic(self) -> dict[str, str]:
        """The card's `source.topic`."""
        return {"system": CARD_TYPE_SYSTEM, "code": self.topic_code, "display": CARD_TYPE_DISPLAYS[self.topic_code]}


# Every kind of card the service sends, defined here alone and registered in CARD_KINDS: `audit --card-kind` offers
# exactly these, so a kind the cards send and the trail records can always be selected.
# The service's own cards (cards.py): the decision, no recognized plan, an evaluation that failed, an unknown drug.
DECISION_KIND = CardKind("decision", "coverage-info")
NO_PLAN_KIND = CardKind("no-plan", "coverage-info")
FAULT_KIND = CardKind("evaluation-failed", "coverage-info")
UNIDENTIFIED_KIND = CardKind("order-unidentified", "coverage-info")
# The dose and quantity cards (dosing/*_card.py). Days past a cycle's 28th infusion day: alone, or on the dose card
# whose suggestion ends them too. Kinds of their own, as the two `limits` cards have, for what their suggestions
# correct (reconcile_corrections).
DOSE_KIND = CardKind("dose", "off-guideline")
DAYS_KIND = CardKind("infusion-days", "off-guideline")
DOSE_AND_DAYS_KIND = CardKind("dose-and-infusion-days", "off-guideline")
QUANTITY_KIND = CardKind("quantity-limit", "limits")
DOSE_LIMIT_KIND = CardKind("plan-dose-limit", "limits")
# The label's dose (the copies double it; dosing/duplicates.py) and the label's cycle (dosing/split_card.py): the dose
# cards' topic `off-guideline`, which discovery offers; kinds of their own, so that no other card's suggestion is
# combined with theirs (reconcile.reconcile_corrections).
DUPLICATE_KIND = CardKind("duplicate-order", "off-guideline")
SPLIT_KIND = CardKind("order-per-cycle", "off-guideline")
# In the order a pharmacist meets them: the decision's cards, the dose and days cards, the plan's limits, the cards
# about the order itself.
CARD_KINDS = (DECISION_KIND, NO_PLAN_KIND, FAULT_KIND, UNIDENTIFIED_KIND, DOSE_KIND, DAYS_KIND, DOSE_AND_DAYS_KIND,
              DOSE_LIMIT_KIND, QUANTITY_KIND, DUPLICATE_KIND, SPLIT_KIND)


def kind_card(reference: str, text: CardText, indicator: str, label: str, kind: CardKind) -> dict[str, Any]:
    """`card_text.card_shell`'s card, of `kind`'s topic and naming `kind` in its extension."""
    card = card_shell(reference, text, indicator, label, kind.topic)
    card["extension"][KIND_EXTENSION] = kind.code
    return card


def set_kind(card: dict[str, Any], kind: CardKind) -> None:
    """Make `card` one of `kind` (a dose card whose suggestion now ends the order's days too)."""
    card["source"]["topic"] = kind.topic
    card["extension"][KIND_EXTENSION] = kind.code


def kind_of(card: dict[str, Any]) -> str | None:
    """The card's kind code, None for a card without one."""
    kind = card.get("extension", {}).get(KIND_EXTENSION)
    return kind if isinstance(kind, str) else None
