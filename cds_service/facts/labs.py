"""Laboratory facts: Ph / BCR::ABL1, MRD, CD19 on blasts, response (fhir-data-profile.md §Labs).

The usable Observations come from the shared index (observations.py): each distinct code is classified once in the
compiled value sets, and only Ph, MRD and CD19 results are kept and read into small rows. Every fact is a query
over those rows. MRD arithmetic is exact (Decimal); a value without a unit is unreadable, never guessed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, TypeVar

from cds_service.facts.attestations import Attestations
from cds_service.facts.codes import codings, concept_text, effective_datetime, ref, to_decimal
from cds_service.facts.diagnosis import Diagnosis, read_diagnosis
from cds_service.facts.model import Fact, Measured
from cds_service.facts.observations import ObservationIndex, trusted
from cds_service.record import PatientRecord
from cds_service.valuesets import ValueSets, get_valuesets

# UCUM unit -> divisor to a fraction of cells
# Keys lower-case: a unit without a UCUM code is often the word a lab system prints ("percent").
_MRD_UNITS = {"%": Decimal(100), "percent": Decimal(100), "/10*6": Decimal(10) ** 6, "1": Decimal(1)}
_UNIT_WORDS = {"%": "%", "percent": "%", "/10*6": " per million", "1": ""}
_NUMERIC_STRING = re.compile(r"^\s*(<=|>=|<|>)?\s*(\d+(?:\.\d+)?|\.\d+)\s*(%)?\s*$")
T = TypeVar("T")
_V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_SHOWN = {True: "positive", False: "negative", None: "unreadable"}  # a qualitative reading, for notes
TextReading = Callable[[str, ValueSets], bool | None]
# Clause separators outside parentheses: "t(9;22)(q34;q11.2)" is one word, "p190 detected; p210 not" two clauses.
_CLAUSE_SEPARATOR = re.compile(r"(?:[;,\n]|\.(?=\s|$))(?![^()]*\))")
_PARENTHESES = re.compile(r"\([^()]*\)")
_NEGATION_CUE = re.compile(r"(?<![a-z0-9])(?:no|without)(?![a-z0-9])", re.IGNORECASE)
# CD19 in flow text: sentences hold lists ("positive for CD10, CD19"), so only ; . and new lines end one.
_SENTENCE_SEPARATOR = re.compile(r"(?:[;\n]|\.(?=\s|$))(?![^()]*\))")
_CD19 = re.compile(r"(?<![a-z0-9])cd19(?![a-z0-9])")
_CD19_THERAPY = re.compile(r"[-\s]*(?:directed|targeted|car\b|car-t|chimeric|bispecific)")
# A sign attached to CD19 ("CD19+", "CD19-", "CD19 (+)"); a hyphen before a word joins the word ("CD19-positive").
_CD19_SIGN = re.compile(r"\s*\(\s*[+\u2212\u2013-]\s*\)|\s*\+|[\u2212\u2013-](?![a-z0-9])")
_OWN_QUALIFIER = re.compile(r"cd\d+[a-z]?[+\u2212\u2013-]")
# Alternatives in order of precedence at one position: list heads, "not assessed", negative, positive words.
_CD19_WORDS = re.compile(
    r"(?<![a-z0-9])(?:"
    r"(?P<head_negative>(?:negative|neg)\s+for|lack(?:s|ing)?|(?:not|no)\s+express(?:es|ing|ion\s+of)?)(?![a-z])"
    r"|(?P<head_positive>(?:positive|pos)\s+for|express(?:es|ing)?)(?![a-z])"
    r"|(?P<unread>not\s+(?:assessed|evaluated|performed|done|tested|analy[sz]ed)|indeterminate|equivocal)(?![a-z])"
    r"|(?P<negative>dim\s*[-/]?\s*neg(?:ative)?|neg(?:ative)?|not\s+(?:detected|expressed)|absent)(?![a-z])"
    r"|(?P<positive>pos(?:itive)?|dim|bright|partial|expressed|detected)(?![a-z]))")
_CD19_READINGS = {"positive": True, "negative": False}


@dataclass(frozen=True)
class _Result:
    """One MRD, Ph or CD19 reading: `positive` is the qualitative reading, `fraction` the MRD value."""

    moment: datetime
    reference: str
    positive: bool | None = None
    fraction: Decimal | None = None
    comparator: str = ""
    shown: str = ""  # "0.05%", "negative": for notes
    absent: bool = False  # dataAbsentReason: explicitly unavailable

    @property
    def day(self) -> date:
        return self.moment.date()

    def detectable(self) -> bool | None:
        """Aspirus reading: > 0 or qualitatively positive; `<`/`<=` means not detected at that sensitivity."""
        if self.fraction is None:
            return self.positive
        if self.comparator in ("<", "<="):
            return False
        return self.fraction > 0 or self.comparator == ">"

    def measured_percent(self) -> Measured:
        """The MRD result in percent of cells, as reported, for the policies' thresholds."""
        percent = None if self.fraction is None else self.fraction * 100
        return Measured(percent, self.comparator, self.positive)

    def bounds(self) -> tuple[Decimal | None, Decimal | None]:
        """(lowest, highest) value the result allows; None = unbounded or unknown."""
        if self.fraction is None:
            return (Decimal(0), Decimal(0)) if self.positive is False else (None, None)
        if self.comparator in ("<", "<="):
            return Decimal(0), self.fraction
        if self.comparator in (">", ">="):
            return self.fraction, None
        return self.fraction, self.fraction


