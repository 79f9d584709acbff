"""Mutation guards (session 37) for the rest check beside many partial dates (facts/course.py `_dated_cycle_before`):
the cycle before is the last of the fully dated cycles, not the first; with no fully dated order the partial ones
still decide (their dates asked for when one may end near this cycle); a dated cycle that one full cycle before it
runs into (within 7 days) is no cycle read alone."""
from __future__ import annotations

import copy
from typing import Any

from cds_service.card_kinds import kind_of
from tests.live_server import LiveClient
from tests.test_pipeline import post
from tests.test_s37_dosing_rest_many_partial import _with_priors

Json = dict[str, Any]
ASKED = "the full date of 5 earlier blinatumomab orders"


def _priors(dated: list[tuple[str, str]], partial_year: int = 2025) -> Json:
    """The example with completed 28 mcg/day orders of the `dated` days (start, end), and five completed orders of
    `partial_year` whose ends are recorded as the year alone (about 300 candidate days each: past
    course._DAYS_TRIED): test_s37_dosing_rest_many_partial's request, its one dated order replaced by these."""
    request = _with_priors(("2026-01-01", "2026-01-28"), partial_year=partial_year)
    entries = request["prefetch"]["medicationRequests"]["entry"]
    model = entries.pop()["resource"]
    for n, (start, end) in enumerate(dated):
        order = copy.deepcopy(model) | {"id": f"prior-dated-{n}"}
        order["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": start, "end": end}
        entries.append({"resource": order})
    request["prefetch"]["medicationRequests"]["total"] = len(entries)
    return request


def _answer(client: LiveClient, request: Json) -> tuple[list[str], Json]:
    """The summaries of the cards, and the decision."""
    cards = post(client, request)["cards"]
    [decision] = [c["extension"]["coverage-decision"] for c in cards if kind_of(c) == "decision"]
    return [card["summary"] for card in cards], decision


def test_the_cycle_before_is_the_last_dated_one_not_the_first(client: LiveClient) -> None:
    """An older dated cycle (July) before the one ending 13 days before this: the short rest is still read."""
    summaries, decision = _answer(client, _priors([("2026-07-01", "2026-07-28"), ("2026-10-21", "2026-11-17")]))
    assert ("This cycle starts after 13 days without infusion: label gives at least 14 days; start on or after "
            "2026-12-02") in summaries
    assert not any(ASKED in item for item in decision.get("missing", []))


def test_without_a_dated_order_a_partial_one_ending_near_asks_for_its_dates(client: LiveClient) -> None:
    _, decision = _answer(client, _priors([], partial_year=2026))
    assert decision["decision"] == "information-needed"
    assert any(ASKED in item for item in decision["missing"])


def test_a_dated_cycle_a_full_cycle_runs_into_is_not_read_alone(client: LiveClient) -> None:
    """A full 28-day cycle (Sep 16 to Oct 13) 7 days before the dated order of Oct 21: that order starts a cycle
    only as the grouping counts it, which an earlier cycle within 7 days of it leaves to the full reading."""
    summaries, decision = _answer(client, _priors([("2026-09-16", "2026-10-13"), ("2026-10-21", "2026-11-17")]))
    assert decision["decision"] == "information-needed"
    assert any(ASKED in item for item in decision["missing"])
    assert not any("starts after 13 days without infusion" in summary for summary in summaries)

