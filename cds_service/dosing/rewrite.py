"""The corrected order of a dose suggestion: every line above the label set to the label dose, written in the same
representation the order used (service-contract.md §Response item 3), except that a line per m² corrected to a fixed
dose (from 45 kg the label dose is mcg/day whatever the BSA) is written in mcg, so that no one recomputes it.

A line whose days need different doses (a single relapsed/refractory cycle-1 line: step days 1-7, then the full
dose) is split into consecutive lines. Corrected values are rounded down, never up, so a correction is never above
the label caps itself. A line running past its cycle's 28th infusion day is ended there (`end_line`).
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any, Callable, NamedTuple

from cds_service.coverage_info import EXTENSION_URL
from cds_service.dosing.compare import Patient
from cds_service.dosing.expected import Expected, above_ceiling
from cds_service.dosing.reading import DoseForm, DoseLine, cycle_day_date, line_order
from cds_service.dosing.text import days_text, per_time_said, unit_said
from cds_service.dosing.units import DoseUnit, parse_dose_unit
from cds_service.facts.codes import parse_datetime, to_decimal
from cds_service.facts.quantities import DAYS, normalize, unit_text

SIGNIFICANT_DIGITS = 4
UCUM = "http://unitsofmeasure.org"
# What a line per m² corrected to a fixed dose is written in: mcg per day for a rate (or a dose written with a time
# unit), else mcg per dose or per its ratio's denominator, its timing kept.
MCG_PER_DAY, MCG = "ug/d", "ug"
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
_LAST_DAY = "last infusion day"
_LAST_DAY_NOTE = re.compile(rf"\s*\(({_LAST_DAY} {_DATE})\)")
# A dose a text states as a mass per time, per m² or not ("28 mcg/day", "1.167 mcg/h", "15 mcg/(m2.d)", "0.028 mg
# per day"): every one is restated when the dose changes. A volume ("10 mL/hr") states no dose: the bag sets it.
_MASS = r"(?:mcg|ug|[µμ]g|micrograms?|mg|milligrams?)"
_PER = r"\s*(?:/|\bper\b)\s*"
_AREA = r"(?:m2|m²|m\^2)"
_TIME = r"(?:24\s*h(?:ours?|rs?)?|days?|d|hours?|hrs?|h|minutes?|mins?|weeks?|wks?|wk)"
_STATED_DOSE = re.compile(rf"(?<![\d.])(\d+(?:\.\d+)?)\s*({_MASS}(?:{_PER}{_AREA})?{_PER}{_TIME}"
                          rf"|{_MASS}/\({_AREA}\.{_TIME}\))(?![\w²])", re.IGNORECASE)
_INSTRUCTION_TEXTS = ("text", "patientInstruction")  # what a nurse and a patient read
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
          r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?")
# Days stated in a form no rewrite here reads: weeks or months, dates ("Dec 8", "8-Dec", "12/8", "2027-01-04"), a
# single day or an end ("until day 35", "through"), a length in days left over ("28 days", "28-day", "28 consecutive
# days"), days as D8-D35. Looked for once the one day range and the one length `_days_in_text` rewrites are taken out.
_OTHER_DAYS = re.compile(rf"\b(?:weeks?|wks?|months?|until|till|through|thru)\b|\b{_MONTH}[\s./-]*\d"
                         rf"|\d[\s./-]*{_MONTH}\b|\d\s*[/–-]\s*\d|{_DAY_WORD}\s*\d|\d\s*-?\s*days?\b"
                         r"|\d\s+\w+\s+days?\b|\bD\d+\s*[-–]\s*D?\d", re.IGNORECASE)


@dataclass(frozen=True)
class Segment:
    """Consecutive days of one line that end up with one dose."""

    line: int
    first_day: int
    last_day: int | None  # None: the open end of a line without one
    value: Decimal | None  # the corrected value in the line's own unit (or `unit`); None keeps the original
    mcg_per_day: Decimal  # the daily dose of the segment after the correction
    expected: Expected | None  # the label dose the correction follows (None when kept)
    unit: str | None = None  # the UCUM code `value` is in when not the line's own (a line per m² set to a fixed dose)
    for_ceiling: bool = False  # within the label's rounding, set to the label dose for the payer's maximum alone


@dataclass(frozen=True)
class Correction:
    resource: dict[str, Any]
    segments: tuple[Segment, ...]  # every segment of every line that changed, in day order


def correct_order(order: dict[str, Any], lines: list[DoseLine], patient: Patient, anchor: date,
                  days_before: int = 0, unread_per_m2: bool = False,
                  ceiling: Decimal | None = None) -> Correction | None:
    """The order with every above-label day corrected, or None when no readable line is above the label.

    `unread_per_m2`: lines per m² unread for want of a BSA (`DoseLine.needs_bsa`; from 45 kg) are set to the label's
    fixed dose on every day, in mcg: their dose per day is not known, the label dose is. `ceiling`: the payer's daily
    maximum (Florida Blue's 28 mcg/day), above which a day within the label's rounding is set to the label dose too."""
    written = order.get("dosageInstruction") or []
    by_line = {line.index: _segments(line, written[line.index], patient, unread_per_m2, ceiling) for line in lines}
    changed = {index: segs for index, segs in by_line.items() if any(s.value is not None for s in segs)}
    if not changed:
        return None
    resource = without_coverage_information(order)
    dosage = resource.get("dosageInstruction") or []
    split = any(len(segments) > 1 for segments in changed.values())
    # A split renumbers the sequences: walk the lines in sequence order so the parts of a line follow each other.
    walk = sorted(lines, key=lambda item: (line_order(dosage[item.index]), item.index)) if split else lines
    rewritten: list[dict[str, Any]] = []
    for line in walk:
        if line.index in changed:
            rewritten.extend(_rewrite_line(dosage[line.index], line, changed[line.index], anchor, days_before))
        else:
            rewritten.append(dosage[line.index])
    resource["dosageInstruction"] = _renumber(rewritten) if split else rewritten
    segments = sorted((s for segs in changed.values() for s in segs), key=lambda s: (s.first_day, s.line))
    return Correction(resource, tuple(segments))


def correct_to_ceiling(order: dict[str, Any], over: list[DoseLine], ceiling: Decimal, bsa_m2: Decimal | None,
                       fixed_dose: bool) -> Correction:
    """The order with each of `over`, its lines above a payer's fixed daily maximum (`cards.ceiling_card`: read, none
    a volume), set to it (never above it: rounded down). Lines are not split: the maximum is the same on every day.

    `fixed_dose`: the patient's label dose is a fixed dose (from 45 kg, outside Interfant), so a line per m² is set
    to the maximum in mcg, as the label correction writes it (`_in_mcg`), not to the maximum divided by the BSA."""
    expected = Expected(ceiling, "fixed", ceiling)
    resource = without_coverage_information(order)
    dosage = resource["dosageInstruction"]
    segments = []
    for line in over:
        assert line.form is not None  # its dose was read
        form, unit = (_in_mcg(dosage[line.index], line.form) if fixed_dose and line.form.per_m2
                      else (line.form, None))
        value = corrected_value(form, expected, bsa_m2)
        segment = Segment(line.index, line.first_day, line.last_day, value, form.daily(value, bsa_m2), expected, unit)
        [dosage[line.index]] = _rewrite_line(dosage[line.index], line, [segment], date.min, 0)
        segments.append(segment)
    return Correction(resource, tuple(sorted(segments, key=lambda s: (s.first_day, s.line))))


def end_line(order: dict[str, Any], line: DoseLine, last_day: int, anchor: date, days_before: int) -> dict[str, Any]:
    """The order (without its coverage information) with dosage line `line`, which states its end, ending on cycle
    day `last_day`: its boundsPeriod.end (in the period's own form) or its boundsDuration. A day range or length its
    texts state becomes the line's own; a text stating none gets "(last infusion day 2026-12-28)" (nurses read the
    text: it must not leave "for 28 days" beside the new end; "ends" would misstate a timed period, which ends the
    morning after); nothing else of the line changes. Its texts state no days in another form (`days_unread`)."""
    resource = without_coverage_information(order)
    written = resource["dosageInstruction"][line.index]
    days = (line.first_day, last_day)
    _set_bounds(written, line, days, True, False, anchor, days_before)
    ends = f"{_LAST_DAY} {cycle_day_date(anchor, last_day, days_before).isoformat()}"
    _edit_texts(written, lambda text: _ended_text(text, days, days_before > 0, ends))
    return resource


def days_unread(line: dict[str, Any]) -> bool:
    """Whether a text of the dosage line states its days in a form `end_line` would not rewrite ("for 4 weeks",
    "Dec 8 through Jan 4", two day ranges): ended, the line would keep a text contradicting its timing."""
    for text in (line.get(key) for key in _INSTRUCTION_TEXTS):
        if isinstance(text, str):
            for stated in (_DAY_RANGE, _DURATION):
                text = stated.sub(" ", text) if len(stated.findall(text)) == 1 else text
            if _OTHER_DAYS.search(text):
                return True
    return False


def without_coverage_information(order: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of the order without the coverage-information extension (the next order-sign adds a fresh one)."""
    resource = copy.deepcopy(order)
    kept = [e for e in resource.get("extension") or ()
            if not (isinstance(e, dict) and e.get("url") == EXTENSION_URL)]
    if kept:
        resource["extension"] = kept
    else:
        resource.pop("extension", None)
    return resource


