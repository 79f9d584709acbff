"""A resource with a wrong JSON type in an element a reader uses (shape.py) is never read; when its code still says
what it is, the facts it bears on become unknown with it as evidence, never a silent "none recorded"
(facts/unreadable.py). Each test sets a well-formed record against the same record with one element broken."""
from __future__ import annotations

import copy
from datetime import date
from typing import Any, Callable

import pytest

from cds_service.facts.extract import extract_facts
from cds_service.facts.model import ClinicalFacts, Fact, read_within
from cds_service.policies import load_policy
from tests.factories import (condition, immunization, medication_request, observation, questionnaire_response,
                             record)

TODAY = date(2026, 3, 1)
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
Resource = dict[str, Any]


def _draft(start: str = "2026-03-01", end: str = "2026-03-28") -> Resource:
    return medication_request(start=start, end=end, status="draft", id="draft")


def _facts(*resources: Resource, draft: Resource | None = None, other_drafts: tuple[Resource, ...] = ()
           ) -> ClinicalFacts:
    return extract_facts(record(*resources), [draft or _draft()], TODAY, other_drafts=list(other_drafts))


U1 = dict(load_policy("aspirus-magellan").windows)["live_vaccine_in_window"]  # the policy file's window


def _u1(facts: ClinicalFacts) -> Fact[bool]:
    """The live-vaccine fact read within Aspirus U1's window."""
    return read_within(facts.live_vaccine_in_window, U1)


def _broken(resource: Resource, *path: Any, value: Any = 20260301) -> Resource:
    """A copy of `resource` with `value` (by default a number) at `path`."""
    broken = copy.deepcopy(resource)
    target = broken
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return broken


def _ref(resource: Resource) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


# ---- live vaccines (Aspirus U1) ----------------------------------------------------------------------------------


def test_a_live_vaccine_whose_date_is_a_number_leaves_u1_unknown_and_says_which() -> None:
    mmr = immunization("03", "2026-02-20")
    assert _u1(_facts(mmr)).value is True
    broken = _broken(mmr, "occurrenceDateTime")
    fact = _u1(_facts(broken))
    assert fact.value is None and fact.received and fact.evidence == (_ref(mmr),)
    assert fact.note.startswith(f"{_ref(mmr)} (a live vaccine) could not be read: occurrenceDateTime is a number, "
                                "not a date; without it: no live vaccine recorded between")
    assert fact.missing == f"a readable {_ref(mmr)} (occurrenceDateTime is a number, not a date)"


@pytest.mark.parametrize("path", [("status",), ("vaccineCode", "text"), ("recorded",)])
def test_a_live_vaccine_broken_elsewhere_leaves_u1_unknown(path: tuple[str, ...]) -> None:
    broken = _broken(immunization("03", "2026-02-20"), *path, value=["x"])
    assert _u1(_facts(broken)).value is None


def test_a_live_vaccine_without_a_status_broken_elsewhere_leaves_u1_unknown() -> None:
    """No status does not rule it out, although the reader skips such a vaccine when it can read it."""
    broken = _broken(immunization("03", "2026-02-20"), "occurrenceDateTime")
    del broken["status"]
    assert _u1(_facts(broken)).value is None


def test_an_unspecified_vaccine_broken_leaves_u1_unknown() -> None:
    fact = _u1(_facts(_broken(immunization("188", "2026-02-20"), "status", value=7)))
    assert fact.value is None and "(a vaccine of unspecified formulation)" in fact.note


@pytest.mark.parametrize("vaccine", [
    _broken(immunization("03", "2024-02-20"), "recorded"),  # its readable date is long before the window
    _broken(immunization("03", "2026-02-20", status="not-done"), "recorded"),
    _broken(immunization("141", "2026-02-20"), "occurrenceDateTime"),  # inactivated influenza
], ids=["outside the window", "not done", "not live"])
def test_a_broken_immunization_that_cannot_be_a_live_vaccine_in_the_window_is_ignored(vaccine: Resource) -> None:
    fact = _u1(_facts(vaccine))
    assert fact.value is False and fact.evidence == ()


