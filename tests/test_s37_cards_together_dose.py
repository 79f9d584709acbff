"""The dose card of a per-m² order signed beside another order whose line on the same days cannot be read
(tests/test_s37_dosing_together_bsa.py builds the call). The decision card's note named the other order's line, but
the dose card said only "dosage line 2 could not be read", and its detail offered mcg/m²/day "with a current weight and
height", as if a height would let the dose be checked: on those days the label is compared with the two orders' sum.
The card now says the other order's dose, briefly in the summary and with its line and days in the detail."""
from __future__ import annotations

from typing import Any

from cds_service.card_kinds import kind_of
from tests.live_server import LiveClient
from tests.test_cycles_signed_together import by_order
from tests.test_pipeline import post
from tests.test_s37_dosing_together_bsa import PER_M2, PUMP, _signed_with_a_pump_order

Json = dict[str, Any]
OTHER_LINE = f"order {PUMP} line 1: volume (mL/h) without a concentration"


def _dose_card(client: LiveClient, body: Json, order_id: str) -> Json:
    [card] = [card for card in by_order(post(client, body))[order_id] if kind_of(card) == "dose"]
    return card


def test_the_per_m2_orders_dose_card_says_the_other_orders_dose_is_not_read(client: LiveClient) -> None:
    card = _dose_card(client, _signed_with_a_pump_order(), PER_M2)
    assert card["summary"] == ("Dose not checked: dosage line 2 could not be read, nor another order's dose on the "
                               "same days; write the doses in mcg/day")
    assert len(card["summary"]) < 140
    assert f"- Another order being signed, on days 1–7: {OTHER_LINE}" in card["detail"]
    assert "On days 1–7 the two orders' doses add up, and their sum is compared with the label" in card["detail"]


def test_the_pump_orders_own_card_and_an_order_alone_say_no_other_order(client: LiveClient) -> None:
    """The pump order's line is its own (its card names it as line 1); without the pump order, the per-m² order's
    card (the per-m² card asking for a height) names no other order."""
    body = _signed_with_a_pump_order()
    pump = _dose_card(client, body, PUMP)
    assert pump["summary"] == "Dose not checked: dosage line 1 could not be read; write the dose in mcg/day"
    del body["context"]["draftOrders"]["entry"][1]
    alone = _dose_card(client, body, PER_M2)
    assert "another order" not in alone["summary"].lower()
    assert "Another order being signed" not in alone["detail"]
