"""The quantity card when the cycle number is not known (tests/test_s37_dosing_quantity_window.py builds the call):
a quantity over even cycles 1-5's limit is not met whatever the cycle, and its card states that limit, 56 vials for
an 84-day supply. Read by a pharmacist who knows Aspirus II, it looked misapplied to a cycle 6 on (28 vials per 84
days): the card now says the cycle number is not known and the later cycles' window. With the number known, as
before."""
from __future__ import annotations

import copy
from typing import Any

from cds_service.card_kinds import kind_of
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import example
from tests.test_pipeline import post

Json = dict[str, Any]
UNKNOWN = ("The cycle number is not known: this is the limit of cycles 1–5; from cycle\n6 on the same 28 vials are "
           "for 84 days.")


def _quantity_card(client: LiveClient, number_known: bool) -> Json:
    """The quantity card of 57 vials for an 84-day supply; without `number_known`, an earlier order whose drug is
    not identified leaves the cycle number unknown."""
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    draft["dispenseRequest"]["quantity"]["value"] = 57
    draft["dispenseRequest"]["expectedSupplyDuration"]["value"] = 84
    if not number_known:
        earlier = copy.deepcopy(draft) | {"id": "unidentified", "status": "completed"}
        del earlier["medicationCodeableConcept"]
        earlier["medicationReference"] = {"reference": "Medication/not-sent"}
        earlier["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-06-01",
                                                                              "end": "2026-06-28"}
        body["prefetch"]["medicationRequests"]["entry"].append({"resource": earlier})
        body["prefetch"]["medicationRequests"]["total"] = 1
    [card] = [card for card in post(client, body)["cards"] if kind_of(card) == "quantity-limit"]
    return card


def test_without_the_cycle_number_the_card_says_whose_limit_it_states(client: LiveClient) -> None:
    card = _quantity_card(client, number_known=False)
    assert card["summary"] == ("Quantity above plan limit: 57 vials (1995 mcg); limit is 56 vials (1960 mcg) for the "
                               "84-day supply")
    assert UNKNOWN in card["detail"]
    assert card["suggestions"][0]["label"] == "Change quantity to 28 vials"  # within any cycle's limit


def test_with_the_cycle_number_known_nothing_is_added(client: LiveClient) -> None:
    card = _quantity_card(client, number_known=True)
    assert "in cycle 1" in card["summary"]
    assert "cycle number is not known" not in card["detail"]
