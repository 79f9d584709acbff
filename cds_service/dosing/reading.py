"""The daily dose of each dosage line of a blinatumomab order, and which cycle days it covers.

A dose is read from, in this order of preference, `rateQuantity`, `rateRatio` or `doseQuantity` of a line's
`doseAndRate`; a dose that cannot be read exactly is `unreadable` with the reason, never guessed (fhir-data-profile.md
§The order). A volume (mL/h) is read through the strength of the order's Medication (mcg per mL), which the caller
hands over (contained in the order, it is read from the order): the dose reading reads no reference. Arithmetic is
exact (Decimal); rounding happens only for display.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from cds_service.dosing.text import mcg_text, per_time_said, unit_said
from cds_service.dosing.units import (Concentration, DoseUnit, is_volume, parse_dose_unit, read_concentration,
                                      volume_dose_unit)
from cds_service.facts.codes import month_or_year, parse_date, parse_datetime, to_decimal
from cds_service.facts.label_cycles import INFUSION_DAYS_PER_CYCLE
from cds_service.facts.order import (administration_interval, blinatumomab_strength, counted_days, medication_of,
                                     medication_reference, period_last_day, stated_start)
from cds_service.facts.quantities import (CACHED_UNIT_LENGTH, Duration, exact_text, refused_text, time_in_days,
                                         time_span, unit_text)
from cds_service.record import no_server

# A line running longer is not one cycle's (the longest is 84 days, relapsed/refractory cycles 6-9): its dose is not
# compared day by day (a line to 9999-12-31 took a worker seconds per line), it is reported as not readable.
LONGEST_LINE_DAYS = 84


@dataclass(frozen=True)
class DoseForm:
    """Where a line's dose sits and how its value becomes mcg/day, so a correction is written the same way."""

    entry: int  # index in doseAndRate
    field: str  # "rateQuantity", "rateRatio" (the numerator is rewritten) or "doseQuantity"
    # mcg/day = value × numerator (× BSA when per_m2) / denominator: dividing last keeps exact values exact.
    numerator: Decimal
    denominator: Decimal
    per_m2: bool
    # A volume read through the Medication's strength, as written and with it: "10 mL/h of 28 mcg per 240 mL" ("" for
    # a mass). No correction rewrites such a line: the bag's contents, pharmacy's, set its dose as much as the rate.
    volume: str = ""

    def __init__(self, entry: int, field: str, numerator: Decimal, denominator: Decimal, per_m2: bool,
                 volume: str = "") -> None:
        # Set as the frozen dataclass's own __init__ would, without its object.__setattr__ per field (as
        # facts/model.Fact): every readable dosage line builds one.
        fields = self.__dict__
        fields["entry"], fields["field"], fields["numerator"] = entry, field, numerator
        fields["denominator"], fields["per_m2"], fields["volume"] = denominator, per_m2, volume

    def daily(self, value: Decimal, bsa_m2: Decimal | None) -> Decimal:
        return value * self.numerator * (bsa_m2 if self.per_m2 and bsa_m2 is not None else 1) / self.denominator

    def value_for(self, amount: Decimal) -> Decimal:
        """The value that gives `amount` mcg/day (mcg/m²/day when per_m2)."""
        return amount * self.denominator / self.numerator


