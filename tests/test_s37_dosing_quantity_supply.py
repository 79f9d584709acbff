"""Aspirus II: a longer expected supply duration allows proportionally more than 28 vials per 42 days. A supply
stated in a unit not read as days (UCUM `mo`: a month has no fixed length; an unknown unit; no value) had been read
as "supply not stated": 40 vials for 2 months were denied against 42 days, with a card cutting them to 28. Above the
42-day limit such a quantity is unknown, asking for the supply in days (missing data is never a denial,
policy-rules.md §1); within it, met; without a supply, over it is not met as before."""
from __future__ import annotations

from typing import Any

import pytest

from cds_service.card_kinds import kind_of
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import example
from tests.test_pipeline import post

Json = dict[str, Any]
MONTHS = {"value": 2, "unit": "mo", "system": "http://unitsofmeasure.org", "code": "mo"}


def _answer(client: LiveClient, vials: int, supply: Json | None) -> tuple[Json, list[str]]:
    """The quantity criterion of the example's decision for `vials` and an expected supply duration of `supply`
    (None: none), and the kinds of the cards."""
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    dispense = body["context"]["draftOrders"]["entry"][0]["resource"]["dispenseRequest"]
    dispense["quantity"]["value"] = vials
    if supply is None:
        del dispense["expectedSupplyDuration"]
    else:
        dispense["expectedSupplyDuration"] = supply
    cards = post(client, body)["cards"]
    [decision] = [c["extension"]["coverage-decision"] for c in cards if kind_of(c) == "decision"]
    [criterion] = [c for c in decision["criteria"] if c["id"] == "quantity"]
    return criterion | {"decision": decision}, [kind_of(c) for c in cards]


def test_a_supply_in_months_above_the_42_day_limit_asks_for_the_supply_in_days(client: LiveClient) -> None:
    criterion, kinds = _answer(client, 40, MONTHS)
    assert criterion["status"] == "unknown"
    assert criterion["note"] == ("40 vials (1400 mcg), supply 2 mo (not read in days); limit 980 mcg per 42 days: "
                                 "above it, and a supply longer than 42 days allows proportionally more")
    assert criterion["decision"]["decision"] == "information-needed"
    assert criterion["decision"]["missing"] == ["expected supply duration in days"]
    assert "quantity-limit" not in kinds  # no card cutting the quantity to 28 vials on a guess


@pytest.mark.parametrize(("vials", "supply", "status"), [
    (28, MONTHS, "met"),  # within the limit of any supply
    (40, {"value": 60, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}, "met"),
    (40, {"unit": "d", "system": "http://unitsofmeasure.org", "code": "d"}, "unknown"),  # no value
    (40, {"value": 6, "unit": "fortnights"}, "unknown"),
    (40, None, "not-met"),  # no supply stated: the 42-day window
])
def test_other_supplies(client: LiveClient, vials: int, supply: Json | None, status: str) -> None:
    assert _answer(client, vials, supply)[0]["status"] == status
