"""Clinical cases for the one-click split of an order spanning two cycles (docs/dosing.md, "One order, several
cycles"): the cases a mutation test of cds_service/dosing/split.py found unpinned."""
from __future__ import annotations

from typing import Any

from tests.test_order_spans_cycles import EXAMPLE, spanning, split_of
from tests.test_pipeline import post


def test_the_new_cycles_order_takes_neither_the_narrative_nor_the_metadata_of_the_order(client: Any) -> None:
    """Cycle 2's new draft order: the narrative and metadata describe the order it is split from, not it. The order
    kept keeps its metadata; its generated narrative, which said "2 cycles", goes (orders33: the EHR regenerates it)."""
    body = spanning()
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["text"] = {"status": "generated", "div": "<div>blinatumomab 28 mcg/day, 2 cycles</div>"}
    order["meta"] = {"versionId": "3"}
    kept, new = (a["resource"] for a in split_of(post(client, body))["suggestions"][0]["actions"])
    assert ("text" in kept, kept["meta"]) == (False, order["meta"])
    assert "text" not in new and "meta" not in new


def test_quantities_split_by_each_cycles_days_say_nothing_was_left(client: Any) -> None:
    """56 vials over two 28-day cycles: 28 each, and no 'Quantity not split' sentence."""
    card = split_of(post(client, spanning()))
    assert [a["resource"]["dispenseRequest"]["quantity"]["value"] for a in card["suggestions"][0]["actions"]] == [
        28, 28]
    assert "Quantity not split" not in card["detail"]


def test_a_later_cycle_of_two_lines_runs_from_its_first_lines_start_to_its_last_lines_end(client: Any) -> None:
    """Cycle 2 written as two 14-day lines: its new order runs 2027-01-12 to 2027-02-08, and each line's text
    states its own days in that order (days 43-56 are its days 1-14, days 57-70 its days 15-28)."""
    body = spanning(EXAMPLE, 56, ("2027-01-12", "2027-01-25"), ("2027-01-26", "2027-02-08"))
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    for line, days in zip(order["dosageInstruction"], ("1-28", "43-56", "57-70")):
        line["text"] = f"28 mcg/day continuous IV infusion days {days}"
    card = split_of(post(client, body))
    create = card["suggestions"][0]["actions"][1]
    assert create["description"].startswith("Create a draft order for cycle 2 (2027-01-12 to 2027-02-08)")
    assert [line["text"] for line in create["resource"]["dosageInstruction"]] == [
        "28 mcg/day continuous IV infusion days 1–14", "28 mcg/day continuous IV infusion days 15–28"]


def test_an_order_without_a_dispense_request_is_split_without_one(client: Any) -> None:
    body = spanning(quantity=None)
    del body["context"]["draftOrders"]["entry"][0]["resource"]["dispenseRequest"]
    actions = split_of(post(client, body))["suggestions"][0]["actions"]
    assert [("dispenseRequest" in a["resource"], a["type"]) for a in actions] == [(False, "update"), (False, "create")]


def test_the_new_cycles_order_is_a_draft_whatever_the_orders_status(client: Any) -> None:
    """An EHR sending the order as active: the order created for cycle 2 is still a draft for the clinician to sign."""
    body = spanning()
    body["context"]["draftOrders"]["entry"][0]["resource"]["status"] = "active"
    kept, new = (a["resource"] for a in split_of(post(client, body))["suggestions"][0]["actions"])
    assert (kept["status"], new["status"]) == ("active", "draft")
