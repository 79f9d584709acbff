"""CD19 on blasts: reading a CD19 result or an immunophenotyping panel's mention of CD19 (fhir-data-profile.md §Labs).

A CD19-on-blasts result is read from its qualitative value; a panel from its text (each mention of CD19 in its
sentence), else from its CD19 component. Panels that do not mention CD19 are ignored; a result without any value is
read as unreadable, not ignored: it may be the latest, which decides.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from cds_service.facts.codes import concept_text, ref
from cds_service.facts.lab_result import Result
from cds_service.facts.result_text import MAX_RESULT_TEXT, ClauseSplitter, qualitative
from cds_service.valuesets import ValueSets

# CD19 in flow text: sentences hold lists ("positive for CD10, CD19"), so only ; . and new lines end one.
_SENTENCES = ClauseSplitter(r"[;\n]|\.(?=\s|$)")
_CD19 = re.compile(r"(?<![a-z0-9])cd19(?![a-z0-9])")
_CD19_THERAPY = re.compile(r"[-\s]*(?:directed|targeted|car\b|car-t|chimeric|bispecific)")
# A sign attached to CD19 ("CD19+", "CD19-", "CD19 (+)"); a hyphen before a word joins the word ("CD19-positive").
_CD19_SIGN = re.compile(r"\s*\(\s*[+\u2212\u2013-]\s*\)|\s*\+|[\u2212\u2013-](?![a-z0-9])")
_OWN_QUALIFIER = re.compile(r"cd\d+[a-z]?[+\u2212\u2013-]")
# Alternatives in order of precedence at one position: list heads, "not assessed", negative, positive words ("not
# positive" is negative: read from "positive", it had been CD19+).
_CD19_WORDS = re.compile(
    r"(?<![a-z0-9])(?:"
    r"(?P<head_negative>(?:negative|neg)\s+for|lack(?:s|ing)?|(?:not|no)\s+express(?:es|ing|ion\s+of)?)(?![a-z])"
    r"|(?P<head_positive>(?:positive|pos)\s+for|express(?:es|ing)?)(?![a-z])"
    r"|(?P<unread>not\s+(?:assessed|evaluated|performed|done|tested|analy[sz]ed)|indeterminate|equivocal)(?![a-z])"
    r"|(?P<negative>dim\s*[-/]?\s*neg(?:ative)?|neg(?:ative)?|not\s+(?:detected|expressed|pos(?:itive)?)"
    r"|absent)(?![a-z])"
    r"|(?P<positive>pos(?:itive)?|dim|bright|partial|expressed|detected)(?![a-z]))")
_CD19_READINGS = {"positive": True, "negative": False}


def read_cd19(observation: dict[str, Any], moment: datetime, kinds: frozenset[str], vs: ValueSets) -> Result | None:
    """CD19 on blasts: an immunophenotyping panel whose value mentions CD19, or a CD19-on-blasts result with a
    qualitative value. Panels that do not mention CD19 are ignored; a result with no value at all is kept, unread
    (`positive` None): sent without its value, a CD19-negative result at relapse had been ignored as a panel silent on
    CD19, and the CD19+ result at diagnosis approved the order."""
    if _without_value(observation):
        return Result(moment, ref(observation), shown=WITHOUT_VALUE)
    if "cd19-panel" in kinds:
        positive = _cd19_in_text(_value_text(observation))
        if positive is None:
            positive = _cd19_component(observation, vs)
    else:
        positive = qualitative(observation, vs)
    if positive is None:
        return None
    return Result(moment, ref(observation), positive=positive, shown=f"CD19 {'positive' if positive else 'negative'}")


WITHOUT_VALUE = "without a value"


def _without_value(observation: dict[str, Any]) -> bool:
    """No value[x], component or interpretation, no dataAbsentReason saying none was found, and no members: the result
    was sent without the value it reports. A panel grouping its results (`hasMember`) reports them in its members, a
    CD19 result among them read on its own: the panel, read as a result without a value, had left CD19 unknown. A
    blank valueString is none (FHIR strings are never empty): read as text that does not mention CD19, a blank
    CD19-negative result at relapse had left the CD19+ one at diagnosis to approve the order."""
    return not any(key.startswith("value") and not _blank(entry) or key in _VALUE_ELEMENTS
                   for key, entry in observation.items())


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


_VALUE_ELEMENTS = frozenset({"component", "interpretation", "dataAbsentReason", "hasMember"})


def _value_text(observation: dict[str, Any]) -> str:
    value = observation.get("valueString")
    return value if isinstance(value, str) else concept_text(observation.get("valueCodeableConcept"))


def _cd19_component(observation: dict[str, Any], vs: ValueSets) -> bool | None:
    for component in observation.get("component") or []:
        if isinstance(component, dict) and vs.matches_text("cd19-text", concept_text(component.get("code"))):
            return qualitative(component, vs)
    return None


def _cd19_in_text(text: str) -> bool | None:
    """CD19 in a flow report: each mention is read in its sentence (_cd19_mention). Mentions that disagree, or a
    "CD19 not assessed", leave the report unknown; mentions without a qualifier (a therapy's name) say nothing. A
    report longer than MAX_RESULT_TEXT is not read: each mention is read against the rest of its sentence."""
    if len(text) > MAX_RESULT_TEXT:
        return None
    said: set[str] = set()
    for sentence in _SENTENCES.split(text.lower()):
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
