"""Unacceptable toxicity since the course start, for Aspirus renewals (policy-rules.md §2 "Course limits and
renewal", Aspirus IV; fhir-data-profile.md §Toxicity).

Grade 4-5 CRS or ICANS stops blinatumomab for good, so no attestation overrides it. Other listed events (grade 3 or
unspecified CRS/ICANS, pancreatitis, ...) allow a restart, so only the clinician can say whether they were
unacceptable.

Only events since the course start count (fhir-data-profile.md §Toxicity), and an event is left out only when its
date places it before the course. One with no readable date (none at all, only an onsetString, an invalid date), or
a partial date that spans the course start ("2026" for a course from June 2026), may be of this course: a grade 4-5
CRS or ICANS dated so leaves the fact unknown, and the card asks for its date (the renewal passes on "no unacceptable
toxicity", which such a record may contradict: policy-rules.md §1; the same rule as a live vaccine without a date,
immunizations.py); another listed event dated so is asked about as one of this course.

The label reads no course: it discontinues blinatumomab permanently after a grade 4 CRS or ICANS, so one dated before
the course start is read too (`severe_toxicity_before_course`), for the label's note (label_safety.py) and the dose
card's correction (offered, not advised: dosing/cards.py), never for a renewal. One pass over the Conditions gives
both facts (ToxicityReading).
"""
from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from cds_service.facts.attestations import Answer, Attestations, RenewalWindow
from cds_service.facts.codes import (as_recorded, codings, concept_text, effective_date, effective_last_date, ref,
                                     usable_condition)
from cds_service.facts.model import Fact
from cds_service.facts.observations import code_key
from cds_service.facts.unreadable import Bearing, Relevance
from cds_service.record import PatientRecord
from cds_service.valuesets import Memo, get_valuesets

SEVERE = "toxicity-severe"  # grade 4-5 CRS / ICANS
ASKED = "toxicity-asked"  # events whose acceptability the clinician must judge
IGNORED = "toxicity-ignored"  # grade 1-2 CRS / ICANS: never count, even under a broader operator-added code range
# An unreadable toxicity Condition (unreadable.py) cannot undo an unacceptable toxicity. The answer to
# `unacceptable-toxicity` decides the events it is asked about, never a grade 4-5 CRS or ICANS.
_UNACCEPTABLE = frozenset({True})
_RELEVANCE = {
    SEVERE: Relevance("grade 4-5 CRS or ICANS", (Bearing("unacceptable_toxicity", _UNACCEPTABLE),),
                      "the grade 4-5 CRS or ICANS diagnosis"),
    ASKED: Relevance("a toxicity to judge", (Bearing("unacceptable_toxicity", _UNACCEPTABLE, attested_stands=True),),
                     "the toxicity to judge"),
}
# One dated after the answer, which never judged it (_judged): a "no" does not settle it, a "yes" stands.
_ASKED_AFTER_ANSWER = Relevance("a toxicity to judge", (Bearing("unacceptable_toxicity", _UNACCEPTABLE),),
                                "the toxicity to judge")


def unacceptable_toxicity(record: PatientRecord, course_start: date, attestations: Attestations,
                          window: RenewalWindow | None = None) -> Fact[bool]:
    """The renewal's fact alone (ToxicityReading.unacceptable); extract.py reads both facts in one pass."""
    return ToxicityReading(record, course_start).unacceptable(attestations, window)


def severe_toxicity_before_course(record: PatientRecord, course_start: date) -> Fact[tuple[date, ...]]:
    """The label's fact alone (ToxicityReading.severe_before_course)."""
    return ToxicityReading(record, course_start).severe_before_course()


