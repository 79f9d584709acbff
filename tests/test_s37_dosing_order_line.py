"""The decision card's "Order:" line says the order's doses in the units the dose cards use ("9 mcg/day",
"15 mcg/m²/day"), not the chart's UCUM codes ("9 ug/d", "15 ug/m2/d"): a clinician reads the two cards together, and
"ug/d" beside "mcg/day" read as two doses. Only a dose the text states as a mass per time is reworded
(`instruction_text.doses_said`, with the dose reading's units); the rest of the text, a volume, day numbers and a
unit the reading does not know stay as written, and so does the chart's text the criteria's evidence quotes."""
from __future__ import annotations

from typing import Any

import pytest

from cds_service.dosing.instruction_text import doses_said
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import example
from tests.test_pipeline import post

Json = dict[str, Any]


def _cards(client: LiveClient, body: Json) -> dict[str, Json]:
    """The cards of a one-order answer, by kind."""
    return {card["extension"]["card-kind"]: card for card in post(client, body)["cards"]}


def _order_line(card: Json) -> str:
    [line] = [line for line in card["detail"].splitlines() if line.startswith("Order: ")]
    return line


def _order_line_written(client: LiveClient, *texts: str) -> str:
    """The decision card's "Order:" line for the relapsed/refractory cycle 1 order, its dosage lines' texts `texts`."""
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    for line, text in zip(body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"], texts):
        line["text"] = text
    return _order_line(_cards(client, body)["decision"])


def test_the_order_line_says_a_dose_per_m2_as_the_dose_card_does(client: LiveClient) -> None:
    cards = _cards(client, example("aspirus-adult-relapsed-refractory-dose-per-m2-too-high"))
    assert _order_line(cards["decision"]) == (
        "Order: 5 mcg/m²/day continuous IV infusion; 15 mcg/m²/day continuous IV infusion — starts 2026-12-01 "
        "(MedicationRequest/blinatumomab-order)")
    assert "5 mcg/m²/day (9.95 mcg/day) on days 1–7" in cards["dose"]["summary"]
    assert "ug/m2/d" not in cards["decision"]["detail"]


def test_a_rate_per_hour_and_a_volume_keep_their_own_numbers(client: LiveClient) -> None:
    assert _order_line_written(client, "0.375 mcg/hr (9 ug/d) at 10 mL/hr, days 1-7",
                               "28 UG/D continuous IV infusion") == (
        "Order: 0.375 mcg/h (9 mcg/day) at 10 mL/h, days 1-7; 28 mcg/day continuous IV infusion — starts "
        "2026-12-01 (MedicationRequest/blinatumomab-order)")


@pytest.mark.parametrize("text, said", [
    ("15 ug/(m2.d) x 28 days", "15 mcg/m²/day x 28 days"),
    ("0.028 mg per day", "0.028 mg/day"),
    ("28ug/d IV", "28 mcg/day IV"),
    ("28 mcg/24 h", "28 mcg/day"),
    ("2 ug/dose", "2 ug/dose"),  # no rate: as written
    ("28 mcg/day, days 1-28", "28 mcg/day, days 1-28"),
    ("10 mL/hr of 28 mcg per 240 mL", "10 mL/h of 28 mcg per 240 mL"),  # the volume's unit as a dose's
    ("28 mcg/fortnight", "28 mcg/fortnight"),  # a unit the reading does not read
])
def test_only_doses_stated_as_a_mass_per_time_are_reworded(text: str, said: str) -> None:
    assert doses_said(text) == said