def corrected_value(form: DoseForm, expected: Expected, bsa_m2: Decimal | None) -> Decimal:
    """The label dose in the line's own unit, rounded down."""
    if form.per_m2 and bsa_m2:
        uncapped = expected.per_m2 is not None and expected.mcg_per_day == expected.per_m2 * bsa_m2
        per_m2 = expected.per_m2 if uncapped and expected.per_m2 is not None else expected.mcg_per_day / bsa_m2
        return _round_down(form.value_for(per_m2))
    return _round_down(form.value_for(corrected_daily(form, expected)))


def corrected_daily(form: DoseForm, expected: Expected) -> Decimal:
    """The daily dose a correction writes, before the line's unit rounds it down (1.166 mcg/h is 27.98 mcg/day, for
    28): the label dose, and for a line not written per m² a BSA-computed one prepared to a tenth of a microgram (15 ×
    0.93 = 13.95 is given as 13.9)."""
    if expected.basis == "bsa" and not form.per_m2:
        return expected.mcg_per_day.quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    return expected.mcg_per_day


def written_dose(line: dict[str, Any], form: DoseForm, value: Decimal | None,
                 unit: str | None = None) -> tuple[str, str]:
    """`value` (None: the line's own) and its unit (`unit`, a UCUM code, when not the line's own), as the line
    writes them and a clinician reads them: ('1.166', 'mcg/h'), ('0.028', 'mg/day'), ('15', 'mcg/m²/day'), ('56',
    'mcg per 2 days'), ('56', 'mcg per dose')."""
    holder = _value_holder(line, form)
    number = value if value is not None else to_decimal(holder.get("value"))
    code = unit if unit is not None else unit_text(holder)
    said = unit_said(code)
    if form.field == "rateRatio":
        denominator = line["doseAndRate"][form.entry][form.field].get("denominator") or {}
        said += per_time_said(to_decimal(denominator.get("value")) or Decimal(1), unit_text(denominator))
    elif form.field == "doseQuantity" and normalize(code).split("/")[-1] not in DAYS:
        said += " per dose"  # an amount given on the line's timing, not a rate
    return ("" if number is None else _as_written(number)), said  # a line with a dose form has its value


