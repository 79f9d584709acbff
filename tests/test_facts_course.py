"""Cycles and courses of blinatumomab (fhir-data-profile.md §Course and cycles)."""
from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from cds_service.facts.attestations import Attestations
from cds_service.facts.course import (dated_cycles, group_cycles, prior_orders, read_cycle, signed_cycles,
                                     signed_span)
from cds_service.facts.diagnosis import read_diagnosis
from cds_service.facts.medications import read_med_orders
from cds_service.facts.model import CycleInfo
from cds_service.record import PatientRecord
from tests.factories import condition, medication_request, questionnaire_response, record

DAY = timedelta(days=1)


def _cycle(rec: PatientRecord, start: date, draft: dict[str, Any] | None = None) -> CycleInfo:
    """The cycle of a `draft` order starting on `start` (today), the earlier orders read as extract.py reads them."""
    attestations = Attestations.from_record(rec)
    draft_ids = {str((draft or {"id": "draft"}).get("id"))}
    history = read_med_orders(rec.resources("medicationRequests"), rec.resolve, start, [], draft_ids)
    priors = prior_orders(history, draft_ids, start)
    return read_cycle(rec, start, read_diagnosis(rec, attestations), attestations, priors)


def _prior(first: date, days: int = 28, status: str = "completed") -> dict[str, Any]:
    return medication_request(start=first, end=first + (days - 1) * DAY, status=status)


def _cycles(n: int, first: date = date(2025, 1, 1), every: int = 42) -> list[dict[str, Any]]:
    """`n` full 28-day cycles, one every `every` days."""
    return [_prior(first + i * every * DAY) for i in range(n)]


def test_first_cycle_without_history() -> None:
    info = _cycle(record(), date(2026, 1, 1))
    assert info.number.value == 1 and info.course_start == date(2026, 1, 1)
    assert info.cycle_starts == (date(2026, 1, 1),) and info.infusion_days_before == 0


def test_7_days_without_infusion_continue_the_cycle_and_8_start_a_new_one() -> None:
    """The label's rule: an interruption of up to 7 days continues the cycle (days 11-17 off, restarted on the 18th);
    the spec's "more than 7 days after the last infusion day" had restarted it then (course.MAX_INTERRUPTION)."""
    prior = _prior(date(2026, 1, 1), days=10)  # last infusion day 2026-01-10
    for restart in (date(2026, 1, 17), date(2026, 1, 18)):
        same = _cycle(record(prior), restart)
        assert same.number.value == 1 and same.infusion_days_before == 10
        assert same.cycle_starts == (date(2026, 1, 1),) and same.course_start == date(2026, 1, 1)
    new = _cycle(record(prior), date(2026, 1, 19))
    assert new.number.value == 2 and new.infusion_days_before == 0
    assert new.cycle_starts == (date(2026, 1, 1), date(2026, 1, 19))


def test_a_cycle_with_28_infusion_days_is_complete() -> None:
    full = _prior(date(2026, 1, 1), days=28)
    info = _cycle(record(full), date(2026, 1, 30))
    assert info.number.value == 2 and info.infusion_days_before == 0
    short = _prior(date(2026, 1, 1), days=27)
    assert _cycle(record(short), date(2026, 1, 30)).number.value == 1


def test_step_dose_orders_of_one_cycle_count_once() -> None:
    step = _prior(date(2026, 1, 1), days=7)
    full = medication_request(start="2026-01-08", end="2026-01-28", status="completed")
    info = _cycle(record(step, full), date(2026, 2, 12))
    assert info.number.value == 2 and info.cycle_starts == (date(2026, 1, 1), date(2026, 2, 12))
    assert set(info.number.evidence) == {f"MedicationRequest/{step['id']}", f"MedicationRequest/{full['id']}"}


def test_cycles_6_9_and_10() -> None:
    for history, expected in ((5, 6), (8, 9), (9, 10)):
        priors = _cycles(history)
        start = date(2025, 1, 1) + history * 42 * DAY
        info = _cycle(record(*priors), start)
        assert info.number.value == expected and len(info.cycle_starts) == expected
        assert info.course_start == date(2025, 1, 1)


def test_draft_order_itself_and_unusable_priors_are_not_counted() -> None:
    draft = medication_request(start="2026-03-01", end="2026-03-28", status="active", id="draft")
    cancelled = _prior(date(2026, 1, 1), status="cancelled")
    other_drug = medication_request("282388", start="2026-01-01", end="2026-01-28", status="completed")
    later = _prior(date(2026, 4, 1), status="active")
    info = _cycle(record(draft, cancelled, other_drug, later), date(2026, 3, 1), draft)
    assert info.number.value == 1


