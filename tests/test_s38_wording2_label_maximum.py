"""The label-maximum card's summary says the dose ordered first, then the label's maximum, as "Dose above label: X ...;
label is Y" does (session 38, second wording review): it had opened "Dose above label maximum (9 mcg/day): 28
mcg/day ...", the label's value before the dose. Its other days above, when they fit, come after, as there."""
from __future__ import annotations

import copy
from typing import Any

from cds_service.card_text import SUMMARY_LIMIT
from tests.live_server import LiveClient
from tests.test_pipeline import example, post

EXAMPLE = "aspirus-relapsed-refractory-no-weight-dose-above-maximum"


def _dose_summary(client: LiveClient, body: dict[str, Any]) -> str:
    [card] = [c for c in post(client, body)["cards"] if c["summary"].startswith("Dose above label maximum")]
    return str(card["summary"])


def _with_step(body: dict[str, Any], later: int) -> dict[str, Any]:
    """The example's 28 mcg/day on days 1–7, then `later` mcg/day on days 8–28: above the maximum on both."""
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    first = order["dosageInstruction"][0]
    first["timing"]["repeat"]["boundsPeriod"]["end"] = "2026-12-07"
    second = copy.deepcopy(first)
    second["text"] = f"{later} ug/d continuous IV infusion"
    second["doseAndRate"][0]["rateQuantity"]["value"] = later
    second["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-12-08", "end": "2026-12-28"}
    order["dosageInstruction"].append(second)
    return body


def test_the_dose_ordered_comes_before_the_label_maximum(client: LiveClient) -> None:
    assert _dose_summary(client, example(EXAMPLE)) == (
        "Dose above label maximum: 28 mcg/day on days 1–7; label maximum is 9 mcg/day; record a weight")


def test_the_other_days_above_follow_the_label_maximum(client: LiveClient) -> None:
    summary = _dose_summary(client, _with_step(example(EXAMPLE), 56))
    assert summary == ("Dose above label maximum: 28 mcg/day on days 1–7; label maximum is 9 mcg/day; also above on "
                       "days 8–28; record a weight")
    assert len(summary) < SUMMARY_LIMIT
