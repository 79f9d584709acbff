"""One order whose dosage lines fall in two cycles or more (dosing/span.py, split.py, split_card.py): told by the
rule of facts/course.py, a warning with a one-click split into one order per cycle, a decision that asks for one order
per cycle rather than denying the quantity, and, once split, the path of cycles signed together."""
from __future__ import annotations

import copy
import uuid
from datetime import date
from typing import Any

from flask import Flask

from cds_service.card_kinds import kind_of
from cds_service.dosing.cycle_end import cycle_infusion_days, cycle_stretches
from cds_service.dosing.reading import DoseLine, read_order_doses
from cds_service.dosing.span import MISSING_PER_CYCLE, cycle_parts
from cds_service.facts.order import recorded_start
from tests.test_dosing_concentration import bag, strength
from tests.test_cycles_signed_together import by_order, criterion, decision, with_weight_on
from tests.test_label_safety import _with_crs4
from tests.test_pipeline import CRD_COVERAGE, covered_value, example, post

EXAMPLE = "aspirus-adult-consolidation-mrd-positive"  # 28 mcg/day 2026-12-01..28, 28 vials, adult, Aspirus
CYCLE_2 = ("2027-01-12", "2027-02-08")  # after cycle 1's 28 days and 14 days off
CYCLE_3 = ("2027-02-23", "2027-03-22")
SPLIT = "order-per-cycle"  # the split card's kind
UCUM = "http://unitsofmeasure.org"


# Detection, by where the days card cuts the cycle's infusion days (cycle_end.cycle_stretches)


def _line(start: str | None, end: str | None, sequence: int) -> dict[str, Any]:
    timing = {"repeat": {"boundsPeriod": {"start": start, "end": end}}} if start else {}
    return {"sequence": sequence, "timing": timing,
            "doseAndRate": [{"rateQuantity": {"value": 28, "unit": "ug/d", "system": UCUM, "code": "ug/d"}}]}


def parts(*periods: tuple[str | None, str | None]) -> list[tuple[list[int], str]]:
    """The cycles of one order with a 28 mcg/day line a period: each as (its line indices, its first day)."""
    order = {"resourceType": "MedicationRequest", "authoredOn": "2026-11-20",
             "dosageInstruction": [_line(start, end, index + 1) for index, (start, end) in enumerate(periods)]}
    start = recorded_start(order)
    assert start is not None
    return [([line.index for line in part.lines], part.first.isoformat())
            for part in split_parts(read_order_doses(order, None), start, 0)]


def split_parts(lines: list[DoseLine], start: date, days_before: int,
                *others: list[DoseLine]) -> list[Any]:
    """`cycle_parts` of an order's `lines` beside the lines of the cycle's `others` orders, cut as CycleLines cuts."""
    stretches = cycle_stretches(cycle_infusion_days([lines, *others]), days_before, None)  # cycle 1 or unknown
    return cycle_parts(lines, stretches, start, days_before)


def test_lines_14_days_apart_after_28_infusion_days_are_two_cycles() -> None:
    assert parts(("2026-12-01", "2026-12-28"), CYCLE_2) == [([0], "2026-12-01"), ([1], CYCLE_2[0])]


def test_a_line_after_7_days_without_infusion_continues_the_cycle() -> None:
    """course.MAX_INTERRUPTION: 14 infusion days, then a line after 7 days without infusion (same cycle), or 8."""
    assert parts(("2026-12-01", "2026-12-14"), ("2026-12-22", "2027-01-04")) == []
    assert parts(("2026-12-01", "2026-12-14"), ("2026-12-23", "2027-01-05")) == [([0], "2026-12-01"),
                                                                                ([1], "2026-12-23")]


def test_after_28_infusion_days_a_line_within_the_14_days_without_infusion_continues_the_cycle() -> None:
    """Its days are past the 28th infusion day (the days card's), not a cycle to split off after a short rest: 13
    days without infusion (a start on 2027-01-11) are one cycle, 14 (2027-01-12) two; the day after, 8 days off
    (more than 7: the restart of an interrupted cycle), are one cycle too."""
    for later in (("2026-12-29", "2027-01-04"), ("2027-01-06", "2027-01-12"), ("2027-01-11", "2027-02-07")):
        assert parts(("2026-12-01", "2026-12-28"), later) == []
    assert parts(("2026-12-01", "2026-12-28"), ("2027-01-12", "2027-02-08")) == [([0], "2026-12-01"),
                                                                                ([1], "2027-01-12")]