@dataclass(frozen=True)
class DoseLine:
    index: int  # position in dosageInstruction
    first_day: int  # cycle day the line starts (day 1 = the cycle start)
    last_day: int | None  # last cycle day it covers; None when the line states no end
    mcg_per_day: Decimal | None = None
    unreadable: str = ""  # why the dose could not be read (then mcg_per_day is None)
    form: DoseForm | None = None
    bounds: str = ""  # "period", "duration" or "" (none): how the line states its days
    # Why its period could not be read (`_days_problem`: no day covered, or more than a cycle), "" when it could: the
    # period is what to correct, and asking for the dose in mcg/day was wrong advice. `unreadable` holds it, and the
    # dose's own reason after it when the dose could not be read either (`dose_unread`).
    period_unread: str = ""

    def __init__(self, index: int, first_day: int, last_day: int | None, mcg_per_day: Decimal | None = None,
                 unreadable: str = "", form: DoseForm | None = None, bounds: str = "",
                 period_unread: str = "") -> None:
        # Set as the frozen dataclass's own __init__ would, without its object.__setattr__ per field (as
        # facts/model.Fact): every dosage line of every order builds one.
        fields = self.__dict__
        fields["index"], fields["first_day"], fields["last_day"] = index, first_day, last_day
        fields["mcg_per_day"], fields["unreadable"] = mcg_per_day, unreadable
        fields["form"], fields["bounds"], fields["period_unread"] = form, bounds, period_unread

    @property
    def dose_unread(self) -> bool:
        """Whether its dose could not be read, for a reason of its own: not only its period's, and not for want of days
        another line leaves unplaced (`placed`: its dose was never read)."""
        unread = self.unreadable
        return (bool(unread) and unread != self.period_unread and unread not in UNPLACED
                and not self.placed_by_another)

    @property
    def needs_bsa(self) -> bool:
        """Written per m², and unread for want of a BSA: from 45 kg its label dose is known all the same."""
        return self.unreadable == NO_BSA

    @property
    def basis(self) -> str:
        return "bsa" if self.form is not None and self.form.per_m2 else "fixed"

    @property
    def through(self) -> int:
        """The last cycle day compared: an open-ended line runs to the end of the cycle's infusion days (28,
        Aspirus V)."""
        return self.last_day if self.last_day is not None else max(self.first_day, INFUSION_DAYS_PER_CYCLE)

    def days(self) -> range:
        """The cycle days to compare."""
        return range(self.first_day, self.through + 1)

    @property
    def placed_by_another(self) -> bool:
        """Whether the line's days are unknown for want of another line's (`_unplaced`), not of its own."""
        return self.unreadable.startswith(_PLACED_BY)

    @property
    def placed(self) -> bool:
        """Whether the line's days are known: not placed by a line stating none (`_unplaced`), not ending before they
        begin, not longer than a cycle (`_days_problem`: such days are never walked)."""
        if self.unreadable in UNPLACED or self.placed_by_another:
            return False
        return self.first_day <= self.through < self.first_day + LONGEST_LINE_DAYS


def read_order_doses(order: dict[str, Any], bsa_m2: Decimal | None, cycle_start: date | None = None,
                     days_before: int = 0, medication: dict[str, Any] | None = None) -> list[DoseLine]:
    """Every dosage line with its mcg/day (or why unreadable) and its cycle days.

    Day 1 is `cycle_start` (default: the order's own earliest start); `days_before` infusion days already given in
    the cycle are added, so an order continuing a cycle lands on the right schedule days. `medication`: the Medication
    the order references, as the request holds it (None: a contained one is read from the order), whose strength
    reads a volume.
    """
    lines = [line if isinstance(line, dict) else {} for line in order.get("dosageInstruction") or ()]
    # Each line's timing read once: its start dates the order and places the line in the cycle (the order's date as
    # facts/order.recorded_start reads it, from these starts rather than another walk over the lines).
    timings = [_timing(line) for line in lines]
    order_date = min((t.start for t in timings if t.start is not None), default=None) or stated_start(order)
    anchor = cycle_start or order_date
    ordered = sorted(range(len(lines)), key=lambda i: (line_order(lines[i]), i))
    sequences = [line_order(lines[i]) for i in ordered]
    result: dict[int, DoseLine] = {}
    next_day = 1 + days_before + _days_after(order_date, anchor)
    strength = _Strength(order, medication)
    for position, index in enumerate(ordered):
        if _dated_partly(timings[index].period):
            return _unplaced(lines, index, PARTIAL_DATE)
        first, last, bounds = _covered_days(timings[index], anchor, days_before, next_day)
        mcg, reason, form = _read_dose(lines[index], timings[index].repeat, bsa_m2, strength)
        problem = _days_problem(first, last, timings[index].period) or _weekdays(timings[index].repeat)
        if not bounds and _followed(sequences, position):
            return _unplaced(lines, index, NO_DAYS)
        if not bounds and first > INFUSION_DAYS_PER_CYCLE:
            # After lines filling the cycle's infusion days, a line stating none has no day left to run to: read as
            # running from day 29, a free-text line ("hold for CRS") after a 28-day line denied the order as infusion
            # past day 28. Its days are not guessed (_unplaced); the lines before it keep theirs.
            result[index] = DoseLine(index, first, None, unreadable=NO_ROOM)
            continue
        if bounds == "period" and timings[index].start is None and (position == 0 or last is not None and last < first):
            return _unplaced(lines, index, NO_START)
        if problem:  # the dose's own reason kept after it: both are asked for at once (review)
            mcg, reason, form = None, f"{problem}; {reason}" if reason else problem, None
        result[index] = DoseLine(index, first, last, mcg, reason, form, bounds, problem)
        next_day = last + 1 if last is not None else next_day
    return [result[i] for i in range(len(lines))]