def test_a_vaccine_in_the_window_whose_code_cannot_be_read_leaves_u1_unknown() -> None:
    """Any vaccine may be a live one when no CVX code says which it is (facts/immunizations.py)."""
    broken = _broken(immunization("03", "2026-02-20"), "vaccineCode", value=3)
    fact = _u1(_facts(broken))
    assert fact.value is None and fact.evidence == (_ref(broken),) and "(a vaccine without a CVX code)" in fact.note


def test_a_live_vaccine_in_the_window_stays_one_whatever_a_broken_one_says() -> None:
    mmr = immunization("03", "2026-02-20")
    fact = _u1(_facts(mmr, _broken(immunization("21", "2026-02-21"), "occurrenceDateTime")))
    assert fact.value is True and fact.evidence == (_ref(mmr),)


def test_a_broken_vaccine_is_placed_in_each_policys_own_window() -> None:
    """Its readable date, 20 days before the course start, is outside Aspirus U1's 14 days and inside a plan's 30:
    ignored under the one, U1 unknown under the other (the window is the policy file's, docs/policy-reading.md)."""
    facts = _facts(_broken(immunization("03", "2026-02-09"), "recorded"))
    assert _u1(facts).value is False
    wider = read_within(facts.live_vaccine_in_window, {"days_before_course": 30, "days_after_order": 28})
    assert wider.value is None and "(a live vaccine) could not be read" in wider.note


# ---- medications --------------------------------------------------------------------------------------------------


def _tki(status: str = "active", **extra: Any) -> Resource:
    return medication_request("475342", start="2026-02-01", status=status, **extra)  # dasatinib, still taken


@pytest.mark.parametrize("change", [
    lambda tki: _broken(tki, "status", value=["active"]),
    lambda tki: _broken(tki, "dosageInstruction", 0, "text", value=5),
    lambda tki: _broken(tki, "authoredOn"),
    # Text that names no status or no day: passed over as if not active, it had made the order single-agent.
    lambda tki: _broken(tki, "status", value="active "),
    lambda tki: _broken(tki, "dosageInstruction", 0, "timing", "repeat", "boundsPeriod", "end", value="2026-1-1"),
], ids=["status a list", "dosage text a number", "authoredOn a number", "status not a code", "end not a date"])
def test_a_tki_order_that_cannot_be_read_leaves_the_combination_unknown(change: Callable[[Resource], Resource]
                                                                        ) -> None:
    tki = _tki(authored="2026-01-31")
    assert _facts(tki).combination.value == "with-tki"
    broken = change(tki)
    facts = _facts(broken)
    assert facts.combination.value is None and facts.combination.evidence == (_ref(tki),)
    assert "(a TKI order) could not be read" in facts.combination.note
    assert facts.combination.missing == ""  # the attestation answers it: the criterion's own request
    # Only a stopped TKI can show a failure: one whose status reads active does not bear on it.
    assert facts.tki_failure.value is None
    assert (_ref(tki) in facts.tki_failure.evidence) is (broken["status"] != "active")


def test_a_broken_tki_drafted_with_the_order_leaves_the_combination_unknown() -> None:
    drafted = medication_request("475342", status="draft", id="tki")
    assert _facts(other_drafts=(drafted,)).combination.value == "with-tki"
    facts = _facts(other_drafts=(_broken(drafted, "dosageInstruction", value="daily"),))
    assert facts.combination.value is None and facts.combination.evidence == ("MedicationRequest/tki",)


def test_an_attested_combination_and_a_tki_on_record_stand_against_a_broken_order() -> None:
    broken_tki = _broken(_tki(), "status", value=1)
    attested = _facts(broken_tki, questionnaire_response({"combination": "single-agent"}, authored="2026-02-25"))
    assert attested.combination.value == "single-agent" and attested.combination.attested
    assert _facts(_tki(), _broken(medication_request("1942950", start="2026-02-01"), "status", value=1)
                  ).combination.value == "with-tki"


def test_a_stopped_tki_whose_reason_cannot_be_read_says_so() -> None:
    stopped = _tki(status="stopped", statusReason={"text": "intolerance"})
    assert _facts(stopped).tki_failure.value is True
    fact = _facts(_broken(stopped, "statusReason", "text", value=["intolerance"])).tki_failure
    assert fact.value is None and fact.evidence == (_ref(stopped),) and "could not be read" in fact.note


