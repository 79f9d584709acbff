"""Diagnosis and disease status from Conditions (fhir-data-profile.md §Diagnosis and disease status).

Conditions are read once into `_Condition` rows; every fact is then a small query over those rows. A fact whose
Conditions were never received is `Fact(None, received=False)`, unless an attestation answers it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any, Iterable, NamedTuple

from cds_service.facts.attestations import Attestations, course_answers_since
from cds_service.facts.codes import (
    add_months, as_recorded, codes_of, codings, completed_months, concept_text, effective_datetime, last_day_named,
    negated, parse_date, parse_datetime, ref, usable_condition,
)
from cds_service.facts.model import Fact, full_date_request, needs_full_date
from cds_service.facts.observations import code_key
from cds_service.facts.quantities import months_in, time_in_days
from cds_service.facts.shape import well_formed
from cds_service.facts.unreadable import Bearing, Relevance
from cds_service.record import PatientRecord
from cds_service.valuesets import ValueSets, get_valuesets

ALL = "acute-lymphoblastic-leukemia"
LYMPHOMA = "lymphoblastic-lymphoma"
LYMPHOBLASTIC_TEXT = "lymphoblastic-text"
B_LINEAGE = "b-lineage"
T_LINEAGE = "t-lineage"
T_CELL_THERAPIES = "t-cell-therapies"
RELAPSE = "all-relapse"
REMISSION = "all-remission"
REFRACTORY = "refractory-text"

_STATUS_CLINICAL = frozenset({"active", "recurrence", "relapse", "remission"})  # the only ones with a disease status
RELAPSE_EPISODE_GAP_DAYS = 30  # relapse records closer than this are the same episode (EHRs re-code at admissions)

# What an unreadable lymphoblastic Condition bears on (unreadable.py). A B-lineage Condition on record stays one
# (`_lineage`: B-lineage words win); one more ALL Condition cannot undo a diagnosis, nor a remission a response.
_LINEAGE = Bearing("b_lineage", frozenset({True}), attested_stands=True)
_ALL = (Bearing("all_diagnosis", frozenset({True})), Bearing("infant_all", attested_stands=True))
_LYMPHOMA = (Bearing("lymphoblastic_lymphoma", frozenset({True})),)
_STATUS = (  # the disease status, and what is read from it
    Bearing("disease_status"),
    Bearing("therapy_phase", attested_stands=True),
    Bearing("remission_number", attested_stands=True),
    Bearing("complete_response_to_induction", attested_stands=True),
    Bearing("response_or_stabilization", frozenset({True}), attested_stands=True),
)
_COURSE = Bearing("cycle.number", attested_stands=True)  # a relapse or a remission may split the cycles into courses
# When a Condition's verificationStatus alone cannot be read (read_diagnosis), the facts Diagnosis reads twice, with it
# counted and without (`Diagnosis._settled`), by the reading each follows from: the phase and the response to induction
# are read from the disease status (phase.py). A fact that comes out the same is not opened by it (`_naming`). Its
# other bearings stay unreadable.py's: the values it could not change already say when it matters (an ALL diagnosis
# on record stands), and the facts read from the status records elsewhere (course.py, labs.py: `_BY_RECORDS`) are
# opened unless counting it leaves those records as they are.
_READ_BOTH_WAYS = {"disease_status": "status", "therapy_phase": "status", "complete_response_to_induction": "status",
                   "remission_number": "remission_number", "infant_all": "infant_all"}
_BY_RECORDS = frozenset({_COURSE.fact, "response_or_stabilization"})
# A status read as counting (no system: the one the element is bound to), put in the place of one no one can read to
# tell whether it is the only thing wrong.
_COUNTED = {"coding": [{"code": "confirmed"}]}
# An unreadable Condition as a card asks for it (unreadable.Relevance.named), by (is ALL, is lymphoblastic lymphoma):
# "a readable verification status for Condition/all-1" meant nothing to a clinician signing the order.
_DISEASE_NAMES = {(True, False): "ALL", (True, True): "ALL", (False, True): "lymphoblastic lymphoma",
                  (False, False): "lymphoblastic leukemia or lymphoma"}


@dataclass(frozen=True)
class StatusRecord:
    day: date
    status: str  # "relapsed", "refractory", "remission", "active"
    reference: str


class _Condition(NamedTuple):  # a NamedTuple: several times faster to build than a frozen dataclass
    reference: str
    is_all: bool
    is_lymphoma: bool
    lineage: bool | None  # True B-lineage words/code, False T-lineage words, None neither
    status: str | None  # disease status when clinicalStatus qualifies
    day: date | None  # recordedDate, else onset: orders status records
    last: date | None  # the last day `day` may stand for: a partial date ("2026-12") runs to the end of its month
    moment: datetime | None
    onset: date | None  # onset, else recordedDate: dates the diagnosis (infant ALL)
    onset_last: date | None  # the last day a partial onset ("2026-01") may stand for
    onset_age: dict[str, Any] | None  # onsetAge, judged with the birth date (_age_under_one)
    onset_dated: str  # the date `onset` is read from, as `dated` says one ("onset 2025-07-25", "recorded 2026-08")
    label: str  # "C91.02" or the text, for notes
    dated: str  # the date `day` is read from, as recorded, with what it is ("recorded 2026-11-10", "onset 2026-12")


class Diagnosis:
    def __init__(self, conditions: list[_Condition], received: bool, attestations: Attestations,
                 unverified: tuple[_Condition, ...] = ()) -> None:
        """`unverified`: the lymphoblastic Conditions readable but for their verificationStatus (no code of FHIR's
        value set, shape.py), confirmed or refuted no one can say (read_diagnosis), which `_settled` counts."""
        self._conditions = conditions
        # The same record with the Conditions of unreadable verification status counted (`_settled`).
        self._counted = Diagnosis(conditions + list(unverified), received, attestations) if unverified else None
        self._all = [c for c in conditions if c.is_all]
        # Lymphoblastic lymphoma is the same disease in another site (Aspirus Appendix 1 covers it like ALL): its
        # relapse and remission records are disease status too. Florida Blue gates its ALL uses on an ALL diagnosis.
        self._disease = [c for c in conditions if c.is_all or c.is_lymphoma]
        self._received = received
        self._attestations = attestations
        lymphoma = [c for c in conditions if c.is_lymphoma]
        # With no ALL, the lymphoma on record is said: Florida Blue reads it only under its indication 2, and a card
        # asking for "ALL diagnosis" alone would invite coding the lymphoma as ALL.
        instead = f"; lymphoblastic lymphoma on record ({lymphoma[0].label})" if lymphoma else ""
        # The lymphoma is the evidence of that note: Florida Blue's "diagnosis other than B-ALL" is met on it, and a
        # pharmacist checking the card had only its code, not the Condition.
        self.all_diagnosis = self._presence(self._all, "ALL", instead, ALL_BESIDE_LYMPHOMA if lymphoma else "",
                                            tuple(c.reference for c in lymphoma))
        self.lymphoblastic_lymphoma = self._presence(lymphoma, "lymphoblastic lymphoma")
        self.b_lineage = self._lineage()
        # Read once: the course, the labs and remission_number each ask for the records, and the phase, the response
        # and remission_number for the status as of the course start.
        rows = sorted(((c, StatusRecord(c.day, c.status, c.reference)) for c in self._disease if c.status and c.day),
                      key=_order)
        self._records = tuple(record for _, record in rows)
        self._status_on: dict[date, Fact[str]] = {}

    def _presence(self, found: list[_Condition], what: str, instead: str = "", ask: str = "",
                  shown: tuple[str, ...] = ()) -> Fact[bool]:
        """Whether a Condition of `found` is on record; when none is, `instead` and its evidence `shown` say what the
        record holds in its place."""
        if not self._received:
            return Fact(received=False)
        if not found:  # an inclusion criterion: a list without it does not rule it out (policy-rules.md §1)
            return Fact(evidence=shown, note=f"no {what} diagnosis in the record{instead}", missing=ask)
        return Fact(True, tuple(c.reference for c in found), note=f"{what} ({found[0].label})")

    def _lineage(self) -> Fact[bool]:
        attested = self._attestations.fact("b-cell-precursor", cast=bool, note="B-cell precursor attested")
        if attested is not None:
            return attested
        for wanted, note in ((True, "B-cell precursor"), (False, "T-lineage")):
            found = [c.reference for c in self._conditions if c.lineage is wanted]
            if found:
                return Fact(wanted, tuple(found), note=f"{note} in the diagnosis")
        return Fact(received=self._received)

    def lineage_with_cd19(self, cd19: Fact[bool]) -> Fact[bool]:
        """B-lineage, with CD19+ blasts (labs) as evidence when the diagnosis itself says nothing. The profile
        gives T-lineage words and CD19+ blasts no order, so when they disagree the lineage is unknown (attestable)."""
        lineage = self.b_lineage
        if cd19.value is not True or lineage.attested:
            return lineage
        if lineage.value is None:
            return Fact(True, cd19.evidence, note=f"CD19+ blasts: {cd19.note}".rstrip(": "))
        if lineage.value is False:
            return Fact(None, lineage.evidence + cd19.evidence,
                        note=f"{lineage.note}, but CD19+ blasts: {cd19.note}".rstrip(": "))
        return lineage

    def unreadable_relevance(self, condition: dict[str, Any], earlier_cycles: bool, course_start: date,
                             birth_date: date | None) -> Relevance | None:
        """What a Condition the shape filter left out bears on (`_relevance`); when its verificationStatus alone
        cannot be read, the facts the readings as of `course_start` (and `birth_date`) settle both ways (`_settled`,
        `_BY_RECORDS`) only name it, and the others read from its status ask for that status (`_asking`)."""
        relevance = _relevance(condition, earlier_cycles)
        if relevance is None or not _verification_alone(condition):
            return relevance
        settled = self._settled(course_start, birth_date)
        settled |= _BY_RECORDS if self._records_alike() else frozenset()
        return relevance._replace(bearings=tuple(
            _naming(b) if b.fact in settled else _asking(b) if b.fact in _READ_BOTH_WAYS else b
            for b in relevance.bearings))

    def _records_alike(self) -> bool:
        """Whether the status records, as course.py and labs.py read them (a day and a status), are the same with the
        Conditions of unreadable verification status counted: each repeats one on record."""
        counted = self._counted._records if self._counted is not None else ()
        return {(r.day, r.status) for r in counted} == {(r.day, r.status) for r in self._records}

    def _settled(self, course_start: date, birth_date: date | None) -> set[str]:
        """The facts of `_READ_BOTH_WAYS` that come out the same with the Conditions of unreadable verification status
        counted as without them, read here both ways (so whether the facts were read before does not matter). The
        same, the chart settles it whatever their status, and they are only named (`_naming`); else unreadable.py
        opens it as for any unreadable Condition: unknown, its verification status asked for (`_asking`). Opened
        whenever one was on record, it had asked clinicians for what a confirmed Condition beside it already says
        (policy-rules.md §1: missing data is information needed). Only a Condition left out asks this: the usual
        request reads each fact once."""
        counted = self._counted
        if counted is None:
            return set()
        same = {"status": _same(self.status_as_of(course_start), counted.status_as_of(course_start)),
                "remission_number": _same(self.remission_number(course_start), counted.remission_number(course_start)),
                "infant_all": _same(self.infant_all(birth_date), counted.infant_all(birth_date))}
        return {fact for fact, reading in _READ_BOTH_WAYS.items() if same[reading]}

    def infant_all(self, birth_date: date | None) -> Fact[bool]:
        """Attested; else whether the earliest-dated ALL Condition's onset (else recordedDate) precedes age 1:
        unknown when a partial onset that spans the first birthday may be the earliest."""
        attested = self._attestations.fact("diagnosed-before-age-1", cast=bool, note="diagnosed before age 1 attested")
        if attested is not None:
            return attested
        if not self._received:
            return Fact(received=False)
        readings = [(c, _before_age_one(c, birth_date)) for c in self._all]
        dated = [(c, infant) for c, infant in readings if infant is not None]
        if not dated:
            return _infant_undecided([c for c, _ in readings if c.onset], birth_date)
        condition, infant = min(dated, key=lambda pair: pair[0].onset or date.min)
        # The earliest onset decides: one whose partial date ("2026-06") spans the first birthday may be that
        # diagnosis, before age 1. Passed over, a later record after age 1 had denied an infant ALL.
        first = condition.onset or date.min
        spanning = [c for c, reading in readings if reading is None and c.onset and c.onset <= first]
        if spanning and not infant:
            return _infant_undecided(spanning, birth_date)
        when = "before" if infant else "after"
        # The date that decided, for the pharmacist to check against the birth date (an onsetAge decides by itself).
        said = f"ALL onset {when} age 1" if condition.onset_age else f"ALL {condition.onset_dated}, {when} age 1"
        return Fact(infant, (condition.reference,), note=f"{said} ({condition.label})")

    def status_records(self) -> tuple[StatusRecord, ...]:
        """Every dated ALL (or lymphoblastic lymphoma) Condition's disease status, oldest first."""
        return self._records

    def status_as_of(self, day: date) -> Fact[str]:
        """The status of the most recent qualifying ALL (or lymphoblastic lymphoma) Condition recorded on or before
        `day` (read once a day: the phase, the response and remission_number each ask for it)."""
        found = self._status_on.get(day)
        if found is None:
            found = self._status_on[day] = self._status_of(day)
        return found

    def _status_of(self, day: date) -> Fact[str]:
        if not self._received:
            return Fact(received=False)
        rows = [(c, c.status) for c in self._disease if c.status and c.day and c.day <= day]
        if not rows:
            return Fact(note="no ALL diagnosis with a disease status in the record")
        latest, status = max(rows, key=_order)
        other = _may_decide_instead([c for c, _ in rows], latest, day)
        if other is not None:
            return _unordered(latest, other, day)
        return Fact(status, (latest.reference,), note=_said(latest))

    def remission_number(self, course_start: date) -> Fact[int]:
        """Which complete remission the patient is in at `course_start`: attested for this course; else, when the
        disease status then is remission, 1 + the distinct relapse episodes recorded on or before it
        (fhir-data-profile.md). The policies ask for the patient to be *in* a first or second remission, so another
        status counts as none (0), and no status leaves it unknown.
        An answer names the remission the patient was in when it was written: one from an earlier course ("first
        remission", before a relapse) does not count (course_answers_since). course.py reads the same answer only
        when authored after the course start, for another question: whether a remission came during the course."""
        attested = self._attestations.fact("remission-number", course_answers_since(course_start), cast=int,
                                           note=lambda number: f"remission {number} attested")
        if attested is not None:
            return self._against_the_record(attested, course_start)
        if not self._received:
            return Fact(received=False)
        if not self._disease:
            return Fact(note="no ALL diagnosis in the record")
        status = self.status_as_of(course_start)
        if status.value is None:  # a partial date's request for the full date kept (phase._dated_in_part)
            return Fact(None, status.evidence, note=status.note, missing=status.missing)
        if status.value != "remission":
            return Fact(0, status.evidence, note=f"not in remission: {status.note}")
        relapses = [r for r in self.status_records() if r.status == "relapsed" and r.day <= course_start]
        episodes = _episode_starts(relapses)
        earlier = f"{len(episodes)} earlier relapse episode{'s' if len(episodes) > 1 else ''}" if episodes \
            else "no earlier relapse"
        return Fact(1 + len(episodes), (*status.evidence, *(r.reference for r in episodes)),
                    note=f"{status.note}; {earlier}")


    def _against_the_record(self, attested: Fact[int], course_start: date) -> Fact[int]:
        """An attested remission the record contradicts (relapsed or refractory at the course start) says so: the
        answer decides, and a pharmacist sees that the chart disagrees (the dose is checked as relapsed/refractory,
        dosing/checks.schedule_for)."""
        if not attested.value or not self._disease:
            return attested
        status = self.status_as_of(course_start)
        if status.value not in ("relapsed", "refractory"):
            return attested
        return replace(attested, evidence=attested.evidence + status.evidence,
                       note=f"{attested.note}; the record says {status.note}")