NO_SEQUENCE = 1_000_000  # line_order of a line without a sequence number
NO_BSA = "dose per m² needs a BSA (or weight and height)"
NO_DAYS = ("it states no days (no boundsPeriod or boundsDuration) and a later line follows it, so the order's days "
           "cannot be placed")
NO_START = "it states an end but no start, so the order's days cannot be placed"
NO_ROOM = "it states no days and the other lines fill the cycle's 28 infusion days, so its days cannot be placed"
# A draft's period dated "2026-12" may start (or end) on any day of it: read from its first day, a step dose's days
# 1-7 and an end past day 28 were guesses, and the denials and one-click fixes built on them too. Asked for instead.
PARTIAL_DATE = "its start or end is only a month or a year, so the order's days cannot be placed"
UNPLACED = (NO_DAYS, NO_START, NO_ROOM, PARTIAL_DATE)  # why a line's days are unplaced (`_unplaced`, and no room)
_STATES = {NO_DAYS: "states no days", NO_START: "states no start", PARTIAL_DATE: "is dated only to a month or a year"}
_PLACED_BY = "placed by line "  # the reason of the lines an unplaced line places (`_unplaced`)


def _unplaced(lines: list[dict[str, Any]], index: int, reason: str) -> list[DoseLine]:
    """Every line unreadable when line `index` leaves the cycle's start unknown: it states no days and another
    follows it (NO_DAYS), or it states an end and no start (NO_START) and no line before it ends the day before it
    starts. The first line, or one ending before the line before it, began at a day nothing gives: not the order's
    authoredOn (the days from it to the end ran past day 28, a denial), nor the earliest start another line gives.

    A line stating no days runs to the end of the cycle, which is right for the last line (or lines given together,
    with one sequence number) but not for one that another follows. Read so, a step dose's first line without its
    timing ran all 28 days beside the second (37 mcg/day), or the second line's start became day 1 (28 mcg/day in
    days 1-7): denials either way; the same denial when the first line had lost only its start. Where the line
    starts or ends, and where the cycle starts, are not guessed."""
    after = f"{_PLACED_BY}{index + 1}, which {_STATES[reason]}"
    return [DoseLine(i, 1, None, unreadable=reason if i == index else after) for i in range(len(lines))]


def _dated_partly(period: dict[str, Any]) -> bool:
    """Whether a boundsPeriod's start or end is a date of a month or a year alone ("2026-12", "2026")."""
    return any(month_or_year(value) and parse_date(value) is not None
               for value in (period.get("start"), period.get("end")))


def _followed(sequences: list[int], position: int) -> bool:
    """Whether a line after the one at `position` (in sequence order) follows it rather than runs with it: it has
    another sequence number, or neither has one (unnumbered lines run in their written order)."""
    own = sequences[position]
    return any(later != own or own == NO_SEQUENCE for later in sequences[position + 1:])


def _days_problem(first: int, last: int | None, period: dict[str, Any]) -> str:
    if last is None:
        return ""
    if last < first:
        # A period ending the moment it starts covers no day either (period_last_day), but ends before nothing.
        return _NO_TIME if _ends_as_it_starts(period) else "its end is before its start"
    if last - first + 1 > LONGEST_LINE_DAYS:
        return f"it runs {last - first + 1} days, longer than a cycle (at most {LONGEST_LINE_DAYS})"
    return ""


_NO_TIME = "it ends at the moment it starts"
_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _weekdays(repeat: dict[str, Any]) -> str:
    """Why the line's days are not read when its timing runs on some days of the week only (`dayOfWeek`): its days
    had been read as every day of its period, five weekdays a week as seven."""
    days = repeat.get("dayOfWeek")
    if not isinstance(days, list) or not days or set(_WEEK) <= set(days):
        return ""
    return f"it runs on some days of the week only: {', '.join(str(day) for day in days[:len(_WEEK)])}"


def _ends_as_it_starts(period: dict[str, Any]) -> bool:
    began = parse_datetime(period.get("start"))
    return began is not None and began == parse_datetime(period.get("end"))


def cycle_day_date(anchor: date, day: int, days_before: int = 0) -> date:
    """The calendar date of a cycle day (inverse of the day numbering of `read_order_doses`)."""
    return anchor + timedelta(days=day - 1 - days_before)


