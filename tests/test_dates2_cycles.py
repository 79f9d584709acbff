"""Earlier blinatumomab orders whose start is recorded only to a month or a year (facts/course.py): counted from
the month's first day and from its last, where the two give different cycle numbers the number is unknown and the
card asks for the order's full date; where they agree, nothing is asked.

Aspirus relapsed/refractory cycle 6 from 2026-12-01, cycles 1-5 on record (cycle 5: 2026-06-22 to 07-19).
"""
from __future__ import annotations

import copy
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.dates_support import added, answer, covered, example, prefetched, service, summaries  # noqa: F401

Json = dict[str, Any]


def _renewal(period: Json, order: str = "prior-extra") -> Json:
    """The example with `order` dated by `period`: cycle 5's order, or a one-day order added after it."""
    request = example("aspirus-relapsed-refractory-cycle6-renewal")
    orders = prefetched(request, "medicationRequests")
    if order not in orders:
        extra = copy.deepcopy(orders["prior-cycle-5"]) | {"id": order}
        del extra["authoredOn"]
        added(request, "medicationRequests", extra)
        orders = prefetched(request, "medicationRequests")
    orders[order]["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = period
    return request


@pytest.mark.parametrize(("period", "order", "asked"), [
    # One day of November: Nov 1-22, a cycle of its own (this order cycle 7); Nov 23-30, within 7 days of Dec 1
    # (this order continues it, cycle 6). Was read as Nov 1: cycle 7, approved as a renewal.
    ({"start": "2026-11"}, "prior-extra", True),
    ({"start": "2026-10"}, "prior-extra", False),  # every day of October: cycle 6 then, this order cycle 7
    ({"start": "2026-12"}, "prior-extra", False),  # no day of December is before this order's start
    # Cycle 5 from some day of June: from Jun 1 it joins cycle 4 (ended Jun 7, 21 infusion days by Jun 1).
    ({"start": "2026-06", "end": "2026-07-19"}, "prior-cycle-5", True),
    ({"start": "2026-07", "end": "2026-07-19"}, "prior-cycle-5", False),  # July: a cycle of its own, either way
])
def test_an_earlier_order_dated_to_a_month_is_asked_for_where_its_day_changes_the_cycle(
        service: FlaskClient, period: Json, order: str, asked: bool) -> None:
    found = answer(service, _renewal(period, order))
    assert ("the full date of the blinatumomab order started 2026-" in summaries(found)) is asked, summaries(found)
    assert "MedicationRequest/" not in summaries(found)
    detail = found["cards"][0]["detail"]
    assert (f"order started 2026-{period['start'][5:]} (MedicationRequest/{order})" in detail) is asked
    assert (covered(found) == "conditional") is asked, summaries(found)


def test_the_note_says_which_cycles_the_day_decides_between(service: FlaskClient) -> None:
    detail = answer(service, _renewal({"start": "2026-11"}))["cards"][0]["detail"]
    assert "cycle 7 or 6 by the day MedicationRequest/prior-extra started (recorded only to a month or a year)" in \
        detail, detail
