"""Review: a BCR::ABL1 negative of one breakpoint whose partial date may be after the course start ("2026-12" for a
course from Dec 1), beside a negative of the other breakpoint, would show Ph- if dated by the start: the status is
unknown and the card asks for its full date (ph._late_negatives), as for a test covering both. It had been unknown
with "no Ph test covering both breakpoints", asking for a test the record holds. Alone, it asks for nothing."""
from __future__ import annotations

from datetime import date, datetime, timezone

from cds_service.facts.attestations import Attestations
from cds_service.facts.lab_result import Result
from cds_service.facts.ph import ph_status

START = date(2026, 12, 1)


def _negative(reference: str, day: date, last: date | None = None) -> Result:
    return Result(datetime(day.year, day.month, day.day, tzinfo=timezone.utc), reference, positive=False, last=last)


def _status(major: list[Result], minor: list[Result]) -> tuple[bool | None, str]:
    results = {"ph": [*major, *minor], "ph-both": [], "ph-major": major, "ph-minor": minor}
    fact = ph_status(results, START, True, Attestations())
    return fact.value, fact.missing


def test_a_late_breakpoint_beside_the_other_asks_for_its_full_date() -> None:
    major = [_negative("Observation/major", date(2026, 11, 2))]
    minor = [_negative("Observation/minor", date(2026, 12, 1), date(2026, 12, 31))]
    assert _status(major, minor) == (None, "the full date of the Ph result dated 2026-12 (Observation/minor)")


def test_both_breakpoints_dated_by_the_start_show_ph_negative() -> None:
    major = [_negative("Observation/major", date(2026, 11, 2))]
    minor = [_negative("Observation/minor", date(2026, 11, 1), date(2026, 11, 30))]
    assert _status(major, minor)[0] is False


def test_a_late_breakpoint_alone_asks_for_no_date() -> None:
    minor = [_negative("Observation/minor", date(2026, 12, 1), date(2026, 12, 31))]
    assert _status([], minor) == (None, "")
