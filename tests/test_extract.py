"""ClinicalFacts assembled for a group of blinatumomab draft orders (fhir-data-profile.md, all sections)."""
from __future__ import annotations

import dataclasses
import inspect
from datetime import date, timedelta
from typing import Any

import pytest

from cds_service.facts.extract import extract_facts, read_birth
from cds_service.facts.model import AgeRange, BodySize, ClinicalFacts, CycleInfo, Fact, read_within
from cds_service.policies import load_policy
from tests.factories import (condition, coverage, immunization, medication_request, observation, patient,
                             questionnaire_response, record)

TODAY = date(2026, 3, 1)
LOINC = "http://loinc.org"
# The windowed facts are read with a policy file's numbers (Aspirus U1: 14 and 28 days; Florida Blue: 2 years).
U1 = dict(load_policy("aspirus-magellan").windows)["live_vaccine_in_window"]
LOOK_BACK = dict(load_policy("florida-blue").windows)["prior_authorization_on_file"]


def _draft(start: str = "2026-03-01", end: str = "2026-03-28", id: str = "draft1") -> dict[str, Any]:
    return medication_request(start=start, end=end, status="draft", id=id)


def _mrd(percent: float, effective: str) -> dict[str, Any]:
    return observation(text="MRD (flow)", effective=effective,
                       valueQuantity={"value": percent, "unit": "%", "system": "http://unitsofmeasure.org",
                                      "code": "%"})


def _weight(kg: float, effective: str) -> dict[str, Any]:
    return observation("29463-7", effective=effective,
                       valueQuantity={"value": kg, "unit": "kg", "system": "http://unitsofmeasure.org",
                                      "code": "kg"})


@pytest.mark.parametrize(("born", "years", "months"), [
    ("2011-03-01", 15, 180),
    ("2011-03-02", 14, 179),
    ("2025-02-01", 1, 13),
    ("2026-02-01", 0, 1),
    ("2026-02-02", 0, 0),
    ("2008-02-29", 18, 216),
])
def test_age_in_completed_years_and_months(born: str, years: int, months: int) -> None:
    birth = read_birth(patient(born), TODAY)
    assert (birth.years.value, birth.months.value) == (AgeRange(years, years), AgeRange(months, months))


