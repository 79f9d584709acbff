"""Laboratory facts: Ph / BCR::ABL1, MRD, CD19 on blasts, response (fhir-data-profile.md §Labs).

The usable Observations come from the shared index (observations.py): each distinct code is classified once in the
compiled value sets, and only Ph, MRD and CD19 results are kept and read into small rows (lab_result.py). Every fact is
a query over those rows. MRD is read here, Ph in ph.py, CD19 in cd19.py, a result's words and flags in result_text.py.
MRD arithmetic is exact (Decimal); a value without a unit is unreadable, never guessed.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from cds_service.facts.attestations import Attestations, course_answers_since
from cds_service.facts.cd19 import read_cd19
from cds_service.facts.codes import completed_months, concept_text, effective_datetime, ref
from cds_service.facts.diagnosis import Diagnosis
from cds_service.facts.lab_result import SHOWN, Result, by_moment
from cds_service.facts.model import Fact, Measured
from cds_service.facts.observations import ObservationIndex
from cds_service.facts.ph import ph_kinds, ph_status, read_ph
from cds_service.facts.result_text import qualitative, result_quantity
from cds_service.facts.unreadable import Bearing, Relevance
from cds_service.record import PatientRecord
from cds_service.valuesets import ValueSets, get_valuesets

# UCUM unit -> divisor to a fraction of cells
# Keys lower-case: a unit without a UCUM code is often the word a lab system prints ("percent").
# From this age a result read for the course start says how old it is (a note only: no window decides).
STALE_MRD_MONTHS = 3
_MRD_UNITS = {"%": Decimal(100), "percent": Decimal(100), "/10*6": Decimal(10) ** 6, "1": Decimal(1)}
_UNIT_WORDS = {"%": "%", "percent": "%", "/10*6": " per million"}
_PARENTHESES = re.compile(r"\([^()]*\)")
# What an unreadable MRD, Ph or CD19 result bears on (unreadable.py). Any Ph+ result makes the patient Ph+ (ph.py),
# a B-lineage stays one (diagnosis.lineage_with_cd19); the attested phase, response and Ph status decide, but not an
# attested MRD, which a result on record by the course start outweighs.
_MRD = (Bearing("mrd_detectable"), Bearing("mrd_percent"), Bearing("mrd_persistent_or_rising"),
        Bearing("mrd_unavailable"), Bearing("response_or_stabilization", attested_stands=True),
        Bearing("therapy_phase", attested_stands=True))
_RELEVANCE = {
    "mrd": Relevance("an MRD result", _MRD),
    "ph": Relevance("a Ph / BCR::ABL1 result", (Bearing("ph_positive", frozenset({True}), attested_stands=True),)),
    "cd19": Relevance("a CD19 result", (Bearing("cd19_positive"),
                                        Bearing("b_lineage", frozenset({True}), attested_stands=True))),
}


class Labs:
    def __init__(self, results: dict[str, list[Result]], received: bool, attestations: Attestations,
                 course_start: date, diagnosis: Diagnosis, renewal_since: date) -> None:
        self._mrd = sorted((r for r in results["mrd"] if not r.absent), key=by_moment)
        # The MRD criteria describe the disease the course was started for, judged like the phase as of the course
        # start (policy-rules.md §1): a responder's undetectable MRD during an authorized course does not end it.
        # Only the response criterion (renewals) reads the results that came later.
        self._mrd_at_start = self._mrd_by(course_start)
        self._mrd_absent = [r for r in results["mrd"] if r.absent and r.day <= course_start]
        self._course_start = course_start
        self._received = received
        self._attestations = attestations
        # Said in the note of every fact read from a result as of the course start when later results exist and were
        # not the ones read: made once here, not for each such note.
        later = self._mrd and self._mrd[-1].day > course_start
        self._as_of = f", the latest by the course start {course_start}" if later else ""
        self.ph_positive = ph_status(results, course_start, received, attestations)
        self.mrd_detectable, self.mrd_percent = self._mrd_facts(self._mrd_at_start)
        self.mrd_persistent_or_rising = self._persistent_or_rising()
        self.mrd_unavailable = self._unavailable()
        self.cd19_positive = _latest_fact(results["cd19"], received, "no CD19 result on blasts")
        self.response_or_stabilization = self._response(course_start, diagnosis, renewal_since)

    def latest_mrd_before(self, day: date) -> Fact[bool]:
        """Whether the latest MRD result on or before `day` is detectable by any measure."""
        return self._mrd_facts(self._mrd_by(day))[0]

    def _mrd_by(self, day: date) -> list[Result]:
        """The MRD results dated on or before `day`, oldest first."""
        return [r for r in self._mrd if r.day <= day]

    def _mrd_facts(self, results: list[Result]) -> tuple[Fact[bool], Fact[Measured]]:
        """Whether the latest of `results` is detectable, and its value: one source, evidence and note for both."""
        if results:
            latest = results[-1]
            evidence, note = (latest.reference,), f"MRD {latest.shown} ({latest.day}{self._age(latest)}){self._as_of}"
            # Below a detection limit above a policy's threshold ("<0.5%" against 0.1%), the value cannot decide it: a
            # more sensitive result can, where "quantitative MRD result" asked for what the record holds.
            finer = (f"an MRD result with a lower detection limit (the latest: {latest.shown})"
                     if latest.comparator in ("<", "<=") else "")
            return (Fact(latest.detectable(), evidence, note=note),
                    Fact(latest.measured_percent(), evidence, note=note, missing=finer))
        # Attested only when the record holds no MRD result from before the course start.
        attested = None if self._mrd_at_start else self._attested_mrd()
        if attested is not None:
            evidence, note = (attested.reference,), f"MRD {attested.shown} attested"
            return (Fact(attested.detectable(), evidence, attested=True, note=note),
                    Fact(attested.measured_percent(), evidence, attested=True, note=note))
        unknown: Fact[Any] = Fact(received=self._received, note="no MRD result" if self._received else "")
        return unknown, unknown  # one frozen Fact read both ways

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
        previous result counts as lower). Either way the latest must be detectable."""
        latest = self.mrd_detectable
        if latest.value is not True:
            return latest
        if latest.attested or len(self._mrd_at_start) < 2:
            return Fact(None, latest.evidence, latest.attested, note="persistence needs two MRD results")
        previous, last = self._mrd_at_start[-2], self._mrd_at_start[-1]
        before = previous.detectable()
        if before is None:
            return Fact(note=f"previous MRD {previous.shown} unreadable", evidence=(previous.reference,))
        kind = "persistent" if before else "rising"
        return Fact(True, (previous.reference, last.reference),
                    note=f"MRD {kind}: {previous.shown} ({previous.day}) then {last.shown} ({last.day})")

    def _unavailable(self) -> Fact[bool]:
        results = self._mrd_at_start
        # MRD is unavailable only when explicit (fhir-data-profile.md §Labs): a result on record by the course start
        # outweighs an "unavailable" answer written before it (or on its day); one written later may still say that
        # no MRD is available for this course. An answer from an earlier course says nothing of this one's MRD.
        since = course_answers_since(self._course_start)
        if results:
            since = max(since, results[-1].day + timedelta(days=1))
        attested = self._attestations.fact("mrd-unavailable", since, cast=bool, note="MRD unavailable attested")
        if attested is not None:
            return attested
        if not self._received:
            return Fact(received=False)
        absent = max(self._mrd_absent, key=by_moment, default=None)
        if absent is not None and (not results or absent.moment >= results[-1].moment):
            return Fact(True, (absent.reference,), note=f"MRD not available ({absent.day}){self._as_of}")
        if results:
            latest = results[-1]
            return Fact(False, (latest.reference,), note=f"MRD result on record ({latest.day}){self._as_of}")
        # Inclusion criterion: with no MRD result at all, unavailability is not shown either way.
        return Fact(None, note="no MRD result on record")

    def _response(self, course_start: date, diagnosis: Diagnosis, renewal_since: date) -> Fact[bool]:
        # A response to this course cannot be attested before it (extract.py `_renewal_answers_since`).
        attested = self._attestations.fact("response-or-stabilization", renewal_since, cast=bool,
                                           note="response attested")
        if attested is not None:
            return attested
        # Response is to this course: a negative result from before it shows nothing about the treatment.
        latest = self._mrd[-1] if self._mrd and self._mrd[-1].day > course_start else None
        if latest is not None and latest.detectable() is False:
            return Fact(True, (latest.reference,), note=f"latest MRD {latest.shown} ({latest.day})")
        lower = self._mrd_fell_since(course_start)
        if lower is not None:
            return lower
        remission = [r for r in diagnosis.status_records() if r.status == "remission" and r.day > course_start]
        if remission:
            return Fact(True, (remission[-1].reference,), note=f"ALL in remission ({remission[-1].day})")
        return Fact(received=self._received or diagnosis.all_diagnosis.received,
                    note="no response evidence since the course start")

    def _mrd_fell_since(self, course_start: date) -> Fact[bool] | None:
        baseline = [r for r in self._mrd if r.day < course_start]
        if not baseline or self._mrd[-1].day < course_start:
            return None
        base, latest = baseline[-1], self._mrd[-1]
        base_low, _ = base.bounds()
        _, latest_high = latest.bounds()
        if base_low is None or latest_high is None or latest_high >= base_low:
            return None
        return Fact(True, (base.reference, latest.reference),
                    note=f"MRD fell from {base.shown} ({base.day}) to {latest.shown} ({latest.day})")