def test_a_broken_inotuzumab_order_before_the_course_leaves_the_induction_unknown() -> None:
    ino = medication_request("1942950", start="2025-10-01", end="2025-10-03", status="completed")
    vincristine = medication_request("11202", start="2025-10-01", end="2025-10-02", status="completed")
    assert _facts(ino, vincristine).induction_ino_mini_hyper_cvd.value is True
    fact = _facts(_broken(ino, "authoredOn"), vincristine).induction_ino_mini_hyper_cvd
    assert fact.value is None and fact.evidence[0] == _ref(ino) and "(an inotuzumab order)" in fact.note


def test_a_broken_inotuzumab_order_whose_status_says_it_was_not_given_is_ignored() -> None:
    """The induction reader counts the statuses of an earlier cycle (medications.PRIOR_STATUSES): a cancelled order,
    readable or not, is no induction."""
    vincristine = medication_request("11202", start="2025-10-01", end="2025-10-02", status="completed")
    cancelled = medication_request("1942950", start="2025-10-01", end="2025-10-03", status="cancelled")
    fact = _facts(_broken(cancelled, "authoredOn"), vincristine).induction_ino_mini_hyper_cvd
    assert fact.value is None and fact.evidence == () and "could not be read" not in fact.note


@pytest.mark.parametrize("order", [
    _broken(medication_request("6851", start="2026-02-01", route="intrathecal"), "authoredOn"),  # CNS prophylaxis
    _broken(medication_request("3264", start="2026-02-01"), "authoredOn"),  # dexamethasone premedication
    _broken(_tki(status="entered-in-error"), "authoredOn"),
], ids=["intrathecal", "dexamethasone", "entered in error"])  # no readable drug: tests/test_deletion_drugs.py
def test_a_broken_order_no_rule_reads_is_ignored(order: Resource) -> None:
    facts = _facts(order)
    assert facts.combination.value == "single-agent" and facts.cycle.number.value == 1


# ---- cycles -------------------------------------------------------------------------------------------------------


def _cycles(count: int) -> list[Resource]:
    """`count` earlier 28-day cycles, every 42 days, the last ending two weeks before the draft's start."""
    starts = [date.fromordinal(TODAY.toordinal() - 14 - 27 - 42 * (count - 1 - i)) for i in range(count)]
    return [medication_request(start=s, end=date.fromordinal(s.toordinal() + 27), status="completed")
            for s in starts]


@pytest.mark.parametrize("change", [
    lambda order: _broken(order, "dosageInstruction", 0, "text", value=5),
    lambda order: _broken(order, "authoredOn"),
    lambda order: _broken(order, "status", value=None),
    lambda order: _broken(order, "status", value=""),  # had been no earlier cycle: the count one short, a denial
    lambda order: _broken(order, "authoredOn", value="2026-02-30"),
], ids=["dosage text a number", "authoredOn a number", "status null", "status empty", "authoredOn no such day"])
def test_an_earlier_cycle_that_cannot_be_read_leaves_the_cycle_number_unknown(
        change: Callable[[Resource], Resource]) -> None:
    earlier = _cycles(4)
    assert _facts(*earlier).cycle.number.value == 5
    broken = change(earlier[1])
    number = _facts(earlier[0], broken, *earlier[2:]).cycle.number
    assert number.value is None and number.evidence[0] == _ref(earlier[1])  # not cycle 4: one is missing
    assert "(a blinatumomab order) could not be read" in number.note and "without it: cycle 4" in number.note
    assert number.missing.startswith(f"a readable {_ref(earlier[1])} (")


def test_an_attested_cycle_number_does_not_stand_for_an_earlier_cycle_that_cannot_be_read() -> None:
    """An order-level answer counts only when authored after the latest earlier order began: an unreadable one's
    start is unknown, so the answer may have been given for it."""
    earlier = _cycles(2)
    answer = questionnaire_response({"cycle-number": 3}, authored="2026-02-27")
    assert _facts(*earlier, answer).cycle.number.value == 3
    assert _facts(earlier[0], _broken(earlier[1], "authoredOn"), answer).cycle.number.value is None