@pytest.mark.parametrize(("born", "start", "months"), [
    ("2026-10-31", "2026-11-30", 1),  # a shorter month completes on its last day
    ("2026-10-31", "2026-11-29", 0),
    ("2026-01-30", "2026-02-28", 1),
    ("2026-01-28", "2026-02-27", 0),
    ("2026-01-31", "2026-03-30", 1),  # March has a 31st: the month completes on it
    ("2024-02-29", "2025-02-28", 12),
])
def test_a_month_ends_on_the_last_day_of_a_shorter_month(born: str, start: str, months: int) -> None:
    """The calendar clamping of the authorization periods (Jan 31 + 1 month = Feb 28): born Oct 31, the infant is
    one month old on Nov 30, for Aspirus III's "at least 1 month"."""
    birth = read_birth(patient(born), date.fromisoformat(start))
    assert birth.months.value == AgeRange(months, months) and birth.years.value == AgeRange(months // 12, months // 12)


def test_a_partial_birth_date_gives_the_span_of_ages_it_allows() -> None:
    born_1980 = read_birth(patient("1980"), TODAY)
    assert (born_1980.years.value, born_1980.years.note) == (AgeRange(45, 46), "born 1980: 45 or 46 years old")
    assert born_1980.months.value == AgeRange(542, 554)  # born 1980-12-31 .. 1980-01-01
    assert read_birth(patient("1980-05"), TODAY).years.value == AgeRange(45, 45)


def test_age_unknown_for_missing_birth_date() -> None:
    assert read_birth(patient(None), TODAY).years.value is None
    assert read_birth(None, TODAY).years.received is False


def test_relapsed_adult_first_cycle() -> None:
    relapse = condition("C91.02", recorded="2026-02-15", clinical_status="relapse", text="relapsed B-ALL")
    ph_negative = observation("21821-4", effective="2025-06-01",
                              valueCodeableConcept={"coding": [{"system": "http://snomed.info/sct",
                                                                "code": "260385009"}]})
    rec = record(relapse, ph_negative, _weight(70, "2026-02-25"), coverage("Aspirus Health Plan"),
                 patient_resource=patient("1980-05-15"))
    facts = extract_facts(rec, [_draft()], TODAY)
    assert facts.start_date == date(2026, 3, 1) and facts.cycle.number.value == 1
    assert facts.age_years.value == AgeRange(45, 45)
    assert facts.all_diagnosis.value is True and facts.b_lineage.value is True
    assert facts.disease_status.value == "relapsed" and facts.therapy_phase.value == "relapsed-refractory"
    assert facts.ph_positive.value is False
    assert facts.combination.value == "single-agent" and read_within(facts.live_vaccine_in_window, U1).value is False
    assert facts.unacceptable_toxicity.value is False and facts.body.weight_kg.value == 70
    assert facts.attested_items == () and facts.not_received == ()
    # The items only the clinician answers, not answered, say which question (beside another item's answer on one
    # criterion, "not answered" alone read as contradicting it).
    assert facts.end_of_consolidation_response == Fact(note="response at the end of the consolidation before this "
                                                            "course: not answered in the attestation questionnaire")
    # The Florida Blue 2.a question in short, as the card names its answer (the criterion beside it says it whole).
    assert facts.compendia_supported_use == Fact(note="FDA-labeled or NCCN category 1/2A use: not answered in the "
                                                      "attestation questionnaire")


_HYPERTENSION = condition("I10", recorded="2021-06-01")


@pytest.mark.parametrize("other", [
    _HYPERTENSION,
    _HYPERTENSION | {"recordedDate": 20210601},  # malformed
    _HYPERTENSION | {"code": "I10"},  # a code of the wrong JSON type
    condition("D89.831", recorded="2026-01-10"),  # grade 1 CRS: in the toxicity lists, then ignored
], ids=["well-formed", "malformed", "code not an object", "grade 1 CRS"])
def test_conditions_no_reader_counts_leave_the_facts_as_they_are(other: dict[str, Any]) -> None:
    """extract.py drops the Conditions no reader selects by code before their shape check (_conditions_read)."""
    relapse = condition("C91.02", recorded="2026-02-15", clinical_status="relapse", text="relapsed B-ALL")
    first = medication_request(start="2026-01-01", end="2026-01-28", status="completed")
    renewal = _draft("2026-02-12", "2026-03-11")  # a later cycle: the toxicity since the course start is read
    for draft, history in (([_draft()], ()), ([renewal], (first,))):
        assert extract_facts(record(relapse, *history, other), draft, TODAY) == \
            extract_facts(record(relapse, *history), draft, TODAY)


def test_step_dose_orders_share_the_earliest_start_and_are_not_a_combination() -> None:
    step = _draft("2026-03-01", "2026-03-07", id="step")
    full = _draft("2026-03-08", "2026-03-28", id="full")
    rec = record(step, full)  # the EHR also returns the drafts in the prefetch
    facts = extract_facts(rec, [full, step], TODAY)
    assert facts.start_date == date(2026, 3, 1) and facts.cycle.number.value == 1
    assert facts.combination.value == "single-agent"


def test_later_cycle_judges_phase_at_the_course_start_and_vaccines_from_it() -> None:
    first = medication_request(start="2026-01-01", end="2026-01-28", status="completed")
    relapse = condition("C91.02", recorded="2025-12-20", clinical_status="relapse")
    remission_later = condition("C91.01", recorded="2026-02-01", clinical_status="remission")
    vaccine = immunization("03", "2025-12-20")  # 12 days before the course start
    rec = record(first, relapse, remission_later, vaccine)
    facts = extract_facts(rec, [_draft("2026-02-12", "2026-03-11")], TODAY)
    assert facts.cycle.number.value == 2 and facts.cycle.course_start == date(2026, 1, 1)
    assert facts.therapy_phase.value == "relapsed-refractory" and facts.disease_status.value == "relapsed"
    assert facts.complete_response_to_induction.value is None
    assert read_within(facts.live_vaccine_in_window, U1).value is True


@pytest.mark.parametrize(("authored", "counted"), [("2025-12-31", False), ("2026-01-01", True)])
def test_renewal_answers_count_from_the_course_start(authored: str, counted: bool) -> None:
    """Aspirus IV renewal: response and toxicity on this course (from 2026-01-01); answers given during an earlier
    course neither show a response to it nor clear the grade 3 CRS recorded since (on its first day: an answer judges
    only the events recorded by its own day)."""
    first = medication_request(start="2026-01-01", end="2026-01-28", status="completed")
    relapse = condition("C91.02", recorded="2025-12-20", clinical_status="relapse")
    crs = condition("D89.833", recorded="2026-01-01")
    answers = questionnaire_response({"response-or-stabilization": True, "unacceptable-toxicity": False},
                                     authored=authored)
    facts = extract_facts(record(first, relapse, crs, answers), [_draft("2026-02-12", "2026-03-11")], TODAY)
    assert facts.cycle.course_start == date(2026, 1, 1)
    expected = (True, False) if counted else (None, None)
    assert (facts.response_or_stabilization.value, facts.unacceptable_toxicity.value) == expected


@pytest.mark.parametrize(("authored", "counted"), [("2026-01-29", False), ("2026-01-30", True)])
def test_renewal_answers_for_an_attested_cycle_the_record_does_not_show(authored: str, counted: bool) -> None:
    """Cycle 6 attested, its earlier cycles not on record: the course start read is this order's (2026-03-01), yet
    the course began months before. An answer written for this order (within 30 days before it) counts."""
    answers = questionnaire_response({"cycle-number": 6, "response-or-stabilization": True}, authored=authored)
    facts = extract_facts(record(answers), [_draft()], TODAY)
    assert facts.cycle.number.value == 6 and facts.cycle.course_start == TODAY
    assert facts.response_or_stabilization.value is (True if counted else None)


# A relapsed/refractory course of 2025 (cycles of 42 days, then 84 from cycle 6), its cycles 1-7 on record; cycle 8
# (a second Aspirus renewal) is drafted for 2026-01-14. Cycle 6 began 2025-07-30, cycle 7 2025-10-22.
_CYCLE_STARTS = ["2025-01-01", "2025-02-12", "2025-03-26", "2025-05-07", "2025-06-18", "2025-07-30", "2025-10-22",
                 "2026-01-14"]


def _continued(cycle: int, *resources: dict[str, Any]) -> ClinicalFacts:
    """The facts of the draft for `cycle` (7 or 8) of _CYCLE_STARTS, its earlier cycles completed orders."""
    def days(number: int) -> tuple[str, str]:
        first = date.fromisoformat(_CYCLE_STARTS[number - 1])
        return first.isoformat(), (first + timedelta(days=27)).isoformat()
    history = [medication_request(start=days(n)[0], end=days(n)[1], status="completed", id=f"cycle-{n}")
               for n in range(1, cycle)]
    relapse = condition("C91.02", recorded="2024-12-20", clinical_status="relapse")
    facts = extract_facts(record(relapse, *history, *resources), [_draft(*days(cycle))], date(2026, 1, 10))
    assert facts.cycle.number.value == cycle
    return facts


@pytest.mark.parametrize(("cycle", "authored", "current"), [
    (8, "2025-07-25", False),  # given for cycle 6's renewal: not for cycle 8's (Aspirus IV asks at each renewal)
    (8, "2025-09-21", False),
    (8, "2025-09-22", True),  # 30 days before cycle 7's start: given for cycle 7 or 8
    (7, "2025-07-25", True),  # the renewal given for cycle 6 covers cycle 7 (cycles 6-7 renewed together)
    (7, "2025-06-29", False),
])
def test_a_renewal_response_counts_only_when_current(cycle: int, authored: str, current: bool) -> None:
    """docs/policy-reading.md "Renewal answers are current ones": an answer counts for the cycle it was given for
    and the next; a stale one is as if not given, and the card names it and asks for a current answer."""
    answer = questionnaire_response({"response-or-stabilization": True}, authored=authored)
    response = _continued(cycle, answer).response_or_stabilization
    if current:
        assert (response.value, response.attested) == (True, True)
        return
    assert response.value is None and response.received
    assert f"the answer of {authored} is not current (renewal answers count from " in response.note
    assert response.missing == f"a current answer on response or stable disease (last answered {authored})"


def test_a_stale_response_gives_way_to_the_record() -> None:
    """A "no" given for cycle 6 does not deny cycle 8 when the record shows a response since: the record decides."""
    answer = questionnaire_response({"response-or-stabilization": False}, authored="2025-07-25")
    mrd = _mrd(0.0, "2025-12-20")
    response = _continued(8, answer, mrd).response_or_stabilization
    assert (response.value, response.attested) == (True, False)


@pytest.mark.parametrize(("answer", "authored", "expected"), [
    (False, "2025-07-25", None),  # a stale "no": the grade 3 CRS is asked about again, for this renewal
    (False, "2025-09-22", False),  # a current "no" clears it
    (True, "2025-07-25", True),  # an unacceptable toxicity attested this course stays true
])
def test_a_renewal_toxicity_no_counts_only_when_current(answer: bool, authored: str, expected: bool | None) -> None:
    crs = condition("D89.833", recorded="2025-03-01")
    toxicity = _continued(8, crs, questionnaire_response({"unacceptable-toxicity": answer},
                                                         authored=authored)).unacceptable_toxicity
    assert toxicity.value is expected
    if expected is None:
        assert "D89.833" in toxicity.note or "2025-03-01" in toxicity.note
        assert f"the answer of {authored} is not current" in toxicity.note
        assert toxicity.missing == f"a current answer on unacceptable toxicity (last answered {authored})"


def test_a_stale_toxicity_no_with_nothing_recorded_is_met_by_the_record() -> None:
    """An exclusion passes without contrary evidence (policy-rules.md §1): a stale "no" makes it no less so."""
    answer = questionnaire_response({"unacceptable-toxicity": False}, authored="2025-07-25")
    toxicity = _continued(8, answer).unacceptable_toxicity
    assert (toxicity.value, toxicity.attested) == (False, False)


def test_attested_items_list_the_answers_used() -> None:
    answers = questionnaire_response({
        "therapy-phase": "consolidation", "combination": "with-tki", "ph-positive": True,
        "prior-authorization-on-file": True, "compendia-supported-use": False,
        "end-of-consolidation-response": "less-than-complete", "multiagent-chemo-candidate": False,
    }, authored="2026-02-25")
    facts = extract_facts(record(answers), [_draft()], TODAY)
    assert facts.therapy_phase.value == "consolidation" and facts.combination.value == "with-tki"
    assert read_within(facts.prior_authorization_on_file, LOOK_BACK).value is True
    assert facts.compendia_supported_use.value is False
    assert facts.end_of_consolidation_response.value == "less-than-complete"
    # The prior authorization counts only within a policy's look-back: the decision names it (test_engine.py).
    assert set(facts.attested_items) == {"therapy-phase", "combination", "ph-positive", "compendia-supported-use",
                                         "end-of-consolidation-response", "multiagent-chemo-candidate"}


# The answers about the state the course began in (attestations.py, docs/data-requirements.md §Attestations).
COURSE_ANSWERS = [
    ("complete-response-to-induction", False, "complete_response_to_induction"),
    ("induction-ino-mini-hyper-cvd", True, "induction_ino_mini_hyper_cvd"),
    ("multiagent-chemo-candidate", False, "multiagent_chemo_candidate"),
    ("remission-number", 1, "remission_number"),
    ("end-of-consolidation-response", "less-than-complete", "end_of_consolidation_response"),
    ("compendia-supported-use", True, "compendia_supported_use"),
]


@pytest.mark.parametrize(("authored", "counted"), [("2026-01-29", False), ("2026-01-30", True)])
@pytest.mark.parametrize(("link_id", "value", "fact"), COURSE_ANSWERS)
def test_course_answers_count_from_30_days_before_the_course_start(link_id: str, value: Any, fact: str,
                                                                   authored: str, counted: bool) -> None:
    """This course starts 2026-03-01 (cycle 1): an older answer was written for an earlier course. Not counted, it
    leaves the fact unknown here (the record holds nothing on it), never a not-met."""
    answers = questionnaire_response({link_id: value}, authored=authored)
    facts = extract_facts(record(answers), [_draft()], TODAY)
    found = getattr(facts, fact)
    assert (found.value, found.attested) == ((value, True) if counted else (None, False))
    assert (link_id in facts.attested_items) is counted


def test_answers_from_the_previous_course_give_way_to_the_record() -> None:
    """A first course given in first remission (answered then), a relapse, and a re-induction that has not brought a
    remission by this course: the old answers describe the first remission and the first induction."""
    first_course = medication_request(start="2024-03-01", end="2024-03-28", status="completed")
    cr1 = condition("C91.01", recorded="2024-02-01", clinical_status="remission")
    relapse = condition("C91.02", recorded="2025-06-01", clinical_status="relapse")
    old = questionnaire_response({"remission-number": 1, "complete-response-to-induction": True},
                                 authored="2024-02-20")
    facts = extract_facts(record(first_course, cr1, relapse, old), [_draft()], TODAY)
    assert facts.cycle.number.value == 1 and facts.cycle.course_start == TODAY
    assert (facts.remission_number.value, facts.remission_number.attested) == (0, False)  # in relapse: no remission
    assert facts.complete_response_to_induction.value is None
    assert facts.attested_items == ()


def test_a_remission_attested_in_the_previous_course_ends_it_but_does_not_speak_for_this_one() -> None:
    """course.py and diagnosis.py read one `remission-number` answer, each for its own course: given during the
    previous course, it is a remission after that course's start, so the relapse after it begins this course; it
    does not say which remission the patient is in at this course's start."""
    first_course = medication_request(start="2025-06-01", end="2025-06-28", status="completed")
    relapse = condition("C91.02", recorded="2025-05-20", clinical_status="relapse")
    cr2 = questionnaire_response({"remission-number": 2}, authored="2025-07-15")
    second_relapse = condition("C91.02", recorded="2026-01-10", clinical_status="relapse")
    facts = extract_facts(record(first_course, relapse, cr2, second_relapse), [_draft()], TODAY)
    assert facts.cycle.number.value == 1 and facts.cycle.course_start == TODAY
    assert (facts.remission_number.value, facts.remission_number.attested) == (0, False)


@pytest.mark.parametrize(("authored", "on_file"), [("2024-03-01", None), ("2026-01-29", None), ("2026-01-30", True)])
def test_a_prior_authorization_counts_only_when_attested_for_this_order(authored: str, on_file: bool | None) -> None:
    """Florida Blue continuation 1: an authorization "in the past two years", said as of the answer. Two years old,
    an answer would vouch for one four years before this order (2026-03-01, cycle 1, no earlier order): only an
    answer for this course counts (from 30 days before its start), an older one is as if not given."""
    answers = questionnaire_response({"prior-authorization-on-file": True}, authored=authored)
    facts = extract_facts(record(answers), [_draft()], TODAY)
    assert read_within(facts.prior_authorization_on_file, LOOK_BACK).value is on_file


@pytest.mark.parametrize(("authored", "on_file"), [("2026-01-18", None), ("2026-01-19", True)])
def test_a_prior_authorization_attested_for_the_previous_order_is_not_counted(authored: str,
                                                                              on_file: bool | None) -> None:
    """Cycle 2: the answer given for cycle 1 (started 2026-01-18) is not reused, as `combination`'s is not."""
    cycle_1 = medication_request(start="2026-01-18", end="2026-02-14", status="completed")
    answers = questionnaire_response({"prior-authorization-on-file": True}, authored=authored)
    facts = extract_facts(record(cycle_1, answers), [_draft()], TODAY)
    assert facts.cycle.number.value == 2
    fact = read_within(facts.prior_authorization_on_file, LOOK_BACK)
    assert fact.value is on_file
    assert not on_file or fact.note.endswith(f"(answered {authored})")  # the card names the answer used


@pytest.mark.parametrize(("authored", "on_file"), [("2026-02-28", None), ("2026-03-01", True)])
def test_a_prior_authorization_within_this_order_still_needs_the_look_back(authored: str,
                                                                           on_file: bool | None) -> None:
    """A plan whose look-back is shorter than the time since the answer (here none) does not count it."""
    answers = questionnaire_response({"prior-authorization-on-file": True}, authored=authored)
    facts = extract_facts(record(answers), [_draft()], TODAY)
    assert read_within(facts.prior_authorization_on_file, {"look_back_years": 0}).value is on_file


QUESTION = "blinatumomab authorized by a health plan in the past 2 years: yes, answered"


@pytest.mark.parametrize(("authored", "why"), [
    ("2024-02-29", "more than 2 years before this order's start (2026-03-01)"),
    ("2024-03-01", "before this course's window (answers count from 2026-01-30, 30 days before its start)"),
    ("2026-01-29", "before this course's window (answers count from 2026-01-30, 30 days before its start)"),
])
def test_a_prior_authorization_answered_outside_its_window_says_why_it_is_not_counted(authored: str,
                                                                                      why: str) -> None:
    """The clinical and pharmacy review: an authorization attested two years and one day before the order's start
    was dropped without a word. Still not counted (unknown: initiation is evaluated), the fact now names the answer
    (its evidence) and the window it falls outside: the look-back when it is older than that, else the answers'
    own window (docs/data-requirements.md §Attestations). Exactly two years old, only the latter leaves it out."""
    answers = questionnaire_response({"prior-authorization-on-file": True}, authored=authored)
    facts = extract_facts(record(answers), [_draft()], TODAY)
    fact = read_within(facts.prior_authorization_on_file, LOOK_BACK)
    assert (fact.value, fact.evidence) == (None, (f"QuestionnaireResponse/{answers['id']}",))
    assert fact.note == f"{QUESTION} {authored}, {why}"


@pytest.mark.parametrize(("authored", "on_file"), [("2024-02-29", None), ("2024-03-01", True)])
def test_the_look_back_decides_when_the_answers_window_reaches_further(authored: str, on_file: bool | None) -> None:
    """Cycle 2 of a course begun in January 2024 (no relapse since): the order's window opens the day after that
    order started, so the two years before this order's start decide, to the day."""
    cycle_1 = medication_request(start="2024-01-10", end="2024-02-06", status="completed")
    answers = questionnaire_response({"prior-authorization-on-file": True}, authored=authored)
    facts = extract_facts(record(cycle_1, answers), [_draft()], TODAY)
    assert (facts.cycle.number.value, facts.cycle.course_start) == (2, date(2024, 1, 10))
    fact = read_within(facts.prior_authorization_on_file, LOOK_BACK)
    assert fact.value is on_file
    if on_file is None:
        assert fact.note == f"{QUESTION} {authored}, more than 2 years before this order's start (2026-03-01)"


def test_a_prior_authorization_answered_for_the_previous_order_says_so() -> None:
    cycle_1 = medication_request(start="2026-01-18", end="2026-02-14", status="completed")
    answers = questionnaire_response({"prior-authorization-on-file": True}, authored="2026-01-18")
    fact = read_within(extract_facts(record(cycle_1, answers), [_draft()], TODAY).prior_authorization_on_file,
                       LOOK_BACK)
    assert fact.value is None
    assert fact.note == (f"{QUESTION} 2026-01-18, on or before the day the latest earlier blinatumomab order started "
                         "(2026-01-18): given for that order")


def test_a_prior_authorization_denied_outside_its_window_is_not_named() -> None:
    """An old "no" is not counted either, and its age changes nothing: initiation is evaluated with or without it."""
    answers = questionnaire_response({"prior-authorization-on-file": False}, authored="2024-02-29")
    fact = read_within(extract_facts(record(answers), [_draft()], TODAY).prior_authorization_on_file, LOOK_BACK)
    assert (fact.value, fact.evidence) == (None, ()) and "yes, answered" not in fact.note


def test_not_received_data_is_reported_and_unknown() -> None:
    rec = record(not_received=("immunizations", "medicationRequests", "conditions"))
    facts = extract_facts(rec, [_draft()], TODAY)
    assert set(facts.not_received) == {"immunizations", "medicationRequests", "conditions"}
    vaccines = facts.live_vaccine_in_window
    assert isinstance(vaccines, Fact) and vaccines.received is False and facts.combination.received is False
    assert facts.unacceptable_toxicity.value is None and facts.cycle.number.value is None


def test_other_draft_orders_count_for_the_combination() -> None:
    dasatinib = medication_request("475342", status="draft", id="tki")
    facts = extract_facts(record(), [_draft()], TODAY, other_drafts=[dasatinib])
    assert facts.combination.value == "with-tki"


def test_medication_server_reads_are_made_once() -> None:
    calls: list[str] = []

    def resolve(reference: str) -> dict[str, Any] | None:
        calls.append(reference)
        return {"resourceType": "Medication", "id": "m", "code": {"text": "imatinib"}}

    history = []
    for i in range(20):
        order = medication_request(None, authored="2025-01-01", medicationReference={"reference": "Medication/m"})
        del order["medicationCodeableConcept"]
        history.append(order)
    facts = extract_facts(record(*history, resolve=resolve), [_draft()], TODAY)
    assert facts.combination.value == "with-tki" and calls == ["Medication/m"]


def _large_record() -> Any:
    observations = []
    for i in range(5000):
        day = (TODAY - timedelta(days=i % 700)).isoformat()
        observations.append(_mrd(0.01, day) if i % 50 == 0 else
                            observation("2345-7", effective=day,
                                        valueQuantity={"value": 90 + i % 20, "unit": "mg/dL"}))
    drugs = ("282388", "6851", "3264", "11202", "3002", "103", "8640", "1942950")
    meds = [medication_request(drugs[i % len(drugs)], start=(TODAY - timedelta(days=i)).isoformat(),
                               end=(TODAY - timedelta(days=i - 5)).isoformat(), status="completed")
            for i in range(1000)]
    return record(*observations, *meds, condition("C91.02", recorded="2026-02-01", clinical_status="relapse"),
                  _weight(70, "2026-02-20"))


def test_large_record_is_read_correctly() -> None:
    # Speed is measured by bench/, not here: this checks the answer on a long record.
    facts = extract_facts(_large_record(), [_draft()], TODAY)
    assert facts.combination.value == "with-tki" and facts.cycle.number.value == 1


@pytest.mark.parametrize(("born", "note"), [
    ("2030-01-01", "born 2030-01-01: after the order's start"),
    ("1900-01-01", "born 1900-01-01: not a plausible birth date"),
    ("9999-12-31", "birthDate is not a usable date"),  # a placeholder year (facts/codes.py)
    ("0001-01-01", "birthDate is not a usable date"),
    ("1980-02-30", "birthDate is not a usable date"),
    ("1980-05-10T10:00:00", "birthDate is not a usable date"),  # a dateTime, not a FHIR date
])
def test_an_impossible_birth_date_gives_no_age_and_says_why(born: str, note: str) -> None:
    birth = read_birth(patient(born), TODAY)
    assert (birth.date, birth.years.value, birth.months.value) == (None, None, None)
    assert birth.years.note == note


def test_the_oldest_plausible_birth_date() -> None:
    born = TODAY.replace(year=TODAY.year - 120)
    assert read_birth(patient(born.isoformat()), TODAY).years.value is None
    day_after = born + timedelta(days=1)
    birth = read_birth(patient(day_after.isoformat()), TODAY)
    assert (birth.date, birth.years.value) == (day_after, AgeRange(119, 119))


def test_clinical_facts_init_is_the_dataclass_fields() -> None:
    """ClinicalFacts writes its own __init__ (model.py says why): its parameters are the fields, in order, with their
    defaults, so construction, equality and dataclasses.replace behave as the generated one would."""
    fields = dataclasses.fields(ClinicalFacts)
    parameters = list(inspect.signature(ClinicalFacts.__init__).parameters.values())[1:]
    assert [p.name for p in parameters] == [f.name for f in fields]
    assert [p.default for p in parameters] == [
        inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default for f in fields]
    start = date(2026, 1, 1)
    cycle = CycleInfo(number=Fact(1), start=start, course_start=start)
    facts = ClinicalFacts(start_date=start, cycle=cycle, body=BodySize(), tki_failure=Fact(True))
    assert vars(facts) == {f.name: getattr(facts, f.name) for f in fields} and facts.tki_failure == Fact(True)
    changed = dataclasses.replace(facts, tki_failure=Fact(False))
    assert changed.tki_failure == Fact(False) and changed != facts
    assert dataclasses.replace(changed, tki_failure=Fact(True)) == facts
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.tki_failure = Fact(False)  # type: ignore[misc]
