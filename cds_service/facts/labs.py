"""Laboratory facts: Ph / BCR::ABL1, MRD, CD19 on blasts, response (fhir-data-profile.md §Labs).

The usable Observations come from the shared index (observations.py): each distinct code is classified once in the
compiled value sets, and only Ph, MRD and CD19 results are kept and read into small rows (lab_result.py). Every fact is
a query over those rows. MRD is read here, Ph in ph.py, CD19 in cd19.py, a result's words and flags in result_text.py.
MRD arithmetic is exact (Decimal); a value without a unit is unreadable, never guessed.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from cds_service.facts.attestations import Attestations, course_answers_since
from cds_service.facts.cd19 import WITHOUT_VALUE, read_cd19
from cds_service.facts.codes import (completed_months, concept_text, effective_datetime, effective_last_date,
                                     ref)
from cds_service.facts.diagnosis import Diagnosis
from cds_service.facts.lab_result import (SHOWN, Concurrent, Result, alike, dated, in_time_order, latest_together,
                                          named, reconciled, references, shown)
from cds_service.facts.model import Fact, Graded, full_date_request, needs_full_date
from cds_service.facts.observations import ObservationIndex
from cds_service.facts.ph import ph_kinds, ph_status, read_ph
from cds_service.facts.result_text import qualitative, result_quantity, result_ratio, unread_number
from cds_service.facts.quantities import exact_text
from cds_service.facts.unreadable import Bearing, Relevance
from cds_service.printable import json_value
from cds_service.record import PatientRecord
from cds_service.valuesets import ValueSets, get_valuesets

# From this age a result read for the course start says how old it is (a note only: no window decides).
STALE_MRD_MONTHS = 3
# UCUM unit -> divisor to a fraction of cells; per million ("/10*6") and the other powers of ten, _POWER_OF_TEN.
# Keys lower-case: a unit without a UCUM code is often the word a lab system prints ("percent").
_MRD_UNITS = {"%": Decimal(100), "percent": Decimal(100), "1": Decimal(1)}
_UNIT_WORDS = {"/10*6": " per million"}  # a unit in words where a clinician reads one
# Said by every MRD fact left unknown for want of a result: a criterion reading several of them ("MRD negative or
# unavailable") joins their notes, and says one said alike once (vocabulary.unique).
NO_MRD_RESULT = "no MRD result on record"
# UCUM powers of ten of cells: "/10*6" (per million), "/10*4" (per 10,000 cells), "10*-3" (1 x 10^-3 of cells), as
# labs report an MRD by its sensitivity; "^" as some systems print it. The same result as 0.1 % or 1000 per million,
# never a guess.
_POWER_OF_TEN = re.compile(r"/10[*^]([1-9])|10[*^]-([1-9])")
_PARENTHESES = re.compile(r"\([^()]*\)")
# What an unreadable MRD, Ph or CD19 result bears on (unreadable.py). Any Ph+ result makes the patient Ph+ (ph.py),
# a B-lineage stays one (diagnosis.lineage_with_cd19); the attested phase, response and Ph status decide, but not an
# attested MRD, which a result on record by the course start outweighs. The phase reads the MRD only in remission
# (phase.py): a relapsed/refractory one stands, and one it leaves open asks for the result first, which settles it.
_MRD = (Bearing("mrd_detectable"), Bearing("mrd_percent"), Bearing("mrd_persistent_or_rising"),
        Bearing("mrd_unavailable"), Bearing("response_or_stabilization", attested_stands=True),
        Bearing("therapy_phase", frozenset({"relapsed-refractory"}), attested_stands=True, asks_resource=True))
_RELEVANCE = {
    "mrd": Relevance("an MRD result", _MRD),
    "ph": Relevance("a Ph / BCR::ABL1 result", (Bearing("ph_positive", frozenset({True}), attested_stands=True),)),
    "cd19": Relevance("a CD19 result", (Bearing("cd19_positive"),
                                        Bearing("b_lineage", frozenset({True}), attested_stands=True))),
}


class Labs:
    def __init__(self, results: dict[str, list[Result]], received: bool, attestations: Attestations,
                 course_start: date, diagnosis: Diagnosis, renewal_since: date,
                 undated: list[dict[str, Any]] | None = None) -> None:
        # The results that read as one but have no date (_read): extract.py makes the facts they bear on unknown.
        self.undated = undated or []
        # Results of one day are read together (lab_result.latest_together): where they disagree on what a
        # criterion reads, the fact is unknown, whatever order the EHR listed them in.
        self._mrd = in_time_order(r for r in results["mrd"] if not r.absent)
        # The MRD criteria describe the disease the course was started for, judged like the phase as of the course
        # start (policy-rules.md §1): a responder's undetectable MRD during an authorized course does not end it.
        # Only the response criterion (renewals) reads the results that came later.
        self._mrd_at_start = self._mrd_by(course_start)
        self._mrd_absent = in_time_order(r for r in results["mrd"] if r.absent and r.day <= course_start)
        self._course_start = course_start
        self._received = received
        self._attestations = attestations
        # Said in the note of every fact read from a result as of the course start when later results exist and were
        # not the ones read: made once here, not for each such note.
        later = self._mrd and self._mrd[-1].day > course_start
        self._as_of = f", the latest by the course start {course_start}" if later else ""
        self.ph_positive = ph_status(results, course_start, received, attestations)
        # From when an `mrd-unavailable` answer counts (_unavailable), for one that cannot be read too (extract.py).
        self.unavailable_answers_since = self._unavailable_since()
        # Read before `_unavailable`, which says the latest result as this reading does: a criterion reading both
        # ("MRD negative or unavailable") then says it once.
        self._read_at_start = self._mrd_facts(self._mrd_at_start, course_start)
        self.mrd_unavailable = self._unavailable()
        self.mrd_detectable, self.mrd_percent = _said_unavailable(self._read_at_start, self.mrd_unavailable)
        self.mrd_persistent_or_rising = self._persistent_or_rising()
        self.cd19_positive = _cd19_fact(results["cd19"], received)
        self.response_or_stabilization = self._response(course_start, diagnosis, renewal_since)

    def latest_mrd_before(self, day: date) -> Fact[bool]:
        """Whether the latest MRD result on or before `day` is detectable by any measure."""
        return self._mrd_facts(self._mrd_by(day), day)[0]

    def _mrd_by(self, day: date) -> list[Result]:
        """The MRD results dated on or before `day`, oldest first."""
        return [r for r in self._mrd if r.day <= day]

    def _mrd_facts(self, results: list[Result], by: date) -> tuple[Fact[bool], Fact[Graded]]:
        """Whether the latest of `results` (those dated on or before `by`) is detectable, and its value: one source,
        evidence and note for both."""
        if results:
            latest = latest_together(results)
            late = [r for r in latest if r.last > by]
            found = self._latest_mrd(latest)
            if late and _values(found) != _values(self._mrd_facts([r for r in results if r not in late], by)):
                # A partial date ("2026-12" for a course from Dec 1) that may be after `by`, and decides if it is not.
                # The day said with what it is, as ph.py says it: a bare date beside the result's read as another.
                day = f"the course start {by}" if by == self._course_start else f"{by}"
                note = f"MRD {shown(late)} ({dated(late)}): may be after {day}"
                unsure: Fact[Any] = Fact(None, references(latest), note=note,
                                         missing=full_date_request(references(late), named("MRD", late)))
                return unsure, unsure
            return found
        # Attested only when the record holds no MRD result from before the course start.
        attested = None if self._mrd_at_start else self._attested_mrd()
        if attested is not None:
            evidence, note = (attested.reference,), f"MRD {attested.shown} attested"
            return (Fact(attested.detectable(), evidence, attested=True, note=note),
                    Fact(attested.measured_percent(), evidence, attested=True, note=note))
        unknown: Fact[Any] = Fact(received=self._received, note=NO_MRD_RESULT if self._received else "")
        return unknown, unknown  # one frozen Fact read both ways

    def _latest_mrd(self, latest: list[Result]) -> tuple[Fact[bool], Fact[Graded]]:
        """The MRD facts read from the results of the latest moment: usually one; several read as one where they
        agree, and unknown where they disagree on what a criterion reads (for a threshold, Concurrent decides)."""
        deciding = reconciled(latest)
        first, evidence = deciding[0], references(latest)
        when = f"{first.day}{self._age(first)}"
        values = tuple(dict.fromkeys(r.measured_percent() for r in deciding))
        if len(values) == 1:  # one result, the same result twice, or a value the day's other results allow
            allowing = [r for r in latest if r not in deciding]
            also = f"; that day also {shown(allowing)}" if allowing else ""
            note = f"MRD {first.shown} ({when}{also}){self._as_of}"
            # Below a detection limit above a policy's threshold ("<0.5%" against 0.1%), the value cannot decide it: a
            # more sensitive result can, where "quantitative MRD result" asked for what the record holds.
            finer = (f"an MRD result with a lower detection limit (the latest: {first.shown})"
                     if first.comparator in ("<", "<=") else "")
            # A value not read asks for that result's value: "MRD result" asked for what the chart already holds.
            whether, value = _value_requests(deciding) if first.detectable() is None else ("", "")
            return (Fact(first.detectable(), evidence, note=note, missing=whether),
                    Fact(values[0], evidence, note=note, missing=finer or value))
        # Said to disagree where the reading is unknown for it: a threshold they all fall on one side of is decided.
        detectable = alike(r.detectable() for r in latest)
        said = " disagree:" if len({r.detectable() for r in latest}) > 1 else ":"
        asks = _which_is_current("MRD", latest)
        return (Fact(detectable, evidence, note=f"MRD results of {when}{said} {shown(latest)}{self._as_of}",
                     missing=asks),
                Fact(Concurrent(values), evidence, note=f"MRD results of {when}: {shown(latest)}{self._as_of}",
                     missing=asks))

    def _age(self, result: Result) -> str:
        """How long before the course start a result read for it was taken, when that is long enough for a
        pharmacist to weigh (the profile sets no window: the latest result decides, however old)."""
        months = completed_months(result.day, self._course_start)
        return f", {months} months before the course start" if months >= STALE_MRD_MONTHS else ""

    def _attested_mrd(self) -> Result | None:
        # It stands for the MRD the course began with: a value typed for an earlier course is an older measurement.
        answer = self._attestations.get("mrd-percent", authored_since=course_answers_since(self._course_start))
        if answer is None:
            return None
        percent = answer.value
        if isinstance(percent, bool) or not isinstance(percent, (int, Decimal)):
            return None  # an answer of the wrong type is no MRD value
        moment = datetime(answer.authored.year, answer.authored.month, answer.authored.day)
        return Result(moment, answer.reference, fraction=Decimal(percent) / 100, shown=f"{percent}%")

    def _persistent_or_rising(self) -> Fact[bool]:
        """Persistent: the two latest both detectable; rising: the latest above the previous (an undetectable
        previous result counts as lower). Either way the latest must be detectable, and the previous is from an
        earlier day: results of one day (two assays of one marrow) are not two points in the disease's course."""
        latest = self.mrd_detectable
        if latest.value is not True:
            return latest
        last = latest_together(self._mrd_at_start)  # none when the MRD was attested: no result by the course start
        # Not the latest results' (a partial date among them is earlier by its first day, and may be the latest).
        earlier = [r for r in self._mrd_at_start if r.day < last[0].day and r not in last] if last else []
        if not earlier:
            return Fact(None, latest.evidence, latest.attested, note="persistence needs MRD results of two days")
        previous = latest_together(earlier)
        unread = [r for r in previous if r.detectable() is None]
        if unread:
            return Fact(note=f"previous MRD {shown(unread)} unreadable", evidence=references(unread))
        # A previous day whose results disagree makes the latest persistent or rising: met either way.
        kind = _KINDS[alike(r.detectable() for r in previous)]
        return Fact(True, references(previous + last),
                    note=f"MRD {kind}: {shown(previous)} ({previous[0].day}) then {shown(last)} ({last[0].day})")

    def _unavailable(self) -> Fact[bool]:
        # MRD is unavailable only when explicit (fhir-data-profile.md §Labs): a result on record by the course start
        # outweighs an "unavailable" answer written before it (or on its day); one written later may still say that
        # no MRD is available for this course. An answer from an earlier course says nothing of this one's MRD.
        since = self.unavailable_answers_since
        latest = latest_together(self._mrd_at_start)
        attested = self._attestations.fact("mrd-unavailable", since, cast=bool, note="MRD unavailable attested")
        if attested is not None:
            return attested
        if not self._received:
            return Fact(received=False)
        found = self._absent(self._mrd_absent, latest)
        sure = [r for r in self._mrd_absent if r.last <= self._course_start]
        if found.value and len(sure) < len(self._mrd_absent) and not self._absent(sure, latest).value:
            # A partial date ("2026" for a course from Dec 1) that may be after the course start, when it would not
            # count: read at its first day, it had shown MRD unavailable as of the start.
            late = [r for r in self._mrd_absent if r not in sure]
            said = f"MRD not available ({dated(late)}): may be after the course start {self._course_start}"
            return needs_full_date(references(late), said, named("MRD", late))
        return found

    def _absent(self, results: list[Result], latest: list[Result]) -> Fact[bool]:
        """Whether MRD is shown unavailable by `results` (explicitly unavailable, by the course start) beside
        `latest`, the latest MRD results by then: when the latest of them is later than those."""
        absent = latest_together(results)
        if absent and (not latest or absent[0].day > latest[0].day):  # a result of the same day is one
            return Fact(True, references(absent), note=f"MRD not available ({absent[0].day}){self._as_of}")
        if latest:
            return Fact(False, references(latest), note=self._read_at_start[0].note)
        # Inclusion criterion: with no MRD result at all, unavailability is not shown either way.
        return Fact(None, note=NO_MRD_RESULT)

    def _unavailable_since(self) -> date:
        """This course's window (course_answers_since), and after the latest MRD result by the course start."""
        since = course_answers_since(self._course_start)
        latest = self._mrd_at_start[-1:]  # oldest first: the last is of the latest day
        return max(since, latest[0].day + timedelta(days=1)) if latest else since

    def _response(self, course_start: date, diagnosis: Diagnosis, renewal_since: date) -> Fact[bool]:
        # Only a current answer shows a response (extract.py `renewal_window`): one given for an earlier renewal
        # says nothing of the cycles since.
        attested = self._attestations.fact("response-or-stabilization", renewal_since, cast=bool,
                                           note="response attested")
        if attested is not None:
            return attested
        by_mrd = self._mrd_response(course_start)
        if by_mrd is not None and by_mrd.value:
            return by_mrd
        remission = [r for r in diagnosis.status_records() if r.status == "remission" and r.day > course_start]
        if remission:
            return Fact(True, (remission[-1].reference,), note=f"ALL in remission ({remission[-1].day})")
        if by_mrd is not None:
            return by_mrd  # the latest results disagree on a response
        return Fact(received=self._received or diagnosis.all_diagnosis.received,
                    note="no response evidence since the course start")

    def _mrd_response(self, course_start: date) -> Fact[bool] | None:
        """The response the latest MRD results show, when dated after the course start: negative, or lower than the
        last results by the course start's day (Aspirus IV: a response to this course). None when they show none;
        unknown when results of one day disagree on it. A result of the course start's day or before shows nothing
        about the treatment, whatever came before it: a marrow of day 1 lower than the month before had shown a
        response to a course not yet given. It is the course's baseline instead, drawn before the first bag: passed
        over, a later fall from it was no response, and a rise from it read as a fall from an older, higher result."""
        latest = reconciled(latest_together(self._mrd))
        if not latest or latest[0].day <= course_start:
            return None
        day = latest[0].day
        if all(r.detectable() is False for r in latest):
            return Fact(True, references(latest), note=f"latest MRD {shown(latest)} ({day})")
        baseline = latest_together(self._mrd_at_start)
        fell = [r for r in latest if baseline and _below(r, baseline)]
        if len(fell) == len(latest):
            return Fact(True, references(baseline + latest),
                        note=f"MRD fell from {shown(baseline)} ({baseline[0].day}) to {shown(latest)} ({day})")
        if fell or any(r.detectable() is False for r in latest):
            return Fact(None, references(latest), note=f"MRD results of {day} disagree: {shown(latest)}",
                        missing=_which_is_current("MRD", latest))
        return None


