"""A Coverage whose period starts on a month or a year (facts/coverage.py): "2026-12" may be any day of December, so
for an order starting on Dec 1 the Coverage may or may not be in force. Read at Dec 1, its plan decided; now no plan
decides in its place, the card names it and asks for its full date, unless the rules would not choose it anyway (a
Coverage ranked before it is in force). An end so given runs to its last day: FHIR's Period includes its end.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.dates_support import added, answer, covered, example, prefetched, service, summaries  # noqa: F401

Json = dict[str, Any]
ASKED = "its period starts {}, which may be after this order's start (2026-12-01): its full date is needed"


def _covered_from(period: Json) -> Json:
    request = example("aspirus-adult-relapsed-refractory-cycle1")  # from 2026-12-01
    prefetched(request, "coverage")["coverage-1"]["period"] = period
    return request


@pytest.mark.parametrize(("start", "asked"), [
    ("2026-12", True),  # Dec 1 (in force) or later (not yet): was read as Dec 1, and its plan decided
    ("2026", True),
    ("2026-11", False),  # every day of November is before the order's start
    ("2026-12-01", False),
])
def test_a_coverage_starting_on_a_month_that_may_follow_the_order_is_asked_for(service: FlaskClient, start: str,
                                                                              asked: bool) -> None:
    found = answer(service, _covered_from({"start": start}))
    detail = found["cards"][0]["detail"]
    assert ("coverage not checked" in summaries(found)) is asked, summaries(found)
    assert (ASKED.format(start) in detail) is asked, detail
    assert (not found["systemActions"]) is asked  # no coverage information from a plan that may not be in force


def test_a_coverage_starting_after_the_order_is_out_of_force_whatever_its_day(service: FlaskClient) -> None:
    found = answer(service, _covered_from({"start": "2027-01"}))
    assert "coverage starts 2027-01-01, after this order starts (2026-12-01)" in summaries(found), summaries(found)


def _two_coverages(undated_order: int) -> Json:
    """The Aspirus Coverage in force (order 2 or 1), and a second one of the same plan starting "2026-12" ranked
    `undated_order`."""
    request = _covered_from({"start": "2026-01-01"})
    first = prefetched(request, "coverage")["coverage-1"]
    first["order"] = 3 - undated_order
    second = copy.deepcopy(first) | {"id": "coverage-2", "order": undated_order, "period": {"start": "2026-12"}}
    added(request, "coverage", second)
    return request


def test_a_coverage_the_rules_would_not_choose_is_not_asked_for(service: FlaskClient) -> None:
    found = answer(service, _two_coverages(undated_order=2))
    assert covered(found) == "covered" and "full date" not in found["cards"][0]["detail"], summaries(found)


def test_a_primary_coverage_of_unknown_start_is_not_replaced_by_the_secondary(service: FlaskClient) -> None:
    found = answer(service, _two_coverages(undated_order=1))
    assert "coverage not checked" in summaries(found), summaries(found)
    detail = found["cards"][0]["detail"]
    assert "Coverage/coverage-2" in detail and ASKED.format("2026-12") in detail, detail
