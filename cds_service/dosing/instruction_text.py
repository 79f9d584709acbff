"""The instruction texts of a corrected dosage line (`text`, `patientInstruction`: what a nurse and a patient read),
kept in step with what the correction writes (rewrite.py): its days, its last infusion day, its dose; and of a line
split into an order of its own cycle (split.py), its days renumbered. A text that cannot be rewritten whole is kept
with a note, never left stating a dose or days the line no longer has.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from operator import itemgetter
from typing import Any, Callable, NamedTuple

from cds_service.dosing.text import days_text, unit_said
from cds_service.dosing.units import DoseUnit, parse_dose_unit

# A corrected value is rounded down (`round_down`) to hundredths, or below 1 to three significant digits: what a
# nurse programs reads 1.16 or 0.191 mcg/h (four significant digits wrote 0.1916), a dose per m² 0.208 mcg/m²/h; a
# daily dose keeps its hundredths (a BSA-computed one is prepared to a tenth first: rewrite.corrected_daily).
SIGNIFICANT_DIGITS = 3
_PLACES = 2
# A dose per m² as a text writes it after its number ("5 ug/m2/d", "15 mcg/m²/day", "15 mcg/(m2.d)"): replaced whole
# when the line is written in mcg, never left saying per m².
_PER_M2_UNIT = r"\s*[^\s,;]*(?:m2|m²|m\^2)[^\s,;]*"
# The word day(s) starting a day statement: never right after "/", where it is a rate's unit ("28 mcg/day 10 mL/hr").
_DAY_WORD = r"(?<!/)\bdays?"
# A date as FHIR and `end_line` write it ("2026-12-28"): neither a day range ("day 2026-12") nor a dose ("28").
_DATE = r"\b\d{4}-\d{2}-\d{2}\b"
# A day range in a dosage line's text ("days 1-28", "day 8 to 28"): a split line names its own. Never the start of
# a date ("last infusion day 2026-12-28" is no days 2026-12).
_DAY_RANGE = re.compile(rf"{_DAY_WORD}\s*\d+\s*(?:-|–|to|through)\s*\d+\b(?![-–/.]\d)", re.IGNORECASE)
# A length of treatment ("x 28 days", "for 28 days"): a split line states its own.
_DURATION = re.compile(r"(?:\b(?:x|for)|×)\s*(\d+)\s*(?:days?|d)\b", re.IGNORECASE)
# Numbers that count days, never doses: a dose in the text is looked for outside them ("28 mcg/day, days 1-28").
_DAY_NUMBERS = re.compile(rf"(?:{_DAY_WORD}\s*)?{_DATE}|{_DAY_RANGE.pattern}|{_DAY_WORD}\s*\d+\b|{_DURATION.pattern}",
                          re.IGNORECASE)
# What `end_line` adds to a text stating no days; read again when the ended line is split, whose earlier parts end
# before that day.
LAST_DAY = "last infusion day"
_LAST_DAY_NOTE = re.compile(rf"(?<!\s)\s*\(({LAST_DAY} {_DATE})\)")  # (?<!\s): from a run's start alone, linear
# A dose a text states as a mass per time, per m² or not ("28 mcg/day", "1.167 mcg/h", "15 mcg/(m2.d)", "0.028 mg
# per day"): every one is restated when the dose changes. A volume ("10 mL/hr") states no dose: the bag sets it.
_MASS = r"(?:mcg|ug|[µμ]g|micrograms?|mg|milligrams?)"
_PER = r"\s*(?:/|\bper\b)\s*"
_AREA = r"(?:m2|m²|m\^2)"
_TIME = r"(?:24\s*h(?:ours?|rs?)?|days?|d|hours?|hrs?|h|minutes?|mins?|weeks?|wks?|wk)"
_STATED_DOSE = re.compile(rf"(?<![\d.])(\d+(?:\.\d+)?)\s*({_MASS}(?:{_PER}{_AREA})?{_PER}{_TIME}"
                          rf"|{_MASS}/\({_AREA}\.{_TIME}\))(?![\w²])", re.IGNORECASE)
# A volume a text states per time ("10 mL/hr", "5 ml per hour"): no dose, but the decision card's "Order:" line
# writes its unit as it writes a dose's ("mL/h" beside "mcg/h", `doses_said`), its number as written.
_STATED_VOLUME = re.compile(rf"(?<![\d.])(\d+(?:\.\d+)?)\s*(ml{_PER}{_TIME})(?![\w²])", re.IGNORECASE)
_INSTRUCTION_TEXTS = ("text", "patientInstruction")  # what a nurse and a patient read
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
          r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?")
# Days stated in a form no rewrite here reads: weeks or months, dates ("Dec 8", "8-Dec", "12/8", "2027-01-04"), a
# single day or an end ("until day 35", "through"), a length in days left over ("28 days", "28-day", "28 consecutive
# days"; not a bag's, "7-day bag"), days as D8-D35. Looked for once the one day range and the one length
# `_days_in_text` rewrites are taken out.
_OTHER_DAYS = re.compile(rf"\b(?:weeks?|wks?|months?|until|till|through|thru)\b|\b{_MONTH}[\s./-]*\d"
                         rf"|\d[\s./-]*{_MONTH}\b|\d\s*[/–-]\s*\d|{_DAY_WORD}\s*\d|\d\s*-?\s*days?\b(?!\s*bags?\b)"
                         r"|\d\s+\w+\s+days?\b|\bD\d+\s*[-–]\s*D?\d", re.IGNORECASE)


def days_unread(line: dict[str, Any]) -> bool:
    """Whether a text of the dosage line states its days in a form `end_line` would not rewrite ("for 4 weeks",
    "Dec 8 through Jan 4", two day ranges): ended, the line would keep a text contradicting its timing."""
    return any(isinstance(text, str) and _other_days(text) for text in (line.get(key) for key in _INSTRUCTION_TEXTS))


def _other_days(text: str) -> bool:
    """Whether `text` states days in a form not rewritten here, once its one day range and one length are taken out."""
    for stated in (_DAY_RANGE, _DURATION):
        text = stated.sub(" ", text) if len(stated.findall(text)) == 1 else text
    return _OTHER_DAYS.search(text) is not None


def round_down(value: Decimal) -> Decimal:
    """`value` rounded down as a correction is (never up: a correction is never above the label)."""
    if value == 0:
        return value
    exponent = min(value.adjusted() - SIGNIFICANT_DIGITS + 1, -_PLACES)
    return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_DOWN).normalize()


def edit_texts(line: dict[str, Any], edit: Callable[[str], str]) -> None:
    for key in _INSTRUCTION_TEXTS:
        if isinstance(line.get(key), str):
            line[key] = edit(line[key])


def counted_text(text: str, old: int, new: int) -> str:
    """An instruction stating the line's count of administrations ("x 4 bags", "4 infusions") with its new count: a
    days 1-7 line had kept "x 4 bags". Another number, or no such words, is left as written."""
    def said(match: re.Match[str]) -> str:
        word = match.group(2)
        singular = word[:-1] if word.endswith("s") else word
        return f"{new}{match.group(1)}{singular if new == 1 else singular + 's'}"
    return re.sub(rf"(?<![\d.,]){old}(\s*)(bags?|infusions?|doses?)\b", said, text, flags=re.IGNORECASE)


def ended_text(text: str, days: tuple[int, int], continued: bool, ends: str) -> str:
    """An ended line's instruction (nurses read the text): the one day range or length it states becomes the line's
    own; a text stating neither gets `ends` ("last infusion day 2026-12-28") instead."""
    text, ranged, length = _own_days(text, days, continued)
    return text if ranged or length else f"{text} ({ends})"


def split_text(text: str, days: tuple[int, int | None], continued: bool, last: bool) -> str:
    """A split line's instruction names its own days: the one day range the text names is replaced, else the days
    are added ("(days 1–7)"); a text left saying "days 1-28" on a days 1-7 line would mislead. The last infusion day
    an ended line's text states (`end_line`) is said by the line's `last` part only, with its days: "(days 8–28, last
    infusion day 2026-12-28)"; an earlier part, ending before it, drops it."""
    note = _LAST_DAY_NOTE.search(text)
    if note is not None:
        text = text[:note.start()] + text[note.end():]
    text, ranged, _ = _own_days(text, days, continued)
    added = ([] if ranged else [_days_said(days, continued)]) + ([note.group(1)] if note and last else [])
    return f"{text} ({', '.join(added)})" if added else text