# What the previous day's results make a detectable latest MRD (None: they disagree).
_KINDS = {True: "persistent", False: "rising", None: "persistent or rising"}


def _below(result: Result, baseline: list[Result]) -> bool:
    """Lower than each result of the baseline's moment: lower than whichever of them is current."""
    _, high = result.bounds()
    lows = [base.bounds()[0] for base in baseline]
    return high is not None and all(low is not None and high < low for low in lows)


# What an unknown MRD asks for when the record says none is available: "MRD result (or that it is unavailable)"
# asked the clinician who had documented just that (a pathway other than the MRD-unavailable one needs the value).
MRD_NONE_AVAILABLE = "MRD result (the record says none is available)"


def _said_unavailable(facts: tuple[Fact[bool], Fact[Graded]],
                      unavailable: Fact[bool]) -> tuple[Fact[bool], Fact[Graded]]:
    """The MRD facts, unknown for want of any result, with the record's statement that none is available (its note
    and evidence, for the pharmacist) and asking for a result as such; else as read."""
    detectable = facts[0]
    if detectable.value is not None or detectable.evidence or unavailable.value is not True:
        return facts
    said: Fact[Any] = Fact(None, unavailable.evidence, note=unavailable.note, missing=MRD_NONE_AVAILABLE)
    return said, said