def _latest_fact(results: list[Result], received: bool, none_note: str) -> Fact[bool]:
    if not results:
        return Fact(received=received, note=none_note if received else "")
    latest = max(results, key=by_moment)
    return Fact(latest.positive, (latest.reference,), note=f"{latest.shown} ({latest.day})")


# ---- reading Observations ------------------------------------------------------------------------------------


def read_labs(record: PatientRecord, attestations: Attestations, course_start: date, diagnosis: Diagnosis,
              observations: ObservationIndex, renewal_since: date) -> Labs:
    """The lab facts. MRD and Ph are judged as of `course_start` (policy-rules.md §1), CD19 on the latest result on
    record, the response (renewals) on the results since the course start. `observations`: the record's index, which
    extract.py shares between the readers. `renewal_since`: from when a `response-or-stabilization` answer counts."""
    valuesets = get_valuesets()
    results: dict[str, list[Result]] = {k: [] for k in ("mrd", "ph", "ph-both", "ph-major", "ph-minor", "cd19")}
    # Body sizes alone are body.py's: it selects them from the same classification.
    selected = observations.select(observation_kinds, valuesets.memo("observation-kinds"), BODY_SIZE.__ne__)
    for observation, kinds in selected:
        _read(observation, kinds, valuesets, results)
    return Labs(results, record.received("observations"), attestations, course_start,
                diagnosis, renewal_since)


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