class Labs:
    def __init__(self, results: dict[str, list[_Result]], received: bool, attestations: Attestations,
                 course_start: date, diagnosis: Diagnosis) -> None:
        self._mrd = sorted((r for r in results["mrd"] if not r.absent), key=_by_moment)
        # The MRD criteria describe the disease the course was started for, judged like the phase as of the course
        # start (policy-rules.md §1): a responder's undetectable MRD during an authorized course does not end it.
        # Only the response criterion (renewals) reads the results that came later.
        self._mrd_at_start = self._mrd_by(course_start)
        self._mrd_absent = [r for r in results["mrd"] if r.absent and r.day <= course_start]
        self._course_start = course_start
        self._received = received
        self._attestations = attestations
        self.ph_positive = _ph_status(results, course_start, received, attestations)
        self.mrd_detectable = self._mrd_fact(self._mrd_at_start, lambda r: r.detectable())
        self.mrd_percent = self._mrd_fact(self._mrd_at_start, _Result.measured_percent)
        self.mrd_persistent_or_rising = self._persistent_or_rising()
        self.mrd_unavailable = self._unavailable()
        self.cd19_positive = _latest_fact(results["cd19"], received, "no CD19 result on blasts")
        self.response_or_stabilization = self._response(course_start, diagnosis)

    def latest_mrd_before(self, day: date) -> Fact[bool]:
        """Whether the latest MRD result on or before `day` is detectable by any measure."""
        return self._mrd_fact(self._mrd_by(day), lambda r: r.detectable())

    def _mrd_by(self, day: date) -> list[_Result]:
        """The MRD results dated on or before `day`, oldest first."""
        return [r for r in self._mrd if r.day <= day]

    def _mrd_fact(self, results: list[_Result], reading: Callable[[_Result], T | None]) -> Fact[T]:
        if results:
            latest = results[-1]
            return Fact(reading(latest), (latest.reference,), note=f"MRD {latest.shown} ({latest.day}){self._as_of()}")
        # Attested only when the record holds no MRD result from before the course start.
        attested = None if self._mrd_at_start else self._attested_mrd()
        if attested is not None:
            return Fact(reading(attested), (attested.reference,), attested=True, note=f"MRD {attested.shown} attested")
        return Fact(received=self._received, note="no MRD result" if self._received else "")

    def _attested_mrd(self) -> _Result | None:
        answer = self._attestations.get("mrd-percent")
        if answer is None:
            return None
        percent = answer.value
        if isinstance(percent, bool) or not isinstance(percent, (int, Decimal)):
            return None  # an answer of the wrong type is no MRD value
        moment = datetime(answer.authored.year, answer.authored.month, answer.authored.day)
        return _Result(moment, answer.reference, fraction=Decimal(percent) / 100, shown=f"{percent}%")

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
        answer = self._attestations.get("mrd-unavailable")
        if answer is not None:
            return Fact(bool(answer.value), (answer.reference,), attested=True, note="MRD unavailable attested")
        if not self._received:
            return Fact(received=False)
        absent = max(self._mrd_absent, key=_by_moment, default=None)
        results = self._mrd_at_start
        if absent is not None and (not results or absent.moment >= results[-1].moment):
            return Fact(True, (absent.reference,), note=f"MRD not available ({absent.day}){self._as_of()}")
        if results:
            latest = results[-1]
            return Fact(False, (latest.reference,), note=f"MRD result on record ({latest.day}){self._as_of()}")
        # Inclusion criterion: with no MRD result at all, unavailability is not shown either way.
        return Fact(None, note="no MRD result on record")

    def _as_of(self) -> str:
        """Says so when results after the course start exist and were not the ones read."""
        later = self._mrd and self._mrd[-1].day > self._course_start
        return f", the latest by the course start {self._course_start}" if later else ""

    def _response(self, course_start: date, diagnosis: Diagnosis) -> Fact[bool]:
        answer = self._attestations.get("response-or-stabilization")
        if answer is not None:
            return Fact(bool(answer.value), (answer.reference,), attested=True, note="response attested")
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