def _values(facts: tuple[Fact[bool], Fact[Graded]]) -> tuple[Any, Any]:
    return facts[0].value, facts[1].value


def _cd19_fact(results: list[Result], received: bool) -> Fact[bool]:
    """The latest CD19 result on blasts (fhir-data-profile.md §Labs); unknown when results of its moment disagree."""
    if not results:
        return Fact(received=received, note="no CD19 result on blasts" if received else "")
    latest = latest_together(in_time_order(results))
    positive, evidence, day = alike(r.positive for r in latest), references(latest), dated(latest)
    unread = references(r for r in latest if r.shown == WITHOUT_VALUE)
    if unread:  # the latest decides: one sent without its value leaves CD19 unknown
        return Fact(None, evidence, note=f"CD19 result of {day} {WITHOUT_VALUE}: {', '.join(unread)}",
                    missing=f"the value of the CD19 result on blasts dated {day} ({', '.join(unread)})")
    if positive is None:  # read_cd19 keeps only a positive or a negative reading: these disagree
        return Fact(None, evidence, note=f"CD19 results of {day} disagree: {shown(latest)}",
                    missing=_which_is_current("CD19", latest))
    return Fact(positive, evidence, note=f"{shown(latest)} ({day})")


def _value_requests(results: list[Result]) -> tuple[str, str]:
    """What MRD results whose value cannot be read (no unit, a shape or words not known) ask for, by what reads them:
    whether MRD is detectable reads a qualitative result too; a threshold (Florida Blue's 0.1%) needs a number."""
    which = f"{named('MRD', results)} ({', '.join(references(results))})"
    return f"a value in % (or positive / negative) for {which}", f"a value in % for {which}"