class ToxicityReading:
    """The listed toxicities of the record's Conditions, read once for both facts: those that may be of this course
    (the renewal's `unacceptable_toxicity`) and the grade 4-5 CRS or ICANS dated before it (the label's)."""

    def __init__(self, record: PatientRecord, course_start: date) -> None:
        self._course_start = course_start
        self._received = record.received("conditions")
        self._found = _toxic_conditions(record.resources("conditions", "Condition"), course_start)

    def unacceptable(self, attestations: Attestations, window: RenewalWindow | None = None) -> Fact[bool]:
        """Unacceptable toxicity since the course start. `window`: from when an `unacceptable-toxicity` answer counts
        (extract.py `renewal_window`; default the course start): one given during an earlier course says nothing
        about this one. A "yes" of this course stays true; a "no" counts only when current (`window.current`): the
        "no" given for an earlier renewal did not judge the cycles since (Aspirus IV asks at each renewal)."""
        found = self._found
        if found.severe:
            return Fact(True, tuple(found.severe),
                        note=f"grade 4-5 CRS or ICANS since the course start: {_named(found.severe, found.events)}")
        window = window or RenewalWindow(self._course_start, self._course_start)
        answer = counted_answer(attestations, window)
        attested = attestations.fact("unacceptable-toxicity", window.course, cast=bool) if answer else None
        if found.severe_undated and not (attested is not None and attested.value is True):
            # Never cleared by an answer (module docstring): only the date tells whether it is of this course.
            named = ", ".join(found.severe_undated)
            return Fact(None, tuple(found.severe_undated),
                        note=f"grade 4-5 CRS or ICANS with no date placing it before the course start ({named})",
                        missing=f"the date of the grade 4-5 CRS or ICANS ({named})")
        if attested is not None and answer is not None:
            return _judged(attested, found, answer.authored)
        if found.asked:
            return Fact(None, tuple(found.asked), note=f"since the course start: {_named(found.asked, found.events)}")
        if not self._received:
            return Fact(received=False)
        return Fact(False, note="no listed toxicity recorded since the course start")

    def severe_before_course(self) -> Fact[tuple[date, ...]]:
        """The days of the grade 4-5 CRS or ICANS dated before the course start, latest first (() when none), for the
        label's note (label_safety.py): no policy's window reaches an earlier course, but the label's "discontinue
        permanently" is for the patient. A resolved clinicalStatus or an abatement date does not take one back; a
        refuted or entered-in-error record is no event (usable_condition)."""
        if not self._received:
            return Fact(received=False)
        earlier = sorted(self._found.severe_before, reverse=True)  # dated: `date.min` never stands in for a date
        if not earlier:
            return Fact((), note="no grade 4-5 CRS or ICANS recorded before the course start")
        references = [reference for _, reference in earlier]
        return Fact(tuple(day for day, _ in earlier), tuple(references),
                    note=f"grade 4-5 CRS or ICANS before this course: {_named(references, self._found.events)}")


class _Toxicities(NamedTuple):
    """References of the listed events, by where their dates place them."""

    severe: list[str]  # grade 4-5 CRS/ICANS recorded on or after the course start
    severe_undated: list[str]  # grade 4-5 CRS/ICANS whose date does not place it before or after the course start
    asked: list[str]  # other listed toxicities on or after the course start, or not dated before it
    severe_before: list[tuple[date, str]]  # grade 4-5 CRS/ICANS dated before the course start: (its day, reference)
    events: dict[str, str]  # reference -> the event as the card names it: what was recorded, and when
    asked_days: dict[str, tuple[date, date]]  # reference -> the first and last day an asked event's date may stand for


def _judged(attested: Fact[bool], found: _Toxicities, authored: date) -> Fact[bool]:
    """An answer of no unacceptable toxicity judges the events on record when it was given, not those recorded
    after it: a grade 3 CRS of cycle 7 is not cleared by the "no" given for the renewal at cycle 6 (Aspirus IV
    asks at each renewal). Nor one dated only by a month or year that runs past the answer's day ("2026-10" beside
    an answer of 2026-10-15): it may be later. Those events leave the fact unknown, and the card asks again, naming
    them with their dates as recorded. One recorded on the answer's day, or undated, counts as judged."""
    if attested.value is not False:
        return attested
    days = found.asked_days
    later = [r for r in found.asked if r in days and days[r][0] > authored]
    maybe = [r for r in found.asked if r in days and days[r][0] <= authored < days[r][1]]
    if not later and not maybe:
        return attested
    answer = f"the answer of {authored.isoformat()} (no unacceptable toxicity)"
    said = [f"recorded after {answer}: {_named(later, found.events)}"] if later else []
    if maybe:
        said.append(f"dated only to a month or year that may fall after {answer}: {_named(maybe, found.events)}")
    return Fact(None, tuple(later + maybe) + attested.evidence, note="; ".join(said))


_NAMED_MAX = 3  # events named on a card; the evidence lists every one


