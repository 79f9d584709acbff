"""Live vaccines in a payer's window (policy-rules.md §2 U1; fhir-data-profile.md §Immunizations).

The window runs from some days before the course start (before initiating therapy) through some days after this
order's start (while on therapy), both ends included; the numbers are the policy file's (Aspirus U1: 14 and 28).
U1 is an exclusion (policy-rules.md §1): a live vaccine clears it only when its date places it outside the window;
one whose date cannot place it there leaves U1 unknown.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Mapping

from cds_service.facts.codes import CVX, codings, normalize_system, parse_date, parse_end_date, ref
from cds_service.facts.model import Fact, Windowed
from cds_service.facts.observations import code_key
from cds_service.facts.shape import rules_out, well_formed
from cds_service.facts.unreadable import Bearing, Relevance
from cds_service.record import PatientRecord
from cds_service.valuesets import Memo, get_valuesets

LIVE = "vaccines-live"
UNSPECIFIED = "vaccines-unspecified"  # unspecified or non-replicating formulations: cannot be judged
# No CVX code (only text, a local code, none at all): which vaccine it was cannot be told, so whether it was live
# cannot either. Passed over, an MMR written as text had cleared U1.
UNIDENTIFIED = "unidentified"
# Why U1 cannot be judged.
DATE_UNCERTAIN, FORMULATION_UNSPECIFIED = "date uncertain", "formulation unspecified"
NO_CVX_CODE = "no CVX code"
_UNCLEAR_KINDS = {UNSPECIFIED: FORMULATION_UNSPECIFIED, UNIDENTIFIED: NO_CVX_CODE}


@dataclass(frozen=True)
class _Vaccine:
    immunization: dict[str, Any]
    first_day: date  # the days it may have been given (_possible_days)
    last_day: date
    kind: str  # LIVE, or one that may or may not be live (UNSPECIFIED, UNIDENTIFIED)


@dataclass(frozen=True)
class LiveVaccines(Windowed[bool]):
    """The completed live (or possibly live) vaccines of the record, to be placed in a policy's window."""

    course_start: date
    start: date
    vaccines: tuple[_Vaccine, ...]

    def within(self, numbers: Mapping[str, int]) -> Fact[bool]:
        """True with the live vaccines in the window; None when only some that cannot be judged are there; False
        when none."""
        first, last = _window(self.course_start, self.start, numbers)
        live: list[_Vaccine] = []
        unclear: list[tuple[dict[str, Any], str]] = []  # with why it cannot be judged
        for vaccine in self.vaccines:
            if _outside((vaccine.first_day, vaccine.last_day), first, last):
                continue
            if vaccine.kind != LIVE:
                unclear.append((vaccine.immunization, _UNCLEAR_KINDS[vaccine.kind]))
            elif first <= vaccine.first_day and vaccine.last_day <= last:
                live.append(vaccine)
            else:  # a date ("2026-11", or none readable) that may or may not fall in the window cannot clear U1
                unclear.append((vaccine.immunization, DATE_UNCERTAIN))
        later = self._later_start(live, numbers["days_before_course"]) if live else ""
        return _verdict([v.immunization for v in live], unclear, first, last, later)

    def _later_start(self, live: list[_Vaccine], days_before: int) -> str:
        """The earliest start that would place the live vaccines more than `days_before` days before treatment (the
        window's first day, both ends included, after them), as information: only for an order that begins its
        course (a later cycle's course has begun, whatever this order's start) and vaccines dated before it (one
        given during treatment no later start clears); "" otherwise."""
        if self.course_start != self.start or any(v.last_day >= self.start for v in live):
            return ""
        earliest = max(v.last_day for v in live) + timedelta(days=days_before + 1)
        them = "it" if len(live) == 1 else "them"
        return f"a start on or after {earliest.isoformat()} would be more than {days_before} days after {them}"


def live_vaccine_in_window(record: PatientRecord, course_start: date, start: date,
                           malformed: list[dict[str, Any]] | None = None) -> Fact[bool] | LiveVaccines:
    """The record's vaccines to place in a policy's window; unknown with received=False when they were never
    received. With a `malformed` list, the Immunizations are as received: each live or unspecified one whose status
    does not rule it out is shape-checked (shape.py), and one with wrong JSON types goes to `malformed` instead, for
    unreadable.py. The other vaccines, most of a record, cost no check: unreadable_relevance ignores them anyway."""
    if not record.received("immunizations"):
        return Fact(received=False)
    vaccines = []
    kinds = _kinds()  # looked up once, not per vaccine
    for immunization in record.resources("immunizations"):
        if not isinstance(immunization, dict) or immunization.get("resourceType") != "Immunization":
            continue
        kind = _vaccine_kind(immunization.get("vaccineCode"), kinds)
        if kind is None or rules_out(immunization, _COUNTED):
            continue
        if malformed is not None and not well_formed(immunization):
            malformed.append(immunization)
        elif immunization.get("status") == "completed":
            vaccines.append(_Vaccine(immunization, *_possible_days(immunization), kind))
    return LiveVaccines(course_start, start, tuple(vaccines))