def renumbered_text(text: str, days: tuple[int, int | None]) -> str:
    """The instruction of a line moved to a cycle of its own, its dates kept and its days renumbered (a later cycle's
    lines split into an order of their own, dosing/split.py: days 43-70 become days 1-28): the one day range and
    length it states become the line's `days`. A text stating days in a form not rewritten (`days_unread`: "D43-D70",
    two ranges, "until day 70", dates) keeps them and says the line's own after them, "(days 1–28 of its own cycle)",
    never stale days alone: rewriting words not read is the prescriber's call, and dates stay true. A text stating no
    days states nothing stale: it is left as it is."""
    if _other_days(text):
        return f"{text} ({_days_said(days, False)} of its own cycle)"
    return _own_days(text, days, False)[0]


def _own_days(text: str, days: tuple[int, int | None], continued: bool) -> tuple[str, bool, bool]:
    """The text with the one day range it states and its one length ("x 28 days") made the line's `days`, and whether
    it stated that range, that length."""
    first, last = days
    count = "" if last is None else str(last - first + 1)
    length = bool(count) and len(_DURATION.findall(text)) == 1
    if length:
        text = _DURATION.sub(lambda m: m.group(0).replace(m.group(1), count), text)
    ranged = len(_DAY_RANGE.findall(text)) == 1
    return (_DAY_RANGE.sub(_days_said(days, continued), text) if ranged else text), ranged, length