def test_an_attested_combination_does_not_stand_for_an_earlier_cycle_that_cannot_be_read() -> None:
    """The combination is order-level, scoped as the cycle number is: the answer may have been given for the
    earlier order that cannot be read. A combination read from the other drugs' orders does not depend on it."""
    earlier = _cycles(2)
    answer = questionnaire_response({"combination": "with-multiagent-chemo"}, authored="2026-02-27")
    attested = _facts(*earlier, answer).combination
    assert attested.value == "with-multiagent-chemo" and attested.attested
    broken = _broken(earlier[1], "authoredOn")
    fact = _facts(earlier[0], broken, answer).combination
    assert fact.value is None and fact.evidence[0] == _ref(earlier[1])
    assert "(a blinatumomab order) could not be read" in fact.note
    assert fact.missing.startswith(f"a readable {_ref(earlier[1])} (")
    assert _facts(earlier[0], broken).combination.value == "single-agent"
    cancelled = _broken(earlier[1] | {"status": "cancelled"}, "authoredOn")  # no earlier order: the answer stands
    assert _facts(earlier[0], cancelled, answer).combination.attested


def test_an_attested_combination_does_not_stand_for_an_earlier_order_whose_drug_is_unknown() -> None:
    """As for the cycle number (course.py): an order whose Medication could not be read may be an earlier cycle."""
    unread = medication_request(None, start="2026-02-01", end="2026-02-10", status="completed")
    del unread["medicationCodeableConcept"]
    unread["medicationReference"] = {"reference": "Medication/not-received"}
    answer = questionnaire_response({"combination": "with-multiagent-chemo"}, authored="2026-01-20")
    assert _facts(answer).combination.attested
    fact = _facts(unread, answer).combination
    assert (fact.value, fact.attested) == ("single-agent", False)


def test_a_broken_blinatumomab_order_whose_status_is_no_earlier_cycle_is_ignored() -> None:
    cancelled = _broken(_cycles(1)[0] | {"status": "cancelled"}, "authoredOn")
    assert _facts(cancelled).cycle.number.value == 1


def test_the_order_itself_broken_in_the_record_is_read_from_the_request() -> None:
    draft = _draft()
    assert _facts(_broken(draft, "authoredOn"), draft=draft).cycle.number.value == 1


# ---- conditions ---------------------------------------------------------------------------------------------------


def _relapse(recorded: str = "2026-02-15") -> Resource:
    return condition("C91.02", recorded=recorded, clinical_status="relapse")


def test_a_relapse_that_cannot_be_read_leaves_the_disease_status_and_phase_unknown() -> None:
    remission = condition("C91.01", recorded="2025-10-01", clinical_status="remission")
    relapse = _relapse()
    assert (_facts(remission, relapse).disease_status.value, _facts(remission, relapse).therapy_phase.value) == \
        ("relapsed", "relapsed-refractory")
    facts = _facts(remission, _broken(relapse, "recordedDate"))
    assert facts.disease_status.value is None and facts.disease_status.evidence[0] == _ref(relapse)
    assert facts.disease_status.note.startswith(f"{_ref(relapse)} (C91.02) could not be read: recordedDate is a "
                                                "number, not a date; without it: ALL in remission")
    assert facts.therapy_phase.value is None and facts.remission_number.value is None
    assert facts.all_diagnosis.value is True  # the remission record still says ALL


def test_an_attested_phase_stands_against_a_condition_that_cannot_be_read() -> None:
    answer = questionnaire_response({"therapy-phase": "relapsed-refractory"}, authored="2026-02-25")
    assert _facts(_broken(_relapse(), "recordedDate"), answer).therapy_phase.value == "relapsed-refractory"


def test_a_broken_all_condition_is_no_diagnosis_yet_says_which_one_to_read() -> None:
    fact = _facts(_broken(_relapse(), "clinicalStatus", "coding", 0, "code", value=["relapse"])).all_diagnosis
    assert fact.value is None and fact.evidence and "clinicalStatus.coding[0].code is a list, not text" in fact.note


