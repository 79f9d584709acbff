"""The request's `davinci-crd.configuration` (Da Vinci CRD): which card types to return and how many."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DECISION_EXTENSION = "coverage-decision"  # only a payer decision carries it; "no supported plan" is coverage-info too
_SEVERITY = {"critical": 0, "warning": 1, "info": 2}
DEFAULT_MAX_CARDS = 10  # the default discovery announces for max-cards


@dataclass(frozen=True)
class CardConfig:
    disabled: frozenset[str] = field(default_factory=frozenset)  # card types set to false
    max_cards: int = DEFAULT_MAX_CARDS
    unsolicited_determ: bool = True

    @classmethod
    def from_request(cls, configuration: dict[str, Any]) -> "CardConfig":
        """Unknown settings and settings of the wrong type are ignored, as CRD asks of services."""
        if not configuration:  # the usual request sets nothing: the defaults, made once (a CardConfig is frozen)
            return _DEFAULTS
        disabled = frozenset(k for k, v in configuration.items() if v is False and k != "unsolicited-determ")
        max_cards = configuration.get("max-cards")
        if not isinstance(max_cards, int) or isinstance(max_cards, bool) or max_cards < 0:
            max_cards = DEFAULT_MAX_CARDS
        return cls(disabled, max_cards, configuration.get("unsolicited-determ") is not False)

    def wants(self, card_type: str) -> bool:
        return card_type not in self.disabled

    def limit(self, cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Decision cards first, then the others by severity (a dose warning before a "no supported plan" note),
        each in their order; at most max-cards."""
        ordered = sorted(cards, key=lambda c: (_is_not_decision(c), _SEVERITY.get(str(c.get("indicator")), 3)))
        return ordered[: self.max_cards]


_DEFAULTS = CardConfig()


def _is_not_decision(card: dict[str, Any]) -> bool:
    return DECISION_EXTENSION not in (card.get("extension") or {})
