"""Small typed accessors over raw FHIR dicts: systems, codings, text, references and FHIR partial dates.

The fact readers work on raw JSON dicts (no full model validation per resource, which is far too slow for thousands
of Observations); these helpers read the shapes the readers share (a CodeableConcept, a reference, a partial date), so
that each reader does not read them its own way. Quantities are quantities.py's, references read contained or from
the record resolve.py's, and which JSON types the readers may rely on shape.py's.
"""
from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

# Well-known OIDs some EHRs send instead of the FHIR system URIs (fhir-data-profile.md lists the URIs).
_OID_SYSTEMS = {
    "urn:oid:2.16.840.1.113883.6.88": "www.nlm.nih.gov/research/umls/rxnorm",
    "urn:oid:2.16.840.1.113883.6.69": "hl7.org/fhir/sid/ndc",
    "urn:oid:2.16.840.1.113883.6.285": "www.cms.gov/medicare/coding/hcpcsreleasecodesets",
    "urn:oid:2.16.840.1.113883.6.90": "hl7.org/fhir/sid/icd-10-cm",
    "urn:oid:2.16.840.1.113883.6.96": "snomed.info/sct",
    "urn:oid:2.16.840.1.113883.6.1": "loinc.org",
    "urn:oid:2.16.840.1.113883.12.292": "hl7.org/fhir/sid/cvx",
    "urn:oid:2.16.840.1.113883.6.8": "unitsofmeasure.org",
}
ICD10CM = "hl7.org/fhir/sid/icd-10-cm"
NDC = "hl7.org/fhir/sid/ndc"
CVX = "hl7.org/fhir/sid/cvx"
_NDC_WIDTHS = (5, 4, 2)  # the 11-digit HIPAA form pads each hyphenated segment to 5-4-2


# System URIs are few and short; a client may send megabytes in one. Only short ones are remembered, so that the
# process-wide cache cannot be made to hold a client's text.
_CACHED_SYSTEM_LENGTH = 256


def normalize_system(uri: str) -> str:
    """A system URI without scheme, case or trailing slash, so http:// and https:// forms compare equal."""
    return _normalized_cached(uri) if len(uri) <= _CACHED_SYSTEM_LENGTH else _normalized(uri)


def _normalized(uri: str) -> str:
    lowered = uri.strip().lower()
    if lowered in _OID_SYSTEMS:
        return _OID_SYSTEMS[lowered]
    for scheme in ("https://", "http://"):
        if lowered.startswith(scheme):
            lowered = lowered[len(scheme):]
            break
    return lowered.rstrip("/")


_normalized_cached = lru_cache(maxsize=1024)(_normalized)


def normalize_code(system: str, code: str) -> str:
    """A code in a canonical form for its (normalized) system: ICD-10-CM without the dot, NDC as 11 digits when
    hyphenated (unhyphenated 10-digit NDCs are ambiguous, so value sets list them as written), CVX without leading
    zeros; others stripped."""
    code = code.strip()
    if system == ICD10CM:
        return code.replace(".", "").upper()
    if system == NDC:
        return _ndc_digits(code)
    if system == CVX:
        return code.lstrip("0") or "0"
    return code


def _ndc_digits(code: str) -> str:
    parts = code.split("-")
    if len(parts) == 1:
        return code
    return "".join(part.zfill(width) for part, width in zip(parts, _NDC_WIDTHS))


# No dose, quantity, time, body size or lab value comes near this; larger values ("1e400") cannot even be rounded for
# display, and arithmetic on them overflows.
_LARGEST = Decimal(10) ** 12


def to_decimal(raw: Any) -> Decimal | None:
    """A JSON number (int, float, or Decimal when parsed with parse_float=Decimal) or numeric string as an exact
    Decimal; None for anything else, booleans, NaN, infinities and absurd magnitudes."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str, Decimal)):
        return None
    try:
        value = Decimal(str(raw))  # str first: a float 0.1 becomes Decimal("0.1"), not its binary expansion
    except InvalidOperation:
        return None
    return value if value.is_finite() and value.copy_abs() < _LARGEST else None  # abs() could overflow


def codings(concept: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The codings of a CodeableConcept (empty for None or a malformed concept)."""
    if not isinstance(concept, dict):
        return []
    found = concept.get("coding")
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []


