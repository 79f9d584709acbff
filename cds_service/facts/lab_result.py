"""One lab result as read: the row every lab fact is a query over (fhir-data-profile.md §Labs).

The MRD, Ph and CD19 readers (labs.py, ph.py, cd19.py) each read an Observation into a `Result`; the facts (labs.py,
ph.py) are queries over those rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from cds_service.facts.model import Measured

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
    day: date = field(init=False, repr=False, compare=False)  # the moment's calendar day, what the facts compare

    def __init__(self, moment: datetime, reference: str, positive: bool | None = None,
                 fraction: Decimal | None = None, comparator: str = "", shown: str = "", absent: bool = False) -> None:
        # The fields above, set as the frozen dataclass's own __init__ would, but without its object.__setattr__
        # call per field (as Fact does); the day is taken once here, not on each of the dozen or so times the lab
        # facts compare it.
        fields = self.__dict__
        fields["moment"], fields["reference"], fields["positive"] = moment, reference, positive
        fields["fraction"], fields["comparator"], fields["shown"] = fraction, comparator, shown
        fields["absent"], fields["day"] = absent, moment.date()

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


def by_moment(result: Result) -> datetime:
    return result.moment
