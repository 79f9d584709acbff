"""A lab result's words and flags: qualitative values, interpretation flags, result text read clause by clause with
its negations, and quantities (fhir-data-profile.md §Labs).

Shared by the MRD, Ph and CD19 readers (labs.py, ph.py, cd19.py). A value reads as positive or negative from its codes,
else from its text (by default every result clause must agree); otherwise it is unreadable (None).
"""
from __future__ import annotations

import re
from decimal import Decimal
from itertools import repeat
from typing import Any, Callable

from cds_service.facts.codes import codings, concept_text, to_decimal
from cds_service.printable import json_value
from cds_service.valuesets import ValueSets

# Matched against the stripped text: whitespace at both ends of the pattern, next to the optional comparator, let a
# run of spaces be split between them every way there is (20,000 spaces took seconds).
_NUMERIC_STRING = re.compile(r"(<=|>=|<|>)?\s*(\d+(?:\.\d+)?|\.\d+)\s*(%)?")
# A fraction of cells in scientific notation, as NGS MRD reports write it: "1.2 x 10^-4" (or "X"), "10^-3", "<1E-6",
# "1.2E-04" as software pads it (read with UCUM unit "1"). Every run of spaces sits between fixed tokens, so no text
# can be split between them two ways.
_MANTISSA = r"(\d+(?:\.\d+)?)"
_SCIENTIFIC_STRING = re.compile(rf"(<=|>=|<|>)?\s*(?:{_MANTISSA}\s*[xX×]\s*10\^|10\^|{_MANTISSA}[eE])-0?([1-9]\d?)")
_V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
TextReading = Callable[[str, ValueSets], bool | None]
# The longest result text read, in characters (a flow report's interpretation runs to a few hundred). Longer text is
# left unread, and the fact it bears on unknown: the reading of a clause costs up to the square of its length, and
# request text is not ours to trust.
MAX_RESULT_TEXT = 4_000
NEGATION_CUE = re.compile(r"(?<![a-z0-9])(?:no|without)(?![a-z0-9])", re.IGNORECASE)
# Negations of the positive word they stand at, and only there: "not positive", "non-detected" before it, an answer
# "no" after it as a label ("Detected: No"), each read as positive before. "not" further off is about something else:
# "not quantifiable but positive" is positive.
_NOT_AT = re.compile(r"(?<![a-z0-9])(?:not|non)\Z", re.IGNORECASE)  # at the end of the text before, spaces off
_ANSWERED_NO = re.compile(r"\s*[:=]\s*(?:no|none|false)(?![a-z0-9])", re.IGNORECASE)


def qualitative(observation: dict[str, Any], vs: ValueSets, read: TextReading | None = None) -> bool | None:
    """Positive/negative from valueCodeableConcept (codes, then text), valueString, or, with no value at all, the
    interpretation. Text is read by `read` (default: every result clause must agree)."""
    read = read or _text_polarity
    concept = observation.get("valueCodeableConcept")
    if isinstance(concept, dict):
        return _concept_polarity(concept, vs, read)
    value = observation.get("valueString")
    if isinstance(value, str):
        return read(value, vs)
    if has_value(observation):
        return None
    return interpretation(observation, vs, read)


def has_value(observation: dict[str, Any]) -> bool:
    """Whether the Observation holds a value[x] element, whatever its type."""
    # The keys are tested in C (map), not by a generator expression resuming a Python frame per key.
    return any(map(str.startswith, observation, repeat("value")))


def interpretation(observation: dict[str, Any], vs: ValueSets, read: TextReading) -> bool | None:
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
    names = vs.code_names(concept)  # one lookup for both lists
    negative, positive = "result-negative" in names, "result-positive" in names
    if negative and positive:  # codings that disagree ("positive" and "negative"): the negative had won
        return None
    if negative or positive:
        return positive
    return read(concept_text(concept), vs)


def _text_polarity(text: str, vs: ValueSets) -> bool | None:
    return agreed(result_clauses(text, vs, clause_words))


def agreed(clauses: list[tuple[str, frozenset[bool]]]) -> bool | None:
    """The reading every result clause agrees on; clauses that disagree ("Positive; negative") or a clause saying
    both ("Not detected (positive control valid)") leave it unknown."""
    found: set[bool] = set().union(*(words for _, words in clauses))
    return found.pop() if len(found) == 1 else None