def _round_down(value: Decimal) -> Decimal:
    if value == 0:
        return value
    exponent = value.adjusted() - SIGNIFICANT_DIGITS + 1
    return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_DOWN).normalize()


def per_m2_daily(line: dict[str, Any], form: DoseForm) -> Decimal | None:
    """A line per m²'s dose in mcg/m²/day, read without a BSA."""
    value = to_decimal(_value_holder(line, form).get("value"))
    return None if value is None else form.daily(value, None)


def _segments(line: DoseLine, written: dict[str, Any], patient: Patient, unread_per_m2: bool,
              ceiling: Decimal | None) -> list[Segment]:
    """The line's segments; none for a line never rewritten: unread, or a volume (`DoseForm.volume`)."""
    if line.form is None or line.form.volume or (line.mcg_per_day is None and not (unread_per_m2 and line.needs_bsa)):
        return []
    in_mcg = _in_mcg(written, line.form) if line.form.per_m2 else None
    segments: list[Segment] = []
    for day in line.days():
        segment = _day_segment(line, line.form, in_mcg, line.mcg_per_day, patient, day, ceiling)
        last = segments[-1] if segments else None
        if last and (last.value, last.mcg_per_day, last.unit) == (segment.value, segment.mcg_per_day, segment.unit):
            segments[-1] = replace(last, last_day=day)
        else:
            segments.append(segment)
    if line.last_day is None:  # the open end stays open
        segments[-1] = replace(segments[-1], last_day=None)
    return segments


