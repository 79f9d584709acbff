"""One lab result as read: the row every lab fact is a query over (fhir-data-profile.md §Labs).

The MRD, Ph and CD19 readers (labs.py, ph.py, cd19.py) each read an Observation into a `Result`; the facts (labs.py,
ph.py) are queries over those rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Iterable, Sequence

from cds_service.facts.codes import as_recorded
from cds_service.facts.model import Graded, Measured

SHOWN = {True: "positive", False: "negative", None: "unreadable"}  # a qualitative reading, for notes


@dataclass(frozen=True)
class Result:
    """One MRD, Ph or CD19 reading: `positive` is the qualitative reading, `fraction` the MRD value."""

    moment: datetime
    reference: str
    positive: bool | None = None
    fraction: Decimal | None = None
    comparator: str = ""
    shown: str = ""  # "0.05%", "negative": for notes
    absent: bool = False  # dataAbsentReason: explicitly unavailable
    # The last day the result's date may stand for: a partial date ("2026-11") runs to the end of its month.
    last: date = field(default=date.min, repr=False, compare=False)
    day: date = field(init=False, repr=False, compare=False)  # the moment's calendar day, what the facts compare

    def __init__(self, moment: datetime, reference: str, positive: bool | None = None,
                 fraction: Decimal | None = None, comparator: str = "", shown: str = "", absent: bool = False,
                 last: date | None = None) -> None:
        # The fields above, set as the frozen dataclass's own __init__ would, but without its object.__setattr__
        # call per field (as Fact does); the day is taken once here, not on each of the dozen or so times the lab
        # facts compare it.
        fields = self.__dict__
        fields["moment"], fields["reference"], fields["positive"] = moment, reference, positive
        fields["fraction"], fields["comparator"], fields["shown"] = fraction, comparator, shown
        fields["absent"], fields["day"] = absent, moment.date()
        fields["last"] = last if last is not None and last > fields["day"] else fields["day"]

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


def by_moment(result: Result) -> tuple[date, datetime]:
    """A result's place in time: its calendar day (what the facts compare), then its moment within the day."""
    return result.day, result.moment


def in_time_order(results: Iterable[Result]) -> list[Result]:
    """Oldest first by calendar day, then by moment, results of one moment by reference: the readers take a day's
    results together (latest_together), and this order only makes their evidence and notes the same whatever order
    the EHR listed them in. The day first: a day's instant depends on its zone, and a date alone reads as its
    midnight UTC, so a result dated 2026-11-13 is an instant before one at 8 pm on 2026-11-12 in Chicago. Ordered by
    instant, the day before had been the latest, and its result had decided alone."""
    return sorted(results, key=_moment_and_reference)


def _moment_and_reference(result: Result) -> tuple[date, datetime, str]:
    return result.day, result.moment, result.reference


def latest_together(results: Sequence[Result]) -> list[Result]:
    """The results of the latest day of `results` (in time order): one, or several dated alike, and those whose
    partial date may stand for that day or a later one ("2026-11" beside "2026-11-15"): which is the latest is
    unknown, so they are read together, as results of one day are (they decide where they agree).

    A day, not an instant: a result dated without a time reads as its midnight, so a timed result of the same day
    would otherwise decide alone whatever the other said; two assays of one marrow are one point in the disease's
    course (as persistence reads them). Nothing else tells them apart, not even `issued`: a report's release is not
    its specimen's time (a slower assay on the same marrow is issued later without being a later state of the
    disease), and a corrected report is the same Observation amended, or the old one entered in error, which the
    status filter reads."""
    if not results:
        return []
    day = results[-1].day
    # The day's results first (readers take the first's day as the group's), then the partial dates reaching it.
    return [r for r in results if r.day == day] + [r for r in results if r.day < day <= r.last]


def dated(results: Sequence[Result]) -> str:
    """The dates of `latest_together`'s results as the record gives them, for a note: "2026-11-12", or with a partial
    date among them "2026-11-12 or 2026-11"."""
    return " or ".join(dict.fromkeys(as_recorded(r.day, r.last) for r in results))


def named(kind: str, results: Sequence[Result]) -> str:
    """Results asked about in a clinician's words, by their kind and dates ("the MRD result dated 2026-12"): the
    summary says them so, their references left to the detail (model.full_date_request)."""
    return f"the {kind} result{'s' if len(results) > 1 else ''} dated {dated(results)}"


def reconciled(results: list[Result]) -> list[Result]:
    """Of one day's MRD results, those that decide: a measured value every other result allows (0.05% beside "<0.1%",
    a less sensitive assay, or beside a qualitative "detected") decides alone; else all of them do."""
    exact = {r.fraction for r in results if r.fraction is not None and not r.comparator}
    if len(exact) != 1:
        return results
    value = exact.pop()
    if not all(_allows(r, value) for r in results):
        return results
    return [r for r in results if r.fraction == value and not r.comparator]


def _allows(result: Result, value: Decimal) -> bool:
    """Whether `result` is consistent with a measured fraction `value`."""
    if result.fraction is None:
        return result.positive is (value > 0)
    if result.comparator == "<":
        return value < result.fraction
    if result.comparator == ">":
        return value > result.fraction
    low, high = result.bounds()  # "<=" and ">=" take their bound; a value without a comparator, itself alone
    return (low is None or value >= low) and (high is None or value <= high)


def alike(readings: Iterable[bool | None]) -> bool | None:
    """The reading results of one day share; None when they differ (the record cannot say which is current)."""
    found = set(readings)
    return found.pop() if len(found) == 1 else None


def references(results: Iterable[Result]) -> tuple[str, ...]:
    """Each result's reference once: the same Observation listed twice is one piece of evidence."""
    return tuple(dict.fromkeys(r.reference for r in results))


def shown(results: Iterable[Result]) -> str:
    """The results as a note lists them: "0.05%, negative"."""
    return ", ".join(dict.fromkeys(r.shown for r in results))


@dataclass(frozen=True)
class Concurrent(Graded):
    """MRD results of one day that differ (two assays of one marrow): a threshold is decided only where they all
    decide it alike. 0.05% and "not detected" are both below 0.1%; 0.05% and 0.2% leave it unknown."""

    results: tuple[Graded, ...]

    def at_least(self, threshold: Decimal) -> bool | None:
        return alike(r.at_least(threshold) for r in self.results)

    def at_most(self, threshold: Decimal) -> bool | None:
        return alike(r.at_most(threshold) for r in self.results)