def codes_of(concept: Any) -> set[str]:
    """The codes of a CodeableConcept's codings (`clinicalStatus`, `verificationStatus`), those that are text."""
    return {c["code"] for c in codings(concept) if isinstance(c.get("code"), str)}


_IGNORED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
# FHIR R4's condition-ver-status, the value set a Condition's verificationStatus is bound to (required).
VERIFICATION_SYSTEM = "terminology.hl7.org/codesystem/condition-ver-status"
VERIFICATION_STATUSES = frozenset({"unconfirmed", "provisional", "differential", "confirmed", *_IGNORED_VERIFICATION})


def usable_condition(condition: dict[str, Any]) -> bool:
    """A Condition that counts (fhir-data-profile.md, general rules): not refuted, not entered in error (whether
    its verificationStatus or, as some EHRs write it, its clinicalStatus says so)."""
    verification = verification_codes(condition.get("verificationStatus"))
    return not (verification & _IGNORED_VERIFICATION) and "entered-in-error" not in codes_of(
        condition.get("clinicalStatus"))


def verification_codes(concept: Any) -> set[str]:
    """The codes of a verificationStatus's codings of FHIR's condition-ver-status, or of no system (read as the
    system the element is bound to, as an EHR sends them). Another system's code is no verification status: a local
    "refuted" had dropped a Condition whose status no one here can read."""
    return {c["code"] for c in codings(concept) if isinstance(c.get("code"), str) and _verification_system(c)}


def _verification_system(coding: dict[str, Any]) -> bool:
    system = coding.get("system")  # malformed JSON too (unreadable.py classifies it): any type
    return not system or (isinstance(system, str) and normalize_system(system) == VERIFICATION_SYSTEM)


def concept_text(concept: dict[str, Any] | None) -> str:
    """The concept's text and its codings' displays, joined: what the *text* fallbacks search."""
    return " | ".join(concept_names(concept))


def concept_names(concept: Any) -> list[str]:
    """The concept's text, then its codings' displays, those that are text (empty for None or no concept)."""
    if not isinstance(concept, dict):
        return []
    parts = [concept.get("text")] + [c.get("display") for c in codings(concept)]
    return [p for p in parts if isinstance(p, str) and p]


def ref(resource: dict[str, Any]) -> str:
    """The "Type/id" reference of a resource, used as evidence. A resource sent without an id is named by its type
    alone: "Observation/" would read as a broken reference in the card and the audit trail."""
    kind, key = resource.get("resourceType", "Resource"), resource.get("id")
    return f"{kind}/{key}" if key not in (None, "") else f"{kind} (no id)"


# FHIR's longest dateTime or instant: nine decimals of seconds and a zone. Python would read a longer one (any number
# of decimals); none is a clinical date, and the date caches (_calendar_day, shape.py's) keep no client text that long.
_LONGEST_DATE = len("2026-01-01T00:00:00.000000000+14:00")


def _fhir_shaped(value: str) -> bool:
    """Whether a date or dateTime is laid out as FHIR writes one: YYYY, YYYY-MM, YYYY-MM-DD, or a date and "T" and a
    time (the parsers then check the digits and the time); a space for the T is read too (RFC 3339 allows it, and EHR
    interfaces send it). Other ISO 8601 forms Python would parse (a week date "2026-W44-1", a date followed by text)
    are not clinical dates a reader should guess at: unreadable, so the fact they date is unknown. Plain index tests:
    dates are read dozens of times a request."""
    size = len(value)
    if size >= 10:
        return (size <= _LONGEST_DATE and value[4] == "-" and value[7] == "-" and (size == 10 or value[10] in "T ")
                and value.isascii())
    digits = value[:4] + value[5:] if size == 7 and value[4] == "-" else value if size == 4 else ""
    return digits.isdigit() and digits.isascii()


# Years outside these are placeholders (0001-01-01; 9999-12-31 for "no end") or typing errors, never clinical dates:
# read as absent, and date arithmetic (a month added, a zone applied) stays far from date.min and date.max.
_YEARS = range(1800, 2201)


def parse_date(value: str | None) -> date | None:
    """A FHIR date or dateTime (year, year-month, full date, or date-time in any zone) as the date it names.

    A partial date stands for its first day; a date-time keeps its own calendar day (the clinically recorded day).
    """
    if not isinstance(value, str) or len(value) > _LONGEST_DATE:  # a longer text is no date, and is not kept
        return None
    return _clinical_day(value)