def _by_moment(result: _Result) -> datetime:
    return result.moment


def _latest_fact(results: list[_Result], received: bool, none_note: str) -> Fact[bool]:
    if not results:
        return Fact(received=received, note=none_note if received else "")
    latest = max(results, key=_by_moment)
    return Fact(latest.positive, (latest.reference,), note=f"{latest.shown} ({latest.day})")


def _ph_status(results: dict[str, list[_Result]], course_start: date, received: bool,
               attestations: Attestations) -> Fact[bool]:
    """Ph+ if any result ever was positive; Ph- only from negative tests covering both breakpoints. "Ever" ends at
    the course start: Ph status, like the phase, is judged as of then (policy-rules.md §1), so a later positive does
    not change the course's pathway, nor does a later negative prove the disease was Ph- when the course began."""
    answer = attestations.get("ph-positive")
    if answer is not None:
        return Fact(bool(answer.value), (answer.reference,), attested=True, note="Ph status attested")
    ph, both, major, minor = ([r for r in results[key] if r.day <= course_start]
                              for key in ("ph", "ph-both", "ph-major", "ph-minor"))
    positives = sorted((r for r in ph if r.positive), key=_by_moment)
    if positives:
        first = positives[0]
        return Fact(True, tuple(r.reference for r in positives), note=f"BCR::ABL1 positive ({first.day})")
    # "Never positive" cannot be shown past a result nobody could read (a karyotype written another way)
    unreadable = max((r for r in ph if r.positive is None), key=_by_moment, default=None)
    if unreadable is not None:
        return Fact(None, (unreadable.reference,), note=f"Ph result unreadable ({unreadable.day})")
    whole = sorted((r for r in both if r.positive is False), key=_by_moment)
    if whole:
        return Fact(False, (whole[-1].reference,), note=f"BCR::ABL1 negative ({whole[-1].day})")
    major_neg = sorted((r for r in major if r.positive is False), key=_by_moment)
    minor_neg = sorted((r for r in minor if r.positive is False), key=_by_moment)
    if major_neg and minor_neg:
        return Fact(False, (major_neg[-1].reference, minor_neg[-1].reference),
                    note="BCR::ABL1 major and minor breakpoints negative")
    if not received:
        return Fact(received=False)
    note = "no Ph test covering both breakpoints" if ph else "no Ph / BCR::ABL1 result"
    later = len(ph) < len(results["ph"])
    return Fact(note=f"{note} by the course start {course_start}" if later else note)


