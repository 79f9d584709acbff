"""Mutation guards (session 37) for the quantity criterion's expected supply as written when it is not read in days
(dosing/quantity.py `_written`, `check_quantity`): a supply without a value is said "no value", a unit that is no
unit is cut to CACHED_UNIT_LENGTH characters and marked "…", and an empty expectedSupplyDuration is no supply stated
(not met over 28 vials), never a supply to ask for."""
from __future__ import annotations

import pytest

from cds_service.facts.quantities import CACHED_UNIT_LENGTH
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import UCUM
from tests.test_s37_dosing_quantity_supply import _answer

ABOVE = "; limit 980 mcg per 42 days: above it, and a supply longer than 42 days allows proportionally more"


def test_a_supply_without_a_value_is_said_so(client: LiveClient) -> None:
    supply = {"unit": "d", "system": UCUM, "code": "d"}
    criterion, _ = _answer(client, 40, supply)
    assert criterion["note"] == f"1400 mcg (40 vials), supply no value d (not read in days){ABOVE}"


@pytest.mark.parametrize(("length", "shown"), [
    (CACHED_UNIT_LENGTH, "u" * CACHED_UNIT_LENGTH),  # at the limit: whole
    (CACHED_UNIT_LENGTH + 1, "u" * CACHED_UNIT_LENGTH + "…"),  # past it: cut, and said to be cut
])
def test_a_long_unit_is_cut_at_the_cached_length(client: LiveClient, length: int, shown: str) -> None:
    criterion, _ = _answer(client, 40, {"value": 2, "unit": "u" * length})
    assert criterion["note"] == f"1400 mcg (40 vials), supply 2 {shown} (not read in days){ABOVE}"


def test_an_empty_supply_is_no_supply_stated(client: LiveClient) -> None:
    """{} states nothing: the 42-day window decides, 40 vials are over it (not met), no supply asked for."""
    criterion, _ = _answer(client, 40, {})
    assert criterion["status"] == "not-met"
    assert criterion["note"] == "1400 mcg (40 vials), supply not stated; limit 980 mcg per 42 days"
    assert criterion["decision"].get("missing", []) == []

