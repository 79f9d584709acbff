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


def test_an_order_continuing_a_cycle_begun_right_after_a_full_one_is_counted_in_it() -> None:
    """Cycle 2 began 2 days after cycle 1's 28th infusion day (a short rest, dosing/rest.py's finding) as a 7-day
    step dose; the next order, the day after the step, continues cycle 2, not cycle 1 and not a cycle 3."""
    day_1 = date(2026, 1, 1)
    step = medication_request(start=day_1 + 30 * DAY, end=day_1 + 36 * DAY, status="completed")
    info = _cycle(record(_prior(day_1), step), day_1 + 37 * DAY)
    assert (info.number.value, info.infusion_days_before) == (2, 7)


_BEFORE = condition("C91.02", recorded="2024-12-20", clinical_status="relapse")  # the relapse _THREE treats


def _number(*records: dict[str, Any], start: date = _NEXT) -> int | None:
    return _cycle(record(*_THREE, *records), start).number.value


def test_a_relapse_after_the_courses_first_remission_ends_it_though_another_remission_follows() -> None:
    first = condition("C91.01", recorded="2025-02-01", clinical_status="remission")
    relapse = condition("C91.02", recorded="2025-03-01", clinical_status="relapse")
    second = condition("C91.01", recorded="2025-04-01", clinical_status="remission")
    assert _number(_BEFORE, first, relapse, second) == 2  # cycle 2 of the course from 2025-03-26


def test_a_relapse_after_a_remission_ends_the_course_whatever_relapse_was_recoded_before_it() -> None:
    recoded = condition("C91.02", recorded="2025-02-01", clinical_status="relapse")
    remission = condition("C91.01", recorded="2025-03-01", clinical_status="remission")
    relapse = condition("C91.02", recorded="2025-03-20", clinical_status="relapse")
    assert _number(_BEFORE, recoded, remission, relapse) == 2


def test_a_relapse_recorded_the_day_a_cycle_starts_makes_it_the_first_of_a_new_course() -> None:
    remission = condition("C91.01", recorded="2025-02-20", clinical_status="remission")
    relapse = condition("C91.02", recorded="2025-03-26", clinical_status="relapse")
    assert _number(_BEFORE, remission, relapse) == 2


def test_a_remission_number_answered_on_the_courses_first_day_is_no_remission_reached_during_it() -> None:
    answer = questionnaire_response({"remission-number": 2}, authored="2025-01-01")
    recoded = condition("C91.02", recorded="2025-04-20", clinical_status="relapse")
    assert _number(_BEFORE, answer, recoded) == 4


def test_a_remission_recorded_on_the_courses_first_day_is_its_status_at_the_start() -> None:
    remission = condition("C91.01", recorded="2025-01-01", clinical_status="remission")
    relapse = condition("C91.02", recorded="2025-04-20", clinical_status="relapse")
    assert _number(_BEFORE, remission, relapse) == 1


def test_a_phase_attested_after_the_first_relapse_does_not_speak_for_the_course_it_ended() -> None:
    """Given in remission, the course ended at the relapse recorded during cycle 1; "relapsed/refractory" answered
    after that relapse describes the new episode, though the relapse was recorded again before cycle 2."""
    in_remission = condition("C91.01", recorded="2024-12-20", clinical_status="remission")
    relapse = condition("C91.02", recorded="2025-01-20", clinical_status="relapse")
    recoded = condition("C91.02", recorded="2025-02-05", clinical_status="relapse")
    phase = questionnaire_response({"therapy-phase": "relapsed-refractory"}, authored="2025-01-25")
    assert _number(in_remission, relapse, recoded, phase) == 3


def test_an_unclear_relapse_during_the_course_leaves_every_later_cycle_unknown_naming_the_first_relapse() -> None:
    in_remission = condition("C91.01", recorded="2024-12-20", clinical_status="remission")
    active = condition("C91.00", recorded="2024-12-28", clinical_status="active")
    relapse = condition("C91.02", recorded="2025-02-01", clinical_status="relapse")
    recoded = condition("C91.02", recorded="2025-03-01", clinical_status="relapse")
    info = _cycle(record(*_THREE, in_remission, active, relapse, recoded), _NEXT)
    assert info.number.value is None and info.number.evidence == (f"Condition/{relapse['id']}",)


def test_an_order_changing_the_dose_mid_cycle_has_no_cycle_before_it() -> None:
    """It continues the cycle (day 10 of 28): there is no rest before it to check."""
    day_1 = date(2026, 1, 1)
    info = _cycle(record(_prior(day_1)), day_1 + 9 * DAY)
    assert (info.number.value, info.previous) == (1, None)


def test_a_recorded_order_starting_the_same_day_is_not_an_earlier_one() -> None:
    info = _cycle(record(_prior(_NEXT)), _NEXT)
    assert (info.number.value, info.number.evidence) == (1, ())


def test_a_cycle_number_answered_the_day_after_the_latest_earlier_order_began_counts() -> None:
    attested = questionnaire_response({"cycle-number": 6}, authored="2025-03-27")
    assert _cycle(record(*_THREE, attested), _NEXT).number.attested


@pytest.mark.parametrize(("second_days", "cycles"), [(13, 1), (14, 2)])
def test_infusion_days_are_counted_across_an_interruption(second_days: int, cycles: int) -> None:
    """14 days, 3 days off, then 13 more: 27 given, and an order the next day is still the cycle's; with 14 more the
    cycle gave its 28 and the next order begins cycle 2."""
    day_1 = date(2026, 12, 1)
    first = medication_request(start=day_1, end=day_1 + 13 * DAY, status="draft", id="first")
    second = medication_request(start=day_1 + 17 * DAY, end=day_1 + (16 + second_days) * DAY, status="draft",
                                id="second")
    after = day_1 + (17 + second_days) * DAY
    third = medication_request(start=after, end=after + 6 * DAY, status="draft", id="third")
    assert len(signed_cycles([first, second, third], day_1)) == cycles


def test_orders_overlapping_by_a_day_count_that_day_once() -> None:
    day_1 = date(2026, 12, 1)
    first = medication_request(start=day_1, end=day_1 + 13 * DAY, status="draft", id="first")
    second = medication_request(start=day_1 + 13 * DAY, end=day_1 + 26 * DAY, status="draft", id="second")
    third = medication_request(start=day_1 + 27 * DAY, end=day_1 + 27 * DAY, status="draft", id="third")
    assert len(signed_cycles([first, second, third], day_1)) == 1  # 27 days before the third, its day the 28th