def _days_after(day: date | None, anchor: date | None) -> int:
    return max(0, (day - anchor).days) if day is not None and anchor is not None else 0


def line_order(line: dict[str, Any]) -> int:
    """A line's sequence number (lines without one come last, in their written order)."""
    value = line.get("sequence")
    return value if isinstance(value, int) and not isinstance(value, bool) else NO_SEQUENCE


class _Timing(NamedTuple):
    """What a line says of its days, read once per line."""

    repeat: dict[str, Any]  # timing.repeat ({} when none)
    period: dict[str, Any]  # its boundsPeriod ({} when none)
    start: date | None  # the period's start


# FHIR's common timing codes (Timing.code, v3 GTSAbbreviation): a frequency per period, as `timing.repeat` states it.
# A dose per administration timed "QD" alone had been unread (no frequency and period).
_GTS_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
_GTS = {"QD": (1, 1, "d"), "BID": (2, 1, "d"), "TID": (3, 1, "d"), "QID": (4, 1, "d"), "QOD": (1, 2, "d"),
        "Q4H": (1, 4, "h"), "Q6H": (1, 6, "h"), "Q8H": (1, 8, "h"), "Q12H": (1, 12, "h")}


def _timing(line: dict[str, Any]) -> _Timing:
    timing = line.get("timing") or {}
    repeat = timing.get("repeat")
    repeat = _coded(repeat if isinstance(repeat, dict) else {}, timing.get("code"))
    period = repeat.get("boundsPeriod") or {}
    return _Timing(repeat, period, parse_date(period.get("start")))


def _coded(repeat: dict[str, Any], code: Any) -> dict[str, Any]:
    """`repeat` with the frequency and period of the timing's code ("QD": once a day) when it states no period of
    its own: what the repeat states wins."""
    if "period" in repeat or not isinstance(code, dict):
        return repeat
    found = [_GTS[c["code"]] for c in code.get("coding") or () if isinstance(c, dict) and c.get("system") == _GTS_SYSTEM
             and isinstance(c.get("code"), str) and c["code"] in _GTS]
    if len(set(found)) != 1:  # none, or codes that disagree: not read
        return repeat
    frequency, period, unit = found[0]
    return {"frequency": frequency, "period": period, "periodUnit": unit, **repeat}


def _covered_days(timing: _Timing, anchor: date | None, days_before: int,
                  next_day: int) -> tuple[int, int | None, str]:
    repeat, period, start = timing
    end = period_last_day(period)
    if anchor is not None and (start or end):
        first = (start - anchor).days + 1 + days_before if start else next_day
        counted = None if end else counted_days(repeat)  # a start and a count of bags: so many days from it
        last = ((end - anchor).days + 1 + days_before if end else
                None if counted is None else first + math.ceil(counted) - 1)
        return first, last, "period"
    duration = time_in_days(repeat.get("boundsDuration") or {})
    duration = duration if duration is not None else counted_days(repeat)
    if duration is not None:
        return next_day, next_day + math.ceil(duration) - 1, "duration"
    return next_day, None, ""


def administrations(repeat: dict[str, Any], days: int) -> int | None:
    """The administrations of the line's timing that start within `days` days (a bag started on the last one
    counts), None when its timing gives no interval."""
    interval = administration_interval(repeat)
    return None if interval is None else math.ceil(days / interval)


class _Strength:
    """The order's Medication's strength as a concentration, or why there is none: read for the first line given
    in a volume (most orders have none)."""

    def __init__(self, order: dict[str, Any], medication: dict[str, Any] | None) -> None:
        self._order, self._medication = order, medication
        self._read: Concentration | str | None = None

    def get(self) -> Concentration | str:
        if self._read is None:
            self._read = self._concentration()
        return self._read

    def _concentration(self) -> Concentration | str:
        medication = self._medication
        if medication is None:
            reference = medication_reference(self._order)
            if reference is None:
                return "the order names no Medication with a strength"
            medication = medication_of(self._order, no_server)  # contained: the order's own data
            if medication is None:
                shown = reference if len(reference) <= CACHED_UNIT_LENGTH else reference[:CACHED_UNIT_LENGTH] + "…"
                return f"its Medication ({shown}) is not in the request"
        strength = blinatumomab_strength(medication)
        return strength if isinstance(strength, str) else read_concentration(strength)


