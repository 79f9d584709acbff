"""Two draft blinatumomab orders signed in one call, on the same days, for an 80 kg adult with no height or BSA on
record: one of 9 mcg/day on days 1-7 then 15 mcg/m²/day, the other a pump rate in mL/h whose order names no strength.
The first order alone would be asked for a height (`checks.needs_bsa_only`: from 45 kg the label dose is fixed and
only a BSA reads the per-m² line); beside the other order's unreadable line on its days 1-7, a height would not tell
the daily dose the patient gets there, and asked alone it left the order unknown once documented. So its dose
criterion asks for each dose in mcg/day and its dose card is the unreadable one, without the per-m² correction.
Session 36's mutant C27 (the other orders' part of that check dropped) lived: this kills it."""
from __future__ import annotations

import copy
from typing import Any

from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import drop, example
from tests.test_cycles_signed_together import by_order, criterion, decision
from tests.test_pipeline import post

Json = dict[str, Any]
EXAMPLE = "aspirus-adult-relapsed-refractory-dose-per-m2-too-high"  # 5 then 15 ug/m2/d, 80 kg, 178 cm, 28 vials
PER_M2 = "blinatumomab-order"
PUMP = "pump-order"
DOSE_IN_MCG = "each dosage line's dose written in mcg/day (or mcg/m²/day)"


def _signed_with_a_pump_order() -> Json:
    """The example without its height, its step line written as 9 mcg/day (a readable line on days 1-7, 21 vials),
    and a second draft order of 10 mL/h on the same days 1-7 naming no Medication with a strength (7 vials)."""
    body = example(EXAMPLE)
    drop(body, "observations", "height-1")
    [entry] = body["context"]["draftOrders"]["entry"]
    order = entry["resource"]
    order["dispenseRequest"]["quantity"]["value"] = 21
    step = order["dosageInstruction"][0]
    step["doseAndRate"][0]["rateQuantity"].update(value=9, unit="ug/d", code="ug/d")
    step["text"] = "9 ug/d continuous IV infusion"
    pump = copy.deepcopy(order)
    pump["id"] = PUMP
    pump["dispenseRequest"]["quantity"]["value"] = 7
    line = pump["dosageInstruction"][0]
    line["doseAndRate"] = [{"rateQuantity": {"value": 10, "unit": "mL/h", "system": "http://unitsofmeasure.org",
                                             "code": "mL/h"}}]
    line["text"] = "10 mL/h continuous IV infusion"
    pump["dosageInstruction"] = [line]
    body["context"]["draftOrders"]["entry"].append({"resource": pump})
    return body


def test_a_per_m2_order_beside_another_orders_unreadable_dose_asks_for_the_doses(client: LiveClient) -> None:
    cards = by_order(post(client, _signed_with_a_pump_order()))[PER_M2]
    found = decision(cards)
    assert found["decision"] == "information-needed"
    assert found["missing"] == [DOSE_IN_MCG]  # not "height (within 12 months) or BSA (within 30 days)"
    note = criterion(found, ".dose-schedule")["note"]
    assert f"order {PUMP} line 1: volume (mL/h) without a concentration" in note
    assert "from 45 kg the label dose is a fixed dose" not in note
    [dose] = [card for card in cards if card["extension"]["card-kind"] == "dose"]
    assert dose["summary"].startswith("Dose not checked: dosage line 2 could not be read")
    assert "suggestions" not in dose or not dose["suggestions"]


def test_alone_the_same_order_is_asked_for_a_height(client: LiveClient) -> None:
    """The control: without the pump order, the per-m² line is all that is missing, and a height reads it."""
    body = _signed_with_a_pump_order()
    del body["context"]["draftOrders"]["entry"][1]
    found = decision(by_order(post(client, body))[PER_M2])
    assert found["missing"] == ["height (within 12 months) or BSA (within 30 days)"]