def test_stopped_prior_order_counts() -> None:
    info = _cycle(record(_prior(date(2026, 1, 1), status="stopped")), date(2026, 2, 12))
    assert info.number.value == 2


def test_new_course_after_relapse_following_remission() -> None:
    priors = _cycles(3)  # cycles start 2025-01-01, 02-12, 03-26
    remission = condition("C91.01", recorded="2025-05-01", clinical_status="remission")
    relapse = condition("C91.02", recorded="2025-09-01", clinical_status="relapse")
    info = _cycle(record(*priors, remission, relapse), date(2025, 9, 15))
    assert info.number.value == 1 and info.course_start == date(2025, 9, 15)
    assert info.cycle_starts == (date(2025, 9, 15),)


def test_recoding_c91_02_without_remission_does_not_restart_the_course() -> None:
    priors = _cycles(3)
    relapses = [condition("C91.02", recorded=d, clinical_status="relapse")
                for d in ("2024-12-20", "2025-02-10", "2025-04-01", "2025-05-06")]
    old_remission = condition("C91.01", recorded="2024-11-01", clinical_status="remission")
    info = _cycle(record(*priors, *relapses, old_remission), date(2025, 5, 7))
    assert info.number.value == 4 and info.course_start == date(2025, 1, 1)


_CONSOLIDATION = _cycles(4, first=date(2026, 1, 5))  # cycles start 2026-01-05, 02-16, 03-30, 05-11
_IN_REMISSION = condition("C91.01", recorded="2025-12-20", clinical_status="remission")  # before the course
_RELAPSE = condition("C91.02", recorded="2026-11-10", clinical_status="relapse")  # after the course


def test_a_relapse_after_a_course_given_in_remission_begins_a_new_course() -> None:
    """docs/policy-reading.md: the remission in force at the course start is not recorded again during it; the
    relapse recorded after the start is a new episode, not consolidation cycle 5."""
    info = _cycle(record(*_CONSOLIDATION, _IN_REMISSION, _RELAPSE), date(2026, 12, 1))
    assert info.number.value == 1 and info.course_start == date(2026, 12, 1)
    assert info.cycle_starts == (date(2026, 12, 1),)


def test_a_relapse_during_a_course_given_in_remission_opens_a_new_course_at_the_next_cycle() -> None:
    relapse = condition("C91.02", recorded="2026-03-10", clinical_status="relapse")  # during cycle 2
    info = _cycle(record(*_CONSOLIDATION, _IN_REMISSION, relapse), date(2026, 12, 1))
    assert info.number.value == 3 and info.cycle_starts == (date(2026, 3, 30), date(2026, 5, 11), date(2026, 12, 1))


def test_a_course_attested_relapsed_refractory_was_not_given_in_remission() -> None:
    """The relapse the course treats, recorded late, after a remission record it made stale: the attested phase
    (fhir-data-profile.md §Therapy phase, rule 1) says the course was not given in remission."""
    phase = questionnaire_response({"therapy-phase": "relapsed-refractory"}, authored="2026-01-02")
    info = _cycle(record(*_CONSOLIDATION, _IN_REMISSION, _RELAPSE, phase), date(2026, 12, 1))
    assert info.number.value == 5 and info.course_start == date(2026, 1, 5)
    # Authored on or after the relapse record, it may describe the new course: the record decides.
    for_the_relapse = questionnaire_response({"therapy-phase": "relapsed-refractory"}, authored="2026-11-10")
    assert _cycle(record(*_CONSOLIDATION, _IN_REMISSION, _RELAPSE, for_the_relapse), date(2026, 12, 1)).number.value == 1


def test_active_disease_recorded_after_the_remission_leaves_the_cycle_unknown() -> None:
    """C91.00 by the course start may be the relapse coded without its status, or the remission coded loosely: the
    record cannot tell whether the course was given in remission, so the clinician is asked, not denied."""
    active = condition("C91.00", recorded="2026-01-02", clinical_status="active")
    info = _cycle(record(*_CONSOLIDATION, _IN_REMISSION, active, _RELAPSE), date(2026, 12, 1))
    assert info.number.value is None and info.number.received
    assert info.number.evidence == (f"Condition/{_RELAPSE['id']}",) and "2026-11-10" in info.number.note
    assert info.course_start == date(2026, 1, 5)
    answer = questionnaire_response({"cycle-number": 1}, authored="2026-11-25")
    attested = _cycle(record(*_CONSOLIDATION, _IN_REMISSION, active, _RELAPSE, answer), date(2026, 12, 1))
    assert attested.number.value == 1 and attested.course_start == date(2026, 12, 1)