def _which_is_current(what: str, results: list[Result]) -> str:
    """What a disagreement asks for: the result that stands (the other corrected or entered in error)."""
    readings = " or ".join(dict.fromkeys(r.shown for r in results))
    return f"which {what} result of {dated(results)} is current ({readings})"


# ---- reading Observations ------------------------------------------------------------------------------------


def read_labs(record: PatientRecord, attestations: Attestations, course_start: date, diagnosis: Diagnosis,
              observations: ObservationIndex, renewal_since: date) -> Labs:
    """The lab facts. MRD and Ph are judged as of `course_start` (policy-rules.md §1), CD19 on the latest result on
    record, the response (renewals) on the results since the course start. `observations`: the record's index, which
    extract.py shares between the readers. `renewal_since`: from when a `response-or-stabilization` answer counts."""
    valuesets = get_valuesets()
    results = _result_lists()
    undated: list[dict[str, Any]] = []
    # Body sizes alone are body.py's: it selects them from the same classification.
    selected = observations.select(observation_kinds, valuesets.memo("observation-kinds"), BODY_SIZE.__ne__)
    for observation, kinds in selected:
        _read(observation, kinds, valuesets, results, undated)
    return Labs(results, record.received("observations"), attestations, course_start,
                diagnosis, renewal_since, undated)


