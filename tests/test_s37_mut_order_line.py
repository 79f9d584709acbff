"""Mutation guards (session 37) for the decision card's "Order:" line (`instruction_text.doses_said`): "per" in
capitals is read as "/" as in lower case, a number of a day statement is never reworded as a dose, and the text
around the doses stays as written, its spaces too."""
from __future__ import annotations

import pytest

from cds_service.dosing.instruction_text import doses_said
from tests.live_server import LiveClient
from tests.test_s37_dosing_order_line import _order_line_written


def test_per_in_capitals_is_reworded_on_the_order_line(client: LiveClient) -> None:
    assert _order_line_written(client, "9 ug PER d, days 1-7", "28 ug Per Day continuous IV infusion") == (
        "Order: 9 mcg/day, days 1-7; 28 mcg/day continuous IV infusion — starts 2026-12-01 "
        "(MedicationRequest/blinatumomab-order)")


@pytest.mark.parametrize(("text", "said"), [
    ("restart day 28 ug/d", "restart day 28 ug/d"),  # "day 28": a day number, not a dose of 28
    ("stop on day 9 mcg/hr", "stop on day 9 mcg/hr"),
    (" 9 ug/d IV ", " 9 mcg/day IV "),  # the spaces around the dose as written
])
def test_day_numbers_and_the_rest_of_the_text_stay_as_written(text: str, said: str) -> None:
    assert doses_said(text) == said