def _days_said(days: tuple[int, int | None], continued: bool) -> str:
    """"days 1–7", "from day 8" (no end); an order continuing a cycle counts the cycle's days, not its own, and says
    so: "cycle days 4–7"."""
    first, last = days
    said = days_text(first, last) if last is not None else f"from day {first}"
    return f"cycle {said}" if continued else said


class Daily(NamedTuple):
    """A line's dose a day, in mcg and per m² (None where it is not known: per m² of a line in mcg, in mcg of a line
    per m² without a BSA)."""

    mcg: Decimal | None
    per_m2: Decimal | None

    def per(self, unit: DoseUnit) -> Decimal | None:
        """The dose in a rate unit a text states ("mcg/h", "mg/day", "mcg/m²/day"), exactly."""
        amount = self.per_m2 if unit.per_m2 else self.mcg
        if amount is None or unit.time is None:
            return None
        return amount * unit.time.num / (unit.time.den * unit.mcg)


@dataclass(frozen=True)
class NewDose:
    """A corrected line's dose, as its texts restate it (`corrected_text`)."""

    old: Decimal | None  # the value coded before
    old_unit: DoseUnit | str  # its unit (`parse_dose_unit`)
    value: Decimal  # the value coded now
    unit: str  # the unit coded now, as written ("ug/d")
    from_per_m2: bool  # the line was per m² and is now in `unit`, a fixed dose
    before: Daily
    after: Daily  # per m² only for a line still per m²

    @property
    def coded(self) -> str:
        """The value as coded; for a line per m² now in mcg, with its unit ("9 ug/d"), replacing the one per m²."""
        return f"{as_written(self.value)} {self.unit}" if self.from_per_m2 else as_written(self.value)

    def is_coded(self, stated: re.Match[str]) -> bool:
        """Whether a dose the text states (`_STATED_DOSE`) is the old value in the unit it was coded in."""
        return Decimal(stated.group(1)) == self.old and _stated_unit(stated) == self.old_unit

    def restated(self, stated: re.Match[str]) -> tuple[int, int, str] | None:
        """Where a dose the text states is replaced, and by what: the value as coded for the dose as it was coded
        (`coded`); else, when it is the old dose in another unit to the digits it is written with ("1.167 mcg/h" at
        28 mcg/day), the new dose in that unit, rounded down as a correction is ("0.375 mcg/h" at 9 mcg/day). None
        when it is not the old dose (another drug's, a slip) or cannot be restated (per m² on a line that is not,
        whose BSA the text would name)."""
        if self.is_coded(stated):
            return stated.start(1), stated.end(2 if self.from_per_m2 else 1), self.coded
        unit = _stated_unit(stated)
        if isinstance(unit, str):
            return None
        said, was, now = Decimal(stated.group(1)), self.before.per(unit), self.after.per(unit)
        written_to = Decimal(1).scaleb(-len(stated.group(1).partition(".")[2]))  # its last digit's place
        if was is None or now is None or abs(said - was) >= written_to:
            return None
        return stated.start(1), stated.end(1), as_written(round_down(now))


def _stated_unit(stated: re.Match[str]) -> DoseUnit | str:
    return parse_dose_unit(_stated_code(stated))