def test_a_relapsed_course_keeps_its_count_when_c91_02_is_recoded_after_its_start() -> None:
    relapse = condition("C91.02", recorded="2025-12-20", clinical_status="relapse")  # before cycle 1
    old_remission = condition("C91.01", recorded="2025-06-01", clinical_status="remission")
    info = _cycle(record(*_CONSOLIDATION, old_remission, relapse, _RELAPSE), date(2026, 12, 1))
    assert info.number.value == 5 and info.course_start == date(2026, 1, 5)


def test_a_remission_number_attested_during_the_course_then_a_relapse_begins_a_new_course() -> None:
    """fhir-data-profile.md §Course and cycles: "a remission record (C91.01, clinicalStatus remission, or
    attested) made after the current course's start"."""
    priors = _cycles(3)  # a relapsed/refractory course: cycles start 2025-01-01, 02-12, 03-26
    relapse = condition("C91.02", recorded="2024-12-20", clinical_status="relapse")
    recoded = condition("C91.02", recorded="2025-09-01", clinical_status="relapse")
    start = date(2025, 9, 15)
    remission = questionnaire_response({"remission-number": 2}, authored="2025-04-20")
    info = _cycle(record(*priors, relapse, recoded, remission), start)
    assert info.number.value == 1 and info.course_start == start
    assert _cycle(record(*priors, relapse, recoded), start).number.value == 4


@pytest.mark.parametrize("answers", [{"complete-response-to-induction": True},
                                     {"end-of-consolidation-response": "complete"}])
def test_a_response_to_earlier_treatment_attested_during_the_course_is_no_remission_after_its_start(
        answers: dict[str, Any]) -> None:
    """Both are true of most relapsed patients: they say nothing of a remission reached during this course."""
    priors = _cycles(3)
    relapse = condition("C91.02", recorded="2024-12-20", clinical_status="relapse")
    recoded = condition("C91.02", recorded="2025-09-01", clinical_status="relapse")
    answer = questionnaire_response(answers, authored="2025-04-20")
    assert _cycle(record(*priors, relapse, recoded, answer), date(2025, 9, 15)).number.value == 4


def test_attested_cycle_number_overrides_when_authored_after_the_latest_prior_order() -> None:
    priors = _cycles(2)  # cycles start 2025-01-01 and 2025-02-12
    start = date(2025, 3, 26)
    answer = questionnaire_response({"cycle-number": 2}, authored="2025-03-20")
    info = _cycle(record(*priors, answer), start)
    assert info.number.value == 2 and info.number.attested
    assert info.cycle_starts == (date(2025, 2, 12), start) and info.course_start == date(2025, 2, 12)
    stale = questionnaire_response({"cycle-number": 1}, authored="2025-02-12")
    assert _cycle(record(*priors, stale), start).number.value == 3


def _referencing(prior: dict[str, Any], display: str | None) -> dict[str, Any]:
    """`prior` in Epic's shape: a reference to a Medication not in the request, with its name as display."""
    del prior["medicationCodeableConcept"]
    prior["medicationReference"] = {"reference": "Medication/eprior"} | ({"display": display} if display else {})
    return prior


def test_prior_orders_named_only_by_their_reference_display_are_counted() -> None:
    priors = [_referencing(p, "BLINATUMOMAB 35 MCG IV SOLR") for p in _cycles(9)]
    info = _cycle(record(*priors), date(2025, 1, 1) + 9 * 42 * DAY)
    assert info.number.value == 10 and info.course_start == date(2025, 1, 1)


def test_an_earlier_order_whose_drug_is_unknown_leaves_the_number_unknown() -> None:
    """It may be a prior cycle (fhir-data-profile.md §Course and cycles counts them): "cycle 3" would be a guess."""
    priors = _cycles(2)  # cycles start 2025-01-01 and 2025-02-12
    unread = _referencing(_prior(date(2025, 3, 26)), None)
    start = date(2025, 5, 7)
    info = _cycle(record(*priors, unread), start)
    assert info.number.value is None and info.number.received
    assert info.number.evidence == (f"MedicationRequest/{unread['id']}",) and "identified" in info.number.note
    assert info.course_start == date(2025, 1, 1)