class ClauseSplitter:
    """Splits text at separators outside parentheses: "t(9;22)(q34;q11.2)" is one word, "p190 detected; p210 not" two
    clauses. A separator is inside parentheses when the next parenthesis after it is a closing one. Worked out in one
    pass from the right: a lookahead for that parenthesis at every separator re-read the rest of the text, a cost
    that grew with the square of the number of separators."""

    def __init__(self, separators: str) -> None:
        self._plain = re.compile(separators)
        self._tokens = re.compile(rf"[()]|{separators}")

    def split(self, text: str) -> list[str]:
        if ")" not in text:  # the usual result text: no separator can be inside parentheses
            return self._plain.split(text)
        cuts: list[tuple[int, int]] = []
        closing_next = False  # whether the next parenthesis to the right of the position is a closing one
        for token in reversed(list(self._tokens.finditer(text))):
            found = token.group()
            if found in "()":
                closing_next = found == ")"
            elif not closing_next:
                cuts.append(token.span())
        starts = [0, *(end for _, end in reversed(cuts))]
        ends = [*(start for start, _ in reversed(cuts)), len(text)]
        return [text[start:end] for start, end in zip(starts, ends)]


_CLAUSES = ClauseSplitter(r"[;,\n]|\.(?=\s|$)")


def result_clauses(text: str, vs: ValueSets, read: Callable[[str, ValueSets], frozenset[bool]],
                   ) -> list[tuple[str, frozenset[bool]]]:
    """The clauses of a result text with the result words `read` finds in each (only clauses holding some); none
    for a text longer than MAX_RESULT_TEXT."""
    if len(text) > MAX_RESULT_TEXT:
        return []
    found = [(clause, read(clause, vs)) for clause in _CLAUSES.split(text)]
    return [(clause, words) for clause, words in found if words]


def clause_words(clause: str, vs: ValueSets) -> frozenset[bool]:
    """Negative phrases bind first ("not detected" holds "detected"); a positive word after "no"/"without" in the
    clause is negated too ("No MRD detected", "No BCR-ABL1 fusion detected"), and one negated where it stands
    ("Not positive", "Non-detected", "Detected: No")."""
    negatives = matches(vs, "result-negative", clause)
    rest = clause
    for match in negatives:  # blanked, not removed, so positions still line up
        rest = rest[:match.start()] + " " * len(match.group(0)) + rest[match.end():]
    words = {False} if negatives else set()
    for match in matches(vs, "result-positive", rest):
        words.add(not _negated_at(rest, match))
    return frozenset(words)


def _negated_at(text: str, word: re.Match[str]) -> bool:
    """Whether the positive `word` of `text` is negated: by "no"/"without" before it in its clause, or where it
    stands (_NOT_AT, _ANSWERED_NO)."""
    before = text[:word.start()].rstrip(" \t\r\n-")
    return (NEGATION_CUE.search(text, 0, word.start()) is not None
            or _NOT_AT.search(before, max(0, len(before) - 3)) is not None
            or _ANSWERED_NO.match(text, word.end()) is not None)


def matches(vs: ValueSets, name: str, text: str) -> list[re.Match[str]]:
    pattern = vs[name].pattern
    return list(pattern.finditer(text)) if pattern is not None else []


def result_quantity(observation: dict[str, Any]) -> tuple[Decimal, str, str] | None:
    """(value, comparator, UCUM unit or "") from valueQuantity, or a numeric valueString such as "<0.01%" or, a
    fraction of cells, "1.2 x 10^-4". A valueRatio is result_ratio's."""
    quantity = observation.get("valueQuantity")
    if isinstance(quantity, dict):
        value, comparator = to_decimal(quantity.get("value")), _comparator(quantity)
        if value is None or comparator is None:
            return None
        unit = quantity.get("code") if quantity.get("code") is not None else quantity.get("unit")
        return value, comparator, str(unit or "").strip().lower()
    text = observation.get("valueString")
    if not isinstance(text, str):
        return None
    match = _NUMERIC_STRING.fullmatch(text.strip())
    if match is not None:
        return Decimal(match.group(2)), match.group(1) or "", match.group(3) or ""
    scientific = _SCIENTIFIC_STRING.fullmatch(text.strip())
    if scientific is None:
        return None
    comparator, times, before_e, exponent = scientific.groups()
    return Decimal(times or before_e or 1).scaleb(-int(exponent)), comparator or "", "1"


# The units a ratio's terms may be counted in to be a fraction of cells together: a count ("1", or none) or cells, by
# name or as a UCUM annotation ("{cells}", itself a count). Any other unit divides only into itself ("%" by "%").
_COUNTS = frozenset({"", "1", "cell", "cells"})


