"""The latest attestation answer is the one authored on the latest calendar day, whatever the zones its time is
written in (facts/attestations.py): the windows count answers by that day, and so does "the latest" now.

A response authored on a date alone reads as its midnight UTC: ordered by instant, an answer of 8 pm on Nov 24 in
Chicago (02:00 UTC on Nov 25) outranked one dated Nov 25, and a response that had since become "no" still renewed.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.dates_support import added, answer, covered, example, prefetched, service, summaries  # noqa: F401

EVENING_IN_CHICAGO = "2026-11-24T20:00:00-06:00"  # 02:00 UTC on Nov 25
NEXT_DAY = "2026-11-25"  # its midnight UTC: an instant before EVENING_IN_CHICAGO


def _renewal(yes: str, no: str) -> dict[str, Any]:
    """Aspirus relapsed/refractory cycle 6 (a renewal): response or stabilization answered yes, then no, authored
    as given."""
    request = example("aspirus-relapsed-refractory-cycle6-renewal")
    first = prefetched(request, "attestations")["attestation-1"]
    second = copy.deepcopy(first) | {"id": "attestation-2", "authored": no}
    second["item"][0]["answer"] = [{"valueBoolean": False}]
    first["authored"] = yes
    added(request, "attestations", second)
    return request


def test_a_no_of_the_next_day_outranks_a_yes_of_the_evening_before(service: FlaskClient) -> None:
    found = answer(service, _renewal(yes=EVENING_IN_CHICAGO, no=NEXT_DAY))
    assert covered(found) == "not-covered", summaries(found)  # was "covered" on the yes of Nov 24


def test_a_yes_of_the_next_day_outranks_a_no_of_the_evening_before(service: FlaskClient) -> None:
    found = answer(service, _renewal(yes=NEXT_DAY, no=EVENING_IN_CHICAGO))
    assert covered(found) == "covered", summaries(found)


@pytest.mark.parametrize(("earlier", "later"), [
    ("2026-11-24T23:00:00Z", "2026-11-25T08:00:00+14:00"),  # Nov 25 in Kiribati: 18:00 UTC on Nov 24
    ("2026-11-24T08:00:00-06:00", "2026-11-24T23:00:00Z"),  # one day: the later instant
])
def test_answers_in_other_zones_are_ranked_by_day_then_moment(service: FlaskClient, earlier: str,
                                                              later: str) -> None:
    assert covered(answer(service, _renewal(yes=earlier, no=later))) == "not-covered"
    assert covered(answer(service, _renewal(yes=later, no=earlier))) == "covered"