# ---- reading Observations ------------------------------------------------------------------------------------


def read_labs(record: PatientRecord, attestations: Attestations, course_start: date, start: date,
              diagnosis: Diagnosis | None = None, observations: ObservationIndex | None = None) -> Labs:
    """The lab facts. `start` (the order's start) is accepted for symmetry with the other readers: MRD is judged as
    of `course_start`, the other facts on the latest result on record. `diagnosis` is read from the record when not given, and the
    `observations` index built from it as it is (extract.py shares one index between the readers)."""
    valuesets = get_valuesets()
    index = observations or trusted(record.lists.get("observations"))
    results: dict[str, list[_Result]] = {k: [] for k in ("mrd", "ph", "ph-both", "ph-major", "ph-minor", "cd19")}
    classify = lambda code: _classify(code, concept_text(code), valuesets)  # noqa: E731
    for observation, kinds in index.select(classify, valuesets.memo("lab-kinds")):
        _read(observation, kinds, valuesets, results)
    return Labs(results, record.received("observations"), attestations, course_start,
                diagnosis or read_diagnosis(record, attestations))


def _read(observation: dict[str, Any], kinds: frozenset[str], vs: ValueSets, into: dict[str, list[_Result]]) -> None:
    """Reads one Ph, MRD or CD19 Observation (`kinds` from its code) into the result lists."""
    moment = effective_datetime(observation)
    if moment is None:
        return  # an undated result cannot be placed in time
    if "mrd" in kinds:
        _append(into["mrd"], _read_mrd(observation, moment, vs))
    if "ph" in kinds:
        _read_ph(observation, moment, kinds, vs, into)
    if "cd19" in kinds:
        _append(into["cd19"], _read_cd19(observation, moment, kinds, vs))


def _read_ph(observation: dict[str, Any], moment: datetime, kinds: frozenset[str], vs: ValueSets,
             into: dict[str, list[_Result]]) -> None:
    if "ph-genes" in kinds and not _names_bcr_abl1(observation):
        return
    result = _read_ph_result(observation, moment, "ph-quantity" in kinds, vs)
    if result is None:
        return
    into["ph"].append(result)
    for kind in ("ph-both", "ph-major", "ph-minor"):
        if kind in kinds:
            into[kind].append(result)


def _append(results: list[_Result], result: _Result | None) -> None:
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
        kinds.update(_ph_kinds(code, vs))
    return frozenset(kinds)


def _mrd_assay_parameter(text: str, vs: ValueSets) -> bool:
    """"MRD limit of detection" names the assay, not the result; "MRD (sensitivity 0.01%)" is a result whose name
    notes its assay, so words in parentheses do not count. An operator's MRD code is trusted as a result."""
    return vs.matches_text("mrd-exclusions", _PARENTHESES.sub(" ", text))


def _ph_kinds(code: Any, vs: ValueSets) -> set[str]:
    """Coded tests are judged by their code; uncoded ones by their name (_ph_text_kinds), since LOINC's
    breakpoint-specific names also read "t(9;22)"."""
    kinds = {"ph"}
    for name, kind in (("ph-both-breakpoints", "ph-both"), ("ph-major-breakpoint", "ph-major"),
                       ("ph-minor-breakpoint", "ph-minor"), ("ph-genetic-variant", "ph-genes"),
                       ("ph-quantitative", "ph-quantity")):
        if vs.has_code(name, code):
            kinds.add(kind)
    if not vs.has_code("ph-tests", code):
        kinds.update(_ph_text_kinds(concept_text(code), vs))
    return kinds


