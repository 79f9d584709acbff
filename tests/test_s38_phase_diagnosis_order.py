"""Which facts a Condition of unreadable verificationStatus leaves open, whatever was read first.

Diagnosis.unreadable_relevance had read what the fact readings (status_as_of, remission_number, infant_all) kept as
they ran: asked before them, it found nothing settled and opened every fact (asking, never denying, but asking for
what a confirmed Condition beside it says). It now reads both ways itself, as of the course start and the birth date
it is given (Diagnosis._settled), so the answer is the same in any order. Only a Condition left out asks this: the
usual request reads each fact once, as before. Through the endpoint, tests/test_s37_labs2_unverified_condition.py
holds the answers (extract.py reads the facts first, so no request can show the order).
"""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_service.facts.attestations import Attestations
from cds_service.facts.diagnosis import Diagnosis, read_diagnosis
from cds_service.facts.unreadable import Relevance
from cds_service.record import PatientRecord
from tests.factories import condition

COURSE_START, BORN = date(2026, 12, 1), date(1980, 5, 10)
READINGS = ("disease_status", "therapy_phase", "remission_number", "complete_response_to_induction", "infant_all")
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONFIRMED, SUSPECTED = ({"coding": [{"system": VERIFICATION, "code": code}]} for code in ("confirmed", "suspected"))


def record_with(unverified: dict[str, Any]) -> tuple[Diagnosis, dict[str, Any]]:
    """A confirmed remission (C91.01, 2026-10-20) and `unverified`, its verificationStatus "suspected" (left out by
    the shape filter, as extract.py passes it)."""
    remission = condition("C91.01", recorded="2026-10-20", clinical_status="remission", id="all-1",
                          verificationStatus=CONFIRMED)
    record = PatientRecord({"resourceType": "Patient", "id": "p1", "birthDate": BORN.isoformat()},
                           {"conditions": [remission], "attestations": []})
    return read_diagnosis(record, Attestations.from_record(record), [unverified]), unverified


def relevance(diagnosis: Diagnosis, unverified: dict[str, Any]) -> Relevance:
    found = diagnosis.unreadable_relevance(unverified, False, COURSE_START, BORN)
    assert found is not None
    return found


def read_the_facts(diagnosis: Diagnosis) -> None:
    diagnosis.status_as_of(COURSE_START)
    diagnosis.remission_number(COURSE_START)
    diagnosis.infant_all(BORN)


@pytest.mark.parametrize(("code", "recorded", "opened"), [
    ("C91.01", "2026-10-20", set()),  # a copy of the remission: counted or not, the same status
    # A later relapse: counted, the course is relapsed/refractory (born 1980, no infant ALL either way).
    ("C91.02", "2026-10-25", {"disease_status", "therapy_phase", "remission_number", "complete_response_to_induction"}),
])
def test_the_same_answer_before_and_after_the_facts_are_read(code: str, recorded: str, opened: set[str]) -> None:
    diagnosis, unverified = record_with(condition(code, recorded=recorded, clinical_status="active", id="all-2",
                                                  verificationStatus=SUSPECTED))
    first = relevance(diagnosis, unverified)
    read_the_facts(diagnosis)
    assert relevance(diagnosis, unverified) == first
    bearings = {b.fact: b for b in first.bearings if b.fact in READINGS}
    assert set(bearings) == set(READINGS)
    # Settled: only named (the record decides); open: asked for by its verification status.
    assert {fact for fact, b in bearings.items() if b.asks_resource} == opened
    assert {fact for fact, b in bearings.items() if b.attested_only} == set(READINGS) - opened
