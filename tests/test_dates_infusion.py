"""A timed dosage line across a change of daylight saving time (facts/order.period_last_day).

A bag hung at 08:00 and taken down at 08:00 covers whole days. Across the autumn change (in Chicago, Nov 1 2026) the
clock time repeats an hour, so the line runs whole days and an hour, whether written in the local offsets ("-05:00"
then "-06:00") or in UTC ("13:00Z" then "14:00Z"); rounded up, that hour had been a day more: a step dose's first
line overlapped the second on day 8 (37 mcg/day, "dose above label"), and a 28-day cycle ran "past day 28".
"""
from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.dates_support import answer, covered, example, order, prefetched, service, summaries  # noqa: F401

Json = dict[str, Any]


def _step_dose(first: tuple[str, str], second: tuple[str, str]) -> Json:
    """Aspirus adult relapsed/refractory cycle 1 (9 mcg/day, then 28), its two lines bounded as given, and its record
    dated before an order starting on Oct 29 (the example's order starts Dec 1)."""
    request = example("aspirus-adult-relapsed-refractory-cycle1")
    prefetched(request, "conditions")["all-1"]["recordedDate"] = "2026-10-10"
    for line, (start, end) in zip(order(request)["dosageInstruction"], (first, second)):
        line["timing"]["repeat"]["boundsPeriod"] = {"start": start, "end": end}
    for resource in prefetched(request, "observations").values():
        if resource["effectiveDateTime"] > "2026-10-29":
            resource["effectiveDateTime"] = "2026-10-20"
    return request


@pytest.mark.parametrize(("first", "second"), [
    # In Chicago's offsets: daylight time before Nov 1, standard time after.
    (("2026-10-29T08:00:00-05:00", "2026-11-05T08:00:00-06:00"),
     ("2026-11-05T08:00:00-06:00", "2026-11-26T08:00:00-06:00")),
    # The same moments in UTC.
    (("2026-10-29T13:00:00Z", "2026-11-05T14:00:00Z"), ("2026-11-05T14:00:00Z", "2026-11-26T14:00:00Z")),
])
def test_a_week_long_bag_across_the_autumn_change_is_days_1_to_7(service: FlaskClient, first: tuple[str, str],
                                                                 second: tuple[str, str]) -> None:
    found = answer(service, _step_dose(first, second))
    # Was "not covered": "Dose above label: 37 mcg/day (lines 1 and 2 together) on day 8 of cycle 1".
    assert covered(found) == "covered", summaries(found)


@pytest.mark.parametrize("end", [
    "2026-11-19T08:00:00-06:00",  # 28 days by the clock, across the autumn change: 28 days and an hour
    "2026-11-19T14:00:00Z",
])
def test_a_28_day_cycle_across_the_autumn_change_ends_on_day_28(service: FlaskClient, end: str) -> None:
    request = _step_dose(("2026-10-22T08:00:00-05:00", "2026-10-29T08:00:00-05:00"),
                         ("2026-10-29T08:00:00-05:00", end))
    found = answer(service, request)
    assert covered(found) == "covered", summaries(found)  # was "not covered as ordered ... infusion past day 28"


def test_more_than_an_hour_past_the_28th_day_is_a_29th_day(service: FlaskClient) -> None:
    request = _step_dose(("2026-10-22T08:00:00-05:00", "2026-10-29T08:00:00-05:00"),
                         ("2026-10-29T08:00:00-05:00", "2026-11-19T08:00:01-06:00"))
    found = answer(service, request)
    assert covered(found) == "not-covered"
    assert "past day 28" in summaries(found)


def test_a_28_day_cycle_across_the_spring_change_ends_on_day_28(service: FlaskClient) -> None:
    """In Chicago, Mar 8 2026: 28 days by the clock are an hour less, which never made a day less."""
    request = _step_dose(("2026-03-01T08:00:00-06:00", "2026-03-08T08:00:00-05:00"),
                         ("2026-03-08T08:00:00-05:00", "2026-03-29T08:00:00-05:00"))
    for resource in prefetched(request, "observations").values():
        resource["effectiveDateTime"] = "2026-02-20"
    prefetched(request, "conditions")["all-1"]["recordedDate"] = "2026-02-10"
    found = answer(service, request)
    assert covered(found) == "covered", summaries(found)
