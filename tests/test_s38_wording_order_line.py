"""The decision card's "Order:" line writes every rate in one notation (session 38): a volume per time the EHR wrote
("10 mL/hr") keeps its number, as no dose can be read from it without the bag, but its unit is written as the dose
cards write theirs ("mL/h" beside "mcg/h"); the line had read "1.167 mcg/h; 10 mL/hr"."""
from __future__ import annotations

import pytest

from cds_service.dosing.instruction_text import doses_said
from tests.live_server import LiveClient
from tests.test_s37_dosing_order_line import _order_line_written


def test_an_order_with_a_line_in_ml_per_hour_and_one_in_mcg_per_hour_reads_in_one_notation(
        client: LiveClient) -> None:
    assert _order_line_written(client, "0.375 mcg/hr continuous IV infusion, days 1-7",
                               "run at 10 mL/hr (1.167 mcg/hr), days 8-28") == (
        "Order: 0.375 mcg/h continuous IV infusion, days 1-7; run at 10 mL/h (1.167 mcg/h), days 8-28 — starts "
        "2026-12-01 (MedicationRequest/blinatumomab-order)")


@pytest.mark.parametrize(("text", "said"), [
    ("28 mcg/day at 10 mL/hr", "28 mcg/day at 10 mL/h"),
    ("rate 5 ml per hour", "rate 5 mL/h"),
    ("240 ML/24 hrs", "240 mL/day"),
    ("10mL/hr", "10 mL/h"),
    ("2.5 mL/min", "2.5 mL/min"),  # already in the notation
    ("10 mL/hrly", "10 mL/hrly"),  # no unit of time this reading knows: as written
    ("day 10 mL/hr", "day 10 mL/hr"),  # "day 10" is a day number: never taken for a volume
    ("28 mcg per 240 mL", "28 mcg per 240 mL"),  # a concentration, no rate
])
def test_a_volume_per_time_keeps_its_number_and_takes_the_notation(text: str, said: str) -> None:
    assert doses_said(text) == said