def test_the_rest_is_counted_from_the_last_infusion_day() -> None:
    """A first line running past day 28 (to 2027-01-04): 14 days without infusion after it, not after day 28."""
    assert parts(("2026-12-01", "2027-01-04"), ("2027-01-18", "2027-02-14")) == []
    assert [lines for lines, _ in parts(("2026-12-01", "2027-01-04"), ("2027-01-19", "2027-02-15"))] == [[0], [1]]


def test_infusion_days_given_before_the_order_count_towards_the_28() -> None:
    """An order continuing a cycle of 20 infusion days: its days 21-28, then a line after 9 days without infusion,
    are one cycle (days past the 28th infusion day), as the days card counts them; given nothing before, the 9 days
    off restart an interrupted cycle."""
    order = {"resourceType": "MedicationRequest", "dosageInstruction": [
        _line("2026-12-01", "2026-12-08", 1), _line("2026-12-18", "2027-01-14", 2)]}
    lines = read_order_doses(order, None, date(2026, 12, 1), 20)
    assert split_parts(lines, date(2026, 12, 1), 20) == []
    alone = read_order_doses(order, None)
    assert len(split_parts(alone, date(2026, 12, 1), 0)) == 2


def test_infusion_days_of_an_earlier_order_of_the_cycle_count_towards_the_28() -> None:
    """A step dose written as two orders (the reviewer's request): days 1-7 (order A), then order B's days 8-28 and a
    line after 9 days without infusion. With A's 7 days the cycle gave its 28, so B's later line is within the 14
    days without infusion: its days past the 28th (the days card's), not a cycle to split off; B alone would have
    restarted an interrupted cycle. After 13 days off still one cycle, after 14 two."""
    start = date(2026, 12, 1)
    step = read_order_doses({"dosageInstruction": [_line("2026-12-01", "2026-12-07", 1)]}, None, start)
    for later, cycles in (("2027-01-07", 1), ("2027-01-11", 1), ("2027-01-12", 2)):
        order = {"dosageInstruction": [_line("2026-12-08", "2026-12-28", 1), _line(later, "2027-02-08", 2)]}
        lines = read_order_doses(order, None, start)
        assert len(split_parts(lines, start, 0, step)) == (cycles if cycles > 1 else 0), later
        assert len(split_parts(lines, start, 0)) == 2, later  # without A: 21 infusion days, then more than 7 off


def test_an_order_of_two_lines_in_one_cycle_is_not_split_beside_an_order_spanning_two() -> None:
    """The cycle's stretches are two (another order of the call runs into cycle 2), but a step dose whose two lines
    both fall in cycle 1 is in one cycle: no parts, no split card; the spanning order has its two."""
    start = date(2026, 12, 1)
    step = read_order_doses({"dosageInstruction": [_line("2026-12-01", "2026-12-07", 1),
                                                   _line("2026-12-08", "2026-12-28", 2)]}, None, start)
    spanning = read_order_doses({"dosageInstruction": [_line("2026-12-01", "2026-12-28", 1),
                                                       _line(*CYCLE_2, 2)]}, None, start)
    assert split_parts(step, start, 0, spanning) == []
    assert [[line.index for line in part.lines] for part in split_parts(spanning, start, 0, step)] == [[0], [1]]


def test_lines_stating_no_dates_are_one_cycle() -> None:
    assert parts((None, None), (None, None)) == []
    assert parts(("2026-12-01", "2026-12-07"), ("2026-12-08", None)) == []  # runs to day 28


def test_three_cycles() -> None:
    assert [lines for lines, _ in parts(("2026-12-01", "2026-12-28"), CYCLE_2, CYCLE_3)] == [[0], [1], [2]]


def test_lines_running_together_in_a_later_cycle_are_its_lines_and_unread_days_are_in_none() -> None:
    assert parts(("2026-12-01", "2026-12-28"), CYCLE_2, CYCLE_2) == [([0], "2026-12-01"), ([1, 2], CYCLE_2[0])]
    # Its end before its start: the line is placed nowhere.
    assert [lines for lines, _ in parts(("2026-12-01", "2026-12-28"), CYCLE_2, ("2027-03-01", "2027-02-01"))] == [
        [0], [1]]