def test_a_relapse_that_cannot_be_read_leaves_the_cycle_number_unknown_only_after_earlier_cycles() -> None:
    earlier = _cycles(1)
    remission = condition("C91.01", recorded="2025-01-01", clinical_status="remission")
    assert _facts(*earlier, remission).cycle.number.value == 2
    broken = _broken(_relapse(recorded="2026-02-20"), "onsetDateTime")
    assert _facts(*earlier, remission, broken).cycle.number.value is None  # a relapse may begin a new course
    assert _facts(remission, broken).cycle.number.value == 1


@pytest.mark.parametrize("change", [
    lambda c: _broken(c, "verificationStatus", value={"coding": [{"code": "refuted"}], "text": 7}),
    lambda c: _broken(c, "code", value="C91.02"),
], ids=["refuted", "no readable code"])
def test_a_broken_condition_refuted_or_without_a_readable_code_is_ignored(change: Callable[[Resource], Resource]
                                                                         ) -> None:
    facts = _facts(condition("C91.01", recorded="2025-10-01", clinical_status="remission"), change(_relapse()))
    assert facts.disease_status.value == "remission" and len(facts.disease_status.evidence) == 1


def _renewal(*resources: Resource) -> ClinicalFacts:
    """Facts of a later cycle of a course that began 2026-01-01."""
    first = medication_request(start="2026-01-01", end="2026-01-28", status="completed")
    return _facts(first, *resources, draft=_draft("2026-02-12", "2026-03-11"))


def test_a_grade_4_crs_that_cannot_be_read_leaves_the_toxicity_unknown_even_when_attested() -> None:
    crs = condition("D89.834", recorded="2026-01-10")
    assert _renewal(crs).unacceptable_toxicity.value is True
    broken = _broken(crs, "recordedDate")
    fact = _renewal(broken).unacceptable_toxicity
    assert fact.value is None and fact.evidence == (_ref(crs),) and "(grade 4-5 CRS or ICANS)" in fact.note
    answer = questionnaire_response({"unacceptable-toxicity": False}, authored="2026-02-10")
    assert _renewal(broken, answer).unacceptable_toxicity.value is None  # the answer never clears grade 4


def test_a_toxicity_to_judge_that_cannot_be_read_is_decided_by_the_answer() -> None:
    broken = _broken(condition("K85.90", recorded="2026-01-10"), "recordedDate")  # acute pancreatitis
    assert _renewal(broken).unacceptable_toxicity.value is None
    answer = questionnaire_response({"unacceptable-toxicity": False}, authored="2026-02-10")
    assert _renewal(broken, answer).unacceptable_toxicity.value is False


def test_a_broken_toxicity_recorded_after_the_no_is_not_cleared_by_it() -> None:
    """As a readable one (toxicity._judged): a "no" judges the events on record by its day. A pancreatitis recorded
    after it, with a malformed clinical status, was cleared by the answer that never judged it."""
    pancreatitis = condition("K85.90", recorded="2026-02-20")
    answer = questionnaire_response({"unacceptable-toxicity": False}, authored="2026-02-10")
    assert _renewal(pancreatitis, answer).unacceptable_toxicity.value is None
    broken = _broken(pancreatitis, "clinicalStatus", value="active")
    fact = _renewal(broken, answer).unacceptable_toxicity
    assert fact.value is None and fact.evidence[0] == _ref(pancreatitis)
    assert fact.missing.startswith(f"the clinical status of the toxicity to judge ({_ref(pancreatitis)}: ")
    before = _broken(condition("K85.90", recorded="2026-02-10"), "clinicalStatus", value="active")
    assert _renewal(before, answer).unacceptable_toxicity.value is False  # on its day: judged
    yes = questionnaire_response({"unacceptable-toxicity": True}, authored="2026-02-10")
    assert _renewal(broken, yes).unacceptable_toxicity.value is True  # a "yes" stands whatever it says


def test_a_broken_toxicity_dated_before_the_course_is_ignored() -> None:
    old = _broken(condition("D89.834", recorded="2025-06-01"), "clinicalStatus", value="active")
    assert _renewal(old).unacceptable_toxicity.value is False


