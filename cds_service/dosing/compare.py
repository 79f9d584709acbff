"""Day-by-day comparison of an order's dosage lines with the label dose (Aspirus V comparison rules).

A line covering days whose label doses differ is compared day by day, so one 28 mcg/day line over days 1-28 of
relapsed/refractory cycle 1 is above the label on days 1-7 only. Consecutive days with the same outcome become one
finding. On days a line runs together with others (`dosing.together`) their sum is compared, not the line alone.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterable, NamedTuple, Sequence

from cds_service.dosing.expected import Expected, expected_daily_dose, label_maximum, step_days
from cds_service.dosing.reading import DoseLine
from cds_service.dosing.together import Together, line_starts, span_of
from cds_service.facts.body import shown_kg
from cds_service.facts.quantities import BSA_PLACES, rounded

ABOVE = "above"
BELOW = "below"


@dataclass(frozen=True)
class Patient:
    """What the expected dose depends on besides the day."""

    schedule: str | None
    weight_kg: Decimal | None
    bsa_m2: Decimal | None
    cycle: int | None
    adult: bool = False  # a height counts for 12 months (facts/body.py), not 30 days: what to ask for says so

    def expected(self, day: int) -> Expected | None:
        return expected_daily_dose(self.schedule, self.weight_kg, self.bsa_m2, self.cycle, day)

    def maximum(self, day: int) -> Expected:
        return label_maximum(self.schedule, self.weight_kg, self.cycle, day)


@dataclass(frozen=True)
class Finding:
    kind: str  # ABOVE or BELOW
    line: int  # index of the dosage line
    first_day: int
    last_day: int
    ordered: Decimal  # mcg/day
    expected: Expected
    together: Together | None = None  # the lines run together on these days: `ordered` is their sum
    volume: str = ""  # how the line's volume was read (DoseForm.volume): "12 mL/h of 28 mcg per 240 mL"

    @property
    def severity(self) -> tuple[Decimal, Decimal]:
        """How far the dose is from the label dose: relative to it first (56 against 28 mcg/day is 1, twice the
        label; 9 against 28 is 0.68), then in mcg/day (56 against 28 is worse than 18 against 9)."""
        off = abs(self.ordered - self.expected.mcg_per_day)
        return off / self.expected.mcg_per_day, off

    def as_json(self, patient: Patient) -> dict[str, Any]:
        """The shape of service-contract.md `dose-check` (numbers rounded for display only)."""
        return {
            "ordered": display_number(self.ordered),
            "expected": float(rounded(self.expected.mcg_per_day, BSA_PLACES)),  # exact, as the card's label
            "basis": self.expected.basis,
            "weightKg": None if patient.weight_kg is None else float(shown_kg(patient.weight_kg)),
            "bsaM2": None if patient.bsa_m2 is None else float(rounded(patient.bsa_m2, BSA_PLACES)),
            "days": [self.first_day, self.last_day],
        }


def most_severe(findings: Sequence[Finding]) -> Finding:
    """The finding farthest from its label dose (`Finding.severity`): above the label, the largest ordered/expected
    ratio, of equal ratios the most mcg/day over; of equals, the earliest days (`findings` are in day order, as
    `compare` gives them, and `max` keeps the first of equals)."""
    return max(findings, key=lambda finding: finding.severity)


def display_number(value: Decimal | None) -> float | None:
    return None if value is None else float(rounded(value))


def compare(lines: Sequence[DoseLine], patient: Patient, together: Sequence[Together] = (),
            starts: Sequence[int] | None = None) -> list[Finding]:
    """Every range of days where a readable line, or the sum of lines running `together`, is above the label, or
    more than 10% below it (days whose label dose is unknown are skipped: callers first make sure the body size is
    known). A line stating no end is compared until a line starting later takes over (`together.span_of`; `starts`:
    the first days of the cycle's lines, by default `lines`' own), as the sums read it: "9 mcg/day from day 1, 28
    mcg/day from day 8" had been "below label" on days 8-28, a card telling the clinician of a dose not ordered."""
    return _compare(lines, patient, patient.expected, together, starts)


def above_maximum(lines: Sequence[DoseLine], patient: Patient, together: Sequence[Together] = (),
                  starts: Sequence[int] | None = None) -> list[Finding]:
    """Every range of days where a readable line, or the sum of lines running `together`, is above the label dose
    at any body size (for a patient whose weight or BSA is not known: such a dose is too high whatever they
    weigh); `starts` as for `compare`."""
    return [f for f in _compare(lines, patient, patient.maximum, together, starts) if f.kind == ABOVE]


