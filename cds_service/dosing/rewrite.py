"""The corrected order of a dose suggestion: every line above the label set to the label dose, written in the same
representation the order used (service-contract.md §Response item 3), except that a line per m² corrected to a fixed
dose (from 45 kg the label dose is mcg/day whatever the BSA) is written in mcg, so that no one recomputes it.

A line whose days need different doses (a single relapsed/refractory cycle-1 line: step days 1-7, then the full
dose) is split into consecutive lines. Corrected values are rounded down, never up, so a correction is never above
the label caps itself. A line running past its cycle's 28th infusion day is ended there (`end_line`).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from cds_service.coverage_info import EXTENSION_URL
from cds_service.dosing.compare import Patient
from cds_service.dosing.expected import Expected, above_ceiling
from cds_service.dosing.reading import (DoseForm, DoseLine, administrations, bag_span, cycle_day_date, line_order,
                                       other_doses)
from cds_service.dosing.instruction_text import (LAST_DAY, Daily, NewDose, as_written, corrected_text, counted_text,
                                                 edit_texts, ended_text, round_down, split_text)
from cds_service.dosing.text import per_time_said, unit_said
from cds_service.dosing.together import line_starts, span_of
from cds_service.dosing.units import parse_dose_unit
from cds_service.facts.codes import parse_datetime, to_decimal
from cds_service.facts.quantities import DAYS, normalize, unit_text

UCUM = "http://unitsofmeasure.org"
# What a line per m² corrected to a fixed dose is written in: mcg per day for a rate (or a dose written with a time
# unit), else mcg per dose or per its ratio's denominator, its timing kept.
MCG_PER_DAY, MCG = "ug/d", "ug"


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
                  ceiling: Decimal | None = None, starts: list[int] | None = None) -> Correction | None:
    """The order with every above-label day corrected, or None when no readable line is above the label.

    `unread_per_m2`: lines per m² unread for want of a BSA (`DoseLine.needs_bsa`; from 45 kg) are set to the label's
    fixed dose on every day, in mcg: their dose per day is not known, the label dose is. `ceiling`: the payer's daily
    maximum (Florida Blue's 28 mcg/day), above which a day within the label's rounding is set to the label dose too.
    `starts`: the first days of the cycle's lines (`CycleLines.starts`), by default `lines`' own (`_segments`)."""
    written = order.get("dosageInstruction") or []
    starts = line_starts(lines) if starts is None else starts
    by_line = {line.index: _segments(line, written[line.index], patient, unread_per_m2, ceiling, starts)
               for line in lines}
    changed = {index: segs for index, segs in by_line.items() if any(s.value is not None for s in segs)}
    if not changed:
        return None
    resource = suggested_copy(order)
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
    """The order with each of `over`, its lines above a payer's fixed daily maximum (`plan_limit_card.ceiling_card`:
    read, none a volume), set to it (never above it: rounded down). Lines are not split: the maximum is the same on every day.

    `fixed_dose`: the patient's label dose is a fixed dose (from 45 kg, outside Interfant), so a line per m² is set
    to the maximum in mcg, as the label correction writes it (`_in_mcg`), not to the maximum divided by the BSA."""
    expected = Expected(ceiling, "fixed", ceiling)
    resource = suggested_copy(order)
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
    morning after); nothing else of the line changes. Its texts state no days in another form
    (`instruction_text.days_unread`)."""
    resource = suggested_copy(order)
    written = resource["dosageInstruction"][line.index]
    days = (line.first_day, last_day)
    _set_bounds(written, line, days, True, False, anchor, days_before)
    ends = f"{LAST_DAY} {cycle_day_date(anchor, last_day, days_before).isoformat()}"
    edit_texts(written, lambda text: ended_text(text, days, days_before > 0, ends))
    return resource


# Narratives generated from the order's data (FHIR Narrative.status): a suggestion changing the data leaves them
# stating the old dose or days, which the EHR regenerates from the new data when there is none.
_GENERATED = frozenset({"generated", "extensions"})