# What an unknown ALL diagnosis asks for when the record shows lymphoblastic lymphoma instead: the card's summary had
# asked for "ALL diagnosis", inviting the lymphoma to be coded as ALL (clinical review).
ALL_BESIDE_LYMPHOMA = "ALL diagnosis, if ALL (lymphoblastic lymphoma on record)"
_NO_MOMENT = datetime.min.replace(tzinfo=timezone.utc)
_STATUS_WORDS = {"relapsed": "in relapse", "refractory": "refractory", "remission": "in remission", "active": "active"}
# A status record as a request for its full date names it ("the ALL relapse recorded 2026-12"), its id left to the
# detail (model.full_date_request).
_STATUS_NOUNS = {"relapsed": "relapse", "refractory": "refractory diagnosis", "remission": "remission",
                 "active": "diagnosis"}


def _order(row: tuple[_Condition, object]) -> tuple[date, datetime]:
    """Orders rows of a Condition and what was read of it (its status) by the Condition's date and time."""
    condition = row[0]
    return condition.day or date.min, condition.moment or _NO_MOMENT


def _may_decide_instead(rows: list[_Condition], latest: _Condition, day: date) -> _Condition | None:
    """A record of another status that a partial date may place after `latest` (on or before `day`), or, when
    `latest`'s own partial date may fall after `day`, the record that would then decide, if its status is another
    (`latest` itself when there is none): read at their first days, a relapse dated "2026-12" had decided the phase
    of a course starting on Dec 1, and one dated "2026" had yielded to a remission of October."""
    first = latest.day or date.min
    for row in rows:
        last = row.last or date.min
        if row is not latest and row.status != latest.status and (row.day or last) < last and min(last, day) >= first:
            return row
    if (latest.last or date.min) <= day:
        return None
    rest = [row for row in rows if row is not latest]
    instead = max(rest, key=lambda row: _order((row, None))) if rest else latest
    return instead if instead is latest or instead.status != latest.status else None


