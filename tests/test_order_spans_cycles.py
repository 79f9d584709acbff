"""One order whose dosage lines fall in two cycles or more (dosing/span.py): told by the rule of facts/course.py, and
a decision that asks for one order per cycle rather than denying the quantity."""
from __future__ import annotations

import copy
from typing import Any

from cds_service.dosing.reading import read_order_doses
from cds_service.dosing.span import MISSING_PER_CYCLE, cycle_parts
from cds_service.facts.order import recorded_start
from tests.test_cycles_signed_together import by_order, criterion, decision
from tests.test_pipeline import covered_value, example, post

EXAMPLE = "aspirus-adult-consolidation-mrd-positive"  # 28 mcg/day 2026-12-01..28, 28 vials, adult, Aspirus
CYCLE_2 = ("2027-01-12", "2027-02-08")  # after cycle 1's 28 days and 14 days off
CYCLE_3 = ("2027-02-23", "2027-03-22")
UCUM = "http://unitsofmeasure.org"


# Detection, by the cycle rule of facts/course.py


def _line(start: str | None, end: str | None, sequence: int) -> dict[str, Any]:
    timing = {"repeat": {"boundsPeriod": {"start": start, "end": end}}} if start else {}
    return {"sequence": sequence, "timing": timing,
            "doseAndRate": [{"rateQuantity": {"value": 28, "unit": "ug/d", "system": UCUM, "code": "ug/d"}}]}


def parts(*periods: tuple[str | None, str | None]) -> list[tuple[list[int], str, str]]:
    """The cycles of one order with a 28 mcg/day line a period: each as (its line indices, first day, last day)."""
    order = {"resourceType": "MedicationRequest", "authoredOn": "2026-11-20",
             "dosageInstruction": [_line(start, end, index + 1) for index, (start, end) in enumerate(periods)]}
    start = recorded_start(order)
    assert start is not None
    return [([line.index for line in part.lines], part.first.isoformat(), part.last.isoformat())
            for part in cycle_parts(read_order_doses(order, None), start, 0)]


def test_lines_14_days_apart_after_28_infusion_days_are_two_cycles() -> None:
    assert parts(("2026-12-01", "2026-12-28"), CYCLE_2) == [([0], "2026-12-01", "2026-12-28"),
                                                           ([1], *CYCLE_2)]


def test_a_line_starting_7_days_after_the_last_infusion_day_continues_the_cycle() -> None:
    """course.MAX_GAP: 14 infusion days, then a line starting 7 days after the last of them (same cycle), or 8."""
    assert parts(("2026-12-01", "2026-12-14"), ("2026-12-21", "2027-01-03")) == []
    assert parts(("2026-12-01", "2026-12-14"), ("2026-12-22", "2027-01-04")) == [
        ([0], "2026-12-01", "2026-12-14"), ([1], "2026-12-22", "2027-01-04")]


def test_a_line_starting_once_28_infusion_days_are_given_begins_the_next_cycle() -> None:
    assert parts(("2026-12-01", "2026-12-28"), ("2026-12-29", "2027-01-04")) == [
        ([0], "2026-12-01", "2026-12-28"), ([1], "2026-12-29", "2027-01-04")]


def test_lines_stating_no_dates_are_one_cycle() -> None:
    assert parts((None, None), (None, None)) == []
    assert parts(("2026-12-01", "2026-12-07"), ("2026-12-08", None)) == []  # runs to day 28


def test_three_cycles() -> None:
    assert [lines for lines, _, _ in parts(("2026-12-01", "2026-12-28"), CYCLE_2, CYCLE_3)] == [[0], [1], [2]]


def test_lines_running_together_in_a_later_cycle_are_its_lines_and_unread_days_are_in_none() -> None:
    assert parts(("2026-12-01", "2026-12-28"), CYCLE_2, CYCLE_2) == [([0], "2026-12-01", "2026-12-28"),
                                                                    ([1, 2], *CYCLE_2)]
    # Its end before its start: the line is placed nowhere.
    assert [lines for lines, _, _ in parts(("2026-12-01", "2026-12-28"), CYCLE_2, ("2027-03-01", "2027-02-01"))] == [
        [0], [1]]


# The decision before the split


def spanning(name: str = EXAMPLE, quantity: float | None = 56, *periods: tuple[str, str]) -> dict[str, Any]:
    """The example's order with a copy of its last line for each of `periods` (default: cycle 2), its dispense
    quantity `quantity` (None: none) and a requester."""
    body = example(name)
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    for start, end in periods or (CYCLE_2,):
        line = copy.deepcopy(order["dosageInstruction"][-1])
        line["sequence"] += 1
        line["timing"]["repeat"]["boundsPeriod"] = {"start": start, "end": end}
        order["dosageInstruction"].append(line)
    if quantity is None:
        del order["dispenseRequest"]["quantity"]
    else:
        order["dispenseRequest"]["quantity"]["value"] = quantity
    order["requester"] = {"reference": "Practitioner/prescriber-1"}
    order["identifier"] = [{"system": "urn:example:orders", "value": "ord-1"}]
    return body


def test_aspirus_asks_for_one_order_per_cycle_rather_than_denying_the_quantity(client: Any) -> None:
    """The reported defect: "not covered as ordered ... more than 28 vials per cycle", and a quantity card without a
    correction, hid the real problem."""
    answer = post(client, spanning())
    found = decision(answer["cards"])
    assert found["decision"] == "information-needed" and found["missing"] == [MISSING_PER_CYCLE]
    quantity = criterion(found, "quantity")
    assert quantity["status"] == "unknown" and "fall in 2 cycles" in quantity["note"]
    assert answer["cards"][0]["summary"] == (
        "Aspirus Health Plan: document quantity per cycle (one order per cycle) to confirm coverage")
    assert not [c for c in answer["cards"] if c["summary"].startswith("Quantity above")]
    assert [covered_value(a) for a in answer["systemActions"]] == ["conditional"]


def test_a_quantity_within_the_limit_is_not_judged_either(client: Any) -> None:
    """28 vials for two cycles' 56 days: the order's quantity is no cycle's quantity."""
    found = decision(post(client, spanning(quantity=28))["cards"])
    assert (found["decision"], criterion(found, "quantity")["status"]) == ("information-needed", "unknown")


def test_an_order_signed_in_the_spanning_orders_cycle_has_its_quantity_unknown_too(client: Any) -> None:
    body = spanning()
    other = copy.deepcopy(body["context"]["draftOrders"]["entry"][0])
    other["resource"]["id"] = "other-order"
    other["resource"]["dosageInstruction"] = other["resource"]["dosageInstruction"][:1]
    body["context"]["draftOrders"]["entry"].append(other)
    cards = by_order(post(client, body))
    quantity = criterion(decision(cards["other-order"]), "quantity")
    assert quantity["status"] == "unknown" and "an order of this cycle also holds" in quantity["note"]


def test_a_real_denial_is_still_said(client: Any) -> None:
    body = spanning()
    line = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][1]
    line["doseAndRate"][0]["rateQuantity"]["value"] = 40
    found = decision(post(client, body)["cards"])
    assert found["decision"] == "criteria-not-met"
    assert criterion(found, "dose-schedule")["status"] == "not-met"


def test_florida_blue_without_a_quantity_limit_keeps_its_decision(client: Any) -> None:
    answer = post(client, spanning("florida-blue-consolidation"))
    assert decision(answer["cards"])["decision"] == "meets-criteria"
