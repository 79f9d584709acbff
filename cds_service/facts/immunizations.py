"""Live vaccines in the Aspirus U1 window (policy-rules.md §2 U1; fhir-data-profile.md §Immunizations).

The window runs from 14 days before the course start (before initiating therapy) through 28 days after this order's
start (while on therapy), both ends included. U1 is an exclusion (policy-rules.md §1): a live vaccine clears it only
when its date places it outside the window; one whose date cannot place it there leaves U1 unknown.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from cds_service.facts.codes import codings, parse_date, parse_end_date, ref
from cds_service.facts.model import Fact
from cds_service.facts.unreadable import Bearing, Relevance
from cds_service.record import PatientRecord
from cds_service.valuesets import get_valuesets

LIVE = "vaccines-live"
UNSPECIFIED = "vaccines-unspecified"  # unspecified or non-replicating formulations: cannot be judged
DATE_UNCERTAIN, FORMULATION_UNSPECIFIED = "date uncertain", "formulation unspecified"  # why U1 cannot be judged
BEFORE_COURSE = timedelta(days=14)
AFTER_ORDER = timedelta(days=28)
# An unreadable live vaccine leaves U1 unknown, unless a live vaccine already places U1 in the window.
_BEARINGS = (Bearing("live_vaccine_in_window", stands=frozenset({True})),)


def live_vaccine_in_window(record: PatientRecord, course_start: date, start: date) -> Fact[bool]:
    """True with the live vaccines in the window; None when only unspecified formulations are there; False when
    none (immunizations received); unknown with received=False when they were never received."""
    if not record.received("immunizations"):
        return Fact(received=False)
    first, last = _window(course_start, start)
    live: list[dict[str, Any]] = []
    unclear: list[tuple[dict[str, Any], str]] = []  # with why it cannot be judged
    valuesets = get_valuesets()
    for immunization in record.resources("immunizations", "Immunization"):
        if immunization.get("status") != "completed":
            continue
        days = _possible_days(immunization)
        if _outside(days, first, last):
            continue
        vaccine = immunization.get("vaccineCode")
        if not isinstance(vaccine, dict):
            continue
        certain = first <= days[0] and days[1] <= last
        if valuesets.has(LIVE, vaccine) and certain:
            live.append(immunization)
        elif valuesets.has(LIVE, vaccine):
            # A live vaccine whose date ("2026-11", or none readable) may or may not fall in the window cannot clear U1.
            unclear.append((immunization, DATE_UNCERTAIN))
        elif valuesets.has(UNSPECIFIED, vaccine):
            unclear.append((immunization, FORMULATION_UNSPECIFIED))
    return _verdict(live, unclear, first, last)


def unreadable_relevance(immunization: dict[str, Any], course_start: date, start: date) -> Relevance | None:
    """An Immunization the shape filter left out (unreadable.py) bears on U1 when its vaccineCode names a live or
    unspecified vaccine, unless what can be read of it rules it out: a status other than completed, dates outside
    the window."""
    status = immunization.get("status")
    if isinstance(status, str) and status != "completed":
        return None
    if _outside(_possible_days(immunization), *_window(course_start, start)):
        return None
    valuesets, vaccine = get_valuesets(), immunization.get("vaccineCode")
    if valuesets.has(LIVE, vaccine):
        return Relevance("a live vaccine", _BEARINGS)
    if valuesets.has(UNSPECIFIED, vaccine):
        return Relevance("a vaccine of unspecified formulation", _BEARINGS)
    return None


def _window(course_start: date, start: date) -> tuple[date, date]:
    """The first and last day of the U1 window (module docstring)."""
    return course_start - BEFORE_COURSE, start + AFTER_ORDER


def _outside(days: tuple[date, date], first: date, last: date) -> bool:
    """Whether every day an immunization may have been given (`_possible_days`) is outside first..last."""
    return days[1] < first or days[0] > last


def _possible_days(immunization: dict[str, Any]) -> tuple[date, date]:
    """The first and last day the immunization may have been given: a partial date spans its month or year. Without
    a readable occurrenceDateTime (only an occurrenceString, an invalid date) it may have been given any day up to
    the day it was `recorded` (a record of a vaccine given follows it), or any day at all."""
    occurrence = immunization.get("occurrenceDateTime")
    day = parse_date(occurrence)
    if day is not None:
        return day, parse_end_date(occurrence) or day
    return date.min, parse_end_date(immunization.get("recorded")) or date.max


def _verdict(live: list[dict[str, Any]], unclear: list[tuple[dict[str, Any], str]], first: date,
             last: date) -> Fact[bool]:
    """The vaccines are named with their dates, as the clinician knows them; the window follows. "Dated", not
    "given": a record may carry a date still to come."""
    window = f"between {first.isoformat()} and {last.isoformat()}"
    if live:
        named = "; ".join(_described(i) for i in live)
        return Fact(True, tuple(ref(i) for i in live), note=f"{named}; window {window}")
    if unclear:
        named = "; ".join(f"{_described(i)} ({why})" for i, why in unclear)
        asked = "; ".join(_question(i, why) for i, why in unclear)
        return Fact(None, tuple(ref(i) for i, _ in unclear), note=f"{named}; window {window}", missing=asked)
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


def _question(immunization: dict[str, Any], why: str) -> str:
    """What would decide U1 for a vaccine that cannot be judged: its date, or whether it was a live one."""
    if why == DATE_UNCERTAIN:
        return f"the date {_vaccine_name(immunization)} was given"
    return f"whether {_vaccine_name(immunization)} ({_day(immunization) or 'no date'}) was a live vaccine"


def _described(immunization: dict[str, Any]) -> str:
    """"MMR dated 2026-11", 'MMR dated "last spring"', "MMR with no date"."""
    day = _day(immunization)
    return f"{_vaccine_name(immunization)} {f'dated {day}' if day else 'with no date'}"


def _day(immunization: dict[str, Any]) -> str:
    """The date as recorded ("" when none): a partial date ("2026-11") stays partial, an occurrenceString is quoted."""
    occurrence = immunization.get("occurrenceDateTime")
    if isinstance(occurrence, str) and occurrence.strip():
        return occurrence.strip()[:10]
    text = immunization.get("occurrenceString")
    return f'"{text.strip()}"' if isinstance(text, str) and text.strip() else ""