STEP_EXAMPLE = "aspirus-adult-relapsed-refractory-cycle1"  # 9 mcg/day 2026-12-01..07, 28 mcg/day 12-08..28
DAYS_CARD = "infusion-days"  # the days card's kind (and the rest card's)


def step_as_two_orders(later: tuple[str, str]) -> dict[str, Any]:
    """The example's step dose written as two orders signed together: "step-order" (9 mcg/day on days 1-7, 7 vials)
    and the example's order (28 mcg/day on days 8-28, then a line on `later`, 49 vials)."""
    body = example(STEP_EXAMPLE)
    [entry] = body["context"]["draftOrders"]["entry"]
    step = copy.deepcopy(entry)
    step["resource"]["id"] = "step-order"
    step["resource"]["dosageInstruction"] = step["resource"]["dosageInstruction"][:1]
    step["resource"]["dispenseRequest"]["quantity"]["value"] = 7
    order = entry["resource"]
    first = order["dosageInstruction"][1]
    first["sequence"] = 1
    again = copy.deepcopy(first)
    again["sequence"] = 2
    again["timing"]["repeat"]["boundsPeriod"] = {"start": later[0], "end": later[1]}
    order["dosageInstruction"] = [first, again]
    order["dispenseRequest"]["quantity"]["value"] = 49
    body["context"]["draftOrders"]["entry"].insert(0, step)
    return body


def test_a_step_dose_written_as_two_orders_gets_the_days_card_not_a_split_within_the_14_days(client: Any) -> None:
    """The reviewer's request: with the first order's 7 days, the second order's days 8-28 end the cycle's 28
    infusion days, so its line after 9 (or 13) days without infusion is days past the 28th, as for one order: the
    days card alone, never both it ("runs to day 65") and a split whose cycle 2 would start after 9 days off (a rest
    card once accepted). Its quantity is judged, not asked for per cycle."""
    for later, runs_to in ((("2027-01-07", "2027-02-03"), 65), (("2027-01-11", "2027-02-07"), 69)):
        cards = by_order(post(client, step_as_two_orders(later)))["blinatumomab-order"]
        kinds = [kind_of(c) for c in cards]
        assert SPLIT not in kinds and DAYS_CARD in kinds, later
        [days] = [c for c in cards if kind_of(c) == DAYS_CARD]
        assert days["summary"].startswith(f"Infusion past day 28 of cycle 1: runs to day {runs_to};")
        assert criterion(decision(cards), "quantity")["status"] != "unknown"


def test_after_14_days_without_infusion_the_second_order_of_a_step_dose_is_split(client: Any) -> None:
    """14 days off after the two orders' 28 infusion days: a cycle of its own, split off; signed again, it is cycle 2,
    no rest card (14 days are the label's) and no days card."""
    body = with_weight_on(step_as_two_orders(CYCLE_2), "2027-01-05")
    cards = by_order(post(client, body))["blinatumomab-order"]
    assert DAYS_CARD not in [kind_of(c) for c in cards]
    card = split_of({"cards": cards})
    accept(body, card)
    body["hookInstance"] = str(uuid.uuid4())
    again = by_order(post(client, body))
    new_id = next(order for order in again if order not in ("blinatumomab-order", "step-order"))
    assert decision(again[new_id])["cycle"] == 2
    assert [c["source"]["topic"]["code"] for order in again.values() for c in order] == ["coverage-info"] * 3


# The card and its suggestion


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


def split_of(answer: dict[str, Any]) -> dict[str, Any]:
    [card] = [c for c in answer["cards"] if kind_of(c) == SPLIT]
    return card


def test_the_card_says_the_order_covers_two_cycles_and_names_each_cycles_days_and_dates(client: Any) -> None:
    card = split_of(post(client, spanning()))
    assert card["summary"] == "Order covers 2 cycles (from 2026-12-01 and 2027-01-12): sign one order per cycle"
    assert (card["indicator"], card["source"]["label"], card["source"]["topic"]["code"]) == (
        "warning", "Aspirus Health Plan", "off-guideline")
    assert "| cycle 1 (this order) | line 1: 28 mcg/day on days 1–28 | 2026-12-01 to 2026-12-28 | 28 vials |" in \
        card["detail"]
    assert "| cycle 2 (new order) | line 2: 28 mcg/day on days 1–28 | 2027-01-12 to 2027-02-08 | 28 vials |" in \
        card["detail"]


