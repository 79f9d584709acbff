"""Unacceptable toxicity since the course start, for Aspirus renewals (policy-rules.md §2 "Course limits and
renewal", Aspirus IV; fhir-data-profile.md §Toxicity).

Grade 4-5 CRS or ICANS stops blinatumomab for good, so no attestation overrides it. Other listed events (grade 3 or
unspecified CRS/ICANS, pancreatitis, ...) allow a restart, so only the clinician can say whether they were
unacceptable.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from cds_service.facts.attestations import Attestations
from cds_service.facts.codes import effective_date, ref, usable_condition
from cds_service.facts.model import Fact
from cds_service.facts.unreadable import Bearing, Relevance
from cds_service.record import PatientRecord
from cds_service.valuesets import ValueSets, get_valuesets

SEVERE = "toxicity-severe"  # grade 4-5 CRS / ICANS
ASKED = "toxicity-asked"  # events whose acceptability the clinician must judge
IGNORED = "toxicity-ignored"  # grade 1-2 CRS / ICANS: never count, even under a broader operator-added code range
# An unreadable toxicity Condition (unreadable.py) cannot undo an unacceptable toxicity. The answer to
# `unacceptable-toxicity` decides the events it is asked about, never a grade 4-5 CRS or ICANS.
_UNACCEPTABLE = frozenset({True})
_RELEVANCE = {
    SEVERE: Relevance("grade 4-5 CRS or ICANS", (Bearing("unacceptable_toxicity", _UNACCEPTABLE),)),
    ASKED: Relevance("a toxicity to judge", (Bearing("unacceptable_toxicity", _UNACCEPTABLE, attested_stands=True),)),
}


def unacceptable_toxicity(record: PatientRecord, course_start: date, attestations: Attestations,
                          renewal_since: date | None = None) -> Fact[bool]:
    """`renewal_since`: from when an `unacceptable-toxicity` answer counts (extract.py `_renewal_answers_since`;
    default the course start): one given during an earlier course says nothing about this one."""
    severe, asked = _toxic_conditions(record.resources("conditions", "Condition"), course_start)
    if severe:
        return Fact(True, tuple(severe), note="grade 4-5 CRS or ICANS since the course start")
    answer = attestations.get("unacceptable-toxicity", authored_since=renewal_since or course_start)
    if answer is not None:
        return Fact(bool(answer.value), (answer.reference,), attested=True)
    if asked:
        return Fact(None, tuple(asked), note="toxicity since the course start: was it unacceptable?")
    if not record.received("conditions"):
        return Fact(received=False)
    return Fact(False, note="no listed toxicity recorded since the course start")


def _toxic_conditions(conditions: list[dict[str, Any]], course_start: date) -> tuple[list[str], list[str]]:
    """References of (grade 4-5 CRS/ICANS, other listed toxicities) recorded on or after the course start."""
    valuesets = get_valuesets()
    severe: list[str] = []
    asked: list[str] = []
    for condition in conditions:
        day = effective_date(condition)
        if day is None or day < course_start or not usable_condition(condition):
            continue
        kind = _kind(condition.get("code"), valuesets)
        if kind == SEVERE:
            severe.append(ref(condition))
        elif kind == ASKED:
            asked.append(ref(condition))
    return severe, asked


def _kind(code: Any, valuesets: ValueSets) -> str | None:
    """SEVERE, ASKED, or None for a code of neither list (or of a grade 1-2 event)."""
    if valuesets.has_code(IGNORED, code):
        return None
    if valuesets.has(SEVERE, code):
        return SEVERE
    return ASKED if valuesets.has(ASKED, code) else None


def unreadable_relevance(condition: dict[str, Any], course_start: date) -> Relevance | None:
    """A Condition the shape filter left out (unreadable.py) bears on the toxicity when its code is a listed event,
    unless it is refuted or entered in error or its date, when readable, is before the course start."""
    day = effective_date(condition)
    if day is not None and day < course_start or not usable_condition(condition):
        return None
    kind = _kind(condition.get("code"), get_valuesets())
    return None if kind is None else _RELEVANCE[kind]