def _ph_text_kinds(text: str, vs: ValueSets) -> set[str]:
    """A name naming one breakpoint covers only it, whatever else it says ("BCR-ABL1 p190 PCR, Philadelphia
    chromosome"); one naming both, or a FISH / karyotype / t(9;22) name naming neither, covers both."""
    major, minor = vs.matches_text("ph-major-breakpoint", text), vs.matches_text("ph-minor-breakpoint", text)
    if major != minor:
        return {"ph-major" if major else "ph-minor"}
    return {"ph-both"} if major or vs.matches_text("ph-both-breakpoints", text) else set()


def _names_bcr_abl1(observation: dict[str, Any]) -> bool:
    """A genetic variant assessment is a Ph result only when its gene components name BCR and ABL1."""
    words = " ".join(_component_text(c) for c in observation.get("component") or [] if isinstance(c, dict)).lower()
    return re.search(r"\bbcr\b", words) is not None and re.search(r"\babl1?\b", words) is not None


def _component_text(component: dict[str, Any]) -> str:
    parts = [concept_text(component.get("code")), concept_text(component.get("valueCodeableConcept"))]
    value = component.get("valueString")
    return " ".join(parts + [value if isinstance(value, str) else ""])


# ---- values ---------------------------------------------------------------------------------------------------


def _qualitative(observation: dict[str, Any], vs: ValueSets, read: TextReading | None = None) -> bool | None:
    """Positive/negative from valueCodeableConcept (codes, then text), valueString, or, with no value at all, the
    interpretation. Text is read by `read` (default: every result clause must agree)."""
    read = read or _text_polarity
    concept = observation.get("valueCodeableConcept")
    if isinstance(concept, dict):
        return _concept_polarity(concept, vs, read)
    value = observation.get("valueString")
    if isinstance(value, str):
        return read(value, vs)
    if any(key.startswith("value") for key in observation):
        return None
    return _interpretation(observation, vs, read)


def _interpretation(observation: dict[str, Any], vs: ValueSets, read: TextReading) -> bool | None:
    """The first interpretation that reads as positive or negative. A flag sent without a system ("N", "POS") is
    read as the ObservationInterpretation code the element is bound to."""
    for interpretation in observation.get("interpretation") or []:
        if isinstance(interpretation, dict):
            flags = [dict(c, system=c.get("system") or _V3_INTERPRETATION) for c in codings(interpretation)]
            found = _concept_polarity(dict(interpretation, coding=flags), vs, read)
            if found is not None:
                return found
    return None


def _concept_polarity(concept: dict[str, Any], vs: ValueSets, read: TextReading) -> bool | None:
    if vs.has_code("result-negative", concept):
        return False
    if vs.has_code("result-positive", concept):
        return True
    return read(concept_text(concept), vs)


def _text_polarity(text: str, vs: ValueSets) -> bool | None:
    return _agreed(_clauses(text, vs, _clause_words))


def _ph_text_polarity(text: str, vs: ValueSets) -> bool | None:
    """A positive for either breakpoint is Ph+: "p190 DETECTED; p210 NOT DETECTED" is positive when the positive
    clause names a breakpoint or the fusion (a clause about the assay's ABL1 control gene does not). A normal
    karyotype ("46,XY[20]") on a test named for the Philadelphia chromosome is that test's negative: no t(9;22) in
    the cells counted (an abnormal one without t(9;22) stays unreadable: its notation is not read further)."""
    if _NORMAL_KARYOTYPE.match(text):
        return False
    clauses = _clauses(text, vs, _ph_clause_words)
    if any(words == {True} and _names_ph_target(clause, vs) for clause, words in clauses):
        return True
    return _agreed(clauses)


def _agreed(clauses: list[tuple[str, frozenset[bool]]]) -> bool | None:
    """The reading every result clause agrees on; clauses that disagree ("Positive; negative") or a clause saying
    both ("Not detected (positive control valid)") leave it unknown."""
    found: set[bool] = set().union(*(words for _, words in clauses))
    return found.pop() if len(found) == 1 else None