def test_the_suggestion_updates_the_order_to_cycle_1_and_creates_cycle_2s_order(client: Any) -> None:
    body = spanning()
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    card = split_of(post(client, body))
    assert card["selectionBehavior"] == "at-most-one"
    [suggestion] = card["suggestions"]
    assert (suggestion["label"], suggestion["isRecommended"]) == ("Split into 2 orders, one per cycle", True)
    update, create = suggestion["actions"]
    assert (update["type"], create["type"]) == ("update", "create")
    assert update["description"] == "Keep this order for cycle 1 only (2026-12-01 to 2026-12-28), quantity 28 vials"
    assert create["description"].startswith("Create a draft order for cycle 2 (2027-01-12 to 2027-02-08)")
    kept, new = update["resource"], create["resource"]
    assert kept["id"] == order["id"] and kept["identifier"] == order["identifier"]
    assert kept["dosageInstruction"] == order["dosageInstruction"][:1]
    assert str(uuid.UUID(new["id"])) == new["id"] and new["status"] == "draft" and "identifier" not in new
    for key in ("medicationCodeableConcept", "subject", "requester", "intent", "authoredOn"):
        assert new[key] == order[key], key
    assert [line["timing"]["repeat"]["boundsPeriod"] for line in new["dosageInstruction"]] == [
        {"start": CYCLE_2[0], "end": CYCLE_2[1]}]
    assert new["dosageInstruction"][0]["sequence"] == 1  # renumbered from 1
    assert [r["dispenseRequest"]["quantity"]["value"] for r in (kept, new)] == [28, 28]
    assert all(CRD_COVERAGE not in str(r.get("extension")) for r in (kept, new))


def test_a_later_line_stating_no_end_is_shown_running_to_its_own_28th_day(client: Any) -> None:
    """The reviewer's request: cycle 2's line from 2027-01-12 with no end. The new order reads it from its own day 1
    to day 28 (28 vials): its row and its action say 2027-01-12 to 2027-02-08, not "2027-01-12 to 2027-01-12"."""
    body = spanning()
    del body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][1]["timing"]["repeat"][
        "boundsPeriod"]["end"]
    card = split_of(post(client, body))
    assert "| cycle 2 (new order) | line 2: 28 mcg/day on days 1 onward | 2027-01-12 to 2027-02-08 | 28 vials |" in \
        card["detail"]
    create = card["suggestions"][0]["actions"][1]
    assert create["description"].startswith("Create a draft order for cycle 2 (2027-01-12 to 2027-02-08)")
    assert create["resource"]["dispenseRequest"]["quantity"]["value"] == 28


def test_each_orders_instruction_texts_state_its_own_days(client: Any) -> None:
    """The reviewer's request: cycle 2's line written "days 43-70" is days 1-28 of the new order, and its text says
    so; a text stating its days in a form not rewritten keeps them with its own days said after them. The order kept
    for cycle 1 keeps its days and its texts."""
    body = spanning()
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    for cycle, line in enumerate(order["dosageInstruction"]):
        days = "1-28" if cycle == 0 else "43-70"
        line["text"] = f"Cycle {cycle + 1}: 28 mcg/day continuous IV infusion days {days}"
        line["patientInstruction"] = f"Infusion D{days.replace('-', '-D')}"
    kept, new = (action["resource"] for action in split_of(post(client, body))["suggestions"][0]["actions"])
    assert kept["dosageInstruction"] == order["dosageInstruction"][:1]
    [line] = new["dosageInstruction"]
    assert line["text"] == "Cycle 2: 28 mcg/day continuous IV infusion days 1–28"
    assert line["patientInstruction"] == "Infusion D43-D70 (days 1–28 of its own cycle)"


def test_a_quantity_in_mcg_is_split_in_mcg(client: Any) -> None:
    body = spanning(quantity=1960)
    quantity = body["context"]["draftOrders"]["entry"][0]["resource"]["dispenseRequest"]["quantity"]
    quantity.update({"unit": "ug", "code": "ug"})
    actions = split_of(post(client, body))["suggestions"][0]["actions"]
    assert [a["resource"]["dispenseRequest"]["quantity"] for a in actions] == [dict(quantity, value=980)] * 2
    assert actions[1]["description"].endswith(", quantity 980 ug")