@lru_cache(maxsize=4096)  # a record dates many resources by the same days, and the readers parse each date again
def _clinical_day(value: str) -> date | None:
    """parse_date of a string: the layout and the year checked once per distinct date, not on every read."""
    if not _fhir_shaped(value):
        return None
    found = _calendar_day(value)
    return found if found is not None and found.year in _YEARS else None


@lru_cache(maxsize=4096)  # a history repeats its dates, and the shape check reads each before the readers do
def _calendar_day(value: str) -> date | None:
    """The day a date laid out as FHIR writes one (_fhir_shaped) names, whatever its year; None when there is no
    such day or time."""
    try:
        if len(value) > 10:  # a date-time, checked whole: the calendar day as written, in its own zone
            return _datetime(value).date()
        if len(value) == 10:
            return date.fromisoformat(value)
        # year, or year and month (int() would take non-ASCII digits: _fhir_shaped refused them)
        return date(int(value[:4]), int(value[5:7] or 1), 1)
    except ValueError:  # no such month or day, or no time after the T
        return None


def _datetime(value: str) -> datetime:
    """datetime.fromisoformat, and a leap second (FHIR's dateTime allows "23:59:60") read as the second before it:
    Python has no 60th second, and the day it falls on is what a reader wants."""
    if value[16:19] == ":60":
        value = value[:17] + "59" + value[19:]
    return datetime.fromisoformat(value)


def readable_date(value: str) -> bool:
    """Whether a FHIR date, dateTime or instant names a day (its year may still be a placeholder parse_date reads as
    absent): what the shape check asks of every date a reader may use."""
    return _fhir_shaped(value) and _calendar_day(value) is not None


def month_or_year(value: Any) -> bool:
    """Whether a FHIR date is written as a month or a year alone ("2026-12", "2026"): it may stand for any of its
    days (parse_date reads its first, parse_end_date its last)."""
    return isinstance(value, str) and len(value) < 10


def parse_end_date(value: str | None) -> date | None:
    """The last day a FHIR date names, for the end of a Period: a partial end ("2026", "2026-12") runs to the end of
    its year or month, where `parse_date` would stop at its first day."""
    day = parse_date(value)
    return day if day is None or not isinstance(value, str) else last_day_named(day, value)


def period_end_day(end: Any) -> date | None:
    """The last day a Period's `end` covers. FHIR's Period includes its end: a date (or a month, a year) to its last
    day; a date-time is an instant, and one at midnight ends the period as that day begins, so the day before is the
    last (a Coverage ending at 2026-12-01T00:00:00 had been in force on Dec 1, an infusion a day longer)."""
    last = parse_end_date(end)
    return last - timedelta(days=1) if last is not None and end[10:19] == "T00:00:00" else last


def last_day_named(day: date, value: str) -> date:
    """The last day the FHIR date `value` names, given the `day` parse_date read it as (its first day)."""
    if len(value) >= 10:
        return day
    if len(value) == 4:
        return date(day.year, 12, 31)
    return date(day.year, day.month, _days_in_month(day.year, day.month))


def as_recorded(first: date, last: date) -> str:
    """A date as recorded, from the first and last day it may stand for (last_day_named): a day, or the month or year
    a partial date names (a note must not show "2026-10" as 2026-10-01, a day nobody wrote)."""
    if first == last:
        return first.isoformat()
    return f"{first.year}-{first.month:02d}" if first.month == last.month else str(first.year)


def parse_datetime(value: str | None) -> datetime | None:
    """A FHIR date/dateTime/instant as an aware datetime (UTC assumed without a zone; partial dates at midnight)."""
    if not isinstance(value, str):
        return None
    if len(value) > 10:
        if not _fhir_shaped(value):
            return None
        try:
            parsed = _datetime(value)
        except ValueError:
            return None
        if parsed.year not in _YEARS:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    day = parse_date(value)
    return datetime.combine(day, _MIDNIGHT_UTC) if day else None


# A day's midnight in UTC, for datetime.combine: datetime(year, month, day, tzinfo=...) parses its keyword argument
# at several times the cost (a Condition's recordedDate and most results are dated by the day).
_MIDNIGHT_UTC = time(tzinfo=timezone.utc)


