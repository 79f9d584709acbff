"""Blinatumomab orders: identification, start date and infusion span (fhir-data-profile.md §The order)."""
from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Callable, Iterable, NamedTuple

from cds_service.facts.codes import (codings, concept_text, last_day_named, month_or_year, parse_date,
                                     parse_datetime, period_end_day, to_decimal)
from cds_service.facts.quantities import time_in_days, time_span
from cds_service.facts.resolve import referenced
from cds_service.record import Resolver
from cds_service.valuesets import get_valuesets

BLINATUMOMAB = "medications-blinatumomab"


def medication_reference(resource: dict[str, Any]) -> str | None:
    """The literal reference of `medicationReference` ("#id", "Medication/id" or a URL), when there is one."""
    pointer = resource.get("medicationReference")
    reference = pointer.get("reference") if isinstance(pointer, dict) else None
    return reference if isinstance(reference, str) else None


def medication_of(resource: dict[str, Any], resolve: Resolver) -> dict[str, Any] | None:
    """The Medication behind `medicationReference`: contained ("#id"), else read through `resolve`. A Medication
    with wrong JSON types in its code or ingredients is not read (shape.py)."""
    reference = medication_reference(resource)
    return None if reference is None else referenced(resource, reference, "Medication", resolve)


def medication_concepts(resource: dict[str, Any], resolve: Resolver) -> list[dict[str, Any]]:
    """The CodeableConcepts naming what a MedicationRequest orders: its own concept; else the referenced
    Medication's code and ingredients (a compounded product names its ingredients only there) and the reference's
    `display` as a concept's text. Epic writes the drug's name there ("BLINATUMOMAB 35 MCG IV SOLR") and its
    Medication is often neither in the prefetch nor readable: the display is then all that names the drug, and the
    profile matches names in text (fhir-data-profile.md §The order, *text*)."""
    own = resource.get("medicationCodeableConcept")
    if isinstance(own, dict):
        return [own]
    found = _medication_codes(medication_of(resource, resolve))
    pointer = resource.get("medicationReference")
    display = pointer.get("display") if isinstance(pointer, dict) else None
    if isinstance(display, str) and display.strip():
        found.append({"text": display})
    return found


