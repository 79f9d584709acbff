"""Mutation guards (session 37, second pass) for the rest check beside many partial dates (facts/course.py
`_dated_cycle_before`), each beside the five year-only ends of 2025 of test_s37_dosing_rest_many_partial (past
course._DAYS_TRIED):
- a partial-date order whose latest end leaves exactly 7 days without infusion before the dated cycle may be part of
  that cycle (the rest is asked for); one leaving 8 days may not (the dated cycle is read);
- the dated cycle starts on its earliest order's first day, not on that of the order that ends first;
- a cycle signed earlier in the same call is the dated cycle before the next one signed with it."""
from __future__ import annotations

from typing import Any

from tests.live_server import LiveClient
from tests.test_cycles_signed_together import by_order, criterion, decision, with_cycle_2, with_weight_on
from tests.test_pipeline import post
from tests.test_s37_mut_rest_many_partial import _answer, _priors

Json = dict[str, Any]
DEPENDS = "the days without infusion before this cycle depend"
# Oct 5 to "2026-10": ended Oct 31 (27 infusion days), 7 days without infusion before Nov 8.
ENDED_IN_OCTOBER = ("2026-10-05", "2026-10")


def _schedule_note(found: Json) -> str:
    return str(criterion(found, ".dose-schedule")["note"])


def _short_rest(days: int, earliest: str) -> str:
    return f"tarts after {days} days without infusion: label gives at least 14 days; start on or after {earliest}"


def test_a_partial_end_7_days_before_the_dated_cycle_leaves_the_rest_unknown(client: LiveClient) -> None:
    """Ended Oct 31, the order of Nov 8-20 continues its cycle (7 days off): a full cycle, 10 days before Dec 1. Ended
    earlier in October, that order begins a cycle of its own, interrupted: no rest owed. Which is not known."""
    summaries, found = _answer(client, _priors([ENDED_IN_OCTOBER, ("2026-11-08", "2026-11-20")]))
    assert _schedule_note(found).startswith(DEPENDS)
    assert not any(_short_rest(10, "2026-12-05") in summary for summary in summaries)


def test_a_partial_end_8_days_before_the_dated_cycle_leaves_it_read(client: LiveClient) -> None:
    """Sep 10 to "2026-09": ended Sep 30 at the latest, 8 days without infusion before the full cycle of Oct 9 to
    Nov 17, which starts anew on every day it may end: 13 days before Dec 1, a short rest."""
    summaries, found = _answer(client, _priors([("2026-09-10", "2026-09"), ("2026-10-09", "2026-11-17")]))
    assert any(_short_rest(13, "2026-12-02") in summary for summary in summaries)
    assert criterion(found, ".dose-schedule")["status"] == "not-met"
    assert DEPENDS not in _schedule_note(found)


def test_the_dated_cycle_starts_with_its_earliest_order_not_the_one_ending_first(client: LiveClient) -> None:
    """Nov 8-20 and, within it, Nov 9-12: the cycle starts Nov 8, 7 days after the partial end of Oct 31 (the rest not
    known, as above), not Nov 9 (8 days, the cycle read alone)."""
    dated = [ENDED_IN_OCTOBER, ("2026-11-08", "2026-11-20"), ("2026-11-09", "2026-11-12")]
    summaries, found = _answer(client, _priors(dated))
    assert _schedule_note(found).startswith(DEPENDS)
    assert not any(_short_rest(10, "2026-12-05") in summary for summary in summaries)


def test_a_cycle_signed_in_the_same_call_is_the_dated_cycle_before(client: LiveClient) -> None:
    """Cycle 1 (Dec 1-28) and cycle 2 (from Jan 11, 13 days off) signed together, after an order of Nov 5-20 that the
    partial end of Oct 31 may run into: cycle 1 starts anew on every day that end may be, so cycle 2's short rest is
    read. Without cycle 1 the last dated cycle is Nov 5-20, which the partial order may run into, and Nov 20 is within
    56 days of Jan 11: the rest had been asked for."""
    body = with_weight_on(with_cycle_2(days=("2027-01-11", "2027-02-07")), "2027-01-05")
    priors = _priors([("2026-10-10", "2026-10"), ("2026-11-05", "2026-11-20")])
    body["prefetch"]["medicationRequests"] = priors["prefetch"]["medicationRequests"]
    cards = by_order(post(client, body))["cycle-2-order"]
    assert any(_short_rest(13, "2027-01-12") in card["summary"] for card in cards)
    assert DEPENDS not in _schedule_note(decision(cards))