def _stated_code(stated: re.Match[str]) -> str:
    """The unit of a dose a text states (`_STATED_DOSE`), "per" written "/": "mg per day" is "mg/day"."""
    return re.sub(r"\s*\bper\b\s*", "/", stated.group(2), flags=re.IGNORECASE)


def doses_said(text: str) -> str:
    """A dosage text with each dose it states as a mass per time (`_STATED_DOSE`, outside its day numbers) in the
    units the dose cards use (`text.unit_said`): "9 ug/d continuous IV infusion" is "9 mcg/day continuous IV
    infusion", "15 ug/(m2.d)" "15 mcg/m²/day", "1.167 mcg/hr" "1.167 mcg/h". The decision card's "Order:" line is
    read beside the dose cards, which had said "9 mcg/day" of an order it quoted as "9 ug/d". A volume per time
    (`_STATED_VOLUME`) keeps its number, no dose without the bag, but its unit is written alike: "0.375 mcg/h at
    10 mL/h", not "0.375 mcg/h at 10 mL/hr", two notations in one line. The rest of the text, and a unit the dose
    reading does not read, stay as written."""
    days = [match.span() for match in _DAY_NUMBERS.finditer(text)]
    stated = [match for match in _STATED_DOSE.finditer(text)
              if not _within(match.start(), days) and not isinstance(_stated_unit(match), str)]
    volumes = [match for match in _STATED_VOLUME.finditer(text) if not _within(match.start(), days)]
    if volumes:  # rarely: the usual text states its doses alone, already in order
        stated = sorted(stated + volumes, key=re.Match.start)
    return _edited(text, [(match.end(1), match.end(2), f" {unit_said(_stated_code(match))}") for match in stated])


def corrected_text(text: str, dose: NewDose) -> str:
    """The instruction text kept in step with the corrected dose (nurses read it): every dose it states as a rate is
    restated (`NewDose.restated`: "28 mcg/day (1.167 mcg/h)" becomes "9 mcg/day (0.375 mcg/h)"), and the old value
    (exactly as coded) named once outside them and the day numbers becomes the new one ("1 bag (35 mcg) daily").
    A text naming no number is left alone; one that cannot be rewritten whole (a dose it states not restated, the
    old value named again) is kept and gets a note, never a stale dose beside a new one. For a line per m² now in
    mcg, the old value is replaced only with a unit per m² after it."""
    days = [match.span() for match in _DAY_NUMBERS.finditer(text)]
    stated = [match for match in _STATED_DOSE.finditer(text) if not _within(match.start(), days)]
    edits = [edit for edit in map(dose.restated, stated) if edit is not None]
    old = "" if dose.old is None else as_written(dose.old)
    after = _PER_M2_UNIT if dose.from_per_m2 else ""
    spans = [match.span() for match in stated]
    hits = [match for match in re.finditer(rf"(?<![\d.]){re.escape(old)}(?![\d.]){after}", text)
            if not _within(match.start(), days) and not _within(match.start(), spans)] if old else []
    if len(edits) < len(stated) or (hits and (len(hits) > 1 or any(map(dose.is_coded, stated)))):
        return _noted(text, dose)
    edits += [(hit.start(), hit.end(), dose.coded) for hit in hits]
    if not edits:
        return _noted(text, dose) if re.search(r"\d", text) else text
    return _edited(text, sorted(edits))


def _edited(text: str, edits: list[tuple[int, int, str]]) -> str:
    """`text` with each of `edits` (start, end, new text; in order and apart) made, in one join: rebuilt for each,
    a text of a megabyte stating a dose 90,000 times had held a worker minutes."""
    pieces: list[str] = []
    done = 0
    for start, end, new in edits:
        pieces += (text[done:start], new)
        done = end
    return "".join(pieces) + text[done:]


def _within(position: int, spans: list[tuple[int, int]]) -> bool:
    """Whether `position` is within one of `spans` (in order and apart, as one finditer's are), found by bisection:
    each dose of a text looked for in all its day numbers, a megabyte of text had held a worker 30 s."""
    index = bisect_right(spans, position, key=itemgetter(0)) - 1
    return index >= 0 and position < spans[index][1]


def _noted(text: str, dose: NewDose) -> str:
    """A text not rewritten whole, with the correction said after it."""
    return f"{text} (dose corrected to {as_written(dose.value)} {dose.unit})".replace(" )", ")")


def as_written(value: Decimal) -> str:
    """A number as written in JSON and in an instruction: 28, 13.9, 0.009 (no exponent, no trailing zeros)."""
    return f"{value.normalize():f}"