def _said(condition: _Condition) -> str:
    """"ALL in relapse (C91.02), recorded 2026-11-10": a status record as a note names it, its date as recorded and
    what that date is (the recorded date, else the onset: a bare date had said neither)."""
    return f"{_disease(condition)} {_STATUS_WORDS[condition.status or 'active']} ({condition.label}), {condition.dated}"


def _disease(condition: _Condition) -> str:
    return "ALL" if condition.is_all else "lymphoblastic lymphoma"


def _unordered(latest: _Condition, other: _Condition, day: date) -> Fact[str]:
    """The disease status on `day` when a partial date leaves unknown which record decides it (`other`, from
    _may_decide_instead): `latest` may be after `day`, or `other` after `latest`."""
    if (latest.last or day) > day:
        note = f"{_said(latest)}: may be after {day.isoformat()}"
        note += "" if other is latest else f", then {_said(other)}"
    else:
        note = f"{_said(other)}: may be after {_said(latest)}"
    conditions = list({c.reference: c for c in (latest, other)}.values())
    # The full date asked for of the records dated only in part: one dated in full is evidence, not a request.
    undated = [c for c in conditions if c.last != c.day] or conditions
    named = " and ".join(f"the {_disease(c)} {_STATUS_NOUNS[c.status or 'active']} {c.dated}" for c in undated)
    return Fact(None, tuple(c.reference for c in conditions), note=note,
                missing=full_date_request(tuple(c.reference for c in undated), named))