def test_a_broken_toxicity_whose_partial_date_spans_the_course_start_bears_on_it() -> None:
    """A course from 2026-01-15: "2026-01" may be any day of January, so it is not dated before the course."""
    first = medication_request(start="2026-01-15", end="2026-02-11", status="completed")
    draft = _draft("2026-02-25", "2026-03-24")
    for recorded, value in (("2025-12", False), ("2026-01", None)):
        broken = _broken(condition("D89.834", recorded=recorded), "clinicalStatus", value="active")
        assert _facts(first, broken, draft=draft).unacceptable_toxicity.value is value


def test_a_broken_toxicity_dated_on_the_course_start_bears_on_it() -> None:
    """The course began 2026-01-01: an event recorded that day is since the course start (fhir-data-profile.md
    §Toxicity), readable or not."""
    crs = condition("D89.834", recorded="2026-01-01")
    assert _renewal(crs).unacceptable_toxicity.value is True
    fact = _renewal(_broken(crs, "clinicalStatus", value="active")).unacceptable_toxicity
    assert fact.value is None and fact.evidence == (_ref(crs),)


# ---- observations -------------------------------------------------------------------------------------------------


def _mrd(percent: float, effective: str) -> Resource:
    return observation(text="MRD (flow)", effective=effective,
                       valueQuantity={"value": percent, "unit": "%", "system": UCUM, "code": "%"})


def _ph(code: str, effective: str = "2025-06-01") -> Resource:
    return observation("21821-4", effective=effective, valueCodeableConcept={"coding": [{"system": SNOMED,
                                                                                          "code": code}]})


def test_an_mrd_result_that_cannot_be_read_leaves_the_mrd_facts_unknown() -> None:
    older, latest = _mrd(0.5, "2026-01-01"), _mrd(0.05, "2026-02-20")
    assert _facts(older, latest).mrd_detectable.value is True
    facts = _facts(older, _broken(latest, "valueQuantity", "value", value="0.05"))
    for fact in (facts.mrd_detectable, facts.mrd_percent, facts.mrd_persistent_or_rising, facts.mrd_unavailable):
        assert fact.value is None and fact.evidence[0] == _ref(latest)
    assert facts.mrd_detectable.missing == f"a readable {_ref(latest)} (valueQuantity.value is text, not a number)"
    assert "(an MRD result) could not be read" in facts.mrd_detectable.note


def test_an_observation_whose_status_is_not_text_is_an_unreadable_result() -> None:
    mrd = _mrd(0.05, "2026-02-20")
    assert _facts(_broken(mrd, "status", value=["final"])).mrd_detectable.evidence == (_ref(mrd),)


def test_a_ph_result_that_cannot_be_read_leaves_ph_unknown_unless_a_positive_is_on_record() -> None:
    negative = _ph("260385009")
    assert _facts(negative).ph_positive.value is False
    broken = _broken(_ph("10828004", "2025-07-01"), "effectiveDateTime")
    assert _facts(negative, broken).ph_positive.value is None
    assert _facts(_ph("10828004"), broken).ph_positive.value is True  # Ph+ once is Ph+


def test_a_cd19_result_that_cannot_be_read_leaves_cd19_unknown() -> None:
    cd19 = observation("101119-6", effective="2026-02-20", valueString="Blasts CD19 negative, CD10+")
    assert _facts(cd19).cd19_positive.value is False
    fact = _facts(_broken(cd19, "valueString", value=["CD19 negative"])).cd19_positive
    assert fact.value is None and fact.evidence == (_ref(cd19),) and "(a CD19 result)" in fact.note


def test_a_later_cd19_result_whose_date_names_no_day_leaves_cd19_unknown() -> None:
    """The latest result decides: one whose date cannot be read may be the latest (it had let an older one decide)."""
    older = observation("101119-6", effective="2026-01-10", valueString="Blasts CD19 positive")
    later = observation("101119-6", effective="2026-02-20", valueString="Blasts CD19 negative", id="cd19-later")
    assert _facts(older, later).cd19_positive.value is False
    for date_text in ("", "2026-13-01", "２０２６-02-20"):
        fact = _facts(older, _broken(later, "effectiveDateTime", value=date_text)).cd19_positive
        assert fact.value is None and _ref(later) in fact.evidence, date_text