def suggested_copy(order: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of the order for a suggestion to change: without the coverage-information extension (the next
    order-sign adds a fresh one), nor a narrative generated from its data (it kept "28 mcg/day, days 1-28" beside the
    corrected lines). A narrative of another status holds what the data does not, and stays."""
    resource = copy.deepcopy(order)
    narrative = resource.get("text")
    if isinstance(narrative, dict) and narrative.get("status") in _GENERATED:
        del resource["text"]
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
        return round_down(form.value_for(per_m2))
    return round_down(form.value_for(corrected_daily(form, expected)))


def corrected_daily(form: DoseForm, expected: Expected) -> Decimal:
    """The daily dose a correction writes, before the line's unit rounds it down (1.16 mcg/h is 27.84 mcg/day, for
    28): the label dose, and for a line not written per m² a BSA-computed one prepared to a tenth of a microgram (15 ×
    0.93 = 13.95 is given as 13.9)."""
    if expected.basis == "bsa" and not form.per_m2:
        return expected.mcg_per_day.quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    return expected.mcg_per_day


def written_dose(line: dict[str, Any], form: DoseForm, value: Decimal | None,
                 unit: str | None = None) -> tuple[str, str]:
    """`value` (None: the line's own) and its unit (`unit`, a UCUM code, when not the line's own), as the line
    writes them and a clinician reads them: ('1.16', 'mcg/h'), ('0.028', 'mg/day'), ('15', 'mcg/m²/day'), ('56',
    'mcg per 2 days'), ('56', 'mcg per dose'), ('196', 'mcg per 7-day bag')."""
    holder = _value_holder(line, form)
    number = value if value is not None else to_decimal(holder.get("value"))
    code = unit if unit is not None else unit_text(holder)
    said = unit_said(code)
    if form.field == "rateRatio":
        denominator = line["doseAndRate"][form.entry][form.field].get("denominator") or {}
        said += per_time_said(to_decimal(denominator.get("value")) or Decimal(1), unit_text(denominator))
    elif form.field == "doseQuantity" and normalize(code).split("/")[-1] not in DAYS:
        said += f" per {_administration(line)}"  # an amount given on the line's timing, not a rate
    return ("" if number is None else as_written(number)), said  # a line with a dose form has its value


def _administration(line: dict[str, Any]) -> str:
    """What a dose per administration is given in: a bag named by how long it runs ('7-day bag', '48-hour bag':
    `reading.bag_span`, the span its dose was read over), else 'dose'."""
    timing = line.get("timing")
    repeat = timing.get("repeat") if isinstance(timing, dict) else None
    bag = bag_span(repeat) if isinstance(repeat, dict) else None
    if bag is None:
        return "dose"
    days, hours = bag.days, bag.days * 24
    if days >= 7 and days == days.to_integral_value():
        return f"{days.normalize():f}-day bag"
    return f"{hours.normalize():f}-hour bag" if hours == hours.to_integral_value() else "bag"


def per_m2_daily(line: dict[str, Any], form: DoseForm) -> Decimal | None:
    """A line per m²'s dose in mcg/m²/day, read without a BSA."""
    value = to_decimal(_value_holder(line, form).get("value"))
    return None if value is None else form.daily(value, None)