def _read_dose(line: dict[str, Any], repeat: dict[str, Any], bsa_m2: Decimal | None,
               strength: _Strength) -> tuple[Decimal | None, str, DoseForm | None]:
    reasons = []
    entries = [e if isinstance(e, dict) else {} for e in line.get("doseAndRate") or ()]
    for field in ("rateQuantity", "rateRatio", "doseQuantity"):
        for entry_index, entry in enumerate(entries):
            if not isinstance(entry.get(field), dict):
                continue
            form = _form(field, entry[field], repeat, entry_index, strength)
            if isinstance(form, str):
                reasons.append(form)
                continue
            mcg, reason, read = _apply(form, _amount(field, entry[field]), bsa_m2)
            disagreeing = _disagreeing(line, form, mcg, bsa_m2) if mcg is not None else ""
            return (None, disagreeing, None) if disagreeing else (mcg, reason, read)
    return None, reasons[0] if reasons else "no dose or rate", None


# Two doses of one line are the same dose when they differ by a unit conversion's rounding at most: 28 mcg/day beside
# 1.16 mcg/h (27.84) is one dose written twice, 28 beside 9 mcg/day two doses.
_SAME_DOSE = Decimal("0.01")


def _disagreeing(line: dict[str, Any], form: DoseForm, mcg: Decimal, bsa_m2: Decimal | None) -> str:
    """Why the line's dose is unread when another of its entries in a mass states another dose ("" when none does):
    only the first was read, and a line of 9 mcg/day beside 28 mcg every 24 h had passed as 9, either of them what
    the pump or the bag may get."""
    for other in other_doses(line, form):
        amount = _amount(other.field, line["doseAndRate"][other.entry][other.field])
        found = _apply(other, amount, bsa_m2)[0]
        if found is not None and abs(found - mcg) > _SAME_DOSE * max(found, mcg):
            return f"its doseAndRate states two doses ({mcg_text(mcg)} and {mcg_text(found)} mcg/day)"
    return ""


def other_doses(line: dict[str, Any], form: DoseForm) -> list[DoseForm]:
    """The line's dose entries in a mass (no volume: a pump rate in mL/h stays true at any dose of a 24-hour bag)
    other than `form`'s, the one read: a correction rewrites them too, so that the order it writes does not keep 28
    mcg beside 9 mcg/day (`_other_dose` leaves a line stating two different doses unread)."""
    found = []
    entries = [e if isinstance(e, dict) else {} for e in line.get("doseAndRate") or ()]
    repeat = _timing(line).repeat
    for field in ("rateQuantity", "rateRatio", "doseQuantity"):
        for index, entry in enumerate(entries):
            if (index, field) == (form.entry, form.field) or not isinstance(entry.get(field), dict):
                continue
            other = _form(field, entry[field], repeat, index, _NO_STRENGTH)
            if not isinstance(other, str) and not other.volume:
                found.append(other)
    return found


def _amount(field: str, quantity: dict[str, Any]) -> dict[str, Any]:
    """The Quantity holding the dose's amount: a rate ratio's numerator, else the quantity itself."""
    source = quantity.get("numerator") or {} if field == "rateRatio" else quantity
    return source if isinstance(source, dict) else {}


def _apply(form: DoseForm, amount: dict[str, Any],
           bsa_m2: Decimal | None) -> tuple[Decimal | None, str, DoseForm | None]:
    value = to_decimal(amount.get("value"))
    if value is None or value < 0:
        refused = refused_text(amount.get("value"))
        # Too large to read (facts/codes.to_decimal) is not "no value": the value sent is named, bounded.
        reason = f"an implausible dose value ({refused} {unit_said(unit_text(amount))})" if refused else "no dose value"
        return None, reason, form
    if form.per_m2 and bsa_m2 is None:
        return None, NO_BSA, form
    return form.daily(value, bsa_m2), "", form


def _form(field: str, quantity: dict[str, Any], repeat: dict[str, Any], entry: int,
          strength: _Strength) -> DoseForm | str:
    if field == "rateRatio":
        return _ratio_form(quantity, entry, strength)
    unit = _unit(quantity, strength)
    if isinstance(unit, str):
        return unit
    volume = _volume(unit, quantity)
    if field == "rateQuantity":
        if unit.time is None:
            return f"rate without a time unit ({unit_text(quantity)})"
        return _per_span(entry, field, unit, unit.time, volume=volume)
    return _dose_form(unit, repeat, entry, volume)


def _unit(quantity: dict[str, Any], strength: _Strength) -> DoseUnit | str:
    """A quantity's dose unit: a mass, or a volume through the Medication's strength."""
    text = unit_text(quantity)
    unit = parse_dose_unit(text)
    return volume_dose_unit(text, strength.get()) if isinstance(unit, str) and is_volume(text) else unit