def test_an_unidentified_order_not_prior_to_this_cycle_does_not_matter() -> None:
    priors = _cycles(2)
    later = _referencing(_prior(date(2025, 6, 1), status="active"), None)
    cancelled = _referencing(_prior(date(2025, 3, 26), status="cancelled"), None)
    assert _cycle(record(*priors, later, cancelled), date(2025, 5, 7)).number.value == 3


def test_the_cycle_number_attested_after_the_unidentified_order_decides() -> None:
    priors = _cycles(2)
    unread = _referencing(_prior(date(2025, 3, 26)), None)
    start = date(2025, 5, 7)
    answer = questionnaire_response({"cycle-number": 4}, authored="2025-05-01")
    info = _cycle(record(*priors, unread, answer), start)
    assert info.number.value == 4 and info.number.attested
    # Given before that order started, the answer may be the one given for it.
    stale = questionnaire_response({"cycle-number": 3}, authored="2025-03-20")
    assert _cycle(record(*priors, unread, stale), start).number.value is None


def test_medication_requests_not_received_leave_the_number_unknown() -> None:
    info = _cycle(record(not_received=("medicationRequests",)), date(2026, 1, 1))
    assert info.number.value is None and info.number.received is False
    assert info.course_start == date(2026, 1, 1)


def _draft(id: str, first: date | None, days: int | None = 28) -> dict[str, Any]:
    """A draft order from `first` for `days` days (None: its line states no end; `first` None: no dates at all)."""
    end = None if first is None or days is None else first + (days - 1) * DAY
    return medication_request(id=id, start=first, end=end, status="draft")


def _ids(cycles: list[list[dict[str, Any]]]) -> list[list[str]]:
    return [[order["id"] for order in cycle] for cycle in cycles]


def test_orders_signed_together_are_one_cycle_unless_the_cycle_rule_separates_them() -> None:
    day_1 = date(2026, 12, 1)
    step, full = _draft("step", day_1, 7), _draft("full", day_1 + 7 * DAY, 21)
    # A step dose written as two orders, a duplicate on the same days: one cycle, in the Bundle's order.
    assert _ids(signed_cycles([full, step, _draft("again", day_1)], day_1)) == [["full", "step", "again"]]
    # 28 days, then 14 days off: the next order is cycle 2, whichever the Bundle lists first.
    second = _draft("second", day_1 + 42 * DAY)
    assert _ids(signed_cycles([second, step, full], day_1)) == [["step", "full"], ["second"]]
    # 7 days without infusion continue the cycle, 8 start the next (Cycle.takes).
    short = _draft("short", day_1, 10)
    assert _ids(signed_cycles([short, _draft("on", day_1 + 17 * DAY, 10)], day_1)) == [["short", "on"]]
    assert _ids(signed_cycles([short, _draft("off", day_1 + 18 * DAY, 10)], day_1)) == [["short"], ["off"]]
    # 28 infusion days given: an order the next day begins the next cycle.
    assert _ids(signed_cycles([step, full, _draft("next", day_1 + 28 * DAY)], day_1)) == \
        [["step", "full"], ["next"]]
    three = [_draft(f"c{n}", day_1 + 42 * n * DAY) for n in range(3)]
    assert _ids(signed_cycles(three, day_1)) == [["c0"], ["c1"], ["c2"]]


def test_each_cycle_signed_together_comes_with_its_own_last_infusion_day() -> None:
    """Cycle 1 as a step dose in two orders (days 1-7, 8-28) and cycle 2 from day 43 in a line without an end (to its
    day 28), the Bundle listing cycle 2 first: each cycle's last day is its own orders' (a Coverage ending between
    them ends within cycle 2 only), and each order's span in the order of the cycle's orders (a later cycle reads
    them as earlier orders). One order alone: its own last day."""
    day_1 = date(2026, 12, 1)
    step, full = _draft("step", day_1, 7), _draft("full", day_1 + 7 * DAY, 21)
    second = _draft("second", day_1 + 42 * DAY, None)
    cycles = dated_cycles([second, full, step], day_1)
    assert [([order["id"] for order in cycle.orders], cycle.last) for cycle in cycles] == [
        (["full", "step"], day_1 + 27 * DAY), (["second"], day_1 + 69 * DAY)]
    assert [(cycle.orders, cycle.last) for cycle in dated_cycles([step], day_1)] == [([step], day_1 + 6 * DAY)]
    # Any orders: the cycles signed_cycles cuts, each with the last day of its orders' spans.
    chance = random.Random(20261201)
    for _ in range(20):
        drafts = [_draft(f"o{n}", day_1 + chance.randrange(90) * DAY, chance.choice([None, 1, 7, 21, 28]))
                  for n in range(chance.randrange(2, 12))]
        assert [(cycle.orders, cycle.last, cycle.spans) for cycle in dated_cycles(drafts, day_1)] == [
            (orders, max(signed_span(order, day_1).last for order in orders),
             [signed_span(order, day_1) for order in orders])
            for orders in signed_cycles(drafts, day_1)]