BODY_SIZE = frozenset({"body-size"})


def observation_kinds(code: Any) -> frozenset[str]:
    """What the Observations of a code are to the readers sharing the index (extract.py): their lab kinds, and
    "body-size" for a weight, height or BSA (value set `body-size`). One classification for both readers, so the
    index's codes are looked up in the memo once per evaluation, not once per reader."""
    valuesets = get_valuesets()
    kinds = _classify(code, concept_text(code), valuesets)
    return kinds | BODY_SIZE if valuesets.has("body-size", code or {}) else kinds


def unreadable_relevance(observation: dict[str, Any]) -> Relevance | None:
    """An Observation the shape filter left out (unreadable.py) bears on the facts of the results its code names."""
    code = observation.get("code")
    kinds = _classify(code, concept_text(code), get_valuesets())
    found = [relevance for kind, relevance in _RELEVANCE.items() if kind in kinds]
    if not found:
        return None
    return Relevance(" and ".join(r.what for r in found), tuple(b for r in found for b in r.bearings))


def _read(observation: dict[str, Any], kinds: frozenset[str], vs: ValueSets, into: dict[str, list[Result]],
          undated: list[dict[str, Any]]) -> None:
    """Reads one Ph, MRD or CD19 Observation (`kinds` from its code) into the result lists, or into `undated`."""
    moment = effective_datetime(observation)
    if moment is None:
        # An undated result cannot be placed in time, so it may be the latest, which decides (fhir-data-profile.md
        # §Labs): passed over, a CD19-negative result at relapse left the CD19+ one at diagnosis to approve the order.
        # The facts it bears on become unknown (unreadable.py), if it reads as a result at all.
        if _undated_results(observation, kinds, vs):
            undated.append(observation)
        return
    last = effective_last_date(observation)
    if last is None or last == moment.date():  # a full date or date-time: the usual case
        _read_at(observation, moment, kinds, vs, into)
        return
    # A partial date ("2026-11"): its results may be of any day of it (lab_result.latest_together reads them so).
    read = _result_lists()
    _read_at(observation, moment, kinds, vs, read)
    for kind, results in read.items():
        into[kind].extend(replace(result, last=last) for result in results)


