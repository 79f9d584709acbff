"""Ph / BCR::ABL1: the Ph status fact, and reading one Ph Observation (fhir-data-profile.md §Labs).

A Ph test's kinds come from its code, else its name: which breakpoints its result covers, whether it is a genetic
variant assessment (a Ph result only when it names BCR and ABL1) or a quantitative transcript test. Ph status is
attested, else judged on the results by the course start: Ph+ from any positive, Ph- only from negatives covering
both breakpoints.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from cds_service.facts.attestations import Attestations
from cds_service.facts.codes import concept_text, ref
from cds_service.facts.lab_result import SHOWN, Result, by_moment, dated, named, references
from cds_service.facts.model import Fact, needs_full_date
from cds_service.facts.result_text import (NEGATION_CUE, agreed, clause_words, has_value, interpretation, matches,
                                           qualitative, result_clauses, result_quantity)
from cds_service.valuesets import ValueSets


def ph_status(results: dict[str, list[Result]], course_start: date, received: bool,
              attestations: Attestations) -> Fact[bool]:
    """Ph+ if any result ever was positive; Ph- only from negative tests covering both breakpoints. "Ever" ends at
    the course start: Ph status, like the phase, is judged as of then (policy-rules.md §1), so a later positive does
    not change the course's pathway, nor does a later negative prove the disease was Ph- when the course began."""
    attested = attestations.fact("ph-positive", cast=bool, note="Ph status attested")
    if attested is not None:
        return attested
    ph = [r for r in results["ph"] if r.day <= course_start]
    positives = [r for r in ph if r.positive]
    if positives:
        positives.sort(key=by_moment)
        dated_by_start = [r for r in positives if r.last <= course_start]
        if not dated_by_start:  # each a partial date ("2026-12" for a course from Dec 1) that may be after the start
            said = f"BCR::ABL1 positive ({dated(positives)}): may be after the course start {course_start}"
            return needs_full_date(references(positives), said, named("Ph", positives))
        return Fact(True, references(dated_by_start), note=f"BCR::ABL1 positive ({dated_by_start[0].day})")
    # "Never positive" cannot be shown past a result nobody could read (a karyotype written another way)
    unreadable = [r for r in ph if r.positive is None]
    if unreadable:
        latest = max(unreadable, key=by_moment)
        return Fact(None, (latest.reference,), note=f"Ph result unreadable ({latest.day})")
    whole = _latest_negative(results["ph-both"], course_start)
    if whole is not None:
        return Fact(False, (whole.reference,), note=f"BCR::ABL1 negative ({whole.day})")
    major_neg = _latest_negative(results["ph-major"], course_start)
    minor_neg = _latest_negative(results["ph-minor"], course_start)
    if major_neg is not None and minor_neg is not None:
        return Fact(False, (major_neg.reference, minor_neg.reference),
                    note="BCR::ABL1 major and minor breakpoints negative")
    late = _late_negatives(results, course_start, major_neg is not None, minor_neg is not None)
    if late:  # a negative whose partial date may be after the course start: its full date would decide
        said = f"BCR::ABL1 negative ({dated(late)}): may be after the course start {course_start}"
        return needs_full_date(references(late), said, named("Ph", late))
    if not received:
        return Fact(received=False)
    note = "no Ph test covering both breakpoints" if ph else "no Ph / BCR::ABL1 result"
    later = len(ph) < len(results["ph"])
    return Fact(note=f"{note} by the course start {course_start}" if later else note)


def _late_negatives(results: dict[str, list[Result]], course_start: date, major: bool, minor: bool) -> list[Result]:
    """The negatives whose partial date may be after the course start and that would show Ph- if dated by it: one
    covering both breakpoints, or one of a breakpoint beside a negative of the other (`major`, `minor`: one dated by
    the start), or late too."""
    late = {kind: [r for r in results[kind] if r.positive is False and r.day <= course_start < r.last]
            for kind in ("ph-both", "ph-major", "ph-minor")}
    pair = (major or late["ph-major"]) and (minor or late["ph-minor"])
    return late["ph-both"] + (late["ph-major"] + late["ph-minor"] if pair else [])