def _read(observation: dict[str, Any], kinds: frozenset[str], vs: ValueSets, into: dict[str, list[Result]]) -> None:
    """Reads one Ph, MRD or CD19 Observation (`kinds` from its code) into the result lists."""
    moment = effective_datetime(observation)
    if moment is None:
        return  # an undated result cannot be placed in time
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


def _shown_mrd(value: Decimal, comparator: str, unit: str) -> str:
    """The value as sent, for a note. A fraction of cells (unit "1") also as a percent: "MRD 0.001" alone reads as
    0.001 %, a hundred times less than it is."""
    if unit == "1":
        return f"{comparator}{value} = {comparator}{(value * 100).normalize():f}%"
    return f"{comparator}{value}{_UNIT_WORDS[unit]}"


def _read_mrd(observation: dict[str, Any], moment: datetime, vs: ValueSets) -> Result | None:
    reference = ref(observation)
    quantity = result_quantity(observation)
    if quantity is not None:
        value, comparator, unit = quantity
        divisor = _MRD_UNITS.get(unit)
        if divisor is None:  # no or unknown unit: unreadable, never guessed
            return Result(moment, reference, shown=f"{comparator}{value} (no usable unit)")
        return Result(moment, reference, fraction=value / divisor, comparator=comparator,
                      shown=_shown_mrd(value, comparator, unit))
    if "dataAbsentReason" in observation:
        return Result(moment, reference, absent=True, shown="not available")
    positive = qualitative(observation, vs)
    return Result(moment, reference, positive=positive, shown=SHOWN[positive])