# Which element dates a resource, in order of preference (Condition: recordedDate before onset, as the profile says):
# the element, and within it the Period's start or end when it is one.
_DATE_PATHS: tuple[tuple[str, str | None], ...] = (
    ("effectiveDateTime", None),
    ("effectivePeriod", "start"),
    ("effectivePeriod", "end"),  # a Period may state only its end (a collection that ended then)
    ("effectiveInstant", None),
    ("issued", None),
    ("recordedDate", None),
    ("onsetDateTime", None),
    ("onsetPeriod", "start"),
    ("authored", None),
    ("authoredOn", None),
    ("occurrenceDateTime", None),
)


def _date_value(resource: dict[str, Any]) -> Any:
    get = resource.get
    for key, inner in _DATE_PATHS:  # a resource holds few of these: most are passed over at their first lookup
        value = get(key)
        if value is not None and inner is not None:
            value = value.get(inner) if isinstance(value, dict) else None
        if value is not None:
            return value
    return None


def effective_datetime(resource: dict[str, Any]) -> datetime | None:
    """The moment a resource is dated by (see _DATE_PATHS), for ordering results recorded on the same day."""
    return parse_datetime(_date_value(resource))


def effective_date(resource: dict[str, Any]) -> date | None:
    """The calendar day a resource is dated by: effective[x], issued, recordedDate, onset, authored, occurrence."""
    return parse_date(_date_value(resource))


def effective_last_date(resource: dict[str, Any]) -> date | None:
    """The last day the date `effective_date` reads may stand for: a partial date ("2026-01") runs to the end of its
    month or year, so a record dated so may be from any of its days."""
    return parse_end_date(_date_value(resource))


_NEGATION_CUES = ("not ", "no ", "non-", "non ", "without ", "negative for ", "neg for ", "excluding ", "r/o ")
# A negative word right after the term, through the words a report names markers by: "T-cell markers negative",
# "T-cell: neg", "T-cell antigens not expressed" (read as T-lineage before). Only there, as result text reads its
# negations (result_text._negated_at): in "T-cell ALL, negative for CD19" the word is another clause's, and "negative
# for" speaks of what follows it.
# Each run of spaces is taken whole (possessive: a word follows it, never a space): backtracking into the runs in a
# row had tried every split of them, quadratic, and a term followed by 100,000 spaces held a worker 42 s.
_NEGATED_AFTER = re.compile(
    r"(?:[ \t]*+(?:lineage[ \t]++)?(?:markers?|antigens?|(?:immuno)?phenotype|expression))?[ \t]*+[:=-]?[ \t]*+"
    r"(?:negative|neg|absent|not[ \t]++(?:detected|expressed|present))(?![a-z0-9])(?![ \t]+for(?![a-z0-9]))")


def negated(text: str, term: str) -> bool:
    """True when every occurrence of `term` in `text` follows a negation cue ("not T-cell", "non-T-cell") or is
    followed by a negative word (_NEGATED_AFTER: "T-cell markers negative").

    Deliberately tiny: lineage text in diagnoses is short, and a wrong negation only makes a fact unknown.
    """
    low, needle = text.lower(), term.lower()
    starts = [m.start() for m in re.finditer(re.escape(needle), low)]
    if not starts:
        return False
    return all(low[max(0, s - 16):s].endswith(_NEGATION_CUES) or _NEGATED_AFTER.match(low, s + len(needle))
               for s in starts)


# Days in each month of a common year: calendar.monthrange, which also works out the weekday a month starts on, costs
# several times as much, and ages and periods count months on every request.
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in_month(year: int, month: int) -> int:
    return 29 if month == 2 and calendar.isleap(year) else _MONTH_DAYS[month - 1]


def add_months(day: date, months: int) -> date:
    """Calendar months (negative: earlier); a day past the end of the target month falls on its last day (Jan 31 +
    1 month = Feb 28). Authorization periods, ages in months and "the past two years" all count this way."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, _days_in_month(year, month)))


def completed_months(born: date, day: date) -> int:
    """Completed calendar months from `born` to `day`, counted as add_months counts them: a month is complete on
    the same day-of-month, or on the last day of a shorter month. Born Oct 31, one month old on Nov 30 (Aspirus
    III's "at least 1 month" is met that day); born Feb 29, one year old on Feb 28 of the next year."""
    incomplete = day.day < born.day and day.day < _days_in_month(day.year, day.month)
    return (day.year - born.year) * 12 + day.month - born.month - incomplete
