"""Live vaccines in the Aspirus U1 window (policy-rules.md §2 U1; fhir-data-profile.md §Immunizations).

The window runs from 14 days before the course start (before initiating therapy) through 28 days after this order's
start (while on therapy), both ends included.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from cds_service.facts.codes import codings, effective_date, parse_end_date, ref
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
    live: list[dict[str, Any]] = []
    unclear: list[tuple[dict[str, Any], str]] = []  # with why it cannot be judged
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
            live.append(immunization)
        elif valuesets.has(LIVE, vaccine):
            # A live vaccine whose partial date ("2026-11") may or may not fall in the window cannot clear U1.
            unclear.append((immunization, "date uncertain"))
        elif valuesets.has(UNSPECIFIED, vaccine):
            unclear.append((immunization, "formulation unspecified"))
    return _verdict(live, unclear, first, last)


def _possible_days(immunization: dict[str, Any]) -> tuple[date, date] | None:
    """The first and last day the immunization may have been given: a partial date spans its month or year."""
    day = effective_date(immunization)
    occurrence = immunization.get("occurrenceDateTime")
    last = parse_end_date(occurrence) if isinstance(occurrence, str) else None
    return None if day is None else (day, last or day)


def _verdict(live: list[dict[str, Any]], unclear: list[tuple[dict[str, Any], str]], first: date,
             last: date) -> Fact[bool]:
    """The vaccines are named with their dates, as the clinician knows them; the window follows. "Dated", not
    "given": a record may carry a date still to come."""
    window = f"between {first.isoformat()} and {last.isoformat()}"
    if live:
        named = "; ".join(f"{_vaccine_name(i)} dated {_day(i)}" for i in live)
        return Fact(True, tuple(ref(i) for i in live), note=f"{named}; window {window}")
    if unclear:
        named = "; ".join(f"{_vaccine_name(i)} dated {_day(i)} ({why})" for i, why in unclear)
        asked = "; ".join(f"{_vaccine_name(i)} ({_day(i)})" for i, _ in unclear)
        return Fact(None, tuple(ref(i) for i, _ in unclear), note=f"{named}; window {window}",
                    missing=f"whether {asked} was a live vaccine")
    return Fact(False, note=f"no live vaccine recorded {window}")


def _vaccine_name(immunization: dict[str, Any]) -> str:
    """The vaccine concept's text, else its first display or code: what the record calls the vaccine."""
    vaccine = immunization.get("vaccineCode")
    if isinstance(vaccine, dict) and isinstance(vaccine.get("text"), str) and vaccine["text"]:
        return str(vaccine["text"])
    for coding in codings(vaccine):
        for key in ("display", "code"):
            if isinstance(coding.get(key), str) and coding[key]:
                return str(coding[key])
    return "vaccine"


def _day(immunization: dict[str, Any]) -> str:
    occurrence = immunization.get("occurrenceDateTime")
    if isinstance(occurrence, str) and occurrence:
        return occurrence[:10]  # as recorded: a partial date ("2026-11") stays partial
    day = effective_date(immunization)
    return day.isoformat() if day else "on an unknown date"
