"""The decision card's "Order:" line says every dosage line (session 38, second wording review): a line without a
text was left out, so that "9 mcg/day continuous IV infusion" read as the whole order of days 1–7 and 8–28. A line
without a text is said as the dose cards read it, marked as such; one whose dose could not be read says so."""
from __future__ import annotations

from typing import Any

import pytest

from tests.live_server import LiveClient
from tests.test_pipeline import example
from tests.test_s37_dosing_order_line import _cards, _order_line

ORDER = "MedicationRequest/blinatumomab-order"


def _decision_order_line(client: LiveClient, body: dict[str, Any]) -> str:
    return _order_line(_cards(client, body)["decision"])


def _without_text(index: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The relapsed/refractory cycle 1 order (9 mcg/day on days 1–7, 28 on days 8–28), line `index` without its
    text; and that line."""
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    line: dict[str, Any] = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][index]
    del line["text"]
    return body, line


@pytest.mark.parametrize(("index", "said"), [
    (1, "9 mcg/day continuous IV infusion; 28 mcg/day on days 8–28 (line 2, no text)"),
    (0, "9 mcg/day on days 1–7 (line 1, no text); 28 mcg/day continuous IV infusion"),
])
def test_a_line_without_text_is_said_in_its_place_by_its_dose_and_days(client: LiveClient, index: int,
                                                                        said: str) -> None:
    body, _ = _without_text(index)
    assert _decision_order_line(client, body) == f"Order: {said} — starts 2026-12-01 ({ORDER})"


def test_a_line_without_text_or_a_readable_dose_is_still_counted(client: LiveClient) -> None:
    body, line = _without_text(1)
    line["doseAndRate"][0]["rateQuantity"] = {"value": 10, "unit": "mL/h", "system": "http://unitsofmeasure.org",
                                              "code": "mL/h"}
    assert _decision_order_line(client, body) == (
        f"Order: 9 mcg/day continuous IV infusion; dose not read (line 2, no text) — starts 2026-12-01 ({ORDER})")