@pytest.mark.parametrize("seed", range(20))
def test_signed_orders_are_grouped_as_earlier_orders_are(seed: int) -> None:
    """signed_cycles counts the infusion days as a cycle grows; Cycle.takes counts them again for each order (which
    for 50 orders on the same days is quadratic): both must cut the same cycles."""
    chance = random.Random(seed)
    day_1 = date(2026, 12, 1)
    drafts = [_draft(f"o{n}", day_1 + chance.randrange(90) * DAY, chance.choice([None, 1, 5, 7, 14, 21, 28]))
              for n in range(chance.randrange(2, 12))]
    spans = sorted((signed_span(order, day_1) for order in drafts), key=lambda span: (span.first, span.last))
    expected = [sorted(span.reference.split("/")[1] for span in cycle.spans) for cycle in group_cycles(spans)]
    assert [sorted(ids) for ids in _ids(signed_cycles(drafts, day_1))] == expected


def test_a_signed_line_without_an_end_runs_to_the_cycles_28th_day() -> None:
    """As the dose check runs it: "9 mcg/day from day 1" and "28 mcg/day from day 10" are one cycle, though the first
    order's span, read as an earlier order's, is its first day only."""
    day_1 = date(2026, 12, 1)
    first, later = _draft("from-1", day_1, None), _draft("from-10", day_1 + 9 * DAY, None)
    assert signed_span(first, day_1).last == day_1 + 27 * DAY
    assert _ids(signed_cycles([first, later], day_1)) == [["from-1", "from-10"]]
    assert _ids(signed_cycles([first, _draft("cycle-2", day_1 + 42 * DAY)], day_1)) == [["from-1"], ["cycle-2"]]
    undated = [_draft("a", None), _draft("b", None)]  # both start today
    assert _ids(signed_cycles(undated, day_1)) == [["a", "b"]]


def _signed_cycle(rec: PatientRecord, earlier: list[list[dict[str, Any]]], start: date) -> CycleInfo:
    """The cycle of a draft starting on `start`, signed after the cycles `earlier` in the same call."""
    attestations = Attestations.from_record(rec)
    signed = [order for cycle in earlier for order in cycle]
    draft_ids = {"draft", *(order["id"] for order in signed)}
    history = read_med_orders(rec.resources("medicationRequests"), rec.resolve, start, [], draft_ids)
    priors = prior_orders(history, draft_ids, start, [signed_span(o, start) for o in signed], len(earlier))
    return read_cycle(rec, start, read_diagnosis(rec, attestations), attestations, priors)


def test_a_cycle_signed_after_others_in_the_call_counts_them() -> None:
    day_1 = date(2026, 12, 1)
    cycle_1 = [_draft("step", day_1, 7), _draft("full", day_1 + 7 * DAY, 21)]
    info = _signed_cycle(record(), [cycle_1], day_1 + 42 * DAY)
    assert info.number.value == 2 and info.infusion_days_before == 0
    assert info.cycle_starts == (day_1, day_1 + 42 * DAY) and info.course_start == day_1
    assert info.number.evidence == ("MedicationRequest/step", "MedicationRequest/full")
    # With the history: cycle 3 of the course.
    third = _signed_cycle(record(_prior(day_1 - 42 * DAY)), [cycle_1], day_1 + 42 * DAY)
    assert third.number.value == 3 and third.course_start == day_1 - 42 * DAY


def test_the_calls_attested_cycle_number_is_the_first_signed_cycles() -> None:
    """Answered once for the call (today, before either cycle starts): cycle 4 for the first, so 5 for the next."""
    day_1 = date(2026, 12, 1)
    answer = questionnaire_response({"cycle-number": 4}, authored="2026-11-21")
    info = _signed_cycle(record(answer), [[_draft("c4", day_1)]], day_1 + 42 * DAY)
    assert (info.number.value, info.number.attested) == (5, True)
    assert info.number.note == "cycle 4 attested for the first cycle signed with it"