def test_a_quantity_not_read_is_left_on_the_order_and_said(client: Any) -> None:
    body = spanning()
    quantity = body["context"]["draftOrders"]["entry"][0]["resource"]["dispenseRequest"]["quantity"]
    quantity.update({"unit": "mL", "code": "mL"})
    card = split_of(post(client, body))
    kept, new = (a["resource"]["dispenseRequest"] for a in card["suggestions"][0]["actions"])
    assert kept["quantity"] == quantity and "quantity" not in new
    assert "Quantity not split: quantity unit 'mL' not readable." in " ".join(card["detail"].split())
    assert "| unchanged |" in card["detail"] and "| none |" in card["detail"]


def test_a_dose_not_read_leaves_the_quantity(client: Any) -> None:
    body = spanning()
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    del order["dosageInstruction"][1]["doseAndRate"]
    card = split_of(post(client, body))
    assert [a["resource"]["dispenseRequest"].get("quantity", {}).get("value")
            for a in card["suggestions"][0]["actions"]] == [56, None]
    assert "Quantity not split: its dose could not be read." in " ".join(card["detail"].split())


def test_an_order_without_a_quantity_is_split_without_one(client: Any) -> None:
    card = split_of(post(client, spanning(quantity=None)))
    assert all("quantity" not in a["resource"]["dispenseRequest"] for a in card["suggestions"][0]["actions"])
    assert "Quantity not split" not in card["detail"]


def test_three_cycles_give_an_update_and_two_creates(client: Any) -> None:
    card = split_of(post(client, spanning(EXAMPLE, 84, CYCLE_2, CYCLE_3)))
    assert card["summary"] == ("Order covers 3 cycles (from 2026-12-01, 2027-01-12 and 2027-02-23): sign one order "
                               "per cycle")
    actions = card["suggestions"][0]["actions"]
    assert [a["type"] for a in actions] == ["update", "create", "create"]
    assert len({a["resource"]["id"] for a in actions}) == 3
    assert "cycle 3 (2027-02-23 to 2027-03-22)" in actions[2]["description"]


def test_a_line_whose_days_are_not_read_stops_the_one_click_split(client: Any) -> None:
    body = spanning()
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    extra = copy.deepcopy(order["dosageInstruction"][1])
    extra["sequence"] = 3
    extra["timing"]["repeat"]["boundsPeriod"] = {"start": "2027-03-01", "end": "2027-02-01"}
    order["dosageInstruction"].append(extra)
    card = split_of(post(client, body))
    assert "suggestions" not in card and "selectionBehavior" not in card
    assert "No one-click split: line 3's days could not be read" in " ".join(card["detail"].split())


def test_the_split_is_offered_not_recommended_when_the_label_says_stop(client: Any) -> None:
    [suggestion] = split_of(post(client, _with_crs4(spanning())))["suggestions"]
    assert suggestion["isRecommended"] is False


def test_the_other_cards_of_the_order_offer_no_correction_beside_the_split(client: Any) -> None:
    """A dose correction replaces the whole order: accepted after the split it would write cycle 2's line back."""
    body = spanning()
    line = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]
    line["doseAndRate"][0]["rateQuantity"]["value"] = 40
    answer = post(client, body)
    [dose] = [c for c in answer["cards"] if kind_of(c) == "dose"]
    assert "suggestions" not in dose and "selectionBehavior" not in dose
    assert "**No one-click correction here:** this order's dosage lines fall in 2 cycles." in dose["detail"]
    assert split_of(answer)["suggestions"]


def test_a_plan_limit_correction_is_withheld_beside_the_split_and_kept_with_dose_cards_turned_off(client: Any) -> None:
    body = spanning("florida-blue-dose-28.4-above-plan-limit")
    [limit] = [c for c in post(client, body)["cards"] if c["source"]["topic"]["code"] == "limits"]
    assert "suggestions" not in limit and "No one-click correction here" in limit["detail"]
    body["extension"] = {"davinci-crd.configuration": {"off-guideline": False}}
    answer = post(client, body)
    assert not [c for c in answer["cards"] if kind_of(c) == SPLIT]
    [limit] = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "limits"]
    assert limit["suggestions"] and "No one-click correction here" not in limit["detail"]


def test_without_a_plan_the_card_comes_from_the_service(client: Any) -> None:
    card = split_of(post(client, spanning("no-coverage-dose-check-only")))
    assert card["source"]["label"] != "Aspirus Health Plan" and card["suggestions"]


