"""Cycles signed together: orders of one `draftOrders` Bundle that the label's cycle rule separates (an interruption
of more than 7 days, or 28 infusion days given) are consecutive cycles, each judged from its own start as it would
be signed alone after the earlier ones (its days 1-28, its number, its quantity), not as days 43-70 of the first."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from cds_service.card_kinds import kind_of
from cds_service import pipeline
from tests.test_pipeline import example, post

EXAMPLE = "aspirus-adult-relapsed-refractory-cycle1"  # 9 mcg/day 2026-12-01..07, 28 mcg/day 12-08..28, 28 vials
CYCLE_2 = ("2027-01-12", "2027-02-08")  # after cycle 1's 28 days and 14 days off


def with_cycle_2(dose: float = 28, days: tuple[str, str] = CYCLE_2) -> dict[str, Any]:
    """The example's cycle 1 order and a cycle 2 order (28 vials, 28 mcg/day or `dose`) signed in one call."""
    body = example(EXAMPLE)
    [entry] = body["context"]["draftOrders"]["entry"]
    second = copy.deepcopy(entry)
    order = second["resource"]
    order["id"] = "cycle-2-order"
    line = copy.deepcopy(order["dosageInstruction"][1])
    line["sequence"] = 1
    line["timing"]["repeat"]["boundsPeriod"] = {"start": days[0], "end": days[1]}
    line["doseAndRate"][0]["rateQuantity"]["value"] = dose
    line["text"] = f"{dose:g} ug/d continuous IV infusion"
    order["dosageInstruction"] = [line]
    body["context"]["draftOrders"]["entry"].append(second)
    return body


def with_weight_on(body: dict[str, Any], day: str) -> dict[str, Any]:
    """A weight of 80 kg recorded on `day` (within 30 days of cycle 2's start: as if weighed again before it)."""
    weights = [e for e in body["prefetch"]["observations"]["entry"] if e["resource"]["id"] == "weight-1"]
    again = copy.deepcopy(weights[0])
    again["resource"]["id"], again["resource"]["effectiveDateTime"] = "weight-2", day
    body["prefetch"]["observations"]["entry"].append(again)
    return body


