"""The height's window (fhir-data-profile.md §The patient: "within 12 months (adults) or 30 days (under 18)"), at its
edges: 12 calendar months, whose length in days depends on a Feb 29 within them, and the 18th birthday.

The order is written per m² (Aspirus adult relapsed/refractory), so its dose is read only with a BSA, and a BSA only
with a height: a height in its window gives the dose check ("dose above label"), one outside it a request for a
height ("document height or BSA").
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.dates_support import answer, covered, example, order, prefetched, service, summaries  # noqa: F401

DOSE_CHECKED, SIZE_ASKED = "not-covered", "conditional"  # the dose read per m²; a weight or height asked for
LEAP_SPAN = date(2028, 3, 1)  # its 12 months before hold Feb 29, 2028: 366 days


def _per_m2_order(start: date, height: str, born: str = "1980-05-10", weighed: str = "") -> dict[str, Any]:
    """The example's step dose per m² (7 days, then 21) from `start`, weighed on `weighed` (else 10 days before),
    measured on `height`, relapsed 20 days before."""
    request = example("aspirus-adult-relapsed-refractory-dose-per-m2-too-high")
    request["prefetch"]["patient"]["birthDate"] = born
    first, second = order(request)["dosageInstruction"]
    first["timing"]["repeat"]["boundsPeriod"] = {"start": start.isoformat(), "end": _day(start, 6)}
    second["timing"]["repeat"]["boundsPeriod"] = {"start": _day(start, 7), "end": _day(start, 27)}
    results = prefetched(request, "observations")
    results["height-1"]["effectiveDateTime"] = height
    results["weight-1"]["effectiveDateTime"] = weighed or _day(start, -10)
    prefetched(request, "conditions")["all-1"]["recordedDate"] = _day(start, -20)
    return request


def _day(start: date, days: int) -> str:
    return (start + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(("height", "expected"), [
    ("2027-03-01", DOSE_CHECKED),  # 12 months before 2028-03-01, 366 days: was asked for again
    ("2027-03-01T23:00:00-06:00", DOSE_CHECKED),  # that day, late in Chicago (Mar 2 in UTC)
    ("2027-02-28", SIZE_ASKED),  # a day more
    ("2027-02-28T23:30:00-12:00", SIZE_ASKED),  # that day, in the last zone (Mar 1 in UTC): the day as written
])
def test_an_adults_height_counts_for_12_calendar_months(service: FlaskClient, height: str, expected: str) -> None:
    found = answer(service, _per_m2_order(LEAP_SPAN, height))
    assert covered(found) == expected, summaries(found)


@pytest.mark.parametrize(("born", "expected"), [
    ("2010-03-01", DOSE_CHECKED),  # 18 on the order's start: an adult's 12 months
    ("2010-03-02", SIZE_ASKED),  # 18 the day after: 17, a child's 30 days
    ("2010", SIZE_ASKED),  # 17 or 18: the stricter window
])
def test_the_18th_birthday_on_the_start_gives_the_adult_height_window(service: FlaskClient, born: str,
                                                                     expected: str) -> None:
    found = answer(service, _per_m2_order(LEAP_SPAN, "2028-01-30", born))  # 31 days before the start
    assert covered(found) == expected, summaries(found)


@pytest.mark.parametrize(("born", "expected"), [
    ("2008-02-29", DOSE_CHECKED),  # 18 on Feb 28 of a common year (codes.completed_months)
    ("2008-03-01", SIZE_ASKED),
])
def test_a_patient_born_on_feb_29_is_18_on_feb_28(service: FlaskClient, born: str, expected: str) -> None:
    found = answer(service, _per_m2_order(date(2026, 2, 28), "2026-01-20", born))
    assert covered(found) == expected, summaries(found)


@pytest.mark.parametrize(("weighed", "expected"), [
    ("2026-11-01", DOSE_CHECKED),  # 30 days before the start (2026-12-01)
    ("2026-10-31", SIZE_ASKED),  # 31: no current weight, so no BSA
    ("2026-11-01T00:30:00+14:00", DOSE_CHECKED),  # Nov 1 as written (Oct 31 in UTC)
    ("2026-10-31T23:30:00-06:00", SIZE_ASKED),  # Oct 31 as written (Nov 1 in UTC)
    ("2026-11", DOSE_CHECKED),  # every day of November within the 30 days
    ("2026-10", SIZE_ASKED),
])
def test_the_weight_counts_for_30_days_before_the_start(service: FlaskClient, weighed: str, expected: str) -> None:
    found = answer(service, _per_m2_order(date(2026, 12, 1), "2026-11-20", weighed=weighed))
    assert covered(found) == expected, summaries(found)