def _medication_codes(medication: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not isinstance(medication, dict):
        return []
    found = [medication["code"]] if isinstance(medication.get("code"), dict) else []
    for ingredient in medication.get("ingredient") or ():
        item = ingredient.get("itemCodeableConcept") if isinstance(ingredient, dict) else None
        if isinstance(item, dict):
            found.append(item)
    return found


def blinatumomab_strength(medication: dict[str, Any]) -> dict[str, Any] | str:
    """The `ingredient.strength` (a Ratio) of blinatumomab in a Medication, or why there is none. The ingredients
    naming blinatumomab give it; else a Medication of one ingredient (its own code says what it is). A bag lists its
    diluent too: sodium chloride's 9 mg/mL read as blinatumomab's strength would be a dose of grams."""
    ingredients = [i for i in medication.get("ingredient") or () if isinstance(i, dict)]
    named = [i for i in ingredients if concepts_in(BLINATUMOMAB, _item_concepts(i))]
    chosen = named or (ingredients if len(ingredients) == 1 else [])
    strengths: list[dict[str, Any]] = [i["strength"] for i in chosen if isinstance(i.get("strength"), dict)]
    if not strengths:
        return "its Medication gives no strength of blinatumomab"
    if any(s != strengths[0] for s in strengths):
        return f"its Medication gives {len(strengths)} different strengths of blinatumomab"
    return strengths[0]


def _item_concepts(ingredient: dict[str, Any]) -> list[dict[str, Any]]:
    """What an ingredient names: its concept, or its reference's display as a concept's text."""
    item = ingredient.get("itemCodeableConcept")
    if isinstance(item, dict):
        return [item]
    pointer = ingredient.get("itemReference")
    display = pointer.get("display") if isinstance(pointer, dict) else None
    return [{"text": display}] if isinstance(display, str) else []


def unidentified(resource: dict[str, Any], concepts: list[dict[str, Any]]) -> bool:
    """Whether `concepts`, the order's medication_concepts, leave what it orders unknown: it names its drug only by a
    reference whose Medication could not be read (not contained, not in the request, no server or a failed read)
    and that has no display. Such an order is not known to be "not blinatumomab". An order naming no medication at
    all (the CDS Hooks sandbox sends one) or a reference of the wrong JSON type is not one: nothing points to a
    drug this service failed to read."""
    return not concepts and medication_reference(resource) is not None


def names_a_drug(concepts: list[dict[str, Any]]) -> bool:
    """Whether any of `concepts` (an order's medication_concepts) names something: a text, a display or a code."""
    return any(concept_text(concept) or any(isinstance(c.get("code"), str) and c["code"].strip()
                                            for c in codings(concept)) for concept in concepts)


def concepts_in(value_set: str, concepts: Iterable[dict[str, Any]]) -> bool:
    valuesets = get_valuesets()
    return any(valuesets.has(value_set, c) for c in concepts)


def is_blinatumomab(resource: dict[str, Any], resolve: Resolver) -> bool:
    """A MedicationRequest ordering blinatumomab (any code or text of the blinatumomab value set)."""
    if resource.get("resourceType") != "MedicationRequest":
        return False
    return concepts_in(BLINATUMOMAB, medication_concepts(resource, resolve))


class DosageBounds(NamedTuple):
    """What an order's dosage lines (their `timing.repeat`) say of its span, read in one walk over the lines: the
    start and span readers below take it, so a reader asking several of them reads the lines once."""

    first: date | None  # the earliest boundsPeriod.start
    last: date | None  # the latest last day of a boundsPeriod (period_last_day)
    durations: tuple[dict[str, Any], ...]  # the lines without such a day: a boundsDuration may count from the start
    ends: bool  # whether any line says when it ends (boundsPeriod.end or boundsDuration)
    # The earliest last day a boundsPeriod.start may be: `first`, unless a start is only a month or a year ("2026-03"
    # may be March 31). None without a start.
    first_last: date | None = None
    # The earliest day the latest boundsPeriod.end may be: `last`, unless an end is only a month or a year ("2026"
    # may be January 1, where `last` reads December 31, the last day FHIR's Period.end covers). None without an end.
    last_first: date | None = None


def dosage_bounds(order: dict[str, Any]) -> DosageBounds:
    """The order's DosageBounds."""
    first = last = first_last = last_first = None
    durations = []
    ends = False
    for line in order.get("dosageInstruction") or ():
        repeat = (line.get("timing") or {}).get("repeat") if isinstance(line, dict) else None
        if not isinstance(repeat, dict):
            continue
        period = repeat.get("boundsPeriod") or {}
        text = period.get("start")
        day = parse_date(text)
        if day is not None and isinstance(text, str):  # parse_date reads text alone: for mypy
            first = day if first is None or day < first else first
            latest = day if len(text) >= 10 else last_day_named(day, text)
            first_last = latest if first_last is None or latest < first_last else first_last
        ends = ends or bool(period.get("end") or repeat.get("boundsDuration") or counted_days(repeat))
        day = period_last_day(period)
        if day is None:
            durations.append(repeat)
            continue
        last = day if last is None or day > last else last
        end = period.get("end")
        early = parse_date(end) if month_or_year(end) else day  # a month or a year: its first day
        last_first = early if last_first is None or (early is not None and early > last_first) else last_first
    # The tuple built directly: a NamedTuple's generated __new__ is a Python frame (one per order read).
    return tuple.__new__(DosageBounds, (first, last, tuple(durations), ends, first_last, last_first))


def recorded_start(order: dict[str, Any], bounds: DosageBounds | None = None) -> date | None:
    """Earliest dosage boundsPeriod.start, else the `stated_start`. `bounds`: the order's `dosage_bounds`, when the
    caller has them."""
    first = (dosage_bounds(order) if bounds is None else bounds).first
    return first if first is not None else stated_start(order)


def stated_start(order: dict[str, Any]) -> date | None:
    """The order's start when no dosage line gives one: dispenseRequest.validityPeriod.start, else authoredOn. The
    dose reading (dosing/reading.py), which reads each line's start itself, falls back on it as recorded_start does."""
    validity = ((order.get("dispenseRequest") or {}).get("validityPeriod") or {}).get("start")
    return parse_date(validity) or parse_date(order.get("authoredOn"))


def order_start(order: dict[str, Any], today: date) -> date:
    """The order's start date (fhir-data-profile.md §The order): its recorded start, else today."""
    return recorded_start(order) or today


def group_start(orders: list[dict[str, Any]], today: date) -> date:
    """Day 1 of the cycle the draft blinatumomab orders share: the earliest of their starts."""
    return min((order_start(o, today) for o in orders), default=today)


# Characters of an order's own dosage text a card shows: enough to tell two orders apart.
DOSAGE_TEXT_LIMIT = 200


def dosage_text(order: dict[str, Any], said: Callable[[str], str] | None = None,
                untexted: Callable[[int], str] | None = None) -> str:
    """The order's dosage lines as the prescriber wrote them (their `text`, joined by "; "; the first
    DOSAGE_TEXT_LIMIT characters), "" when none has one; each text as `said` words it, when given (the decision
    card's: its doses in the dose cards' units). A line without a text is left out, or, given `untexted`, said in
    its words (of the line's index): the decision card's "Order:" line, where the other lines alone ("9 mcg/day days
    1-7") would read as the whole order."""
    lines = order.get("dosageInstruction")
    if not isinstance(lines, list):
        return ""
    texts = [line["text"] for line in lines if isinstance(line, dict) and isinstance(line.get("text"), str)]
    if untexted is not None and len(texts) < len(lines):  # rarely: a line without a text, said in its place
        text = "; ".join(_line_text(line, said) if _has_text(line) else untexted(index)
                         for index, line in enumerate(lines))
    else:
        text = "; ".join(map(said, texts) if said else texts)
    return text if len(text) <= DOSAGE_TEXT_LIMIT else text[:DOSAGE_TEXT_LIMIT - 1] + "…"


def _has_text(line: Any) -> bool:
    return isinstance(line, dict) and isinstance(line.get("text"), str)


def _line_text(line: dict[str, Any], said: Callable[[str], str] | None) -> str:
    text: str = line["text"]
    return said(text) if said else text


def order_ref(order: dict[str, Any]) -> str:
    return f"MedicationRequest/{order.get('id', '')}"


def _has_time(value: Any) -> bool:
    return isinstance(value, str) and len(value) > 10


def period_last_day(period: Any) -> date | None:
    """The last infusion day of a dosage boundsPeriod. An end date is inclusive. An end date-time is the moment the
    infusion stops: from a start date-time the period covers its length in whole days (`_days_run`: a 7-day bag hung
    at 08:00 and taken down at 08:00 is days 1-7, not 1-8), and none when it ends at or before its start (its last
    day is then before its first: 09:00 on the day hung at 10:00 is no day 1); without one, an end at midnight closes
    the day before."""
    if not isinstance(period, dict):
        return None
    end: Any = period.get("end")  # a str whenever parse_date reads a date from it
    last = parse_date(end)
    if last is None or len(end) == 10:  # a full date
        return last
    if len(end) < 10:  # a year or a month, to its last day (as parse_end_date reads it, one call less)
        return last_day_named(last, end)
    start = period.get("start")
    first, began, stopped = parse_date(start), parse_datetime(start), parse_datetime(end)
    if _has_time(start) and first is not None and began is not None and stopped is not None:
        return first + timedelta(days=_days_run(stopped - began) - 1)
    return period_end_day(end)


_DAY = timedelta(days=1)
# The autumn change of daylight saving time: a bag hung at 08:00 and taken down at 08:00 a week later, across it,
# ran 7 days and an hour, written in UTC ("13:00Z" to "14:00Z" in Chicago) or in the local offsets ("-05:00" to
# "-06:00"). Rounded up, that hour had been an eighth day: a 28-day cycle written so ran "past day 28", not covered.
_CLOCK_CHANGE = timedelta(hours=1)


def _days_run(length: timedelta) -> int:
    """The whole days a timed infusion of `length` covers: its length rounded up, but an hour or less past whole
    days, at least one, is a clock change (_CLOCK_CHANGE), not a day more. None or less for no length."""
    days = math.ceil(length / _DAY)
    return days - 1 if days > 1 and length - (days - 1) * _DAY <= _CLOCK_CHANGE else days


# A dosage line lasting longer is not read as a duration: no course lasts years (and a date a million weeks ahead
# does not exist).
_LONGEST_DURATION_DAYS = 3660


def _duration_days(duration: dict[str, Any]) -> Decimal | None:
    """The boundsDuration in days, read as the dose check reads it (facts/quantities.py): both count the same days."""
    days = time_in_days(duration)
    return days if days is not None and days <= _LONGEST_DURATION_DAYS else None


def repeat_interval(repeat: dict[str, Any]) -> Decimal | None:
    """The days between two administrations of a dosage line's timing (period / frequency), None when not given."""
    period = time_span({"value": repeat.get("period"), "code": repeat.get("periodUnit")})
    frequency = to_decimal(repeat.get("frequency", 1))
    return None if period is None or frequency is None or frequency <= 0 else period.days / frequency


def administration_interval(repeat: dict[str, Any]) -> Decimal | None:
    """The days from one administration to the next: `repeat_interval`, else for bags stating their duration and no
    period the bag's duration, as they run one after the other (the dose reading's continuous bag): 5 seven-day
    bags are 35 days, which had been read as open, to the cycle's 28th day. None when not given."""
    interval = repeat_interval(repeat)
    if interval is not None or "period" in repeat:
        return interval
    bag = time_span({"value": repeat.get("duration"), "code": repeat.get("durationUnit")})
    return bag.days if bag is not None else None


def counted_days(repeat: dict[str, Any]) -> Decimal | None:
    """The days a dosage line's `count` of administrations covers (4 seven-day bags: 28 days), None without one. Its
    days had been read as open (the dose check: to the cycle's 28th day, so 5 seven-day bags passed as 28 infusion
    days), or an earlier cycle's as its start day only."""
    count, interval = repeat.get("count"), administration_interval(repeat)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1 or interval is None:
        return None
    days = count * interval
    return days if days <= _LONGEST_DURATION_DAYS else None  # as a boundsDuration: no date a million bags ahead


def _duration_end(timing: dict[str, Any], start: date) -> date | None:
    """The last day of a dosage line's boundsDuration (else of its count of administrations), counted from the line's
    boundsPeriod.start (else `start`)."""
    duration = timing.get("boundsDuration")
    days = _duration_days(duration) if isinstance(duration, dict) else counted_days(timing)
    if days is None:
        return None
    line_start = parse_date((timing.get("boundsPeriod") or {}).get("start")) or start
    return line_start + timedelta(days=math.ceil(days) - 1)


def last_infusion_day(order: dict[str, Any], start: date, bounds: DosageBounds | None = None) -> date:
    """The last day the order infuses: the latest end of its dosage bounds (boundsPeriod.end, or start plus
    boundsDuration). With no readable end the order is taken to cover its start day only: the span is never
    guessed longer than the record shows. `bounds`: the order's `dosage_bounds`, when the caller has them."""
    bounds = dosage_bounds(order) if bounds is None else bounds
    last = start if bounds.last is None or bounds.last < start else bounds.last
    for timing in bounds.durations:  # the duration, and the line's own start, matter only without an end
        end = _duration_end(timing, start)
        if end is not None and end > last:
            last = end
    return last