def result_ratio(observation: dict[str, Any]) -> tuple[Decimal, Decimal, str] | None:
    """(numerator, denominator, the numerator's comparator) of a valueRatio whose meaning is plain, as a lab writes
    an MRD "1:10000": both terms numbers, the numerator not below 0, the denominator above 0 and without a comparator
    (1:>10000 is no bound a reader can place), their units alike or both counts of cells; or of a valueString that
    writes one so (_text_ratio). None for any other ratio, which is never guessed."""
    ratio = observation.get("valueRatio")
    if not isinstance(ratio, dict):
        return _text_ratio(observation.get("valueString"))
    numerator, denominator = ratio.get("numerator"), ratio.get("denominator")
    if not isinstance(numerator, dict) or not isinstance(denominator, dict) or denominator.get("comparator"):
        return None
    top, bottom = to_decimal(numerator.get("value")), to_decimal(denominator.get("value"))
    if top is None or bottom is None or top < 0 or bottom <= 0:
        return None
    units = _ratio_unit(numerator), _ratio_unit(denominator)
    if units[0] != units[1] and not (units[0] in _COUNTS and units[1] in _COUNTS):
        return None
    comparator = _comparator(numerator)
    return None if comparator is None else (top, bottom, comparator)


# A ratio as text: "1:10000", "1/10000", "<1:10,000": whole numbers alone (no unit: counts of cells), a thousands
# separator only in groups of three ("10,000"). A point or another comma is no number a reader can be sure of:
# "1:10.000" is 1:10 (10%) or, grouped as some locales write it, 1:10000 (0.01%), either side of Florida Blue's
# 0.1%; "1:1,5" is no grouping, and "1:05" (a time?) no count. Every run of spaces sits between fixed tokens.
_WHOLE = r"([1-9]\d{0,2}(?:,\d{3})+|0|[1-9]\d*)"
_RATIO_STRING = re.compile(rf"(<=|>=|<|>)?\s*{_WHOLE}\s*[:/]\s*{_WHOLE}")


def _text_ratio(text: Any) -> tuple[Decimal, Decimal, str] | None:
    """An MRD ratio written as text, read by the valueRatio's rules: the denominator above 0, without a comparator
    (the pattern has no place for one), the numerator's kept."""
    match = _RATIO_STRING.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        return None
    comparator, top, bottom = match.group(1) or "", *(Decimal(g.replace(",", "")) for g in match.group(2, 3))
    return None if bottom <= 0 else (top, bottom, comparator)


# FHIR's quantity-comparator (required). Any other ("≤", "~", "<= ") is no bound a reader can place: read as an exact
# value, a "≤0.01%" MRD (not detected at 0.01%) had been detectable, and a "≤0.001" BCR::ABL1 transcript Ph+.
_COMPARATORS = frozenset({"<", "<=", ">=", ">"})


def _comparator(quantity: dict[str, Any]) -> str | None:
    """A quantity's comparator ("" for none); None for one outside FHIR's codes."""
    comparator = quantity.get("comparator")
    if comparator is None or comparator == "":  # none sent, or sent empty
        return ""
    return comparator if comparator in _COMPARATORS else None


# A number below 0 written as text ("-0.01%"), which _NUMERIC_STRING does not read.
_BELOW_ZERO_STRING = re.compile(r"-\s*(?:\d+(?:\.\d+)?|\.\d+)\s*%?")


def unread_number(observation: dict[str, Any]) -> str:
    """Why a value written as a number reads as none (result_quantity, result_ratio), in a few words for a note, so a
    pharmacist sees what to correct: a comparator outside FHIR's codes, a number below 0 as text or as a ratio's
    numerator. "" for any other value (words, no value, a ratio whose meaning is not plain)."""
    quantity = observation.get("valueQuantity")
    if isinstance(quantity, dict):
        return _unread_comparator(quantity)
    ratio = observation.get("valueRatio")
    if isinstance(ratio, dict):
        numerator = ratio.get("numerator")
        if not isinstance(numerator, dict):
            return ""
        top = to_decimal(numerator.get("value"))
        return _unread_comparator(numerator) or ("its numerator is below 0" if top is not None and top < 0 else "")
    text = observation.get("valueString")
    if isinstance(text, str) and _BELOW_ZERO_STRING.fullmatch(text.strip()):
        return f"{json_value(text.strip(), 20)} is below 0"
    return ""


def _unread_comparator(quantity: dict[str, Any]) -> str:
    """A comparator outside FHIR's codes, quoted as sent (the EHR's text, cut short), and why it is not read."""
    if _comparator(quantity) is not None:
        return ""
    return f"comparator {json_value(quantity.get('comparator'), 20)} is not one FHIR defines"


def _ratio_unit(quantity: dict[str, Any]) -> str:
    """A ratio term's UCUM code (else its unit), lower-case, an annotation read as its words ("{cells}": "cells")."""
    unit = str(quantity.get("code") if quantity.get("code") is not None else quantity.get("unit") or "")
    return unit.strip().lower().removeprefix("{").removesuffix("}").strip()