def undated_relevance(observation: dict[str, Any]) -> Relevance | None:
    """What an undated result (`Labs.undated`) bears on: the facts its code names (`unreadable_relevance`), but an MRD
    result saying none is available (dataAbsentReason) only whether MRD is unavailable: never the latest MRD value
    (`Labs._mrd`), an undated "not performed" had left a dated MRD-positive consolidation unknown, its phase too."""
    found = _undated_results(observation, observation_kinds(observation.get("code")), get_valuesets())
    return _ABSENT_MRD if found and all(r.absent for r in found) else unreadable_relevance(observation)


_ABSENT_MRD = Relevance("an MRD result", (Bearing("mrd_unavailable"),))


def _undated_results(observation: dict[str, Any], kinds: frozenset[str], vs: ValueSets) -> list[Result]:
    """What an undated Observation reads as: none if it is no result (a panel not mentioning CD19)."""
    scratch = _result_lists()
    _read_at(observation, _UNDATED, kinds, vs, scratch)
    return [result for results in scratch.values() for result in results]


_UNDATED = datetime.min.replace(tzinfo=timezone.utc)  # a moment to read an undated result at, to see if it is one


def _result_lists() -> dict[str, list[Result]]:
    return {k: [] for k in ("mrd", "ph", "ph-both", "ph-major", "ph-minor", "cd19")}