def _day_segment(line: DoseLine, form: DoseForm, in_mcg: tuple[DoseForm, str] | None, ordered: Decimal | None,
                 patient: Patient, day: int, ceiling: Decimal | None) -> Segment:
    """`in_mcg`: for a line per m², how it is written in mcg (`_in_mcg`), should the day's label dose be fixed.
    `ordered` None: a line per m² without a BSA, set to the fixed label dose whatever it is."""
    expected = patient.expected(day)
    if ordered is not None and (expected is None or _kept(ordered, expected, ceiling)):
        return Segment(line.index, day, day, None, ordered, None)
    # Unread per m², the label dose is fixed (checks.needs_bsa_only: from 45 kg, outside Interfant), so known.
    assert expected is not None
    written, unit = in_mcg if in_mcg is not None and expected.basis == "fixed" else (form, None)
    value = corrected_value(written, expected, patient.bsa_m2)
    for_ceiling = ordered is not None and ordered <= expected.allowed  # not `_kept` for the ceiling alone
    return Segment(line.index, day, day, value, written.daily(value, patient.bsa_m2), expected, unit, for_ceiling)


def _kept(ordered: Decimal, expected: Expected, ceiling: Decimal | None) -> bool:
    """Whether a day's dose stays as written: within the label's rounding, and within the payer's daily `ceiling`
    when there is one (28.32 mcg/day kept on days 8-28 beside the step days' correction was refused by Florida Blue,
    whose plan limit card comes only without this one)."""
    return ordered <= expected.allowed and (ceiling is None or not above_ceiling(ordered, ceiling))


def _in_mcg(line: dict[str, Any], form: DoseForm) -> tuple[DoseForm, str]:
    """A line per m² written as a fixed dose: the form that reads it, and its UCUM code. A rate (or a dose with a time
    unit) becomes mcg/day (`ug/d`, value 1 for 1 mcg/day whatever its time unit was); an amount per dose, or a ratio's
    numerator, becomes mcg over the same timing or denominator (`ug`)."""
    unit = parse_dose_unit(unit_text(_value_holder(line, form)))
    assert not isinstance(unit, str)  # the line was read by this unit
    if unit.time is not None:
        return DoseForm(form.entry, form.field, Decimal(1), Decimal(1), False), MCG_PER_DAY
    return DoseForm(form.entry, form.field, form.numerator / unit.mcg, form.denominator, False), MCG


