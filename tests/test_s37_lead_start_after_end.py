"""An earlier order whose start is recorded as a month alone and whose end is a full date cannot have started after
that end (facts/course.py `_later_spans`): its candidate starts stop at the end, so the rest it leaves before this
cycle is read from that end. Each later day had been a one-day span, and the days without infusion were asked for."""
from __future__ import annotations

import copy
from typing import Any

from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import example
from tests.test_s37_dosing_rest_many_partial import EXAMPLE, _cards

Json = dict[str, Any]


def _with_prior(start: str, end: str) -> Json:
    """The example (drafted Dec 1-28, 2026) with a completed 28 mcg/day order of `start` to `end`."""
    request = example(EXAMPLE)
    draft = request["context"]["draftOrders"]["entry"][0]["resource"]
    earlier = copy.deepcopy(draft) | {"id": "prior-month-start", "status": "completed"}
    line = copy.deepcopy(earlier["dosageInstruction"][1])
    line["timing"]["repeat"]["boundsPeriod"] = {"start": start, "end": end}
    earlier["dosageInstruction"] = [line]
    entries = request["prefetch"]["medicationRequests"]["entry"]
    entries.append({"resource": earlier})
    request["prefetch"]["medicationRequests"]["total"] = len(entries)
    return request


def _asked(decision: Json) -> list[str]:
    return [item for item in decision.get("missing", []) if "without infusion" in item or "full date" in item]


def test_a_month_start_with_a_full_end_14_days_before_is_no_finding(client: LiveClient) -> None:
    cards = _cards(client, _with_prior("2026-11", "2026-11-16"))  # days off: Nov 17 to 30
    assert "infusion-days-rest" not in cards
    assert _asked(cards["decision"]["extension"]["coverage-decision"]) == []


def test_a_month_start_with_a_full_end_13_days_before_asks_no_date(client: LiveClient) -> None:
    """Started on any day of November up to its end (Nov 17), the order ran 17 days at most: never a full cycle, so
    no start it may have had changes the answer, and none is asked for."""
    cards = _cards(client, _with_prior("2026-11", "2026-11-17"))
    assert _asked(cards["decision"]["extension"]["coverage-decision"]) == []
