"""A fully dated prior cycle that ended 13 days before the new one (the label gives 14 days without infusion after
28 infusion days) is a short rest whatever the days of earlier orders dated only to a month or a year, when none of
those may run within 7 days of that cycle's start: the grouping of the cycles from that start on is then the same on
every day they may be (facts/course.py `_dated_cycle_before`). Past course._DAYS_TRIED such days the rest had been
asked for as their full dates ("information needed"), the short rest unsaid."""
from __future__ import annotations

import copy
from typing import Any

from cds_service.card_kinds import kind_of
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import example
from tests.test_pipeline import post

Json = dict[str, Any]
EXAMPLE = "aspirus-adult-relapsed-refractory-cycle1"  # drafted Dec 1-28, 2026
DATED = "MedicationRequest/prior-dated"


def _with_priors(dated: tuple[str, str], partial_ends: int = 5, partial_year: int = 2025) -> Json:
    """The example with a completed 28 mcg/day order of `dated` days, and `partial_ends` completed orders of
    `partial_year` whose ends are recorded as the year alone (about 300 candidate days each)."""
    request = example(EXAMPLE)
    draft = request["context"]["draftOrders"]["entry"][0]["resource"]
    entries = request["prefetch"]["medicationRequests"]["entry"]
    periods = [(f"{partial_year}-{1 + n % 10:02d}-{1 + n % 20:02d}", f"{partial_year}", f"prior-partial-{n}")
               for n in range(partial_ends)]
    for start, end, order_id in [*periods, (*dated, "prior-dated")]:
        earlier = copy.deepcopy(draft) | {"id": order_id, "status": "completed"}
        line = copy.deepcopy(earlier["dosageInstruction"][1])
        line["timing"]["repeat"]["boundsPeriod"] = {"start": start, "end": end}
        earlier["dosageInstruction"] = [line]
        entries.append({"resource": earlier})
    request["prefetch"]["medicationRequests"]["total"] = len(entries)
    return request


def _cards(client: LiveClient, request: Json) -> dict[str, Json]:
    return {kind_of(card) + ("-rest" if "without infusion" in card["summary"] else ""): card
            for card in post(client, request)["cards"]}


def test_a_dated_cycle_ending_13_days_before_is_a_short_rest_beside_many_partial_dates(client: LiveClient) -> None:
    cards = _cards(client, _with_priors(("2026-10-21", "2026-11-17")))  # days off: Nov 18 to 30
    rest = cards["infusion-days-rest"]
    assert rest["summary"] == ("This cycle starts after 13 days without infusion: label gives at least 14 days; "
                               "start on or after 2026-12-02")
    decision = cards["decision"]["extension"]["coverage-decision"]
    [schedule] = [c for c in decision["criteria"] if c["id"].endswith(".dose-schedule")]
    assert schedule["status"] == "not-met"
    assert DATED in schedule["evidence"]
    assert "starts after 13 days without infusion" in schedule["note"]
    assert not any("days without infusion before this cycle depend" in item for item in decision["missing"])


def test_14_days_off_is_no_finding(client: LiveClient) -> None:
    cards = _cards(client, _with_priors(("2026-10-20", "2026-11-16")))
    assert "infusion-days-rest" not in cards


def test_a_partial_order_that_may_run_near_the_dated_cycle_still_asks_for_its_dates(client: LiveClient) -> None:
    """Ends recorded as "2026" may fall within the dated cycle or after it: which cycle came before is not known."""
    cards = _cards(client, _with_priors(("2026-10-21", "2026-11-17"), partial_year=2026))
    assert "infusion-days-rest" not in cards
    decision = cards["decision"]["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed"
