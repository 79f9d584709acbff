"""Therapy phase and complete response to induction, as of the course start
(fhir-data-profile.md §Therapy phase of the course)."""
from __future__ import annotations

from datetime import date
from typing import Any

from cds_service.facts.attestations import Attestations
from cds_service.facts.diagnosis import read_diagnosis
from cds_service.facts.labs import read_labs
from cds_service.facts.model import Fact
from cds_service.facts.observations import trusted
from cds_service.facts.phase import complete_response_to_induction, therapy_phase
from tests.factories import condition, observation, questionnaire_response, record

COURSE_START = date(2026, 3, 1)


def _mrd(percent: float, effective: str) -> dict[str, Any]:
    return observation(text="MRD by flow cytometry", effective=effective,
                       valueQuantity={"value": percent, "unit": "%", "system": "http://unitsofmeasure.org",
                                      "code": "%"})


def _phase(*resources: dict[str, Any], not_received: tuple[str, ...] = ()) -> Fact[str]:
    rec = record(*resources, not_received=not_received)
    attestations = Attestations.from_record(rec)
    diagnosis = read_diagnosis(rec, attestations)
    labs = read_labs(rec, attestations, COURSE_START, diagnosis, trusted(rec.lists.get("observations")),
                     COURSE_START)
    return therapy_phase(COURSE_START, diagnosis, labs, attestations)


def _cr(*resources: dict[str, Any]) -> Fact[bool]:
    rec = record(*resources)
    attestations = Attestations.from_record(rec)
    return complete_response_to_induction(COURSE_START, read_diagnosis(rec, attestations), attestations)


def test_attested_phase_wins_when_authored_for_this_course() -> None:
    relapse = condition("C91.02", recorded="2026-02-01", clinical_status="relapse")
    answer = questionnaire_response({"therapy-phase": "maintenance"}, authored="2026-02-01")
    fact = _phase(relapse, answer)
    assert fact.value == "maintenance" and fact.attested


def test_attestation_from_an_earlier_course_is_not_reused() -> None:
    old = questionnaire_response({"therapy-phase": "maintenance"}, authored="2026-01-29")
    assert _phase(old).value is None
    coding = questionnaire_response({"therapy-phase": {"system": "x", "code": "induction"}}, authored="2026-01-30")
    assert _phase(coding).value == "induction"


def test_relapse_or_refractory_means_relapsed_refractory() -> None:
    relapse = condition("C91.02", recorded="2026-02-01", clinical_status="relapse")
    fact = _phase(relapse)
    assert fact.value == "relapsed-refractory" and fact.evidence == (f"Condition/{relapse['id']}",)
    refractory = condition("C91.00", recorded="2026-02-01", text="B-ALL, primary refractory")
    assert _phase(refractory).value == "relapsed-refractory"


def test_phase_is_resolved_as_of_the_course_start() -> None:
    relapse = condition("C91.02", recorded="2026-02-01", clinical_status="relapse")
    later_remission = condition("C91.01", recorded="2026-04-01", clinical_status="remission")
    assert _phase(relapse, later_remission).value == "relapsed-refractory"


def test_remission_with_detectable_mrd_is_consolidation() -> None:
    remission = condition("C91.01", recorded="2026-01-15", clinical_status="remission")
    fact = _phase(remission, _mrd(0.05, "2026-02-20"))
    assert fact.value == "consolidation" and len(fact.evidence) == 2
    assert "inferred" in fact.note and "not documented" in fact.note  # a pharmacist weighs an inferred phase apart


def test_remission_with_undetectable_or_no_mrd_is_unknown() -> None:
    remission = condition("C91.01", recorded="2026-01-15", clinical_status="remission")
    unknown = _phase(remission, _mrd(0, "2026-02-20"))
    # The remission on record is named and the phase asked for: "relapsed or refractory?" had been asked of a
    # patient charted in remission (clinical review).
    assert (unknown.value, unknown.evidence, unknown.missing) == (
        None, (f"Condition/{remission['id']}",), "therapy phase of this course")
    assert unknown.note == "ALL in remission (C91.01), recorded 2026-01-15: the phase of this course is not documented"
    assert _phase(remission).value is None
    positive_after_start = _mrd(0.05, "2026-03-05")
    assert _phase(remission, _mrd(0, "2026-02-20"), positive_after_start).value is None


def test_no_conditions_received_is_unknown_not_received() -> None:
    fact = _phase(not_received=("conditions",))
    assert fact.value is None and fact.received is False


def test_complete_response_attested_or_from_remission() -> None:
    assert _cr(condition("C91.01", recorded="2026-01-15", clinical_status="remission")).value is True
    assert _cr(condition("C91.02", recorded="2026-01-15", clinical_status="relapse")).value is None
    attested = _cr(questionnaire_response({"complete-response-to-induction": False}, authored="2026-02-15"))
    assert attested.value is False and attested.attested


def test_complete_response_attested_for_an_earlier_course_is_not_reused() -> None:
    """The induction is the one before this course (answers from 2026-01-30): an older answer is about an earlier
    induction, before a relapse; the record decides, or the response stays unknown."""
    old = questionnaire_response({"complete-response-to-induction": True}, authored="2026-01-29")
    relapse = condition("C91.02", recorded="2026-01-15", clinical_status="relapse")
    assert _cr(old, relapse) == Fact(received=True)
    remission = condition("C91.01", recorded="2026-02-15", clinical_status="remission")
    assert _cr(questionnaire_response({"complete-response-to-induction": False}, authored="2026-01-29"),
               remission).value is True
    assert _cr(questionnaire_response({"complete-response-to-induction": True}, authored="2026-01-30")).attested