def _rewrite_line(original: dict[str, Any], line: DoseLine, segments: list[Segment], anchor: date,
                  days_before: int) -> list[dict[str, Any]]:
    rewritten = []
    for position, segment in enumerate(segments):
        copy_ = copy.deepcopy(original)
        if len(segments) > 1:
            days, last = (segment.first_day, segment.last_day), position == len(segments) - 1
            _set_bounds(copy_, line, days, position == 0, last, anchor, days_before)
            _edit_texts(copy_, lambda text: _split_text(text, days, days_before > 0, last))
        if segment.value is not None:
            _set_value(copy_, line, segment)
        rewritten.append(copy_)
    return rewritten


def _edit_texts(line: dict[str, Any], edit: Callable[[str], str]) -> None:
    for key in _INSTRUCTION_TEXTS:
        if isinstance(line.get(key), str):
            line[key] = edit(line[key])


def _ended_text(text: str, days: tuple[int, int], continued: bool, ends: str) -> str:
    """An ended line's instruction (nurses read the text): the one day range or length it states becomes the line's
    own; a text stating neither gets `ends` ("last infusion day 2026-12-28") instead."""
    text, ranged, length = _own_days(text, days, continued)
    return text if ranged or length else f"{text} ({ends})"


def _split_text(text: str, days: tuple[int, int | None], continued: bool, last: bool) -> str:
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


def _value_holder(line: dict[str, Any], form: DoseForm) -> dict[str, Any]:
    """The Quantity whose value is the line's dose (of a rate ratio, the numerator)."""
    holder: dict[str, Any] = line["doseAndRate"][form.entry][form.field]
    return holder["numerator"] if form.field == "rateRatio" else holder


def _set_value(line: dict[str, Any], dose: DoseLine, segment: Segment) -> None:
    """The line (read as `dose`) set to the segment's value: in the line's own unit, or in the segment's `unit` (a
    UCUM code), which then replaces the unit per m². Its texts restate the dose."""
    form = dose.form
    assert form is not None and segment.value is not None  # a line read, a segment that changes it
    holder = _value_holder(line, form)
    old, old_unit = to_decimal(holder.get("value")), parse_dose_unit(unit_text(holder))
    holder["value"] = json_number(segment.value)
    if segment.unit is not None:
        holder.update(unit=segment.unit, system=UCUM, code=segment.unit)
    before = _Daily(dose.mcg_per_day, None if old is None or not form.per_m2 else form.daily(old, None))
    after = _Daily(segment.mcg_per_day, form.daily(segment.value, None) if segment.unit is None and form.per_m2
                   else None)
    new = _NewDose(old, old_unit, segment.value, str(holder.get("unit") or holder.get("code") or ""),
                   segment.unit is not None, before, after)
    _edit_texts(line, lambda text: _corrected_text(text, new))


def json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class _Daily(NamedTuple):
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
class _NewDose:
    """A corrected line's dose, as its texts restate it (`_corrected_text`)."""

    old: Decimal | None  # the value coded before
    old_unit: DoseUnit | str  # its unit (`parse_dose_unit`)
    value: Decimal  # the value coded now
    unit: str  # the unit coded now, as written ("ug/d")
    from_per_m2: bool  # the line was per m² and is now in `unit`, a fixed dose
    before: _Daily
    after: _Daily  # per m² only for a line still per m²

    @property
    def coded(self) -> str:
        """The value as coded; for a line per m² now in mcg, with its unit ("9 ug/d"), replacing the one per m²."""
        return f"{_as_written(self.value)} {self.unit}" if self.from_per_m2 else _as_written(self.value)

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
        return stated.start(1), stated.end(1), _as_written(_round_down(now))


def _stated_unit(stated: re.Match[str]) -> DoseUnit | str:
    return parse_dose_unit(re.sub(r"\s*\bper\b\s*", "/", stated.group(2), flags=re.IGNORECASE))