def _ph_clause_words(clause: str, vs: ValueSets) -> frozenset[bool]:
    """Result words, else a karyotype's Ph notation ("46,XX,t(9;22)(q34;q11.2)[20]"): positive unless it follows
    "no"/"without" ("No t(9;22)")."""
    words = _clause_words(clause, vs)
    markers = [] if words else _matches(vs, "ph-karyotype-positive", clause)
    if markers:
        return frozenset({_NEGATION_CUE.search(clause, 0, markers[0].start()) is None})
    return words


_NORMAL_KARYOTYPE = re.compile(r"^\s*46,\s*X[XY]\s*(\[\d+\])?\s*$", re.IGNORECASE)
_PH_TARGETS = ("ph-tests", "ph-major-breakpoint", "ph-minor-breakpoint", "ph-karyotype-positive")


def _names_ph_target(clause: str, vs: ValueSets) -> bool:
    return any(vs.matches_text(name, clause) for name in _PH_TARGETS)


def _clauses(text: str, vs: ValueSets, read: Callable[[str, ValueSets], frozenset[bool]],
             ) -> list[tuple[str, frozenset[bool]]]:
    """The clauses of a result text with the result words `read` finds in each (only clauses holding some)."""
    found = [(clause, read(clause, vs)) for clause in _CLAUSE_SEPARATOR.split(text)]
    return [(clause, words) for clause, words in found if words]


def _clause_words(clause: str, vs: ValueSets) -> frozenset[bool]:
    """Negative phrases bind first ("not detected" holds "detected"); a positive word after "no"/"without" in the
    clause is negated too ("No MRD detected", "No BCR-ABL1 fusion detected")."""
    negatives = _matches(vs, "result-negative", clause)
    rest = clause
    for match in negatives:  # blanked, not removed, so positions still line up
        rest = rest[:match.start()] + " " * len(match.group(0)) + rest[match.end():]
    words = {False} if negatives else set()
    for match in _matches(vs, "result-positive", rest):
        words.add(_NEGATION_CUE.search(rest, 0, match.start()) is None)
    return frozenset(words)


def _matches(vs: ValueSets, name: str, text: str) -> list[re.Match[str]]:
    pattern = vs[name].pattern
    return list(pattern.finditer(text)) if pattern is not None else []


def _read_ph_result(observation: dict[str, Any], moment: datetime, transcript_quantity: bool,
                    vs: ValueSets) -> _Result | None:
    """The reading, kept when unreadable (it makes Ph- unprovable); None when the Observation holds no result (a
    dataAbsentReason, a panel of members). "> 0 is positive" is for the quantitative transcript tests only: another
    number (a FISH percentage, under the lab's own cutoff) is read from its interpretation, else unreadable."""
    if not (observation.get("interpretation") or any(key.startswith("value") for key in observation)):
        return None
    quantity = _quantity(observation)
    positive: bool | None
    if quantity is not None and transcript_quantity:
        value, comparator, _ = quantity
        positive = comparator not in ("<", "<=") and (value > 0 or comparator == ">")
    elif quantity is not None:
        positive = _interpretation(observation, vs, _ph_text_polarity)
    else:
        positive = _qualitative(observation, vs, _ph_text_polarity)
    return _Result(moment, ref(observation), positive=positive, shown=_SHOWN[positive])


def _read_mrd(observation: dict[str, Any], moment: datetime, vs: ValueSets) -> _Result | None:
    reference = ref(observation)
    quantity = _quantity(observation)
    if quantity is not None:
        value, comparator, unit = quantity
        divisor = _MRD_UNITS.get(unit)
        if divisor is None:  # no or unknown unit: unreadable, never guessed
            return _Result(moment, reference, shown=f"{comparator}{value} (no usable unit)")
        return _Result(moment, reference, fraction=value / divisor, comparator=comparator,
                       shown=f"{comparator}{value}{_UNIT_WORDS[unit]}")
    if "dataAbsentReason" in observation:
        return _Result(moment, reference, absent=True, shown="not available")
    positive = _qualitative(observation, vs)
    return _Result(moment, reference, positive=positive, shown=_SHOWN[positive])