def _named(references: list[str], events: dict[str, str]) -> str:
    named = "; ".join(events[reference] for reference in references[:_NAMED_MAX])
    more = len(references) - _NAMED_MAX
    # What is left unnamed said in words ("(+2 more)" had left the clinician to guess two more of what).
    return f"{named}; and {more} other event{'s' if more > 1 else ''}" if more > 0 else named


def _event(condition: dict[str, Any]) -> str:
    """The event as recorded (its text or display, else its code) and its date: which event, and when, is what the
    clinician is asked to judge."""
    code = condition.get("code")
    name = concept_text(code).split(" | ")[0] or next(
        (str(c.get("code")) for c in codings(code) if c.get("code") is not None), "listed toxicity")
    days = _days(condition)
    return f"{name} ({as_recorded(*days)})" if days else f"{name} (undated)"


def _days(condition: dict[str, Any]) -> tuple[date, date] | None:
    """The first and last day the Condition's date may stand for (one day, or a partial date's month or year)."""
    first, last = effective_date(condition), effective_last_date(condition)
    return (first, last) if first is not None and last is not None else None


def _toxic_conditions(conditions: list[dict[str, Any]], course_start: date) -> _Toxicities:
    kinds = _kinds()
    found = _Toxicities([], [], [], [], {}, {})
    for condition in conditions:
        # The kind first: most Conditions read are the disease's own (diagnosis.py), of no list, and then neither
        # their dates nor their status need reading.
        kind = _kind(condition.get("code"), kinds)
        if kind is None or not usable_condition(condition):
            continue
        reference = ref(condition)
        if _before(condition, course_start):
            if kind != SEVERE:  # an earlier course's: only the label's grade 4-5 CRS or ICANS reaches it
                continue
            found.severe_before.append((effective_date(condition) or date.min, reference))
        elif kind == SEVERE:
            since = (effective_date(condition) or date.min) >= course_start
            (found.severe if since else found.severe_undated).append(reference)
        else:
            found.asked.append(reference)
            days = _days(condition)
            if days is not None:
                found.asked_days[reference] = days
        found.events[reference] = _event(condition)
    return found


def _before(condition: dict[str, Any], course_start: date) -> bool:
    """Whether the Condition's date places it before the course start: every day it may stand for is."""
    last = effective_last_date(condition)
    return last is not None and last < course_start


def _kinds() -> Memo:
    """The toxicity kinds already classified, by code key: a patient's Conditions recur in every request."""
    return get_valuesets().memo("toxicity-kinds")


def _kind(code: Any, kinds: Memo) -> str | None:
    """SEVERE, ASKED, or None for a code of neither list (or of a grade 1-2 event), memoized in `kinds` (_kinds)."""
    return kinds.get(code_key(code), _kind_of, code)


def _kind_of(code: Any) -> str | None:
    valuesets = get_valuesets()
    if valuesets.has_code(IGNORED, code):
        return None
    if valuesets.has(SEVERE, code):
        return SEVERE
    return ASKED if valuesets.has(ASKED, code) else None


def unreadable_relevance(condition: dict[str, Any], course_start: date,
                         answered: date | None = None) -> Relevance | None:
    """A Condition the shape filter left out (unreadable.py) bears on the toxicity when its code is a listed event,
    unless it is refuted or entered in error or its date, when readable, is before the course start. `answered`:
    the day of the unacceptable-toxicity answer counted; an event that may be dated after it (a partial date
    included) is not settled by it, as a readable one is not (_judged)."""
    kind = _kind(condition.get("code"), _kinds())
    if kind is None or _before(condition, course_start) or not usable_condition(condition):
        return None
    if kind == ASKED and answered is not None and (effective_last_date(condition) or date.min) > answered:
        return _ASKED_AFTER_ANSWER
    return _RELEVANCE[kind]


def counted_answer(attestations: Attestations, window: RenewalWindow) -> Answer | None:
    """The `unacceptable-toxicity` answer the renewal counts: the latest of this course (`window.course`), a "no"
    only when current (`window.current`); a stale "no" is as if not given (extract.py names it when the fact stays
    unknown). Its day is also the last an unreadable toxicity record is settled by (extract.py `_Context`)."""
    answer = attestations.get("unacceptable-toxicity", authored_since=window.course)
    if answer is not None and answer.value is False and answer.authored < window.current:
        return None
    return answer