def _episode_starts(relapses: list[StatusRecord]) -> list[StatusRecord]:
    """The first record of each episode: a relapse record more than 30 days after the previous relapse record."""
    starts: list[StatusRecord] = []
    previous: date | None = None
    for record in relapses:
        if previous is None or (record.day - previous).days > RELAPSE_EPISODE_GAP_DAYS:
            starts.append(record)
        previous = record.day
    return starts


def _before_age_one(condition: _Condition, birth_date: date | None) -> bool | None:
    by_age = _age_under_one(condition.onset_age, birth_date) if condition.onset_age is not None else None
    if by_age is not None:
        return by_age
    if birth_date is None or condition.onset is None or condition.onset_last is None:
        return None
    # Age as read_birth counts it: born Feb 29, one year old on Feb 28.
    if completed_months(birth_date, condition.onset_last) < 12:
        return True
    return False if completed_months(birth_date, condition.onset) >= 12 else None  # a partial onset spans the birthday


# ---- reading Conditions --------------------------------------------------------------------------------------


def read_diagnosis(record: PatientRecord, attestations: Attestations, left_out: Iterable[Any] = ()) -> Diagnosis:
    """The diagnosis facts of the record's Conditions; of those the shape filter `left_out`, the ones readable but
    for their verificationStatus are read both ways (Diagnosis._settled)."""
    valuesets = get_valuesets()
    rows = [_read(c, valuesets) for c in record.resources("conditions", "Condition") if usable_condition(c)]
    unverified = tuple(found for c in left_out if (found := _unverified(c, valuesets)) is not None)
    return Diagnosis([r for r in rows if r is not None], record.received("conditions"), attestations, unverified)


