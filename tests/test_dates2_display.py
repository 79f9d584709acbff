"""Dates as the clinician is shown them: a Coverage ending at an instant, an earlier approval's day in the clinical
time zone, an answer authored only to a month, and what an adult's stale height asks for.

- FHIR's Period includes its end: a date to its last moment, a date-time at that instant. A Coverage ending at
  midnight ends as that day begins: its last day covered is the day before (as a dosage period ending at midnight,
  facts/order.period_last_day).
- The audit trail stores UTC; the day an approval was given is the clinical time zone's (CDS_TIME_ZONE).
- An answer authored "2026-05" was given on some day of May: "2026-05-01" claims a day the record does not give.
- An adult's height counts for 12 months (facts/body.py): asking for one "within 30 days" has it measured again.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.evaluation import INITIAL, PriorApproval
from tests.conftest import close_app, local_settings, make_app
from tests.dates_support import answer, covered, example, order, prefetched, service, summaries  # noqa: F401

Json = dict[str, Any]


@pytest.mark.parametrize(("end", "in_force", "said"), [
    ("2026-12-01T00:00:00", False, "coverage ends 2026-11-30, before this order starts (2026-12-01)"),
    ("2026-12-01T00:00:00-06:00", False, "coverage ends 2026-11-30, before this order starts (2026-12-01)"),
    ("2026-12-01T08:00:00", True, "coverage ends 2026-12-01, mid-cycle"),  # in force the morning of Dec 1
    ("2026-12-01", True, "coverage ends 2026-12-01, mid-cycle"),  # the whole day
    ("2026-12-16T00:00:00Z", True, "coverage ends 2026-12-15, mid-cycle"),
])
def test_a_coverage_ending_at_midnight_ends_the_day_before(service: FlaskClient, end: str, in_force: bool,
                                                           said: str) -> None:
    request = example("aspirus-adult-relapsed-refractory-cycle1")  # from 2026-12-01 to 2026-12-28
    prefetched(request, "coverage")["coverage-1"]["period"] = {"start": "2026-01-01", "end": end}
    found = answer(service, request)
    assert ("coverage not checked" not in summaries(found)) is in_force, summaries(found)
    assert said in summaries(found)


@pytest.fixture(scope="module")
def in_chicago(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """The service in America/Chicago, whose audit trail holds an initial approval given at 03:00 UTC on May 29:
    the evening of May 28 in Chicago."""
    logging.disable(logging.INFO)
    application: Flask = make_app(local_settings(tmp_path_factory.mktemp("chicago"),
                                                 time_zone=ZoneInfo("America/Chicago")))
    given = PriorApproval("MedicationRequest/first", datetime(2026, 5, 29, 3, tzinfo=timezone.utc), "hi-first", None,
                          "2026-06-01", "2026-11-30", INITIAL)
    application.extensions["cds_service"].store.prior_approval = lambda *_: (given,)
    yield application.test_client()
    close_app(application)
    logging.disable(logging.NOTSET)


def test_an_earlier_approval_is_dated_in_the_clinical_time_zone(in_chicago: FlaskClient) -> None:
    found = answer(in_chicago, example("florida-blue-continuation"))
    detail = found["cards"][0]["detail"]
    assert "initiation approved on 2026-05-28 for 2026-06-01 to 2026-11-30" in detail, detail  # was 2026-05-29


@pytest.mark.parametrize(("authored", "said"), [
    ("2026-05", "last answered 2026-05)"),  # was "2026-05-01"
    ("2026-04", "last answered 2026-04)"),
    ("2026-04-03T22:00:00-05:00", "last answered 2026-04-03)"),  # the day as written (Apr 4 in UTC)
])
def test_a_renewal_answer_is_named_by_its_date_as_recorded(service: FlaskClient, authored: str, said: str) -> None:
    request = example("aspirus-relapsed-refractory-cycle6-renewal")  # answers count from 2026-05-23
    prefetched(request, "attestations")["attestation-1"]["authored"] = authored
    found = answer(service, request)
    detail = found["cards"][0]["detail"]
    assert covered(found) == "conditional" and said in detail, detail


def _per_m2(born: str, height: str) -> Json:
    """Aspirus adult relapsed/refractory, the dose written per m² from 2026-12-01, weighed 10 days before."""
    request = example("aspirus-adult-relapsed-refractory-dose-per-m2-too-high")
    request["prefetch"]["patient"]["birthDate"] = born
    first, second = order(request)["dosageInstruction"]
    first["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-12-01", "end": "2026-12-07"}
    second["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-12-08", "end": "2026-12-28"}
    results = prefetched(request, "observations")
    results["height-1"]["effectiveDateTime"] = height
    results["weight-1"]["effectiveDateTime"] = "2026-11-21"
    prefetched(request, "conditions")["all-1"]["recordedDate"] = "2026-11-11"
    return request


@pytest.mark.parametrize(("born", "asked"), [
    ("1980-05-10", "height (within 12 months) or BSA (within 30 days)"),  # was "height or BSA (within 30 days)"
    ("2009-05-10", "height or BSA (within 30 days)"),  # 17: a child's 30 days
])
def test_a_stale_height_asks_for_what_would_do(service: FlaskClient, born: str, asked: str) -> None:
    stale = (date(2026, 12, 1) - timedelta(days=400)).isoformat()  # too old for an adult too
    found = answer(service, _per_m2(born, stale))
    assert covered(found) == "conditional" and f"document {asked}" in summaries(found), summaries(found)