def _quantity(observation: dict[str, Any]) -> tuple[Decimal, str, str] | None:
    """(value, comparator, UCUM unit or "") from valueQuantity, or a numeric valueString such as "<0.01%"."""
    quantity = observation.get("valueQuantity")
    if isinstance(quantity, dict):
        value = to_decimal(quantity.get("value"))
        if value is None:
            return None
        unit = quantity.get("code") if quantity.get("code") is not None else quantity.get("unit")
        return value, str(quantity.get("comparator") or ""), str(unit or "").strip().lower()
    text = observation.get("valueString")
    match = _NUMERIC_STRING.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    return Decimal(match.group(2)), match.group(1) or "", match.group(3) or ""


def _read_cd19(observation: dict[str, Any], moment: datetime, kinds: frozenset[str], vs: ValueSets) -> _Result | None:
    """CD19 on blasts: an immunophenotyping panel whose value mentions CD19, or a CD19-on-blasts result with a
    qualitative value. Panels that do not mention CD19 are ignored."""
    if "cd19-panel" in kinds:
        positive = _cd19_in_text(_value_text(observation))
        if positive is None:
            positive = _cd19_component(observation, vs)
    else:
        positive = _qualitative(observation, vs)
    if positive is None:
        return None
    return _Result(moment, ref(observation), positive=positive, shown=f"CD19 {'positive' if positive else 'negative'}")


def _value_text(observation: dict[str, Any]) -> str:
    value = observation.get("valueString")
    return value if isinstance(value, str) else concept_text(observation.get("valueCodeableConcept"))


def _cd19_component(observation: dict[str, Any], vs: ValueSets) -> bool | None:
    for component in observation.get("component") or []:
        if isinstance(component, dict) and vs.matches_text("cd19-text", concept_text(component.get("code"))):
            return _qualitative(component, vs)
    return None


def _cd19_in_text(text: str) -> bool | None:
    """CD19 in a flow report: each mention is read in its sentence (_cd19_mention). Mentions that disagree, or a
    "CD19 not assessed", leave the report unknown; mentions without a qualifier (a therapy's name) say nothing."""
    said: set[str] = set()
    for sentence in _SENTENCE_SEPARATOR.split(text.lower()):
        said.update(_cd19_mention(sentence[:m.start()], sentence[m.end():]) for m in _CD19.finditer(sentence))
    said.discard("")
    return _CD19_READINGS.get(said.pop()) if len(said) == 1 else None


def _cd19_mention(before: str, after: str) -> str:
    """"positive", "negative", "unread" (not assessed) or "" (no qualifier). A sign or word after CD19 decides
    ("CD19+", "CD19-", "CD19-positive", "CD19 (dim)", "CD19 dim negative", "CD10, CD19 and CD22 positive");
    else the head of the list CD19 is in ("positive for CD10, CD19, CD22", "lacks CD19")."""
    if _CD19_THERAPY.match(after):
        return ""  # "CD19-directed therapy", "CD19 CAR-T": a treatment, not a result
    sign = _CD19_SIGN.match(after)
    if sign:
        return "positive" if "+" in sign.group() else "negative"
    own = _OWN_QUALIFIER.search(after)  # "CD20-negative" is CD20's alone: the scan stops there
    for word in _CD19_WORDS.finditer(after[:own.start()] if own else after):
        kind = word.lastgroup or ""
        if kind.startswith("head_"):
            break  # the head of the next list: what follows is about other markers
        return kind
    heads = [word.lastgroup or "" for word in _CD19_WORDS.finditer(before)]
    heads = [kind for kind in heads if kind.startswith("head_")]
    return heads[-1].removeprefix("head_") if heads else ""
