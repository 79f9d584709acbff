"""The duplicate card (dosing/duplicates.py): typed as the dose cards discovery offers, so that an EHR turning dose
cards off turns it off too, and each delete action described. Mutants of dosing/duplicates.py that the other tests
let live (they find the card by its kind)."""
from __future__ import annotations

from cds_service.card_text import CARD_TYPE_SYSTEM
from cds_service.discovery import CONFIGURATION_OPTIONS
from cds_service.dosing.duplicates import duplicate_card, duplicate_sets
from tests.test_dosing_support import line, order, rate
from tests.test_duplicate_orders import lines_of


def test_the_duplicate_card_is_typed_as_the_dose_cards_discovery_offers() -> None:
    pair = [order(line(rate(28), "2026-12-01", "2026-12-28"), id=f"o{i}") for i in range(2)]
    [found] = duplicate_sets(pair, lines_of(pair), frozenset(map(id, pair)))
    topic = duplicate_card(found, "Florida Blue")["source"]["topic"]
    assert (topic["system"], topic["code"]) == (CARD_TYPE_SYSTEM, "off-guideline")
    assert topic["code"] in {option["code"] for option in CONFIGURATION_OPTIONS}


def test_each_delete_action_says_what_it_removes() -> None:
    pair = [order(line(rate(28), "2026-12-01", "2026-12-28"), id=f"o{i}") for i in range(2)]
    [found] = duplicate_sets(pair, lines_of(pair), frozenset(map(id, pair)))
    [action] = duplicate_card(found, "Florida Blue")["suggestions"][0]["actions"]
    assert action["type"] == "delete" and action["resourceId"] == "MedicationRequest/o1" and action["description"]
