"""A remission and a relapse recorded on one day (fhir-data-profile.md §Course and cycles; docs/policy-reading.md,
"A relapse after a course given in remission"): a course ends at a relapse that *follows* a remission recorded
*after* its start, or at a relapse dated *after* the start of a course given in remission. Each case was a mutant of
facts/course.py (`>` made `>=`, `<` made `<=`) that the other tests let live."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from cds_service.facts.attestations import Attestations
from cds_service.facts.course import prior_orders, read_cycle
from cds_service.facts.diagnosis import read_diagnosis
from cds_service.facts.medications import read_med_orders
from cds_service.facts.model import CycleInfo
from tests.factories import condition, medication_request, questionnaire_response, record

DAY = timedelta(days=1)
_STARTS = [date(2025, 1, 1) + i * 42 * DAY for i in range(3)]  # cycles 1-3: 2025-01-01, 02-12, 03-26
_NEXT = date(2025, 5, 7)


def _cycle(*resources: dict[str, Any]) -> CycleInfo:
    """The cycle of a draft starting on _NEXT after three 28-day cycles, read as extract.py reads it."""
    priors = [medication_request(start=s, end=s + 27 * DAY, status="completed") for s in _STARTS]
    rec = record(*priors, *resources)
    attestations = Attestations.from_record(rec)
    history = read_med_orders(rec.resources("medicationRequests"), rec.resolve, _NEXT, [], {"draft"})
    return read_cycle(rec, _NEXT, read_diagnosis(rec, attestations), attestations,
                      prior_orders(history, {"draft"}, _NEXT))


def test_a_stale_remission_recoded_on_the_day_a_relapsed_course_began_does_not_end_it_at_a_late_relapse() -> None:
    """The admission for cycle 1 re-coded the old C91.01; the clinician attested the course relapsed/refractory;
    the relapse it treats was recorded ten days late. The remission is the status at the start, not one reached
    after it: the course keeps its count (policy-reading.md: "a relapsed/refractory course whose relapse the EHR
    recorded late, after a stale remission record, keeps its count")."""
    stale = condition("C91.01", recorded="2025-01-01", clinical_status="remission")
    phase = questionnaire_response({"therapy-phase": "relapsed-refractory"}, authored="2025-01-01")
    late = condition("C91.02", recorded="2025-01-10", clinical_status="relapse")
    info = _cycle(stale, phase, late)
    assert (info.number.value, info.course_start) == (4, date(2025, 1, 1))
    assert info.number.note == "cycle 4 of the course that started 2025-01-01"


@pytest.mark.parametrize(("relapsed", "number", "course_start"), [
    ("2025-03-01", 4, date(2025, 1, 1)),  # coded with the remission: the count goes on
    ("2025-03-08", 2, date(2025, 3, 26)),  # a week after it: a new episode, cycle 3 began the new course
])
def test_a_relapse_coded_the_day_of_a_remission_reached_mid_course_does_not_follow_it(
        relapsed: str, number: int, course_start: date) -> None:
    """A course begun in relapse; mid-course an admission codes C91.01. A remission and a relapse cannot both begin
    on one day: a C91.02 coded that same day does not follow the remission, so nothing restarts the count (EHRs
    re-code at every admission); one recorded a week later does."""
    treated = condition("C91.02", recorded="2024-12-20", clinical_status="relapse")
    remission = condition("C91.01", recorded="2025-03-01", clinical_status="remission")
    relapse = condition("C91.02", recorded=relapsed, clinical_status="relapse")
    info = _cycle(treated, remission, relapse)
    assert (info.number.value, info.course_start) == (number, course_start)


def test_the_old_relapse_listed_on_the_start_day_of_a_course_given_in_remission_does_not_end_it() -> None:
    """Consolidation in first remission: the admission for cycle 1 lists the old relapse (08:00) and then the
    remission the course is given in (08:05). The relapse is dated on the course's start, not after it: the next
    cycles are cycles 2, 3, 4 of it, whatever the order of that day's codes."""
    old = condition("C91.02", recorded="2025-01-01T08:00:00Z", clinical_status="relapse")
    in_remission = condition("C91.01", recorded="2025-01-01T08:05:00Z", clinical_status="remission")
    info = _cycle(old, in_remission)
    assert (info.number.value, info.course_start) == (4, date(2025, 1, 1))
