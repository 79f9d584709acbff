"""Dose cards word what to do alike (session 38): "sign again", as every other card says it (the label-maximum cards
had "re-sign"), and units in the notation the cards use ("mcg/h", "mL/h"; the unreadable-dose card had "mcg/hour" and
"mL/hour" above its own "mL/h")."""
from __future__ import annotations

from typing import Any

from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import example
from tests.test_pipeline import post


def _dose_card(client: LiveClient, body: dict[str, Any]) -> dict[str, Any]:
    [dose] = [c for c in post(client, body)["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    return dose


def test_a_dose_above_the_maximum_without_a_weight_says_sign_again(client: LiveClient) -> None:
    detail = _dose_card(client, example("aspirus-relapsed-refractory-no-weight-dose-above-maximum"))["detail"]
    assert detail.endswith("so no corrected dose is suggested: record it and sign again to get one.")
    assert "re-sign" not in detail


def test_a_dose_above_the_label_at_any_height_says_sign_again(client: LiveClient) -> None:
    detail = _dose_card(client, example("florida-blue-child-no-height-dose-above-label-at-any-height"))["detail"]
    assert detail.endswith("Record it and sign again to get the patient's own label dose and a corrected dose.")
    assert "re-sign" not in detail


def test_an_unreadable_dose_names_its_units_as_the_other_cards_do(client: LiveClient) -> None:
    body = example("aspirus-adult-maintenance")
    [line] = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"]
    line["doseAndRate"][0]["rateQuantity"].update(unit="xx", code="xx")
    detail = _dose_card(client, body)["detail"]
    assert ("Write the dose in mcg/day or mcg/h, as a dose in mcg with a frequency and period, or in mcg/m²/day with a "
            "current\nweight and height; a rate in mL/h needs the product's strength in mcg per mL on the order.") in detail
    assert "hour" not in detail