def by_order(answer: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    cards: dict[str, list[dict[str, Any]]] = {}
    for card in answer["cards"]:
        order = card["extension"]["davinci-crd.associated-resource"][0]["reference"].split("/")[1]
        cards.setdefault(order, []).append(card)
    return cards


def decision(cards: list[dict[str, Any]]) -> dict[str, Any]:
    [found] = [c["extension"]["coverage-decision"] for c in cards if "coverage-decision" in c["extension"]]
    return found


def criterion(found: dict[str, Any], suffix: str) -> dict[str, Any]:
    [match] = [c for c in found["criteria"] if c["id"].endswith(suffix)]
    return match


def topics(cards: list[dict[str, Any]]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in cards]


def test_cycle_1_and_2_signed_together_are_each_their_own_cycle(client: Any) -> None:
    """The reported defect: cycle 2 was judged as days 43-70 of cycle 1, its 28 vials added to cycle 1's (56 vials
    in "cycle 1": both orders not covered)."""
    cards = by_order(post(client, with_cycle_2()))
    first, second = decision(cards["blinatumomab-order"]), decision(cards["cycle-2-order"])
    assert (first["cycle"], first["decision"]) == (1, "meets-criteria")
    assert second["cycle"] == 2
    for found in (first, second):
        assert criterion(found, "quantity")["status"] == "met"
        assert criterion(found, "quantity")["note"].startswith("28 vials (980 mcg)")
    assert criterion(first, "dose-schedule")["note"].startswith("9 mcg/day on days 1–7; 28 mcg/day on days 8–28")
    # Cycle 2's days are its own; its weight is the one of 30 days before its start (none on record here).
    assert "on days 43" not in str(second)
    assert criterion(second, "dose-schedule")["status"] == "unknown"
    assert [topics(c) for c in cards.values()] == [["coverage-info"], ["coverage-info"]]


def test_cycle_2s_dose_is_checked_against_its_own_days(client: Any) -> None:
    body = with_weight_on(with_cycle_2(), "2027-01-05")
    cards = by_order(post(client, body))
    second = decision(cards["cycle-2-order"])
    schedule = criterion(second, "dose-schedule")
    assert (schedule["status"], schedule["note"]) == (
        "met", "28 mcg/day on days 1–28: not above the label schedule (for weight 80 kg on 2027-01-05)")
    assert "off-guideline" not in topics(cards["cycle-2-order"])
    assert "off-guideline" not in topics(cards["blinatumomab-order"])


def test_cycle_2_above_the_label_gets_the_dose_card_on_its_own_order_only(client: Any) -> None:
    body = with_weight_on(with_cycle_2(dose=40), "2027-01-05")
    cards = by_order(post(client, body))
    assert topics(cards["blinatumomab-order"]) == ["coverage-info"]
    assert decision(cards["blinatumomab-order"])["decision"] == "meets-criteria"
    [dose] = [c for c in cards["cycle-2-order"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert dose["summary"] == "Dose above label: 40 mcg/day on days 1–28 of cycle 2; label is 28 mcg/day"
    assert dose["extension"]["dose-check"]["days"] == [1, 28]
    [suggestion] = dose["suggestions"]
    corrected = suggestion["actions"][0]["resource"]
    assert corrected["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"]["value"] == 28
    assert corrected["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] == {"start": CYCLE_2[0],
                                                                                     "end": CYCLE_2[1]}


def test_without_a_current_weight_cycle_2_above_the_label_maximum_is_still_a_warning(client: Any) -> None:
    cards = by_order(post(client, with_cycle_2(dose=40)))
    [dose] = [c for c in cards["cycle-2-order"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert dose["indicator"] == "warning" and "on days 1–28" in dose["summary"]
    assert topics(cards["blinatumomab-order"]) == ["coverage-info"]


def test_each_decision_card_says_which_cycles_order_it_answers(client: Any) -> None:
    """Days count from each cycle's start: two orders of 28 mcg/day on days 1-28 read alike without the cycle."""
    cards = by_order(post(client, with_cycle_2()))
    assert cards["blinatumomab-order"][0]["summary"].endswith(
        "— cycle 1 order of 9 mcg/day on days 1–7; 28 mcg/day on days 8–28")
    assert cards["cycle-2-order"][0]["summary"].endswith("— cycle 2 order of 28 mcg/day on days 1–28")


def test_cycles_are_told_apart_whichever_order_the_bundle_lists_first(client: Any) -> None:
    body = with_cycle_2()
    body["context"]["draftOrders"]["entry"].reverse()
    answer = post(client, body)
    assert [a["resource"]["id"] for a in answer["systemActions"]] == ["cycle-2-order", "blinatumomab-order"]
    cards = by_order(answer)
    assert (decision(cards["cycle-2-order"])["cycle"], decision(cards["blinatumomab-order"])["cycle"]) == (2, 1)


def test_order_select_of_cycle_2_alone_still_counts_cycle_1(client: Any) -> None:
    body = with_cycle_2()
    body["hook"] = "order-select"
    body["context"]["selections"] = ["MedicationRequest/cycle-2-order"]
    cards = by_order(post(client, body))
    assert list(cards) == ["cycle-2-order"]
    assert decision(cards["cycle-2-order"])["cycle"] == 2


def test_a_fault_reading_one_cycle_leaves_the_other_answered(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real = pipeline.extract_facts

    def failing_for_cycle_2(*args: Any, earlier: Any = (), **kwargs: Any) -> Any:
        if earlier:
            raise RuntimeError("injected fault")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "extract_facts", failing_for_cycle_2)
    answer = post(client, with_cycle_2())
    cards = by_order(answer)
    assert decision(cards["blinatumomab-order"])["decision"] == "meets-criteria"
    [fault] = cards["cycle-2-order"]
    assert "coverage-decision" not in fault["extension"] and "not" in fault["summary"].lower()
    codes = {a["resource"]["id"]: a["resource"]["extension"][0]["extension"] for a in answer["systemActions"]}
    assert {"url": "covered", "valueCode": "indeterminate"} in codes["cycle-2-order"]


def test_a_single_order_spanning_two_cycles_keeps_its_dose_verdicts_read_from_its_start(client: Any) -> None:
    """One order's lines are read from its start, so cycle 2's line is days 43-70. The label dose is the same on
    those days (the step dose is days 1-7 of cycle 1 only): the dose verdicts hold. Its quantity is no cycle's, so
    the decision asks for one order per cycle (tests/test_order_spans_cycles.py), and its dose card offers no
    correction beside the split (each would write the order back whole)."""
    body = example(EXAMPLE)
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    line = copy.deepcopy(order["dosageInstruction"][1])
    line["sequence"] = 3
    line["timing"]["repeat"]["boundsPeriod"] = {"start": CYCLE_2[0], "end": CYCLE_2[1]}
    order["dosageInstruction"].append(line)
    order["dispenseRequest"]["quantity"]["value"] = 56
    order["dispenseRequest"]["expectedSupplyDuration"]["value"] = 84
    [only] = by_order(post(client, body)).values()
    found = decision(only)
    assert (found["cycle"], found["decision"]) == (1, "information-needed")
    assert criterion(found, "dose-schedule")["note"].startswith(
        "9 mcg/day on days 1–7; 28 mcg/day on days 8–28; 28 mcg/day on days 43–70: not above")
    line["doseAndRate"][0]["rateQuantity"]["value"] = 40
    [dose] = [c for c in post(client, body)["cards"] if kind_of(c) == "dose"]
    assert dose["summary"] == "Dose above label: 40 mcg/day on days 43–70 of cycle 1; label is 28 mcg/day"
    assert "suggestions" not in dose and "No one-click correction here" in dose["detail"]


def _coverage_ending(body: dict[str, Any], end: str) -> dict[str, Any]:
    [entry] = body["prefetch"]["coverage"]["entry"]
    entry["resource"]["period"] = {"start": "2026-01-01", "end": end}
    return body


def test_a_coverage_ending_within_cycle_2_is_said_on_cycle_2s_card_only(client: Any) -> None:
    """Each cycle's last infusion day is its own (cycle 1: 2026-12-28; cycle 2: 2027-02-08): a Coverage ending on
    2027-01-20 ends after cycle 1 and within cycle 2."""
    cards = by_order(post(client, _coverage_ending(with_cycle_2(), "2027-01-20")))
    first, second = (" ".join(c["detail"] for c in cards[o]) for o in ("blinatumomab-order", "cycle-2-order"))
    assert "Coverage ends mid-cycle" not in first
    assert "Coverage ends mid-cycle" in second and "last infusion day, 2027-02-08" in " ".join(second.split())


def test_a_line_without_an_end_runs_to_day_28_for_the_coverage_too(client: Any) -> None:
    """A dosage line that states no end runs to the cycle's 28th day, as the dose check runs it: a Coverage ending on
    day 15 ends mid-cycle (the line's start alone had been taken as the cycle's last day)."""
    body = _coverage_ending(example(EXAMPLE), "2026-12-15")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    line = order["dosageInstruction"][1]
    line["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-12-01"}
    order["dosageInstruction"] = [line]
    [card] = [c for c in post(client, body)["cards"] if "coverage-decision" in c["extension"]]
    assert "last infusion day, 2026-12-28" in " ".join(card["detail"].split())


def test_two_cycles_over_the_quantity_limit_get_a_quantity_card_each(client: Any) -> None:
    """The quantity limit is per cycle: each cycle's card goes with its own order and names its own cycle."""
    body = with_cycle_2()
    for entry in body["context"]["draftOrders"]["entry"]:
        entry["resource"]["dispenseRequest"]["quantity"]["value"] = 40
    cards = by_order(post(client, body))
    for order, number in (("blinatumomab-order", 1), ("cycle-2-order", 2)):
        [quantity] = [c for c in cards[order] if "Quantity above plan limit" in c["summary"]]
        assert f"in cycle {number}" in quantity["summary"]