def _unverified(condition: Any, valuesets: ValueSets) -> _Condition | None:
    """A lymphoblastic Condition the shape filter left out for its verificationStatus alone (and not refuted or
    entered in error by a code of FHIR's): well-formed once a readable status stands in its place."""
    if not _verification_alone(condition) or not usable_condition(condition):
        return None
    return _read(condition, valuesets)


def _verification_alone(condition: Any) -> bool:
    """Whether a Condition left out by the shape filter is so for its verificationStatus alone."""
    return isinstance(condition, dict) and condition.get("resourceType") == "Condition" \
        and well_formed({**condition, "verificationStatus": _COUNTED})


def lymphoblastic(code: Any, valuesets: ValueSets) -> bool:
    """Whether a Condition with this code is one read_diagnosis reads: a lymphoblastic disease."""
    return _code_reading(code, valuesets) is not None


def _naming(bearing: Bearing) -> Bearing:
    """`bearing` for a fact that comes out the same both ways (Diagnosis._settled, _records_alike): kept as read, the
    Condition named in its note when the fact has a value, after what decided it (unreadable.py). Unknown, it owes
    nothing to the Condition; an attested answer decides whatever it says."""
    # Kept whatever its value: not the record's value (attested_only), nor an answer's (attested_stands).
    return Bearing(bearing.fact, attested_stands=True, attested_only=True, settled=_has_value)


