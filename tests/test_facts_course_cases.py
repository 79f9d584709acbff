"""Cycles and courses at their edges (fhir-data-profile.md §Course and cycles; docs/policy-reading.md, "A relapse
after a course given in remission"): histories out of order or with other drugs, disease status recorded late or
not at all, attested phases and cycle numbers. Each case was a mutant of facts/course.py that the other tests let
live."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from cds_service.facts.attestations import Attestations
from cds_service.facts.course import prior_orders, read_cycle, signed_cycles, signed_span
from cds_service.facts.diagnosis import read_diagnosis
from cds_service.facts.medications import read_med_orders
from cds_service.facts.model import CycleInfo
from cds_service.record import PatientRecord
from tests.factories import condition, medication_request, questionnaire_response, record

DAY = timedelta(days=1)
VINCRISTINE = "11202"


def _cycle(rec: PatientRecord, start: date) -> CycleInfo:
    """The cycle of a draft starting on `start`, the earlier orders read as extract.py reads them."""
    attestations = Attestations.from_record(rec)
    history = read_med_orders(rec.resources("medicationRequests"), rec.resolve, start, [], {"draft"})
    priors = prior_orders(history, {"draft"}, start)
    return read_cycle(rec, start, read_diagnosis(rec, attestations), attestations, priors)


def _prior(first: date, days: int = 28, **extra: Any) -> dict[str, Any]:
    return medication_request(start=first, end=first + (days - 1) * DAY, status="completed", **extra)


_THREE = [_prior(date(2025, 1, 1) + i * 42 * DAY) for i in range(3)]  # cycles start 2025-01-01, 02-12, 03-26
_NEXT = date(2025, 5, 7)


def test_a_history_listed_newest_first_is_counted_in_order() -> None:
    info = _cycle(record(*reversed(_THREE)), _NEXT)
    assert info.number.value == 4 and info.course_start == date(2025, 1, 1)


def test_another_drugs_order_listed_first_does_not_hide_the_earlier_cycles() -> None:
    vincristine = medication_request(VINCRISTINE, start="2024-12-01", end="2024-12-01", status="completed")
    assert _cycle(record(vincristine, *_THREE), _NEXT).number.value == 4


def test_an_earlier_order_without_any_date_is_no_cycle() -> None:
    undated = medication_request(status="completed")
    assert _cycle(record(undated), _NEXT).number.value == 1


def test_one_order_signed_alone_is_one_cycle() -> None:
    order = medication_request(start=_NEXT, end=_NEXT + 27 * DAY, status="draft", id="draft")
    assert signed_cycles([order], _NEXT) == [[order]]


def test_a_signed_line_bounded_by_a_duration_ends_there() -> None:
    """Only a line stating no end runs to the cycle's 28th day: "for 7 days" is 7 days."""
    order = medication_request(start=_NEXT, status="draft")
    order["dosageInstruction"][0]["timing"]["repeat"]["boundsDuration"] = {
        "value": 7, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"}
    assert signed_span(order, _NEXT).last == _NEXT + 6 * DAY


def test_a_relapse_recorded_during_a_course_with_no_earlier_status_keeps_the_course() -> None:
    """The diagnosis first recorded after cycle 1 began (the EHR catching up): nothing says the course was given in
    remission, so the relapse is the one it treats."""
    relapse = condition("C91.02", recorded="2025-01-10", clinical_status="relapse")
    assert _cycle(record(*_THREE, relapse), _NEXT).number.value == 4


def test_a_remission_after_a_relapse_recoded_during_the_course_ends_nothing_by_itself() -> None:
    """Only a relapse after that remission begins a new course; the re-coded relapse came before it."""
    before = condition("C91.02", recorded="2024-12-20", clinical_status="relapse")
    recoded = condition("C91.02", recorded="2025-02-01", clinical_status="relapse")
    remission = condition("C91.01", recorded="2025-04-01", clinical_status="remission")
    assert _cycle(record(*_THREE, before, recoded, remission), _NEXT).number.value == 4


@pytest.mark.parametrize("phase", ["consolidation", "maintenance"])
def test_a_course_attested_as_given_in_remission_ends_at_the_next_relapse(phase: str) -> None:
    """A consolidation or maintenance phase attested for the course is no sign against remission: the records decide,
    and a remission at its start with a relapse after it make the next cycle a new course."""
    in_remission = condition("C91.01", recorded="2024-12-20", clinical_status="remission")
    relapse = condition("C91.02", recorded="2025-04-20", clinical_status="relapse")
    attested = questionnaire_response({"therapy-phase": phase}, authored="2025-01-02")
    info = _cycle(record(*_THREE, in_remission, relapse, attested), _NEXT)
    assert info.number.value == 1 and info.course_start == _NEXT


@pytest.mark.parametrize("answer", [0, "4"])
def test_a_cycle_number_answered_as_zero_or_as_text_is_not_taken(answer: object) -> None:
    attested = questionnaire_response({"cycle-number": answer}, authored="2025-04-01")
    info = _cycle(record(*_THREE, attested), _NEXT)
    assert (info.number.value, info.number.attested) == (4, False)


def test_an_attested_cycle_number_as_large_as_the_cycles_on_record_dates_the_course_from_the_first() -> None:
    """A relapse after a remission restarted the count, but the clinician attests cycle 4: every cycle on record
    (four, this one included) is of the course."""
    remission = condition("C91.01", recorded="2025-04-26", clinical_status="remission")
    relapse = condition("C91.02", recorded="2025-05-01", clinical_status="relapse")
    attested = questionnaire_response({"cycle-number": 4}, authored="2025-04-01")
    info = _cycle(record(*_THREE, remission, relapse, attested), _NEXT)
    assert info.number.value == 4 and info.course_start == date(2025, 1, 1)
    assert info.cycle_starts == (date(2025, 1, 1), date(2025, 2, 12), date(2025, 3, 26), _NEXT)


def test_an_attested_cycle_number_with_no_cycle_signed_before_it_needs_no_note() -> None:
    attested = questionnaire_response({"cycle-number": 4}, authored="2025-04-01")
    info = _cycle(record(*_THREE, attested), _NEXT)
    assert (info.number.value, info.number.attested, info.number.note) == (4, True, "")


def test_orders_resuming_an_interrupted_cycle_on_the_same_day_stay_in_it() -> None:
    """27 infusion days, two days off, then two orders from the same day: the cycle's 28th day is still to give."""
    day_1 = date(2026, 12, 1)
    given = medication_request(start=day_1, end=day_1 + 26 * DAY, status="draft", id="given")
    resumed = [medication_request(start=day_1 + 29 * DAY, end=day_1 + 29 * DAY + n * DAY, status="draft", id=f"r{n}")
               for n in range(2)]
    assert [[order["id"] for order in cycle] for cycle in signed_cycles([given, *resumed], day_1)] == [
        ["given", "r0", "r1"]]


def test_active_disease_recorded_during_a_course_given_in_remission_does_not_end_it() -> None:
    """Only a relapse ends such a course (module docstring of facts/course.py); C91.00 is no relapse."""
    in_remission = condition("C91.01", recorded="2024-12-20", clinical_status="remission")
    active = condition("C91.00", recorded="2025-02-01", clinical_status="active")
    assert _cycle(record(*_THREE, in_remission, active), _NEXT).number.value == 4


def test_a_relapse_before_the_remission_a_course_was_given_in_does_not_end_it() -> None:
    relapse = condition("C91.02", recorded="2024-10-01", clinical_status="relapse")
    in_remission = condition("C91.01", recorded="2024-12-20", clinical_status="remission")
    info = _cycle(record(*_THREE, relapse, in_remission), _NEXT)
    assert info.number.value == 4 and info.course_start == date(2025, 1, 1)


def test_an_earlier_order_of_an_unknown_drug_is_said_to_be_perhaps_a_cycle() -> None:
    unread = _prior(date(2025, 3, 26), medicationReference={"reference": "Medication/unread"})
    del unread["medicationCodeableConcept"]
    info = _cycle(record(*_THREE[:2], unread), _NEXT)
    assert info.number.note == ("drug of 1 earlier order(s) not identified (no drug named, or its Medication "
                                "unreadable): each may be a prior cycle")
