"""Edges of the shared FHIR readers of facts/codes.py (hyphenated NDCs, absurd numbers, the dates a reader may use),
each a mutant of the module that the other tests let live."""
from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal

import pytest

from cds_service.facts.codes import (NDC, add_months, normalize_code, parse_date, parse_end_date, readable_date,
                                     to_decimal)


@pytest.mark.parametrize(("written", "eleven"), [
    ("0069-1234-01", "00069123401"),  # 4-4-2: the labeler padded to five digits
    ("55513-160-01", "55513016001"),  # 5-3-2: the product to four
    ("55513-0160-1", "55513016001"),  # 5-4-1: the package to two
])
def test_a_hyphenated_ndc_is_padded_to_the_eleven_digit_5_4_2_form(written: str, eleven: str) -> None:
    assert normalize_code(NDC, written) == eleven


@pytest.mark.parametrize(("raw", "read"), [
    (10 ** 12 - 1, Decimal(10 ** 12 - 1)),
    (-(10 ** 12 - 1), Decimal(-(10 ** 12 - 1))),
    (10 ** 12, None),  # no dose, time or lab value comes near it: absurd, not read
    ("1e12", None),
])
def test_a_number_is_read_below_a_million_millions_only(raw: object, read: Decimal | None) -> None:
    assert to_decimal(raw) == read


@pytest.mark.parametrize("value", [
    "2026-11-1",  # nine characters: neither a month nor a full date
    "202\u0663-11",  # a non-ASCII digit in the year (int() would read it)
    "202\u0663",
])
def test_a_date_not_laid_out_as_fhir_writes_one_is_unreadable(value: str) -> None:
    assert parse_date(value) is None
    assert not readable_date(value)


@pytest.mark.parametrize(("value", "read"), [
    ("1800-01-01", date(1800, 1, 1)),
    ("1799-12-31", None),  # a placeholder or a typing error, never a clinical date
    ("2200-12-31", date(2200, 12, 31)),
    ("2201-01-01", None),
])
def test_the_years_a_clinical_date_may_have_run_from_1800_to_2200(value: str, read: date | None) -> None:
    assert parse_date(value) == read


@pytest.mark.parametrize("month", range(1, 13))
def test_a_month_recorded_alone_runs_to_its_last_day(month: int) -> None:
    """A Period ending "2026-04" covers April 30 (a Coverage in force that day, a boundsPeriod's last infusion)."""
    last = calendar.monthrange(2026, month)[1]
    assert parse_end_date(f"2026-{month:02d}") == date(2026, month, last)
    assert add_months(date(2026, 1, 31), month - 1) == date(2026, month, last)  # Jan 31 + n months: the month's end


def test_february_of_a_leap_year_runs_to_the_29th() -> None:
    assert parse_end_date("2028-02") == date(2028, 2, 29)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
