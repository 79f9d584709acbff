"""The windows the service compares dates with, one day inside and one outside each edge, with offsets that move the
instant across midnight (the day as written counts: fhir-data-profile.md is silent, docs/data-requirements.md
§Dates) and partial dates that straddle an edge (unknown, never a decision).

- the live-vaccine window (Aspirus U1: 14 days before the course start through 28 days after the order's start);
- the Coverage period (in force on the order's start);
- the authorization's end (Florida Blue: 6 calendar months from the order's start, a month end kept at its month's);
- the renewal answers (Aspirus IV: from 30 days before the previous cycle's start).
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.dates_support import answer, covered, example, prefetched, service, summaries  # noqa: F401

Json = dict[str, Any]
CRITICAL, CLEAR, ASKED = "not-covered", "covered", "conditional"


@pytest.mark.parametrize(("given", "expected"), [
    ("2026-11-17", CRITICAL),  # 14 days before the course start (2026-12-01): the window's first day
    ("2026-11-16", CLEAR),
    ("2026-11-16T23:30:00-06:00", CLEAR),  # Nov 16 as written (Nov 17 in UTC)
    ("2026-11-17T00:30:00+14:00", CRITICAL),  # Nov 17 as written (Nov 16 in UTC)
    ("2026-12-29", CRITICAL),  # 28 days after the order's start: the window's last day
    ("2026-12-30", CLEAR),
    ("2026-11", ASKED),  # Nov 1-16 outside, 17-30 inside
    ("2026-12", ASKED),  # Dec 1-29 inside, 30-31 outside
    ("2026-10", CLEAR),
    ("2026", ASKED),
])
def test_a_live_vaccine_at_the_edges_of_the_window(service: FlaskClient, given: str, expected: str) -> None:
    request = example("aspirus-live-vaccine-critical")
    prefetched(request, "immunizations")["mmr-1"]["occurrenceDateTime"] = given
    found = answer(service, request)
    assert covered(found) == expected, summaries(found)


@pytest.mark.parametrize(("period", "in_force"), [
    ({"start": "2026-01-01", "end": "2026-12-01"}, True),  # ends on the order's start (2026-12-01)
    ({"start": "2026-01-01", "end": "2026-11-30"}, False),
    ({"start": "2026-01-01", "end": "2026-11"}, False),  # to Nov 30
    ({"start": "2026-01-01", "end": "2026-12"}, True),  # to Dec 31
    ({"start": "2026-12-01"}, True),
    ({"start": "2026-12-02"}, False),
    ({"start": "2026-12-01T23:00:00-06:00"}, True),  # Dec 1 as written (Dec 2 in UTC)
    ({"start": "2026-12-02T00:30:00+14:00"}, False),  # Dec 2 as written (Dec 1 in UTC)
])
def test_a_coverage_in_force_on_the_orders_start(service: FlaskClient, period: Json, in_force: bool) -> None:
    request = example("aspirus-adult-relapsed-refractory-cycle1")
    prefetched(request, "coverage")["coverage-1"]["period"] = period
    found = answer(service, request)
    assert ("coverage not checked" not in summaries(found)) is in_force, summaries(found)


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _shifted(node: Any, days: int) -> Any:
    """Every date of a request `days` later (a date-time keeps its time)."""
    if isinstance(node, dict):
        return {key: _shifted(value, days) for key, value in node.items()}
    if isinstance(node, list):
        return [_shifted(value, days) for value in node]
    if isinstance(node, str) and _DAY.match(node):
        return (date.fromisoformat(node[:10]) + timedelta(days=days)).isoformat() + node[10:]
    return node


@pytest.mark.parametrize(("start", "end"), [
    (date(2026, 8, 31), "2027-02-28"),  # Feb 28 of a common year
    (date(2027, 8, 31), "2028-02-29"),  # of a leap year
    (date(2026, 7, 31), "2027-01-31"),
    (date(2027, 2, 28), "2027-08-28"),  # a month end is not carried to the next month's end
])
def test_the_florida_blue_authorization_ends_six_calendar_months_after_the_start(service: FlaskClient, start: date,
                                                                                 end: str) -> None:
    request = _shifted(example("florida-blue-relapsed-refractory-ph-negative"), (start - date(2026, 12, 1)).days)
    found = answer(service, request)
    assert covered(found) == "covered" and f"approved to {end}" in summaries(found), summaries(found)


@pytest.mark.parametrize(("authored", "counted"), [
    ("2026-05-23", True),  # 30 days before the previous cycle's start (cycle 5, 2026-06-22)
    ("2026-05-22", False),
    ("2026-05-22T23:30:00-06:00", False),  # May 22 as written (May 23 in UTC)
    ("2026-05-23T00:30:00+14:00", True),  # May 23 as written (May 22 in UTC)
])
def test_a_renewal_answer_counts_from_30_days_before_the_previous_cycles_start(service: FlaskClient, authored: str,
                                                                               counted: bool) -> None:
    request = example("aspirus-relapsed-refractory-cycle6-renewal")  # cycle 6, from 2026-12-01
    prefetched(request, "attestations")["attestation-1"]["authored"] = authored
    found = answer(service, request)
    assert covered(found) == ("covered" if counted else "conditional"), summaries(found)
    assert ("a current answer on response or stable disease" in summaries(found)) is not counted


def test_a_renewal_answer_dated_only_to_the_month_the_window_opens_in_is_asked_with_its_full_date(
        service: FlaskClient) -> None:
    """May 1-22 are outside the window (from May 23), May 23-31 inside: it may or may not be current."""
    request = example("aspirus-relapsed-refractory-cycle6-renewal")
    prefetched(request, "attestations")["attestation-1"]["authored"] = "2026-05"
    found = answer(service, request)
    assert covered(found) == "conditional", summaries(found)
    assert "the full date of QuestionnaireResponse/attestation-1" in summaries(found)