def _read_at(observation: dict[str, Any], moment: datetime, kinds: frozenset[str], vs: ValueSets,
             into: dict[str, list[Result]]) -> None:
    if "mrd" in kinds:
        _append(into["mrd"], _read_mrd(observation, moment, vs))
    if "ph" in kinds:
        read_ph(observation, moment, kinds, vs, into)
    if "cd19" in kinds:
        _append(into["cd19"], read_cd19(observation, moment, kinds, vs))


def _append(results: list[Result], result: Result | None) -> None:
    if result is not None:
        results.append(result)


def _classify(code: Any, text: str, vs: ValueSets) -> frozenset[str]:
    if vs.has_code("cd19-blood-counts", code):
        return frozenset()  # blood lymphocyte counts are never disease evidence
    kinds: set[str] = set()
    if vs.has_code("mrd", code) or (vs.matches_text("mrd", text) and not _mrd_assay_parameter(text, vs)):
        kinds.add("mrd")
    if vs.has_code("cd19-immunophenotype", code):
        kinds.update(("cd19", "cd19-panel"))
    elif vs.matches_text("cd19-text", text) and vs.matches_text("blast-text", text):
        kinds.add("cd19")
    if vs.has("ph-tests", code) and not vs.matches_text("ph-exclusions", text):
        kinds.update(ph_kinds(code, vs))
    return frozenset(kinds)


def _mrd_assay_parameter(text: str, vs: ValueSets) -> bool:
    """"MRD limit of detection" names the assay, not the result; "MRD (sensitivity 0.01%)" is a result whose name
    notes its assay, so words in parentheses do not count. An operator's MRD code is trusted as a result."""
    return vs.matches_text("mrd-exclusions", _PARENTHESES.sub(" ", text))


# ---- values ---------------------------------------------------------------------------------------------------


def _shown_mrd(value: Decimal, comparator: str, unit: str, divisor: Decimal) -> str:
    """The value as sent, for a note. A value in any unit but a percent (a fraction of cells, unit "1"; per million;
    another power of ten of cells, "10*-3", "/10*4") also as the percent the criteria compare: "MRD 0.001" alone reads
    as 0.001 %, a hundred times less than it is, and "MRD 50 per million" left the clinician to work out whether it
    is below the policy's 0.1 %."""
    sent = _as_sent(value)
    if divisor == 100:
        return f"{comparator}{sent}%"
    spaced = "" if unit == "1" else _UNIT_WORDS.get(unit, f" {unit}")
    return f"{comparator}{sent}{spaced} = {comparator}{exact_text(value * 100 / divisor)}%"