# The decision before the split


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
    assert not [c for c in cards["other-order"] if kind_of(c) == SPLIT]


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
    assert split_of(answer)["source"]["label"] == "Florida Blue"


# Accepted and signed again: the path of cycles signed together


def accept(body: dict[str, Any], card: dict[str, Any]) -> None:
    """The clinician accepts the card's suggestion: an update replaces its order in draftOrders, a create adds one."""
    entries = body["context"]["draftOrders"]["entry"]
    for action in card["suggestions"][0]["actions"]:
        resource = copy.deepcopy(action["resource"])
        if action["type"] == "update":
            [entry] = [e for e in entries if e["resource"]["id"] == resource["id"]]
            entry["resource"] = resource
        else:
            entries.append({"resource": resource})


def test_signed_again_after_the_split_each_cycle_is_covered_on_its_own(client: Any, app: Flask) -> None:
    body = with_weight_on(spanning(), "2027-01-05")  # weighed within 30 days of cycle 2's start
    first = post(client, body)
    accept(body, split_of(first))
    body["hookInstance"] = str(uuid.uuid4())
    cards = by_order(post(client, body))
    new_id = next(order for order in cards if order != "blinatumomab-order")
    one, two = decision(cards["blinatumomab-order"]), decision(cards[new_id])
    assert [(d["cycle"], d["decision"]) for d in (one, two)] == [(1, "meets-criteria"), (2, "meets-criteria")]
    for found in (one, two):
        assert criterion(found, "quantity")["note"].startswith("28 vials (980 mcg)")
    assert [c["source"]["topic"]["code"] for c in (*cards["blinatumomab-order"], *cards[new_id])] == [
        "coverage-info", "coverage-info"]
    assert date.fromisoformat(two["authorization"]["start"]) == date(2026, 12, 1)  # the course's start


def test_the_card_and_its_suggestion_are_audited(client: Any, app: Flask) -> None:
    body = spanning()
    answer = post(client, body)
    card = split_of(answer)
    store = app.extensions["cds_service"].store
    store.flush()
    [recorded] = store.show(body["hookInstance"])
    [outcome] = recorded.record.outcomes
    [suggestion] = card["suggestions"]
    assert outcome.card_topics[card["uuid"]] == "off-guideline"
    assert outcome.suggestion_cards == {suggestion["uuid"]: card["uuid"]}
    assert outcome.suggestion_labels == {suggestion["uuid"]: "Split into 2 orders, one per cycle"}
    # The order the create action makes, so that a later call signing it is traced back to this split.
    created = suggestion["actions"][1]["resource"]["id"]
    assert outcome.suggestion_creates == {suggestion["uuid"]: [f"MedicationRequest/{created}"]}
    assert outcome.card_summaries[card["uuid"]] == card["summary"]


def test_a_spanning_order_in_ml_per_hour_reads_each_cycles_dose_with_its_referenced_medication(client: Any) -> None:
    """Each cycle's order is read with the Medication the order references, signed with it (draftOrders): 10 mL/h of
    28 mcg per 240 mL is 28 mcg/day, so each new order's quantity is set to what its days use."""
    body = spanning()
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    for line in order["dosageInstruction"]:
        line["doseAndRate"] = [{"rateQuantity": {"value": 10, "unit": "mL/h", "system": UCUM, "code": "mL/h"}}]
        line["text"] = "10 mL/h continuous IV infusion"
    del order["medicationCodeableConcept"]
    order["medicationReference"] = {"reference": "Medication/ebag", "display": "BLINATUMOMAB 28 MCG IN NS 240 ML IVPB"}
    body["context"]["draftOrders"]["entry"].append({"fullUrl": "urn:uuid:ebag",
                                                    "resource": bag(strength(28, "ug"), id="ebag")})
    card = split_of(post(client, body))
    assert "| cycle 1 (this order) | line 1: 28 mcg/day on days 1–28 | 2026-12-01 to 2026-12-28 | 28 vials |" in \
        card["detail"]
    assert "| cycle 2 (new order) | line 2: 28 mcg/day on days 1–28 | 2027-01-12 to 2027-02-08 | 28 vials |" in \
        card["detail"]
    update, create = card["suggestions"][0]["actions"]
    assert [r["dispenseRequest"]["quantity"]["value"] for r in (update["resource"], create["resource"])] == [28, 28]
