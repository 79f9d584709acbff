"""Mutation guards (session 37) for the quantity criterion's expected supply as written when it is not read in days
(dosing/quantity.py `_written`, `check_quantity`): a supply without a value is said "no value", a unit that is no
unit is cut to CACHED_UNIT_LENGTH characters and marked "…", and an empty expectedSupplyDuration is no supply stated
(not met over 28 vials), never a supply to ask for. With the cycle number unknown, a cycle above the window of
cycle 6 on beside a supply not read asks for the cycle number (checks.py `_over_if_continued`), never "met"."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from cds_service.facts.quantities import CACHED_UNIT_LENGTH
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import UCUM, example
from tests.test_cycles_signed_together import by_order, decision
from tests.test_pipeline import post
from tests.test_s37_dosing_quantity_supply import MONTHS, _answer

Json = dict[str, Any]

ABOVE = "; limit 980 mcg per 42 days: above it, and a supply longer than 42 days allows proportionally more"


def test_a_supply_without_a_value_is_said_so(client: LiveClient) -> None:
    supply = {"unit": "d", "system": UCUM, "code": "d"}
    criterion, _ = _answer(client, 40, supply)
    assert criterion["note"] == f"40 vials (1400 mcg), supply no value d (not read in days){ABOVE}"


@pytest.mark.parametrize(("length", "shown"), [
    (CACHED_UNIT_LENGTH, "u" * CACHED_UNIT_LENGTH),  # at the limit: whole
    (CACHED_UNIT_LENGTH + 1, "u" * CACHED_UNIT_LENGTH + "…"),  # past it: cut, and said to be cut
])
def test_a_long_unit_is_cut_at_the_cached_length(client: LiveClient, length: int, shown: str) -> None:
    criterion, _ = _answer(client, 40, {"value": 2, "unit": "u" * length})
    assert criterion["note"] == f"40 vials (1400 mcg), supply 2 {shown} (not read in days){ABOVE}"


def test_an_empty_supply_is_no_supply_stated(client: LiveClient) -> None:
    """{} states nothing: the 42-day window decides, 40 vials are over it (not met), no supply asked for."""
    criterion, _ = _answer(client, 40, {})
    assert criterion["status"] == "not-met"
    assert criterion["note"] == "40 vials (1400 mcg), supply not stated; limit 980 mcg per 42 days"
    assert criterion["decision"].get("missing", []) == []


def test_a_cycle_over_the_continued_window_beside_a_supply_not_read_asks_for_the_cycle_number(
        client: LiveClient) -> None:
    """Aspirus II with the cycle number unknown: two orders of one cycle, 20 vials for 60 days and 15 for "2 mo".
    Within the first window (1400 mcg for 60 days), 35 vials are above the 84-day window of cycle 6 on (28 vials for
    any supply up to 84 days): the criterion is unknown, asking for the cycle number, not met on a guess."""
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    entries = body["context"]["draftOrders"]["entry"]
    first = entries[0]["resource"]
    second = copy.deepcopy(first) | {"id": "blinatumomab-order-2"}
    lines = first["dosageInstruction"]
    first["dosageInstruction"], second["dosageInstruction"] = lines[:1], lines[1:]
    first["dispenseRequest"] |= {"quantity": first["dispenseRequest"]["quantity"] | {"value": 20},
                                 "expectedSupplyDuration": {"value": 60, "unit": "days", "system": UCUM, "code": "d"}}
    second["dispenseRequest"] |= {"quantity": second["dispenseRequest"]["quantity"] | {"value": 15},
                                  "expectedSupplyDuration": MONTHS}
    entries.append({"resource": second})
    unidentified(body, first)
    found = decision(by_order(post(client, body))["blinatumomab-order"])
    [criterion] = [c for c in found["criteria"] if c["id"] == "quantity"]
    assert criterion["status"] == "unknown"
    assert criterion["note"].endswith("from cycle 6 on, limit 980 mcg per 84 days: above it if this is cycle 6 or "
                                      "later")
    assert "cycle number of this order" in found["missing"]


def unidentified(body: Json, draft: Json) -> None:
    """An earlier order like `draft` whose drug is not identified (it may be a prior cycle): the cycle number is then
    not known (as test_s37_dosing_quantity_window does)."""
    earlier = copy.deepcopy(draft) | {"id": "unidentified", "status": "completed"}
    del earlier["medicationCodeableConcept"]
    earlier["medicationReference"] = {"reference": "Medication/not-sent"}
    earlier["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-06-01", "end": "2026-06-28"}
    body["prefetch"]["medicationRequests"]["entry"].append({"resource": earlier})
    body["prefetch"]["medicationRequests"]["total"] = 1
