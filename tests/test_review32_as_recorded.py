"""Review: codes.as_recorded, the one writing of a date as recorded that lab notes (lab_result.dated) and toxicity
events (toxicity._event) share: a day, or the month or year a partial date names, never its first day."""
from __future__ import annotations

from datetime import date

import pytest

from cds_service.facts.codes import as_recorded, last_day_named, parse_date


@pytest.mark.parametrize(("value", "shown"), [("2026-11-12", "2026-11-12"), ("2026-02", "2026-02"),
                                              ("2026-12", "2026-12"), ("2026", "2026"), ("2028-02", "2028-02")])
def test_a_date_is_shown_as_it_was_recorded(value: str, shown: str) -> None:
    first = parse_date(value)
    assert first is not None
    assert as_recorded(first, last_day_named(first, value)) == shown


def test_a_range_within_one_month_is_that_month_and_across_months_the_year() -> None:
    assert as_recorded(date(2026, 3, 1), date(2026, 3, 31)) == "2026-03"
    assert as_recorded(date(2026, 1, 1), date(2026, 12, 31)) == "2026"