def _segments(line: DoseLine, written: dict[str, Any], patient: Patient, unread_per_m2: bool,
              ceiling: Decimal | None, starts: list[int]) -> list[Segment]:
    """The line's segments; none for a line never rewritten: unread, or a volume (`DoseForm.volume`). A line stating
    no end runs until a later line of the cycle takes over (`together.span_of`, `starts`): "28 mcg/day from day 1"
    before "28 mcg/day from day 8" had been split at day 8 into a line of its own beside the later one, a double dose
    in one click."""
    if line.form is None or line.form.volume or (line.mcg_per_day is None and not (unread_per_m2 and line.needs_bsa)):
        return []
    in_mcg = _in_mcg(written, line.form) if line.form.per_m2 else None
    segments: list[Segment] = []
    first, last_day = span_of(line, starts)
    for day in range(first, last_day + 1):
        segment = _day_segment(line, line.form, in_mcg, line.mcg_per_day, patient, day, ceiling)
        last = segments[-1] if segments else None
        if last and (last.value, last.mcg_per_day, last.unit) == (segment.value, segment.mcg_per_day, segment.unit):
            segments[-1] = replace(last, last_day=day)
        else:
            segments.append(segment)
    if line.last_day is None and last_day == line.through:  # the open end stays open, unless a later line's start
        segments[-1] = replace(segments[-1], last_day=None)  # ends it: the correction then says where
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
            edit_texts(copy_, lambda text: split_text(text, days, days_before > 0, last))
        if segment.value is not None:
            _set_value(copy_, line, segment)
        rewritten.append(copy_)
    return rewritten


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
    before = Daily(dose.mcg_per_day, None if old is None or not form.per_m2 else form.daily(old, None))
    after = Daily(segment.mcg_per_day, form.daily(segment.value, None) if segment.unit is None and form.per_m2
                   else None)
    new = NewDose(old, old_unit, segment.value, str(holder.get("unit") or holder.get("code") or ""),
                   segment.unit is not None, before, after)
    edit_texts(line, lambda text: corrected_text(text, new))
    _set_others(line, form, segment)


def _set_others(line: dict[str, Any], form: DoseForm, segment: Segment) -> None:
    """The line's other doses in a mass (`reading.other_doses`: the same dose as `form`'s, or the line was not
    read) set to the segment's, each in its own unit, rounded down: the order written had kept "28 mcg every 24 h"
    beside the corrected 9 mcg/day. One per m² beside a dose in mcg is written in mcg, as the fixed dose is."""
    assert segment.value is not None
    per_m2 = form.daily(segment.value, None) if form.per_m2 and segment.unit is None else None
    for other in other_doses(line, form):
        written, unit = (other, None) if not other.per_m2 or per_m2 is not None else _in_mcg(line, other)
        daily = per_m2 if written.per_m2 and per_m2 is not None else segment.mcg_per_day
        holder = _value_holder(line, written)
        holder["value"] = json_number(round_down(written.value_for(daily)))
        if unit is not None:
            holder.update(unit=unit, system=UCUM, code=unit)


def json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _set_bounds(line: dict[str, Any], dose: DoseLine, days: tuple[int, int | None], first: bool, last: bool,
                anchor: date, days_before: int) -> None:
    """The bounds of `line` (read as `dose`) set to cycle `days`, first and last day, in its own form. `first`: the
    line's start is kept; `last`: so is its end."""
    if last and dose.bounds == "":
        return  # an open-ended line stays open after its split-off first days (no empty timing written)
    first_day, last_day = days
    repeat = _object_at(_object_at(line, "timing"), "repeat")
    if "count" in repeat and last_day is not None:
        old, new = repeat["count"], _fit_count(repeat, last_day - first_day + 1)
        if isinstance(old, int) and new is not None and new != old:
            edit_texts(line, lambda text: counted_text(text, old, new))
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
    # bounds[x] is one choice: a Period stating no start or end, or a Range, beside the duration is no valid Timing.
    repeat.pop("boundsPeriod", None)
    repeat.pop("boundsRange", None)
    repeat["boundsDuration"] = {"value": last_day - first_day + 1, "unit": "days", "system": UCUM, "code": "d"}


def _fit_count(repeat: dict[str, Any], days: int) -> int | None:
    """A line's `count` of administrations (4 seven-day bags) set to those of its new `days` (1 for days 1-7): kept,
    the step days' line said 4 bags of the step dose, and the line after it ran 4 bags from day 8, to day 35.
    `countMax` goes with it; without an interval to count by, so does `count` (the bounds now say the days). The new
    count, None when dropped."""
    count = administrations(repeat, days)
    repeat.pop("countMax", None)
    if count is None:
        del repeat["count"]
    else:
        repeat["count"] = count
    return count


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
