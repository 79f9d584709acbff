"""Worst-case cost within the contract's limits (a 10 MB body): what a request may hold a worker for, counted in the
work done, not timed (bench/ measures speed), through HTTP."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from cds_service.facts import course
from tests.live_server import LiveClient
from tests.test_pipeline import example, post

_ORDERS = 300


def _earlier_orders_dated(bounds: dict[str, str], authored: str) -> dict[str, Any]:
    """The cycle-6 renewal request, its earlier orders replaced by _ORDERS copies of its first, each with these
    boundsPeriod dates and authoredOn."""
    body = example("aspirus-relapsed-refractory-cycle6-renewal")
    [earlier, *_] = body["prefetch"]["medicationRequests"]["entry"]
    earlier["resource"]["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"].update(bounds)
    earlier["resource"]["authoredOn"] = authored
    copies = [copy.deepcopy(earlier) for _ in range(_ORDERS)]
    for number, entry in enumerate(copies):
        entry["resource"]["id"], entry["fullUrl"] = f"earlier-{number}", f"urn:uuid:earlier-{number}"
    body["prefetch"]["medicationRequests"]["entry"] = copies
    return body


@pytest.mark.parametrize("bounds", [{"start": "2025"}, {"start": "2025-01"}, {"end": "2026"}],
                         ids=["start a year", "start a month", "end a year"])
def test_earlier_orders_dated_to_a_year_are_not_read_on_each_day_it_may_be(
        client: LiveClient, monkeypatch: pytest.MonkeyPatch, bounds: dict[str, str]) -> None:
    """Each earlier order whose start (or end) is a year alone had its span read on each of the 365 days it may be,
    though past course._DAYS_TRIED days in all only how many they are and the latest day they reach are read: 0.45 ms
    an order, 12 s for the orders a 10 MB body holds, and 30 s kills a worker. Those spans are read when counted."""
    built: list[int] = []
    span = course.OrderSpan
    monkeypatch.setattr(course, "OrderSpan", lambda *args: built.append(1) or span(*args))
    answer = post(client, _earlier_orders_dated(bounds, bounds.get("start", "2026-01-05")))
    [card] = [card for card in answer["cards"] if "full date" in card["summary"]]
    assert f"{_ORDERS} earlier blinatumomab orders" in card["summary"]  # past _DAYS_TRIED: their full dates asked for
    assert len(built) < 10 * _ORDERS  # a few spans an order, not one for each day its date may be
