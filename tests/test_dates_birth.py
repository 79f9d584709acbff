"""A partial birthDate of the order's month or year (facts/extract.py `read_birth`): the patient was born by the
order's start, so the days of the partial date after it are not the patient's. "2026-12" for an order starting on
Dec 1 is a newborn (0 months old), not a birth "after the order's start" left unknown.

The order is Aspirus infant ALL with an Interfant regimen, starting 2026-12-01; the pediatric ages run from 1 month.
"""
from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient

from cds_service.facts.extract import read_birth
from cds_service.facts.model import AgeRange
from tests.dates_support import answer, covered, example, service, summaries  # noqa: F401

START = date(2026, 12, 1)


@pytest.mark.parametrize(("born", "expected", "said"), [
    ("2026-12", "not-covered", "born 2026-12: 0 months old"),  # was conditional: "after the order's start"
    ("2026-11", "conditional", "date of birth"),  # 0 or 1 month old: the 1-month boundary is unknown
    ("2026-12-01", "not-covered", "born 2026-12-01"),  # 0 days old
    ("2026-12-02", "conditional", "date of birth"),  # after the order's start: no age
])
def test_a_newborns_partial_birth_date_gives_the_ages_it_allows(service: FlaskClient, born: str, expected: str,
                                                                said: str) -> None:
    request = example("aspirus-infant-interfant")
    request["prefetch"]["patient"]["birthDate"] = born
    found = answer(service, request)
    assert covered(found) == expected, summaries(found)
    assert said in summaries(found)


@pytest.mark.parametrize(("born", "months", "note"), [
    ("2026-12", AgeRange(0, 0), "born 2026-12: 0 months old"),
    ("2026", AgeRange(0, 11), "born 2026: 0 to 11 months old"),
    ("2026-11", AgeRange(0, 1), "born 2026-11: 0 or 1 months old"),
    ("2026-10", AgeRange(1, 2), "born 2026-10: 1 or 2 months old"),
    ("2025-12", AgeRange(11, 12), "born 2025-12: 0 or 1 years old"),
    ("1980", AgeRange(551, 563), "born 1980: 45 or 46 years old"),
])
def test_the_ages_of_a_partial_birth_date_are_said_in_the_unit_the_boundaries_read(born: str, months: AgeRange,
                                                                                   note: str) -> None:
    birth = read_birth({"resourceType": "Patient", "id": "p", "birthDate": born}, START)
    assert birth.months.value == months and birth.years.note == note


def test_a_birth_date_after_the_start_gives_no_age() -> None:
    for born in ("2026-12-02", "2027", "2027-01"):
        birth = read_birth({"resourceType": "Patient", "id": "p", "birthDate": born}, START)
        assert birth.years.value is None and birth.years.note == f"born {born}: after the order's start"