def _as_sent(value: Decimal) -> str:
    """A value as the lab sent it ("0.0010"), unless that is an exponent or a line of digits: then bounded, exactly
    (`exact_text`: "1 × 10⁻⁷", "0.0500000000…")."""
    text = str(value)
    return text if len(text) <= 14 and "E" not in text else exact_text(value)


def _mrd_divisor(unit: str) -> Decimal | None:
    """What divides a value in `unit` into a fraction of cells, e.g. 10^4 for "/10*4"; None for no unit or another
    one, never guessed."""
    match = _POWER_OF_TEN.fullmatch(unit)
    return _MRD_UNITS.get(unit) if match is None else Decimal(10) ** int(match.group(1) or match.group(2))


def _ratio_mrd(ratio: tuple[Decimal, Decimal, str], moment: datetime, reference: str) -> Result:
    """An MRD "1:10000" (result_text.result_ratio): the fraction of cells numerator / denominator, with the
    numerator's comparator, shown as the chart wrote it and as the percent the criteria compare."""
    numerator, denominator, comparator = ratio
    fraction = numerator / denominator
    shown = f"{comparator}{_as_sent(numerator)}:{_as_sent(denominator)} = {comparator}{exact_text(fraction * 100)}%"
    return Result(moment, reference, fraction=fraction, comparator=comparator, shown=shown)


def _units_disagree(quantity: Any) -> str:
    """Whether a valueQuantity's unit as printed and its UCUM code both name MRD units, and different ones ("%" and
    "1"): the code alone had decided, a hundredfold either way across Florida Blue's 0.1%. Said as a note says it,
    both quoted ('unit "%" and unit code "1" disagree'), so that a pharmacist sees which to correct; "" when not."""
    if not isinstance(quantity, dict):
        return ""
    named = [quantity.get(key) for key in ("unit", "code")]
    divisors = {_mrd_divisor(unit.strip().lower()) for unit in named if isinstance(unit, str)} - {None}
    if len(divisors) < 2:
        return ""
    return f"unit {json_value(named[0], 20)} and unit code {json_value(named[1], 20)} disagree"


def _of_cells(result: Result) -> Result:
    """`result`, or unread when its value is no share of cells (below 0, above 100%), as no lab reports an MRD: a
    "-0.01%" had read as MRD negative, and "150%" as far above Florida Blue's 0.1%, a unit or sign slipped either way.
    The value is asked for (_value_requests)."""
    fraction = result.fraction
    if fraction is None or 0 <= fraction <= 1:
        return result
    return Result(result.moment, result.reference,
                  shown=f"{result.shown} ({'below 0' if fraction < 0 else 'above 100% of cells'})")


def _read_mrd(observation: dict[str, Any], moment: datetime, vs: ValueSets) -> Result | None:
    reference = ref(observation)
    quantity = result_quantity(observation)
    if quantity is not None:
        value, comparator, unit = quantity
        divisor = _mrd_divisor(unit)
        if divisor is None:
            return Result(moment, reference, shown=f"{comparator}{value} (no usable unit)")
        disagree = _units_disagree(observation.get("valueQuantity"))
        if disagree:
            return Result(moment, reference, shown=f"{comparator}{value} ({disagree})")
        return _of_cells(Result(moment, reference, fraction=value / divisor, comparator=comparator,
                                shown=_shown_mrd(value, comparator, unit, divisor)))
    ratio = result_ratio(observation)
    if ratio is not None:
        return _of_cells(_ratio_mrd(ratio, moment, reference))
    if "dataAbsentReason" in observation:
        return Result(moment, reference, absent=True, shown="not available")
    positive = qualitative(observation, vs)
    # A number not read says why (a comparator FHIR does not define, below 0): "MRD unreadable" alone left the
    # pharmacist to guess what to correct.
    why = unread_number(observation) if positive is None else ""
    return Result(moment, reference, positive=positive, shown=f"unreadable ({why})" if why else SHOWN[positive])