def _compare(lines: Sequence[DoseLine], patient: Patient, label: Callable[[int], Expected | None],
             together: Sequence[Together], starts: Sequence[int] | None) -> list[Finding]:
    findings: list[Finding] = []
    if starts is None and any(line.last_day is None for line in lines):
        starts = line_starts(lines)
    for line in lines:
        if line.mcg_per_day is not None:
            first, last = span_of(line, starts or ())
            days = range(first, last + 1)
            stretches = _alone(line, days, together) if together else (days,)
            findings.extend(_line_findings(line, line.mcg_per_day, stretches, patient, label))
    for shared in together:
        # An unreadable line makes the sum a lower bound: it shows a dose above the label, never one below it.
        findings.extend(Finding(kind, shared.lines[0], first, last, shared.mcg_per_day, expected, shared)
                        for kind, expected, first, last in _runs((shared.days(),), shared.mcg_per_day, patient, label)
                        if shared.complete or kind == ABOVE)
    return sorted(findings, key=lambda f: (f.first_day, f.line))


def _line_findings(line: DoseLine, ordered: Decimal, stretches: Iterable[range], patient: Patient,
                   label: Callable[[int], Expected | None]) -> list[Finding]:
    volume = line.form.volume if line.form is not None else ""
    return [Finding(kind, line.index, first, last, ordered, expected, volume=volume)
            for kind, expected, first, last in _runs(stretches, ordered, patient, label)]


def _alone(line: DoseLine, days: range, together: Sequence[Together]) -> list[range]:
    """The line's `days` on which no other line runs with it, as stretches of consecutive days. `together` is in day
    order: only the ranges within the line's days are read (an order of many lines runs together on many ranges)."""
    within = together[bisect_left(together, days.start, key=lambda t: t.first_day):
                      bisect_right(together, days.stop - 1, key=lambda t: t.first_day)]
    shared = {day for t in within if line.index in t.readable for day in t.days()}
    return stretches_of(day for day in days if day not in shared)


def stretches_of(days: Iterable[int]) -> list[range]:
    """`days`, in increasing order, as stretches of consecutive days."""
    stretches: list[range] = []
    for day in days:
        if stretches and stretches[-1].stop == day:
            stretches[-1] = range(stretches[-1].start, day + 1)
        else:
            stretches.append(range(day, day + 1))
    return stretches


class _Run(NamedTuple):
    """Consecutive days with the same outcome."""

    kind: str  # ABOVE or BELOW
    expected: Expected
    first: int
    last: int


def _runs(stretches: Iterable[range], ordered: Decimal, patient: Patient,
          label: Callable[[int], Expected | None]) -> list[_Run]:
    """The runs of consecutive days on which `ordered` is above or below the label (`stretches`: ranges of
    consecutive days, in day order, none touching the next: `stretches_of`). Each part of a stretch is one run: no
    two parts with the same outcome touch, for parts of two stretches never do, and of the parts of one stretch each
    touches only parts of the other kind, step days or not, whose label dose has another cap (`Expected.cap`)."""
    steps = step_days(patient.schedule, patient.cycle)
    readings: dict[bool, tuple[str, Expected] | None] = {}
    runs: list[_Run] = []
    for stretch in stretches:
        for part in _split(stretch, steps):
            # The label dose differs only between step days and the others, and each part is all one or the other:
            # the label is read and compared once for each, not day by day.
            step = part.start in steps
            if step not in readings:
                readings[step] = _outcome(ordered, label(part.start))
            outcome = readings[step]
            if outcome is not None:
                runs.append(_Run(*outcome, part.start, part[-1]))
    return runs


def _split(days: range, steps: range) -> tuple[range, ...]:
    """`days` cut where the step days begin and end: each part is all step days or none."""
    inner = range(max(days.start, steps.start), min(days.stop, steps.stop))
    if not inner:
        return (days,) if days else ()
    return tuple(part for part in (range(days.start, inner.start), inner, range(inner.stop, days.stop)) if part)


def _outcome(ordered: Decimal, expected: Expected | None) -> tuple[str, Expected] | None:
    """ABOVE or BELOW with the label dose it is compared with; None when within it, or when the label is unknown."""
    if expected is None:
        return None
    kind = _kind(ordered, expected)
    return None if kind is None else (kind, expected)


def _kind(ordered: Decimal, expected: Expected) -> str | None:
    if ordered > expected.allowed:
        return ABOVE
    return BELOW if ordered < expected.low else None
