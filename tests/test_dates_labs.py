"""The latest lab result is the one of the latest calendar day (fhir-data-profile.md §Labs: "the latest result by
effective date decides"), whatever the zones its time is written in.

A date alone reads as its midnight UTC, and a time in Chicago at 8 pm is 02:00 UTC the next day: ordered by instant,
a result of Nov 12 in the evening came after one dated Nov 13, and decided alone. A CD19-negative relapse and an
undetectable MRD, both of the later day, were passed over and the order approved on the older result.
"""
from __future__ import annotations

import copy

import pytest
from flask.testing import FlaskClient

from tests.dates_support import added, answer, covered, example, prefetched, service, summaries  # noqa: F401

EVENING_IN_CHICAGO = "2026-11-12T20:00:00-06:00"  # 02:00 UTC on Nov 13
NEXT_DAY = "2026-11-13"  # its midnight UTC: an instant before EVENING_IN_CHICAGO


def _cd19_request(diagnosis: str, relapse: str) -> dict[str, object]:
    """Florida Blue, relapsed: a CD19-positive immunophenotype and a CD19-negative one, dated as given."""
    request = example("florida-blue-cd19-negative-relapse")
    results = prefetched(request, "observations")
    results["cd19-dx"]["effectiveDateTime"] = diagnosis
    results["cd19-relapse"]["effectiveDateTime"] = relapse
    return request


def test_a_cd19_negative_of_the_next_day_decides_over_a_positive_of_the_evening_before(service: FlaskClient) -> None:
    found = answer(service, _cd19_request(diagnosis=EVENING_IN_CHICAGO, relapse=NEXT_DAY))
    assert covered(found) == "not-covered"  # was "covered": the positive of Nov 12 had been the latest
    assert "CD19 negative (2026-11-13)" in summaries(found)


def test_a_cd19_positive_of_the_next_day_decides_over_a_negative_of_the_evening_before(service: FlaskClient) -> None:
    found = answer(service, _cd19_request(diagnosis=NEXT_DAY, relapse=EVENING_IN_CHICAGO))
    assert covered(found) == "covered"  # was "not-covered" on the negative of Nov 12


@pytest.mark.parametrize(("earlier", "later"), [
    ("2026-11-12T20:00:00Z", "2026-11-13T08:00:00+14:00"),  # Nov 13 in Kiribati: 18:00 UTC on Nov 12
    ("2026-11-12T23:59:59-12:00", "2026-11-13T00:00:00+14:00"),  # the day's last and first moments on Earth
    ("2026-11-12", "2026-11-13T00:30:00+01:00"),  # a date beside a time: 23:30 UTC on Nov 12
])
def test_the_day_as_written_orders_results_across_zones(service: FlaskClient, earlier: str, later: str) -> None:
    assert covered(answer(service, _cd19_request(diagnosis=earlier, relapse=later))) == "not-covered"
    assert covered(answer(service, _cd19_request(diagnosis=later, relapse=earlier))) == "covered"


def test_results_of_one_day_in_two_zones_are_read_together(service: FlaskClient) -> None:
    """Two results of Nov 12, one written in UTC, one in Chicago: one day's, so they disagree and CD19 is unknown,
    whichever instant is later."""
    found = answer(service, _cd19_request(diagnosis="2026-11-12T23:00:00Z", relapse="2026-11-12T08:00:00-06:00"))
    assert covered(found) == "conditional"
    assert "CD19" in summaries(found)


def _mrd_request(positive: str, negative: str) -> dict[str, object]:
    """Aspirus adult consolidation, MRD positive (0.05%), with a second MRD result of 0%, dated as given."""
    request = example("aspirus-adult-consolidation-mrd-positive")
    result = prefetched(request, "observations")["mrd-1"]
    undetectable = copy.deepcopy(result) | {"id": "mrd-2"}
    undetectable["valueQuantity"]["value"] = 0
    result["effectiveDateTime"], undetectable["effectiveDateTime"] = positive, negative
    added(request, "observations", undetectable)
    return request


def test_an_undetectable_mrd_of_the_next_day_is_the_latest(service: FlaskClient) -> None:
    """The MRD-positive consolidation (the phase inferred from a detectable MRD) no longer stands."""
    found = answer(service, _mrd_request(positive="2026-11-15T20:00:00-06:00", negative="2026-11-16"))
    assert covered(found) == "conditional"  # was "covered": the 0.05% of the evening before had been the latest


def test_a_detectable_mrd_of_the_next_day_is_the_latest(service: FlaskClient) -> None:
    found = answer(service, _mrd_request(positive="2026-11-16", negative="2026-11-15T20:00:00-06:00"))
    assert covered(found) == "covered"


@pytest.mark.parametrize(("diagnosis", "relapse", "expected", "said"), [
    # A partial date may be any day of its month or year: read with the latest results it may be as late as.
    ("2026-11", "2026-11-12", "conditional", "which CD19 result of 2026-11-12 or 2026-11 is current"),
    ("2026-11-12", "2026-11", "conditional", "which CD19 result of 2026-11-12 or 2026-11 is current"),  # was covered
    ("2026", "2026-11-12", "conditional", "which CD19 result of 2026-11-12 or 2026 is current"),  # was covered
    ("2026-10", "2026-11-12", "not-covered", "CD19 negative (2026-11-12)"),  # every day of it earlier
    ("2026-11", "2026-12-01", "not-covered", "CD19 negative (2026-12-01)"),
    ("2026-11-12", "2026-10", "covered", "Florida Blue: meets criteria"),
])
def test_a_partial_date_that_may_be_the_latest_is_read_with_the_latest(service: FlaskClient, diagnosis: str,
                                                                      relapse: str, expected: str, said: str) -> None:
    found = answer(service, _cd19_request(diagnosis=diagnosis, relapse=relapse))
    assert covered(found) == expected and said in summaries(found), summaries(found)


def test_an_mrd_of_a_partial_date_that_may_be_the_latest_leaves_the_mrd_unknown(service: FlaskClient) -> None:
    assert covered(answer(service, _mrd_request(positive="2026-11-15", negative="2026-11"))) == "conditional"
    assert covered(answer(service, _mrd_request(positive="2026-11-15", negative="2026-10"))) == "covered"


@pytest.mark.parametrize(("positive", "negative", "expected"), [
    ("2026-12", None, "conditional"),  # Dec 1, the course's first day, or after it: was covered
    ("2026", None, "conditional"),  # was covered
    ("2026-12", "2026-11-15", "conditional"),  # the 0.05% decides only if taken on Dec 1: was covered
    ("2026-11", None, "covered"),  # every day of it by the course start
    ("2026-12-01", "2026-12", "conditional"),  # the 0% of Dec 1 (beside the 0.05%) or after the course start
    ("2026-11-15", "2026-12", "conditional"),  # the 0% counts only if taken on Dec 1
])
def test_an_mrd_whose_partial_date_may_be_after_the_course_start(service: FlaskClient, positive: str,
                                                                 negative: str | None, expected: str) -> None:
    request = example("aspirus-adult-consolidation-mrd-positive")
    if negative is None:
        prefetched(request, "observations")["mrd-1"]["effectiveDateTime"] = positive
    else:
        request = _mrd_request(positive=positive, negative=negative)
    found = answer(service, request)
    assert covered(found) == expected, summaries(found)
    # Asked for by the result and its date ("the full date of the MRD result dated 2026-12"), not its id.
    assert ("the full date of the MRD result dated 2026" in summaries(found)) is (expected == "conditional")
