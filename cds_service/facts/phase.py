"""Therapy phase of the course and complete response to induction, both as of the course start
(fhir-data-profile.md §Therapy phase of the course; policy-rules.md §1).

Resolving the phase at the course start keeps a relapsed/refractory course relapsed/refractory after the patient
responds to it.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from cds_service.facts.attestations import Attestations, course_answers_since
from cds_service.facts.diagnosis import Diagnosis
from cds_service.facts.labs import Labs
from cds_service.facts.model import Fact
from cds_service.verdict import ITEMS_JOIN


# What decides the phase, in the words the policy files' phase criteria ask with: the card asks for it once.
MISSING_PHASE = "therapy phase of this course"
INFERRED_CONSOLIDATION = ("consolidation inferred from remission with detectable MRD at the course start; the phase is "
                          "not documented")


def therapy_phase(course_start: date, diagnosis: Diagnosis, labs: Labs, attestations: Attestations) -> Fact[str]:
    """Attested phase; else relapse/refractory evidence → relapsed-refractory; else remission with detectable MRD
    → consolidation; else unknown."""
    attested = attestations.fact("therapy-phase", course_answers_since(course_start), cast=str)
    if attested is not None:
        return attested
    status = diagnosis.status_as_of(course_start)
    if status.missing:
        return _dated_in_part(status)
    if status.value in ("relapsed", "refractory"):
        # The record that decides, named with its code and date ("ALL in relapse (C91.02), recorded 2026-11-10"):
        # "relapsed as of the course start" left the pharmacist only a Condition id to verify it by.
        return Fact("relapsed-refractory", status.evidence, received=status.received,
                    note=f"{status.note}, the latest disease status by the course start")
    if status.value == "remission":
        mrd = labs.latest_mrd_before(course_start)
        if mrd.value is True:
            # Said to be inferred: a pharmacist weighs a phase the chart implies differently from one documented
            # (fhir-data-profile.md, therapy phase rule 3), and the attestation can state it. Said as a sentence:
            # after a criterion's colon, "inferred (not documented): in remission…" read as a second label.
            return Fact("consolidation", status.evidence + mrd.evidence, note=INFERRED_CONSOLIDATION)
        # Unknown (fhir-data-profile.md, rule 4): consolidation or maintenance, or a relapse the problem list does not
        # show yet. The remission on record is named, and the phase asked for as such: "disease status (relapsed or
        # refractory?)" had been asked of a patient charted in remission. An MRD result the labs could not read (its
        # value, its full date) is asked for first: detectable, it settles the phase (rule 3) and the MRD criterion
        # at once, where the summary had led with the phase and counted the MRD as "1 more item".
        asked = f"{mrd.missing}{ITEMS_JOIN}{MISSING_PHASE}" if mrd.missing else MISSING_PHASE
        return Fact(None, status.evidence, received=mrd.received, missing=asked,
                    note=f"{status.note}: the phase of this course is not documented")
    return Fact(received=status.received)


def complete_response_to_induction(course_start: date, diagnosis: Diagnosis,
                                   attestations: Attestations) -> Fact[bool]:
    """Attested for this course; else met when the disease is in remission as of the course start; else unknown.
    The induction is the one that preceded this course: an answer from an earlier course is about an earlier one
    (before a relapse, the response to the first induction), so it does not count (course_answers_since)."""
    attested = attestations.fact("complete-response-to-induction", course_answers_since(course_start), cast=bool)
    if attested is not None:
        return attested
    status = diagnosis.status_as_of(course_start)
    if status.value == "remission":
        return Fact(True, status.evidence, note="in remission at the course start")
    return _dated_in_part(status) if status.missing else Fact(received=status.received)


def _dated_in_part(status: Fact[str]) -> Fact[Any]:
    """Unknown as the disease status is, when a relapse or remission recorded only to a month or a year may fall
    either side of the course start: its evidence, note and request for the full date kept (facts/model.py
    needs_full_date), so that the card asks for the date rather than for the phase or the response in general."""
    return Fact(None, status.evidence, received=status.received, note=status.note, missing=status.missing)
