"""Aspirus II counts 28 vials per 42-day cycle in cycles 1-5 and per 84-day cycle from cycle 6 on, a longer expected
supply allowing proportionally more. With the cycle number not known, the quantity was read against the 42-day
window alone: 40 vials for an 84-day supply met it (56 allowed), though from cycle 6 on only 28 are. The criterion
is then unknown, asking for the cycle number, never "met" on a guess (policy-rules.md §1 and §2); a quantity over
even the first window is not met whatever the cycle, and one within both is met."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import example
from tests.test_cycles_signed_together import by_order, decision
from tests.test_pipeline import post

Json = dict[str, Any]
EXAMPLE = "aspirus-adult-relapsed-refractory-cycle1"


def _quantity(client: LiveClient, vials: int, supply_days: int, number_known: bool) -> Json:
    """The example's quantity criterion with `vials` for `supply_days`; without `number_known`, an earlier order
    whose drug is not identified (it may be a prior cycle) leaves the cycle number unknown."""
    body = example(EXAMPLE)
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    draft["dispenseRequest"]["quantity"]["value"] = vials
    draft["dispenseRequest"]["expectedSupplyDuration"]["value"] = supply_days
    if not number_known:
        earlier = copy.deepcopy(draft) | {"id": "unidentified", "status": "completed"}
        del earlier["medicationCodeableConcept"]
        earlier["medicationReference"] = {"reference": "Medication/not-sent"}
        earlier["dosageInstruction"] = earlier["dosageInstruction"][1:]
        earlier["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-06-01",
                                                                              "end": "2026-06-28"}
        body["prefetch"]["medicationRequests"]["entry"].append({"resource": earlier})
        body["prefetch"]["medicationRequests"]["total"] = 1
    found = decision(by_order(post(client, body))["blinatumomab-order"])
    [criterion] = [c for c in found["criteria"] if c["id"] == "quantity"]
    return criterion | {"missing_of_decision": found.get("missing", [])}


def test_a_quantity_within_the_first_window_only_asks_for_the_cycle_number(client: LiveClient) -> None:
    criterion = _quantity(client, 40, 84, number_known=False)
    assert criterion["status"] == "unknown"
    assert criterion["note"] == ("40 vials (1400 mcg), supply 84 days; limit 980 mcg per 42 days (1960 mcg for 84 "
                                 "days); from cycle 6 on, limit 980 mcg per 84 days: above it if this is cycle 6 "
                                 "or later")
    assert criterion["missing_of_decision"].count("cycle number of this order") == 1


@pytest.mark.parametrize(("vials", "supply", "known", "status"), [
    (40, 84, True, "met"),  # cycle 1: 56 vials for 84 days
    (28, 84, False, "met"),  # within the limit of any cycle
    (57, 84, False, "not-met"),  # over even cycle 1's
    (29, 42, False, "not-met"),
])
def test_other_quantities_keep_their_verdict(client: LiveClient, vials: int, supply: int, known: bool,
                                            status: str) -> None:
    assert _quantity(client, vials, supply, known)["status"] == status
