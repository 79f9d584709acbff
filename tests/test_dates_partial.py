"""Partial dates on the disease's status records (facts/diagnosis.py `status_as_of`): a record dated "2026-12" may be
from any day of December, so where that leaves unknown which record is the latest by the course start, the status,
and the phase read from it, are unknown, never read at the month's first day.

The patient is in remission since 2026-10-20 with a detectable MRD (Aspirus adult consolidation, MRD positive; the
course starts 2026-12-01). A relapse record beside it decides the phase when its date places it, before or after.
"""
from __future__ import annotations

import copy
from datetime import date

import pytest
from flask.testing import FlaskClient

from cds_service.facts.attestations import Attestations
from cds_service.facts.diagnosis import read_diagnosis
from cds_service.facts.model import Fact
from tests.dates_support import added, answer, covered, example, prefetched, service, summaries  # noqa: F401
from tests.factories import condition, record

CONSOLIDATION = "covered"  # meets adult consolidation, MRD positive
RELAPSED = "not-covered"  # relapsed/refractory: the order's 28 mcg/day on days 1-7 is above the step dose
UNKNOWN = "conditional"  # the relapse's full date asked for


def _with_relapse(recorded: str) -> dict[str, object]:
    request = example("aspirus-adult-consolidation-mrd-positive")
    relapse = copy.deepcopy(prefetched(request, "conditions")["all-1"]) | {"id": "relapse-1", "recordedDate": recorded}
    relapse["code"] = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C91.02"}]}
    relapse["clinicalStatus"]["coding"][0]["code"] = "relapse"
    added(request, "conditions", relapse)
    return request


@pytest.mark.parametrize(("recorded", "expected"), [
    ("2026-12", UNKNOWN),  # Dec 1, or after the course start: was relapsed, read at Dec 1
    ("2026", UNKNOWN),  # before the remission of Oct 20, or after it: was consolidation, read at Jan 1
    ("2026-10", UNKNOWN),  # the remission's month: before it or after
    ("2026-11", RELAPSED),  # every day of it after the remission and before the course
    ("2026-09", CONSOLIDATION),  # every day of it before the remission
    ("2026-12-01", RELAPSED),  # the course's first day: on or before it
    ("2026-12-02", CONSOLIDATION),  # after the course start: not read for the course
    ("2026-12-01T23:30:00-06:00", RELAPSED),  # Dec 1 as written (Dec 2 in UTC)
    ("2026-12-02T00:30:00+14:00", CONSOLIDATION),  # Dec 2 as written (Dec 1 in UTC)
])
def test_a_relapse_record_decides_the_phase_only_where_its_date_places_it(service: FlaskClient, recorded: str,
                                                                          expected: str) -> None:
    found = answer(service, _with_relapse(recorded))
    assert covered(found) == expected, summaries(found)


def test_a_partial_date_that_leaves_the_phase_unknown_asks_for_it(service: FlaskClient) -> None:
    """The relapse's full date decides the phase: the card asks for it, not for the phase in general."""
    found = answer(service, _with_relapse("2026-12"))
    assert "document the full date of the ALL relapse recorded 2026-12" in summaries(found)
    assert "therapy phase of this course" not in summaries(found)


def test_the_status_note_names_the_records_and_their_dates_as_recorded() -> None:
    remission = condition("C91.01", recorded="2026-10-20", clinical_status="remission", id="all-1")
    relapse = condition("C91.02", recorded="2026-12", clinical_status="relapse", id="relapse-1")
    status = read_diagnosis(record(remission, relapse), Attestations()).status_as_of(date(2026, 12, 1))
    assert status == Fact(None, ("Condition/relapse-1", "Condition/all-1"),
                          note="ALL in relapse (C91.02), recorded 2026-12: may be after 2026-12-01, then ALL in "
                               "remission (C91.01), recorded 2026-10-20",
                          missing="the full date of the ALL relapse recorded 2026-12 (Condition/relapse-1)")
    alone = read_diagnosis(record(relapse), Attestations()).status_as_of(date(2026, 12, 1))
    assert alone.value is None and alone.note == "ALL in relapse (C91.02), recorded 2026-12: may be after 2026-12-01"
    october = condition("C91.02", recorded="2026-10", clinical_status="relapse", id="relapse-2")
    status = read_diagnosis(record(remission, october), Attestations()).status_as_of(date(2026, 12, 1))
    assert status.value is None
    assert status.note == ("ALL in relapse (C91.02), recorded 2026-10: may be after ALL in remission (C91.01), "
                           "recorded 2026-10-20")