def _same(fact: Fact[Any], counted: Fact[Any]) -> bool:
    """Whether a fact read with the Conditions of unreadable verification status `counted` says what it says without
    them: the same value, and the same request where it is unknown."""
    return (fact.value, fact.missing) == (counted.value, counted.missing)


def _asking(bearing: Bearing) -> Bearing:
    """`bearing` for a fact read from the disease status (`_READ_BOTH_WAYS`) that a Condition of unreadable
    verification status may change: the status is what settles it (confirmed, the Condition counts; refuted, not), so
    the card asks for it, "the verification status of the ALL diagnosis", even where an answer would stand (the
    phase): asked for the phase, a clinician had not been told which record left it open. A cycle number it may
    change (`_BY_RECORDS`) is still asked for as such: the dose criterion asks for it too, and the one answer settles
    both."""
    return replace(bearing, asks_resource=True)


def _has_value(fact: Fact[Any]) -> bool:
    return fact.value is not None


def _relevance(condition: dict[str, Any], earlier_cycles: bool) -> Relevance | None:
    """A Condition the shape filter left out (unreadable.py) bears on the diagnosis facts when its code names a
    lymphoblastic disease and it is not refuted or entered in error; on the disease status and what is read from it
    when it is ALL or lymphoblastic lymphoma; on the cycle number too when there are `earlier_cycles` it may split
    into courses (course.py)."""
    if not usable_condition(condition):
        return None
    reading = _code_reading(condition.get("code"), get_valuesets())
    if reading is None:
        return None
    bearings = (_LINEAGE, *(_ALL if reading.is_all else ()), *(_LYMPHOMA if reading.is_lymphoma else ()))
    if reading.is_all or reading.is_lymphoma:
        bearings += _STATUS + ((_COURSE,) if earlier_cycles else ())
    return Relevance(reading.label, bearings, f"the {_DISEASE_NAMES[reading.is_all, reading.is_lymphoma]} diagnosis")