def _weight(kg: float, effective: str) -> Resource:
    return observation("29463-7", effective=effective,
                       valueQuantity={"value": kg, "unit": "kg", "system": UCUM, "code": "kg"})


def test_a_recent_weight_that_cannot_be_read_leaves_the_weight_unknown() -> None:
    older, recent = _weight(70, "2026-02-10"), _weight(44, "2026-02-27")
    assert _facts(older, recent).body.weight_kg.value == 44
    body = _facts(older, _broken(recent, "valueQuantity", "unit", value=1)).body
    assert body.weight_kg.value is None and body.weight_kg.evidence[0] == _ref(recent)
    assert body.bsa_m2.value is None
    assert _facts(older, _broken(_weight(44, "2024-02-27"), "valueQuantity", "unit", value=1)
                  ).body.weight_kg.value == 70  # one from two years ago would not be read anyway


def test_a_broken_routine_lab_is_ignored() -> None:
    glucose = observation("2345-7", effective="2026-02-20", valueQuantity={"value": "high", "unit": "mg/dL"})
    assert _facts(glucose, _mrd(0.05, "2026-02-20")).mrd_detectable.value is True


# ---- attestations -------------------------------------------------------------------------------------------------


def test_an_attestation_that_cannot_be_read_leaves_the_facts_it_answers_unknown() -> None:
    stopped = _tki(status="stopped", statusReason={"text": "intolerance"})
    answer = questionnaire_response({"tki-failure": False}, authored="2026-02-25")
    assert _facts(stopped).tki_failure.value is True
    broken = _broken(answer, "authored")
    fact = _facts(stopped, broken).tki_failure
    assert fact.value is None and fact.evidence[0] == _ref(answer)
    assert fact.note.startswith(f"{_ref(answer)} (an attestation answering tki-failure) could not be read: authored"
                                " is a number, not a date")


def test_a_readable_later_answer_outranks_an_attestation_that_cannot_be_read() -> None:
    unreadable = questionnaire_response({"tki-failure": False}, authored="2026-01-10")
    unreadable["subject"] = "Patient/p1"  # text, not a Reference
    assert _facts(unreadable).tki_failure.evidence == (_ref(unreadable),)
    later = questionnaire_response({"tki-failure": True}, authored="2026-02-25")
    assert _facts(unreadable, later).tki_failure.value is True
    earlier = questionnaire_response({"tki-failure": True}, authored="2026-01-05")
    assert _facts(unreadable, earlier).tki_failure.value is None


def test_an_attestation_of_another_questionnaire_that_cannot_be_read_is_ignored() -> None:
    other = _broken(questionnaire_response({"tki-failure": False}), "authored")
    other["questionnaire"] = "http://example.org/Questionnaire/phq-9"
    stopped = _tki(status="stopped", statusReason={"text": "intolerance"})
    assert _facts(stopped, other).tki_failure.value is True


def test_attested_answers_stand_against_an_unreadable_mrd_or_cd19_result_and_a_value_on_record_does_not() -> None:
    """labs.py: an MRD result that cannot be read leaves the attested phase and response standing, a CD19 result the
    attested B lineage; the MRD facts themselves (an attested MRD too) are unknown."""
    broken_mrd = _broken(_mrd(0.05, "2026-02-05"), "valueQuantity", "value", value="0.05")
    answers = questionnaire_response({"therapy-phase": "consolidation", "response-or-stabilization": True},
                                     authored="2026-02-10")
    facts = _renewal(broken_mrd, answers)
    assert (facts.therapy_phase.value, facts.response_or_stabilization.value) == ("consolidation", True)
    assert facts.mrd_detectable.value is None
    unanswered = _renewal(broken_mrd)
    assert unanswered.response_or_stabilization.value is None
    assert unanswered.response_or_stabilization.evidence[0] == _ref(broken_mrd)
    cd19 = observation("101119-6", effective="2026-02-05", valueString="Blasts CD19 positive")
    broken_cd19 = _broken(cd19, "valueString", value=["CD19 positive"])
    lineage = _facts(broken_cd19, questionnaire_response({"b-cell-precursor": True}, authored="2026-02-25")).b_lineage
    assert (lineage.value, lineage.attested) == (True, True)
    assert _facts(broken_cd19).b_lineage.value is None


