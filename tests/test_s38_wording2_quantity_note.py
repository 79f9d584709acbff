"""The quantity criterion's note names vials first, as the quantity card does (session 38, second wording review): the
note had said "1400 mcg (40 vials)" beside a card saying "40 vials (1400 mcg)". Vials are what the pharmacy dispenses
and what the plan limits."""
from __future__ import annotations

from tests.live_server import LiveClient
from tests.test_pipeline import example, post
from tests.test_s36_cards_coverage_reason import _reason


def test_the_note_the_card_and_the_reason_say_vials_then_mcg(client: LiveClient) -> None:
    answer = post(client, example("aspirus-quantity-over-limit"))
    decision, *_ = answer["cards"]
    [quantity] = [c for c in decision["extension"]["coverage-decision"]["criteria"] if c["id"] == "quantity"]
    assert quantity["note"] == "40 vials (1400 mcg), supply 42 days; limit 980 mcg per 42 days"
    [card] = [c for c in answer["cards"] if c["summary"].startswith("Quantity above plan limit")]
    assert "40 vials (1400 mcg)" in card["summary"]
    assert "— 40 vials (1400 mcg), supply 42 days" in _reason(answer)


def test_vials_rounded_up_say_so_after_the_mcg(client: LiveClient) -> None:
    body = example("aspirus-quantity-over-limit")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["dispenseRequest"]["quantity"] = {"value": 1200, "unit": "mcg", "system": "http://unitsofmeasure.org",
                                            "code": "ug"}
    [quantity] = [c for c in post(client, body)["cards"][0]["extension"]["coverage-decision"]["criteria"]
                  if c["id"] == "quantity"]
    assert quantity["note"].startswith("35 vials (1200 mcg, rounded up to whole vials of 35 mcg), supply 42 days")