@dataclass(frozen=True)
class _CodeReading:
    """What a Condition's code alone says (memoized per code: a patient's conditions recur in every request)."""

    is_all: bool
    is_lymphoma: bool
    lineage: bool | None
    code_status: str | None  # relapsed / remission by code (C91.02 / C91.01)
    refractory_text: bool
    label: str


def _read(condition: dict[str, Any], valuesets: ValueSets) -> _Condition | None:
    reading = _code_reading(condition.get("code"), valuesets)
    if reading is None:
        return None  # not a lymphoblastic disease: its words say nothing about this patient's lineage
    clinical = codes_of(condition.get("clinicalStatus"))
    recorded: Any = condition.get("recordedDate")  # a str whenever parse_date reads a date from it
    onset: Any = condition.get("onsetDateTime") or (condition.get("onsetPeriod") or {}).get("start")
    recorded_day, onset_day = parse_date(recorded), parse_date(onset)  # each read once for the dates below
    return _Condition(
        reference=ref(condition),
        is_all=reading.is_all,
        is_lymphoma=reading.is_lymphoma,
        lineage=reading.lineage,
        status=_status(reading, clinical) if clinical & _STATUS_CLINICAL else None,
        day=recorded_day or onset_day,
        last=(last_day_named(recorded_day, recorded) if recorded_day else
              last_day_named(onset_day, onset) if onset_day else None),
        dated=f"recorded {recorded[:10]}" if recorded_day else f"onset {onset[:10]}" if onset_day else "",
        moment=parse_datetime(recorded) or effective_datetime(condition),
        onset=onset_day or recorded_day,
        onset_last=(last_day_named(onset_day, onset) if onset_day else
                    last_day_named(recorded_day, recorded) if recorded_day else None),
        onset_age=condition["onsetAge"] if isinstance(condition.get("onsetAge"), dict) else None,
        onset_dated=f"onset {onset[:10]}" if onset_day else f"recorded {recorded[:10]}" if recorded_day else "",
        label=reading.label,
    )


def _code_reading(code: Any, valuesets: ValueSets) -> _CodeReading | None:
    return valuesets.memo("condition-codes").get(code_key(code), _read_code, code, valuesets)