def _corrected_text(text: str, dose: _NewDose) -> str:
    """The instruction text kept in step with the corrected dose (nurses read it): every dose it states as a rate is
    restated (`_NewDose.restated`: "28 mcg/day (1.167 mcg/h)" becomes "9 mcg/day (0.375 mcg/h)"), and the old value
    (exactly as coded) named once outside them and the day numbers becomes the new one ("1 bag (35 mcg) daily").
    A text naming no number is left alone; one that cannot be rewritten whole (a dose it states not restated, the
    old value named again) is kept and gets a note, never a stale dose beside a new one. For a line per m² now in
    mcg, the old value is replaced only with a unit per m² after it."""
    days = [match.span() for match in _DAY_NUMBERS.finditer(text)]
    stated = [match for match in _STATED_DOSE.finditer(text) if not _within(match.start(), days)]
    edits = [edit for edit in map(dose.restated, stated) if edit is not None]
    old = "" if dose.old is None else _as_written(dose.old)
    after = _PER_M2_UNIT if dose.from_per_m2 else ""
    taken = days + [match.span() for match in stated]
    hits = [match for match in re.finditer(rf"(?<![\d.]){re.escape(old)}(?![\d.]){after}", text)
            if not _within(match.start(), taken)] if old else []
    if len(edits) < len(stated) or (hits and (len(hits) > 1 or any(map(dose.is_coded, stated)))):
        return _noted(text, dose)
    edits += [(hit.start(), hit.end(), dose.coded) for hit in hits]
    if not edits:
        return _noted(text, dose) if re.search(r"\d", text) else text
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _within(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)


def _noted(text: str, dose: _NewDose) -> str:
    """A text not rewritten whole, with the correction said after it."""
    return f"{text} (dose corrected to {_as_written(dose.value)} {dose.unit})".replace(" )", ")")


def _as_written(value: Decimal) -> str:
    """A number as written in JSON and in an instruction: 28, 13.9, 0.009 (no exponent, no trailing zeros)."""
    return f"{value.normalize():f}"


def _set_bounds(line: dict[str, Any], dose: DoseLine, days: tuple[int, int | None], first: bool, last: bool,
                anchor: date, days_before: int) -> None:
    """The bounds of `line` (read as `dose`) set to cycle `days`, first and last day, in its own form. `first`: the
    line's start is kept; `last`: so is its end."""
    if last and dose.bounds == "":
        return  # an open-ended line stays open after its split-off first days (no empty timing written)
    first_day, last_day = days
    repeat = _object_at(_object_at(line, "timing"), "repeat")
    if dose.bounds == "period":
        period = repeat["boundsPeriod"]
        timed = _start_moment(period.get("start"))
        if not first:
            period["start"] = _boundary(cycle_day_date(anchor, first_day, days_before), timed)
        if not last and last_day is not None:
            # A timed period ends when the next segment starts (its end is exclusive); a date is inclusive.
            day = cycle_day_date(anchor, last_day + (1 if timed else 0), days_before)
            period["end"] = _boundary(day, timed)
        return
    assert last_day is not None  # only the last segment of an open line has no end
    repeat["boundsDuration"] = {"value": last_day - first_day + 1, "unit": "days", "system": UCUM, "code": "d"}


def _object_at(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """`parent[key]` to write into, made an object when absent or a JSON null (which a valid order may carry)."""
    found = parent.get(key)
    if not isinstance(found, dict):
        found = parent[key] = {}
    return found


def _start_moment(start: Any) -> datetime | None:
    """The start of a period given as a date-time (the time the bag is hung), else None."""
    return parse_datetime(start) if isinstance(start, str) and len(start) > 10 else None


def _boundary(day: date, timed: datetime | None) -> str:
    """A split point in the period's own form: the date, or that day at the original start's time and zone."""
    if timed is None:
        return day.isoformat()
    return datetime.combine(day, timed.timetz()).isoformat()


def _renumber(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sequence numbers 1..n in day order once a line was split (FHIR: equal sequence numbers run concurrently)."""
    for number, line in enumerate(lines, start=1):
        line["sequence"] = number
    return lines