def _latest_negative(results: list[Result], course_start: date) -> Result | None:
    """The latest negative result dated by the course start, every day its date may stand for (of equally dated ones,
    the last listed); each list is filtered only when it is asked."""
    negatives = [r for r in results if r.positive is False and r.last <= course_start]
    return max(reversed(negatives), key=by_moment, default=None)


def read_ph(observation: dict[str, Any], moment: datetime, kinds: frozenset[str], vs: ValueSets,
            into: dict[str, list[Result]]) -> None:
    if "ph-genes" in kinds and not _names_bcr_abl1(observation):
        return
    result = _read_ph_result(observation, moment, "ph-quantity" in kinds, vs)
    if result is None:
        return
    into["ph"].append(result)
    for kind in kinds & _BREAKPOINT_KINDS:
        into[kind].append(result)


_BREAKPOINT_KINDS = frozenset({"ph-both", "ph-major", "ph-minor"})


def ph_kinds(code: Any, vs: ValueSets) -> set[str]:
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


def _ph_text_polarity(text: str, vs: ValueSets) -> bool | None:
    """A positive for either breakpoint is Ph+: "p190 DETECTED; p210 NOT DETECTED" is positive when the positive
    clause names a breakpoint or the fusion (a clause about the assay's ABL1 control gene does not). A normal
    karyotype ("46,XY[20]") on a test named for the Philadelphia chromosome is that test's negative: no t(9;22) in
    the cells counted (an abnormal one without t(9;22) stays unreadable: its notation is not read further)."""
    if _NORMAL_KARYOTYPE.match(text):
        return False
    clauses = result_clauses(text, vs, _ph_clause_words)
    if any(words == {True} and _names_ph_target(clause, vs) for clause, words in clauses):
        return True
    return agreed(clauses)


def _ph_clause_words(clause: str, vs: ValueSets) -> frozenset[bool]:
    """Result words, else a karyotype's Ph notation ("46,XX,t(9;22)(q34;q11.2)[20]"): positive unless it follows
    "no"/"without" ("No t(9;22)")."""
    words = clause_words(clause, vs)
    markers = [] if words else matches(vs, "ph-karyotype-positive", clause)
    if markers:
        return frozenset({NEGATION_CUE.search(clause, 0, markers[0].start()) is None})
    return words


_NORMAL_KARYOTYPE = re.compile(r"^\s*46,\s*X[XY]\s*(\[\d+\])?\s*$", re.IGNORECASE)
_PH_TARGETS = ("ph-tests", "ph-major-breakpoint", "ph-minor-breakpoint", "ph-karyotype-positive")


def _names_ph_target(clause: str, vs: ValueSets) -> bool:
    return any(vs.matches_text(name, clause) for name in _PH_TARGETS)


def _read_ph_result(observation: dict[str, Any], moment: datetime, transcript_quantity: bool,
                    vs: ValueSets) -> Result | None:
    """The reading, kept when unreadable (it makes Ph- unprovable); None when the Observation holds no result (a
    dataAbsentReason, a panel of members). "> 0 is positive" is for the quantitative transcript tests only: another
    number (a FISH percentage, under the lab's own cutoff) is read from its interpretation, else unreadable."""
    if not (observation.get("interpretation") or has_value(observation)):
        return None
    quantity = result_quantity(observation)
    positive: bool | None
    if quantity is not None and transcript_quantity:
        value, comparator, _ = quantity
        # A level below 0 is no level (a sign slipped): read as "not above 0", it had been a negative test.
        positive = None if value < 0 else comparator not in ("<", "<=") and (value > 0 or comparator == ">")
    elif quantity is not None:
        positive = interpretation(observation, vs, _ph_text_polarity)
    else:
        positive = qualitative(observation, vs, _ph_text_polarity)
    return Result(moment, ref(observation), positive=positive, shown=SHOWN[positive])