def _read_code(code: Any, valuesets: ValueSets) -> _CodeReading | None:
    is_all = valuesets.has_code(ALL, code)
    is_lymphoma = valuesets.has_code(LYMPHOMA, code)
    text = concept_text(code)
    if not (is_all or is_lymphoma or valuesets.matches_text(LYMPHOBLASTIC_TEXT, text)):
        return None
    code_status = ("relapsed" if valuesets.has_code(RELAPSE, code)
                   else "remission" if valuesets.has_code(REMISSION, code) else None)
    # "not refractory" in a problem's name is no refractory disease (it had made the course relapsed/refractory)
    refractory = any(not negated(text, term) for term in valuesets[REFRACTORY].find_terms(text))
    return _CodeReading(is_all, is_lymphoma, _lineage(code, text, valuesets), code_status, refractory,
                        _label(code, text, valuesets))


def _lineage(code: Any, text: str, valuesets: ValueSets) -> bool | None:
    if valuesets.has_code(B_LINEAGE, code):
        return True
    # "relapse after CAR T-cell therapy": a treatment's name, blanked so its "T-cell" is not read as the lineage
    therapies = valuesets[T_CELL_THERAPIES].pattern
    text = therapies.sub(lambda m: " " * len(m.group(0)), text) if therapies else text
    for name, value in ((B_LINEAGE, True), (T_LINEAGE, False)):
        if any(not negated(text, term) for term in valuesets[name].find_terms(text)):
            return value
    return None


def _status(reading: _CodeReading, clinical: set[Any]) -> str:
    """Codes first (C91.02 / C91.01), then clinicalStatus, then "refractory" in the text, else active."""
    if reading.code_status is not None:
        return reading.code_status
    if clinical & {"relapse", "recurrence"}:
        return "relapsed"
    if "remission" in clinical:
        return "remission"
    if reading.refractory_text:
        return "refractory"
    return "active"


def _infant_undecided(spanning: list[_Condition], birth_date: date | None) -> Fact[bool]:
    """Infant ALL unknown: no birth date, no dated ALL Condition, or `spanning`, the ALL Conditions whose partial
    onset spans the first birthday (their full dates decide)."""
    if birth_date is None:
        return Fact(note="no birth date")
    if not spanning:
        return Fact(note="no onset or recorded date on the ALL diagnosis")
    onsets = [(as_recorded(c.onset, c.onset_last or c.onset), c.label) for c in spanning if c.onset]
    said = "; ".join(f"ALL onset {onset} ({label})" for onset, label in onsets)
    first_birthday = add_months(birth_date, 12).isoformat()
    # Asked for in words ("the ALL onset dated 2026-06"), the Conditions' ids left to the detail.
    named = f"the ALL onset{'s' if len(onsets) > 1 else ''} dated {' and '.join(onset for onset, _ in onsets)}"
    return needs_full_date(tuple(c.reference for c in spanning), f"{said}: may be before {first_birthday}", named)


def _age_under_one(age: dict[str, Any], birth_date: date | None) -> bool | None:
    """Whether an onsetAge is under one year. Years and months count as written; a length of time (days, weeks,
    hours: facts/quantities.py) against the patient's first year, 365 or 366 days, so a 365th day needs the birth date.
    None when unreadable: the onset or recorded date then decides."""
    months = months_in(age)
    if months is not None:
        return months < 12
    days = time_in_days(age)
    if days is None:
        return None
    if birth_date is not None:
        return days < (add_months(birth_date, 12) - birth_date).days
    return True if days < 365 else False if days >= 366 else None


def _label(code: Any, text: str, valuesets: ValueSets) -> str:
    """The code a card names the diagnosis by: the one that makes it ALL or lymphoblastic lymphoma, wherever it is
    listed (an EHR's own code listed first named "L-C91.01" on the card); else the first code, else the text."""
    listed = [coding for coding in codings(code) if isinstance(coding.get("code"), str)]
    for coding in listed:
        if valuesets.has_code(ALL, coding) or valuesets.has_code(LYMPHOMA, coding):
            return str(coding["code"])
    return str(listed[0]["code"]) if listed else text or "no code"