def unreadable_relevance(immunization: dict[str, Any], course_start: date, start: date) -> Relevance | None:
    """An Immunization the shape filter left out (unreadable.py) bears on U1 when its vaccineCode names a live or
    unspecified vaccine, unless what can be read of it rules it out: a status other than completed, dates outside
    the window (a policy's numbers: judged when they are applied, Bearing.in_window)."""
    if rules_out(immunization, _COUNTED):
        return None
    kind = _vaccine_kind(immunization.get("vaccineCode"), _kinds())
    if kind is None:
        return None
    days = _possible_days(immunization)

    def in_window(numbers: Mapping[str, int]) -> bool:
        return not _outside(days, *_window(course_start, start, numbers))
    # An unreadable live vaccine leaves U1 unknown, unless a live vaccine already places U1 in the window.
    bearings = (Bearing("live_vaccine_in_window", stands=frozenset({True}), in_window=in_window),)
    return Relevance(_DESCRIBED[kind], bearings)


_COUNTED = frozenset({"completed"})  # the only status of a vaccine given (fhir-data-profile.md §Immunizations)
_DESCRIBED = {LIVE: "a live vaccine", UNSPECIFIED: "a vaccine of unspecified formulation",
              UNIDENTIFIED: "a vaccine without a CVX code"}


def _kinds() -> Memo:
    """The vaccine kinds already classified, by code key (code_key holds all the value sets read)."""
    return get_valuesets().memo("vaccine-kinds")


def _vaccine_kind(code: Any, kinds: Memo) -> str | None:
    """LIVE, UNSPECIFIED, UNIDENTIFIED or None (a vaccine its CVX code shows not live), for a vaccineCode of any JSON,
    memoized in `kinds` (_kinds): a record's vaccines are mostly the same few inactivated ones."""
    return kinds.get(code_key(code), _vaccine_kind_of, code)


def _vaccine_kind_of(code: Any) -> str | None:
    valuesets = get_valuesets()
    kind = next((name for name in (LIVE, UNSPECIFIED) if valuesets.has(name, code)), None)
    if kind is None and not any(_is_cvx(coding) for coding in codings(code)):
        return UNIDENTIFIED
    return kind


def _is_cvx(coding: dict[str, Any]) -> bool:
    """A CVX coding, its system written as the value sets match it (http or https, the OID: codes.normalize_system)."""
    system, code = coding.get("system"), coding.get("code")
    return isinstance(system, str) and normalize_system(system) == CVX and isinstance(code, str) and bool(code.strip())


def _window(course_start: date, start: date, numbers: Mapping[str, int]) -> tuple[date, date]:
    """The first and last day of a policy's window (module docstring)."""
    return (course_start - timedelta(days=numbers["days_before_course"]),
            start + timedelta(days=numbers["days_after_order"]))


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
             last: date, later: str) -> Fact[bool]:
    """The vaccines are named with their dates, as the clinician knows them; the window follows, then what a later
    start would do (`later`, LiveVaccines._later_start). "Dated", not "given": a record may carry a date still to
    come."""
    window = f"between {first.isoformat()} and {last.isoformat()}"
    if live:
        named = "; ".join(_described(i) for i in live)
        return Fact(True, tuple(ref(i) for i in live), note=f"{named}; window {window}{f'; {later}' if later else ''}")
    if unclear:
        named = "; ".join(f"{_described(i)} ({why})" for i, why in unclear)
        asked = "; ".join(_question(i, why) for i, why in unclear)
        return Fact(None, tuple(ref(i) for i, _ in unclear), note=f"{named}; window {window}", missing=asked)
    return Fact(False, note=f"no live vaccine recorded {window}")


def _vaccine_name(immunization: dict[str, Any]) -> str:
    """The vaccine concept's text, else a coding's display: what the record calls the vaccine. A code sent alone is
    named with its system, never bare ("88" read as a number): "CVX 88", with the name a value set gives it first
    ("influenza, unspecified formulation (CVX 88)"; its display up to an aside)."""
    vaccine = immunization.get("vaccineCode")
    if isinstance(vaccine, dict) and isinstance(vaccine.get("text"), str) and vaccine["text"]:
        return str(vaccine["text"])
    found = codings(vaccine)
    for coding in found:
        if isinstance(coding.get("display"), str) and coding["display"]:
            return str(coding["display"])
    for coding in found:
        code = coding.get("code")
        if isinstance(code, str) and code.strip():
            return _code_name(coding, code.strip())
    return "vaccine"


def _code_name(coding: dict[str, Any], code: str) -> str:
    if not _is_cvx(coding):
        return f"vaccine code {code}"
    known = get_valuesets().display(coding).split(" (")[0].strip()
    return f"{known} (CVX {code})" if known else f"CVX {code}"


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
