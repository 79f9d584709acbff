"""Likely duplicate orders (docs/dosing.md, "Duplicate orders"): blinatumomab draft orders of one cycle with the same
dosage lines get one warning card whose suggestion deletes the copies, and the cards they would repeat word for word
are shown once; each order keeps its coverage-information action and its audit outcome."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from cds_service.card_kinds import kind_of
from cds_service import pipeline
from cds_service.dosing.checks import CycleLines
from cds_service.dosing.duplicates import duplicate_card, duplicate_sets
from tests.test_dosing_support import facts, line, order, rate, step_order
from tests.test_pipeline import audited, covered_value, example, post, with_configuration

ASSOCIATED = "davinci-crd.associated-resource"


def with_copies(name: str, *ids: str, change: Any = None) -> dict[str, Any]:
    """The example's request with a copy of its blinatumomab order under each of `ids` (`change` applied to each)."""
    body = example(name)
    [entry] = body["context"]["draftOrders"]["entry"]
    for id_ in ids:
        added = copy.deepcopy(entry)
        added["resource"]["id"] = id_
        if change:
            change(added["resource"])
        body["context"]["draftOrders"]["entry"].append(added)
    return body


def duplicate_cards(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [card for card in answer["cards"] if kind_of(card) == "duplicate-order"]


def decision_cards(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [card for card in answer["cards"] if "coverage-decision" in card.get("extension", {})]


def references(card: dict[str, Any]) -> list[str]:
    return [entry["reference"] for entry in card["extension"][ASSOCIATED]]


def test_a_duplicate_pair_gets_one_warning_with_a_one_click_delete_and_each_card_once(client: Any) -> None:
    body = with_copies("florida-blue-consolidation", "copy")
    answer = post(client, body)
    first, second = "MedicationRequest/blinatumomab-order", "MedicationRequest/copy"
    # The warning right after the decision; no dose card: it said the doubled dose the duplicate card says, and the
    # kept order alone is within the label (orders34: a duplicate had been four cards).
    decision, duplicate = answer["cards"]
    assert decision_cards(answer) == [decision] and references(decision) == [first, second]
    assert decision["extension"]["coverage-decision"]["decision"] == "criteria-not-met"
    assert "Shown once for 2 orders for cycle 1 with the same dosage lines" in decision["detail"]
    assert duplicate["summary"] == ("Likely duplicate order: 2 blinatumomab orders for cycle 1 with the same dosage "
                                    "lines give twice the dose")
    assert duplicate["indicator"] == "warning" and references(duplicate) == [first, second]
    assert f"| {first} | 28 ug/d continuous IV infusion | kept |" in duplicate["detail"].replace("\\", "")
    assert f"| {second} | 28 ug/d continuous IV infusion | removed by the suggestion |" in (
        duplicate["detail"].replace("\\", ""))
    assert "same dose\non the same days of cycle 1 (28 mcg/day on days 1–28)" in duplicate["detail"]
    [suggestion] = duplicate["suggestions"]
    assert duplicate["selectionBehavior"] == "at-most-one" and suggestion["isRecommended"] is True
    assert suggestion["label"] == "Remove the duplicate order"
    [action] = suggestion["actions"]
    assert (action["type"], action["resourceId"]) == ("delete", second) and "resource" not in action
    # Each order its own coverage information (the EHR stores one on each) and its own audit outcome.
    assert [(a["type"], a["resource"]["id"]) for a in answer["systemActions"]] == [
        ("update", "blinatumomab-order"), ("update", "copy")]
    assert [covered_value(a) for a in answer["systemActions"]] == ["not-covered", "not-covered"]
    record = audited(client, body["hookInstance"])
    assert [(o.order_id, o.decision) for o in record.outcomes] == [(first, "criteria-not-met"),
                                                                   (second, "criteria-not-met")]
    assert len({o.coverage_assertion_id for o in record.outcomes}) == 2
    for outcome in record.outcomes:  # every card shown for the order, and the suggestion on its own card
        assert set(outcome.card_uuids) == {card["uuid"] for card in answer["cards"]}
        assert outcome.suggestion_cards == {suggestion["uuid"]: duplicate["uuid"]}


def test_the_duplicate_cards_uuids_are_stable_for_the_call_and_new_for_another(client: Any) -> None:
    body = with_copies("florida-blue-consolidation", "copy")
    [card] = duplicate_cards(post(client, body))
    [again] = duplicate_cards(post(client, copy.deepcopy(body)))
    assert (again["uuid"], again["suggestions"][0]["uuid"]) == (card["uuid"], card["suggestions"][0]["uuid"])
    body["hookInstance"] = "a4d5f9e2-0f1e-4c59-9d0e-7a8f3b2c1d00"
    [other] = duplicate_cards(post(client, body))
    assert other["uuid"] != card["uuid"] and other["suggestions"][0]["uuid"] != card["suggestions"][0]["uuid"]


def test_three_copies_are_one_warning_deleting_two_in_one_click(client: Any) -> None:
    answer = post(client, with_copies("aspirus-adult-relapsed-refractory-cycle1", "copy-1", "copy-2"))
    [duplicate] = duplicate_cards(answer)
    assert duplicate["summary"].endswith("for cycle 1 with the same dosage lines give 3 times the dose")
    [suggestion] = duplicate["suggestions"]
    assert suggestion["label"] == "Remove the 2 duplicate orders"
    assert [(a["type"], a["resourceId"]) for a in suggestion["actions"]] == [
        ("delete", "MedicationRequest/copy-1"), ("delete", "MedicationRequest/copy-2")]
    [decision] = decision_cards(answer)
    assert len(references(decision)) == 3 and len(answer["systemActions"]) == 3
    # No dose card nor quantity card: the copies' doubled dose and quantity are the duplicate card's to say.
    assert {kind_of(c) for c in answer["cards"]} == {"decision", "duplicate-order"}
    [criterion] = [c for c in decision["extension"]["coverage-decision"]["criteria"] if "dose" in c["id"]]
    assert "2 other blinatumomab orders being signed, which have the same dosage lines: likely duplicate orders" in (
        criterion["note"])


def test_orders_on_the_same_days_with_other_lines_are_no_duplicate(client: Any) -> None:
    """28 and 20 mcg/day on days 1-28: two orders given together, each answered as before (its own decision and dose
    warning, the sum judged)."""
    def twenty(resource: dict[str, Any]) -> None:
        resource["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"]["value"] = 20
        resource["dosageInstruction"][0]["text"] = "20 ug/d continuous IV infusion"

    answer = post(client, with_copies("florida-blue-consolidation", "other", change=twenty))
    assert duplicate_cards(answer) == []
    decisions = decision_cards(answer)
    assert [references(card) for card in decisions] == [["MedicationRequest/blinatumomab-order"],
                                                         ["MedicationRequest/other"]]
    doses = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert [d["summary"] for d in doses] == ["Dose above label: 48 mcg/day (2 blinatumomab orders together) on days "
                                             "1–28 of cycle 1; label is 28 mcg/day"] * 2
    assert "duplicate" not in " ".join(card["detail"] for card in answer["cards"])


def test_a_duplicate_of_a_not_covered_order_is_told_once_and_each_is_not_covered(client: Any) -> None:
    answer = post(client, with_copies("aspirus-t-cell-all-not-covered", "copy"))
    [decision] = decision_cards(answer)
    assert decision["extension"]["coverage-decision"]["decision"] == "criteria-not-met"
    assert "overrideReasons" in decision and len(references(decision)) == 2
    assert len(duplicate_cards(answer)) == 1
    assert [covered_value(a) for a in answer["systemActions"]] == ["not-covered", "not-covered"]


def test_max_cards_keeps_the_duplicate_warning_after_the_decision(client: Any) -> None:
    answer = post(client, with_configuration(with_copies("florida-blue-consolidation", "copy"), **{"max-cards": 2}))
    assert [kind_of(c) for c in answer["cards"]] == ["decision", "duplicate-order"]


def test_with_dose_cards_turned_off_each_order_keeps_its_cards(client: Any) -> None:
    """The duplicate card is of the dose cards' type: turned off, nothing is folded into a card that is not there."""
    body = with_configuration(with_copies("florida-blue-consolidation", "copy"), **{"off-guideline": False})
    answer = post(client, body)
    assert duplicate_cards(answer) == [] and len(decision_cards(answer)) == 2


def order_select(*selected: str) -> dict[str, Any]:
    body = with_copies("order-select-aspirus", "copy")
    body["context"]["selections"] = [f"MedicationRequest/{id_}" for id_ in selected]
    return body


def test_order_select_of_both_copies_gets_the_warning_and_no_system_action(client: Any) -> None:
    answer = post(client, order_select("blinatumomab-order", "copy"))
    assert answer["systemActions"] == []
    [duplicate] = duplicate_cards(answer)
    assert [a["resourceId"] for a in duplicate["suggestions"][0]["actions"]] == ["MedicationRequest/copy"]
    [decision] = decision_cards(answer)
    assert len(references(decision)) == 2


def test_order_select_of_a_copy_of_an_order_drafted_already_removes_the_one_selected(client: Any) -> None:
    """The draft already in the order list is kept, whichever comes first in the Bundle."""
    for selected, other in (("copy", "blinatumomab-order"), ("blinatumomab-order", "copy")):
        answer = post(client, order_select(selected))
        [duplicate] = duplicate_cards(answer)
        [action] = duplicate["suggestions"][0]["actions"]
        assert action["resourceId"] == f"MedicationRequest/{selected}"
        assert f"keeps MedicationRequest/{other}" in duplicate["detail"].replace("\\", "").replace("\n", " ")
        [decision] = decision_cards(answer)
        assert references(decision) == [f"MedicationRequest/{selected}"]  # only the selected order is answered


def lines_of(group: list[dict[str, Any]]) -> CycleLines:
    return CycleLines(group, facts())


def test_the_sets_are_orders_with_the_same_lines_read_and_an_id() -> None:
    first, same, other = step_order(), step_order() | {"id": "same"}, step_order() | {"id": "other"}
    other["dosageInstruction"][1]["doseAndRate"] = [rate(20)]
    group = [first, same, other]
    [found] = duplicate_sets(group, lines_of(group), frozenset(map(id, group)))
    assert found.orders == (first, same) and found.kept is first and found.copies == [same]
    no_id = {key: value for key, value in same.items() if key != "id"}
    assert duplicate_sets([first, no_id], lines_of([first, no_id]), frozenset(map(id, group))) == []
    # None answered (order-select of another cycle's order): nothing to say.
    assert duplicate_sets(group, lines_of(group), frozenset()) == []


def test_orders_on_other_days_or_with_an_unread_dose_are_no_duplicate() -> None:
    early = order(line(rate(28), "2026-12-01", "2026-12-14"), id="a")
    late = order(line(rate(28), "2026-12-15", "2026-12-28"), id="b")
    assert duplicate_sets([early, late], lines_of([early, late]), frozenset({id(early)})) == []
    unread = [order(line(rate(10, "mL/h"), "2026-12-01", "2026-12-28"), id=id_) for id_ in ("c", "d")]
    assert duplicate_sets(unread, lines_of(unread), frozenset(map(id, unread))) == []


def test_orders_alike_with_one_line_read_and_one_not_are_no_duplicate() -> None:
    """Their read lines run together, but a dose not read cannot be told to be the same: no warning (docs/dosing.md,
    "Duplicate orders"); the same orders with both lines read are a duplicate."""
    def twin(second_rate: Any) -> list[dict[str, Any]]:
        return [order(line(rate(28), "2026-12-01", "2026-12-14"), line(second_rate, "2026-12-15", "2026-12-28"),
                      id=id_) for id_ in ("a", "b")]
    unread, read = twin(rate(10, "mL/h")), twin(rate(28))
    assert duplicate_sets(unread, lines_of(unread), frozenset(map(id, unread))) == []
    [found] = duplicate_sets(read, lines_of(read), frozenset(map(id, read)))
    assert found.orders == tuple(read)


@pytest.mark.parametrize(("count", "more"), [(4, None), (5, "| and 2 more orders with the same lines |")])
def test_the_card_names_up_to_four_orders_then_three_and_how_many_more(count: int, more: str | None) -> None:
    group = [order(line(rate(28), "2026-12-01", "2026-12-28"), id=f"o{i}") for i in range(count)]
    [found] = duplicate_sets(group, lines_of(group), frozenset(map(id, group)))
    detail = duplicate_card(found, "Florida Blue")["detail"]
    named = [i for i in range(count) if f"MedicationRequest/o{i}" in detail]
    assert named == (list(range(count)) if more is None else [0, 1, 2])
    assert (more in detail) if more else "more orders" not in detail


def test_the_card_names_a_few_orders_and_counts_the_others() -> None:
    group = [order(line(rate(28), "2026-12-01", "2026-12-28"), id=f"o{i}") for i in range(12)]
    [found] = duplicate_sets(group, lines_of(group), frozenset(map(id, group)))
    card = duplicate_card(found, "Florida Blue")
    assert len(card["summary"]) < 140 and card["summary"].endswith("give 12 times the dose")
    assert "| and 9 more orders with the same lines |" in card["detail"]
    assert len(card["suggestions"][0]["actions"]) == 11 and len(references(card)) == 12


def test_a_copy_answered_otherwise_keeps_its_own_card(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a clinician would read twice is shown once: a copy whose evaluation failed keeps its own card (and
    its indeterminate coverage information) beside the duplicate warning."""
    recorded = pipeline.record_decision

    def failing_for_the_copy(outcome: Any, *args: Any) -> None:
        if outcome.order_id == "MedicationRequest/copy":
            raise RuntimeError("a fault answering the copy")
        recorded(outcome, *args)

    monkeypatch.setattr(pipeline, "record_decision", failing_for_the_copy)
    answer = post(client, with_copies("florida-blue-consolidation", "copy"))
    [decision] = decision_cards(answer)
    assert references(decision) == ["MedicationRequest/blinatumomab-order"]
    [fault] = [c for c in answer["cards"] if references(c) == ["MedicationRequest/copy"]]
    assert fault["source"]["topic"]["code"] == "coverage-info" and "coverage-decision" not in fault["extension"]
    assert len(duplicate_cards(answer)) == 1
    assert [covered_value(a) for a in answer["systemActions"]] == ["not-covered", "indeterminate"]


def test_a_long_dosage_text_is_cut_in_the_cards_table() -> None:
    written = line(rate(28), "2026-12-01", "2026-12-28") | {"text": "28 mcg/day " * 40}
    group = [order(written, id=id_) for id_ in ("a", "b")]
    [found] = duplicate_sets(group, lines_of(group), frozenset(map(id, group)))
    rows = duplicate_card(found, "X")["detail"].split("\n")
    assert [len(row.split(" | ")[1]) for row in rows if row.startswith("| MedicationRequest/")] == [200, 200]


def test_the_decision_card_shown_once_names_no_one_order_by_its_dose(client: Any) -> None:
    """Its summary had ended "— order of 28 mcg/day on days 1–28", words that tell an order from others signed with
    it: they tell it from none of its copies, and beside "dose above 28 mcg/day" read as a contradiction."""
    [decision] = decision_cards(post(client, with_copies("florida-blue-consolidation", "copy")))
    assert decision["summary"] == ("Florida Blue: not covered as ordered — meets B-ALL consolidation or maintenance "
                                   "except dose above 28 mcg/day")
    other = with_copies("florida-blue-consolidation", "other", change=lambda resource: resource["dosageInstruction"][0]
                        ["doseAndRate"][0]["rateQuantity"].update(value=20))
    summaries = [card["summary"] for card in decision_cards(post(client, other))]  # no duplicate: named by their doses
    assert [summary.rsplit(" — ", 1)[1] for summary in summaries] == ["order of 28 mcg/day on days 1–28",
                                                                     "order of 20 mcg/day on days 1–28"]


def test_copies_of_a_later_cycle_are_named_by_their_cycle_alone(client: Any) -> None:
    def cycle_2(resource: dict[str, Any]) -> None:
        resource["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2027-01-12",
                                                                                 "end": "2027-02-08"}

    answer = post(client, with_copies("florida-blue-consolidation", "c2", "c2-copy", change=cycle_2))
    first, later = decision_cards(answer)
    assert first["summary"].endswith(" — cycle 1 order of 28 mcg/day on days 1–28")
    assert later["summary"].endswith("except dose above 28 mcg/day — cycle 2")
    assert references(later) == ["MedicationRequest/c2", "MedicationRequest/c2-copy"]


@pytest.mark.parametrize("number, named", [(2, "cycle 2"), (None, "the cycle from 2026-12-01")])
def test_the_card_names_the_cycle_the_copies_are_for(number: int | None, named: str) -> None:
    """Signed with orders of other cycles, "Likely duplicate order" alone left the clinician to find which cycle's
    orders to remove; a cycle whose number is unknown is named by its first day."""
    group = [order(line(rate(28), "2026-12-01", "2026-12-28"), id=id_) for id_ in ("a", "b")]
    [found] = duplicate_sets(group, CycleLines(group, facts(cycle=number)), frozenset(map(id, group)))
    card = duplicate_card(found, "Florida Blue")
    assert f"2 blinatumomab orders for {named} with the same dosage lines" in card["summary"]
    assert len(card["summary"]) < 140
    assert f"the same days of {named} (28 mcg/day on days 1–28)" in card["detail"].replace("\n", " ")
    assert "the patient would receive twice that dose" in card["detail"].replace("\n", " ")  # as the summary says