def test_an_attested_no_and_a_b_lineage_on_record_stand_against_an_unreadable_cd19_or_ph_result() -> None:
    """An attested "no" (not B-cell precursor, not Ph+) is the prescriber's word whatever an unreadable result says; a
    B-lineage diagnosis on record stays one (diagnosis.lineage_with_cd19)."""
    cd19 = observation("101119-6", effective="2026-02-05", valueString="Blasts CD19 positive")
    broken_cd19 = _broken(cd19, "valueString", value=["CD19 positive"])
    not_b = _facts(broken_cd19, questionnaire_response({"b-cell-precursor": False}, authored="2026-02-25")).b_lineage
    assert (not_b.value, not_b.attested) == (False, True)
    on_record = condition("C91.00", text="Precursor B-lymphoblastic leukemia")
    assert _facts(on_record, broken_cd19).b_lineage.value is True
    broken_ph = _broken(_ph("10828004", "2025-07-01"), "effectiveDateTime")
    not_ph = _facts(broken_ph, questionnaire_response({"ph-positive": False}, authored="2026-02-25")).ph_positive
    assert (not_ph.value, not_ph.attested) == (False, True)


def test_attested_answers_stand_against_a_condition_that_cannot_be_read_and_without_them_it_leaves_each_unknown(
) -> None:
    """diagnosis.py: a relapse that cannot be read bears on the cycle number, the remission number, the response to
    the induction and the response for a renewal, unless the prescriber answered them (an attested "no" too)."""
    broken = _broken(_relapse(recorded="2026-01-20"), "recordedDate")
    answers = questionnaire_response({"cycle-number": 2, "remission-number": 1, "complete-response-to-induction": True,
                                      "response-or-stabilization": False}, authored="2026-02-10")
    attested = _renewal(broken, answers)
    facts = (attested.cycle.number, attested.remission_number, attested.complete_response_to_induction,
             attested.response_or_stabilization)
    assert [(fact.value, fact.attested) for fact in facts] == [(2, True), (1, True), (True, True), (False, True)]
    assert all(fact.evidence == (_ref(answers),) for fact in facts)
    unanswered = _renewal(broken)
    for fact in (unanswered.cycle.number, unanswered.remission_number, unanswered.complete_response_to_induction,
                 unanswered.response_or_stabilization):
        assert fact.value is None and fact.evidence[0] == _ref(broken)


def test_a_response_on_record_stands_against_a_condition_that_cannot_be_read() -> None:
    """diagnosis.py `_STATUS`: a negative MRD since the course start is a response whatever an unreadable Condition
    says (another status record cannot undo a response); without it the Condition leaves the response unknown."""
    broken = _broken(_relapse(recorded="2026-01-20"), "recordedDate")
    negative = _mrd(0, "2026-02-05")
    fact = _renewal(negative, broken).response_or_stabilization
    assert (fact.value, fact.evidence, fact.note) == (True, (_ref(negative),), "latest MRD 0% (2026-02-05)")
    assert _renewal(broken).response_or_stabilization.value is None


def test_a_broken_condition_known_by_its_text_alone_is_named_by_its_text() -> None:
    """diagnosis._label: with no code, the text names the Condition in the note (it bears on the lineage only)."""
    named = condition(text="T-lymphoblastic lymphoma")
    named["code"] = {"text": "T-lymphoblastic lymphoma"}
    broken = _broken(named, "recordedDate")
    fact = _facts(broken).b_lineage
    assert (fact.value, fact.evidence) == (None, (_ref(broken),))
    assert fact.note == (f"{_ref(broken)} (T-lymphoblastic lymphoma) could not be read: recordedDate is a number, "
                         "not a date")
    assert _facts(named).b_lineage.value is False
