"""Live vaccines in the Aspirus U1 window (policy-rules.md §2 U1; fhir-data-profile.md §Immunizations).

The window runs from 14 days before the course start (before initiating therapy) through 28 days after this order's
start (while on therapy), both ends included.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from cds_service.facts.codes import effective_date, parse_end_date, ref
from cds_service.facts.model import Fact
from cds_service.record import PatientRecord
from cds_service.valuesets import get_valuesets

LIVE = "vaccines-live"
UNSPECIFIED = "vaccines-unspecified"  # unspecified or non-replicating formulations: cannot be judged
BEFORE_COURSE = timedelta(days=14)
AFTER_ORDER = timedelta(days=28)


def live_vaccine_in_window(record: PatientRecord, course_start: date, start: date) -> Fact[bool]:
    """True with the live vaccines in the window; None when only unspecified formulations are there; False when
    none (immunizations received); unknown with received=False when they were never received."""
    if not record.received("immunizations"):
        return Fact(received=False)
    first, last = course_start - BEFORE_COURSE, start + AFTER_ORDER
    live: list[str] = []
    unclear: list[str] = []
    valuesets = get_valuesets()
    for immunization in record.resources("immunizations", "Immunization"):
        if immunization.get("status") != "completed":
            continue
        days = _possible_days(immunization)
        if days is None or days[1] < first or days[0] > last:
            continue
        vaccine = immunization.get("vaccineCode")
        if not isinstance(vaccine, dict):
            continue
        certain = first <= days[0] and days[1] <= last
        if valuesets.has(LIVE, vaccine) and certain:
            live.append(ref(immunization))
        elif valuesets.has(LIVE, vaccine) or valuesets.has(UNSPECIFIED, vaccine):
            # A live vaccine whose partial date ("2026-11") may or may not fall in the window cannot clear U1.
            unclear.append(ref(immunization))
    return _verdict(live, unclear, first, last)


def _possible_days(immunization: dict[str, Any]) -> tuple[date, date] | None:
    """The first and last day the immunization may have been given: a partial date spans its month or year."""
    day = effective_date(immunization)
    occurrence = immunization.get("occurrenceDateTime")
    last = parse_end_date(occurrence) if isinstance(occurrence, str) else None
    return None if day is None else (day, last or day)


def _verdict(live: list[str], unclear: list[str], first: date, last: date) -> Fact[bool]:
    window = f"{first.isoformat()} and {last.isoformat()}"  # read after "between"
    if live:
        return Fact(True, tuple(live), note=f"live vaccine given between {window}")
    if unclear:
        return Fact(None, tuple(unclear), note=f"vaccine of unspecified formulation or uncertain date between {window}")
    return Fact(False, note=f"no live vaccine recorded between {window}")