def _volume(unit: DoseUnit, quantity: dict[str, Any], per: dict[str, Any] | None = None) -> str:
    """How a volume was read, as written and through which strength: "10 mL/h of 28 mcg per 240 mL", "240 mL per
    24 h of ..." (`per`: a rate ratio's denominator); "" for a mass."""
    if unit.concentration is None:
        return ""
    value = to_decimal(quantity.get("value"))
    written = f"{'?' if value is None else exact_text(value)} {unit_said(unit_text(quantity))}"
    if per is not None:
        written += per_time_said(to_decimal(per.get("value")) or Decimal(1), unit_text(per))
    return f"{written} of {unit.concentration.text}"


def _ratio_form(ratio: dict[str, Any], entry: int, strength: _Strength) -> DoseForm | str:
    amount = ratio.get("numerator") or {}
    numerator = _unit(amount, strength)
    if isinstance(numerator, str):
        return numerator
    per = ratio.get("denominator") or {}
    denominator = time_span(per)
    if numerator.time is not None or denominator is None:
        return "rate ratio without a time denominator"
    return _per_span(entry, "rateRatio", numerator, denominator, volume=_volume(numerator, amount, per))


def _dose_form(unit: DoseUnit, repeat: dict[str, Any], entry: int, volume: str) -> DoseForm | str:
    """A dose per administration: per day, per its period (frequency/period), or per bag over its duration."""
    if unit.time is not None:
        # A dose written as a rate (ug/d in doseQuantity) is already a daily amount per its unit.
        return _per_span(entry, "doseQuantity", unit, unit.time, volume=volume)
    ranged = _ranged(repeat)
    if ranged:
        return ranged
    bag = bag_span(repeat)
    if bag is not None:
        return _per_span(entry, "doseQuantity", unit, bag, volume=volume)
    period = time_span({"value": repeat.get("period"), "code": repeat.get("periodUnit")})
    frequency = to_decimal(repeat.get("frequency", 1))
    if period is None or frequency is None or frequency <= 0:
        return "dose without timing (frequency and period)"
    return _per_span(entry, "doseQuantity", unit, period, frequency, volume)


# A timing's upper bounds (FHIR: "1 to 2 times a day", "every 1 to 2 days", "bags of 24 to 48 hours"): a dose per
# administration over such a timing is a range of daily doses, not one. Read from frequency, period or duration
# alone, 28 mcg once or twice a day had been approved as 28 mcg/day.
_RANGES = (("frequencyMax", "frequency", "its frequency"), ("periodMax", "period", "its period"),
           ("durationMax", "duration", "its bag's duration"))


def _ranged(repeat: dict[str, Any]) -> str:
    """Why a dose per administration is not read over a timing stating a range ("" when it states none)."""
    for upper, lower, said in _RANGES:
        top, bottom = to_decimal(repeat.get(upper)), to_decimal(repeat.get(lower, 1 if lower == "frequency" else None))
        if top is not None and (bottom is None or top > bottom):
            unit = repeat.get(f"{lower}Unit") if lower != "frequency" else "times"
            low = "?" if bottom is None else exact_text(bottom)
            return f"{said} is a range: {low} to {exact_text(top)}{f' {unit}' if isinstance(unit, str) else ''}"
    return ""


def bag_span(repeat: dict[str, Any]) -> Duration | None:
    """How long one bag of a dose per administration runs when that outlasts the dosing period (or none is given): a
    continuous infusion, its dose spread over the bag. None when the timing gives no such bag."""
    duration = time_span({"value": repeat.get("duration"), "code": repeat.get("durationUnit")})
    if duration is None:
        return None
    period = time_span({"value": repeat.get("period"), "code": repeat.get("periodUnit")})
    return duration if period is None or duration.days >= period.days else None


def _per_span(entry: int, field: str, unit: DoseUnit, span: Duration, times: Decimal = Decimal(1),
              volume: str = "") -> DoseForm:
    """`times` values in `unit` given over `span`: per day that is mcg × times × span.den / span.num (a volume's mL
    of a concentration divide last too)."""
    return DoseForm(entry, field, unit.mcg * times * span.den, span.num * unit.per_ml, unit.per_m2, volume)


# No Medication: a volume is not read (`other_doses` reads masses alone).
_NO_STRENGTH = _Strength({}, None)
