"""Clinician and payer-pharmacist review of the quantity and plan-limit cards, through the real endpoint.

The label's relapsed/refractory cycle 1 signed as two orders (9 mcg/day on days 1-7, 28 mcg/day on days 8-28): each
order's quantity is compared with what its own days use, and only an order whose own quantity is wrong is corrected
(docs/dosing.md, "Quantity of each order"). On order-select only the selected orders get cards and suggestions.
"""
from __future__ import annotations

import copy
import cProfile
import pstats
from datetime import date, timedelta
from typing import Any, Callable

import pytest
from flask.testing import FlaskClient

from cds_service import SERVICE_ID, order_validation
from tests.test_facts_review import Request, add, example, the_order
from tests.test_pipeline import evaluate_directly, with_configuration

STEP, FULL = "MedicationRequest/step", "MedicationRequest/full"


def split_step(step_vials: float, full_vials: float) -> Request:
    """The Aspirus example's cycle 1 as two orders: the step dose (days 1-7) and the full dose (days 8-28)."""
    request = example()
    written = the_order(request)
    step, full = copy.deepcopy(written), copy.deepcopy(written)
    for part, name, line, vials in ((step, "step", 0, step_vials), (full, "full", 1, full_vials)):
        part["id"], part["dosageInstruction"] = name, [written["dosageInstruction"][line]]
        part["dispenseRequest"]["quantity"]["value"] = vials
    request["context"]["draftOrders"]["entry"] = [{"resource": step}, {"resource": full}]
    return request


def selecting(request: Request, *selected: str) -> Request:
    request["hook"] = "order-select"
    request["context"]["selections"] = list(selected)
    return request


def post(client: FlaskClient, request: Request) -> list[dict[str, Any]]:
    response = client.post(f"/cds-services/{SERVICE_ID}", json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    cards: list[dict[str, Any]] = response.get_json()["cards"]
    return cards


def quantity_cards(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in cards if c["summary"].startswith("Quantity above")]


def named(card: dict[str, Any]) -> list[str]:
    return [r["reference"] for r in card["extension"]["davinci-crd.associated-resource"]]


def corrections(card: dict[str, Any]) -> list[tuple[str, Any]]:
    """What each suggestion of the card sets: (the order it updates, its quantity)."""
    return [(f"MedicationRequest/{a['resource']['id']}", a['resource']['dispenseRequest']['quantity']['value'])
            for s in card.get("suggestions", []) for a in s["actions"]]


def accept(request: Request, card: dict[str, Any]) -> None:
    """The clinician accepts the card's suggestions: each updates its order in draftOrders."""
    entries = request["context"]["draftOrders"]["entry"]
    for suggestion in card.get("suggestions", []):
        for action in suggestion["actions"]:
            [entry] = [e for e in entries if e["resource"]["id"] == action["resource"]["id"]]
            entry["resource"] = copy.deepcopy(action["resource"])


def text(card: dict[str, Any]) -> str:
    """The card's detail with its lines joined, as Markdown shows it."""
    return " ".join(card["detail"].split())


# The quantity card's sentences about the cycle's orders together, wrong on a cycle of one order.
SEVERAL = ("Each order", "Other orders", "together their days", "no other order", "every order")


def quantity_status(cards: list[dict[str, Any]]) -> list[str]:
    return [next(c["status"] for c in card["extension"]["coverage-decision"]["criteria"] if c["id"] == "quantity")
            for card in cards if "coverage-decision" in card["extension"]]


# 1. A step dose split across two orders


def test_the_step_orders_excess_is_corrected_not_the_full_dose_order(client: FlaskClient) -> None:
    """The review's case: 20 vials for days 1-7 at 9 mcg/day and 21 for days 8-28 at 28 mcg/day (41 in all). The
    card cut the full-dose order to 8 vials, a third of what its 588 mcg need; the step order's quantity is the wrong
    one: its 7 days use at most 7 vials (a bag a day)."""
    request = split_step(20, 21)
    [card] = quantity_cards(post(client, request))
    assert named(card) == [STEP]
    assert corrections(card) == [(STEP, 7)]
    assert card["suggestions"][0]["label"] == "Change quantity to 7 vials"
    assert card["selectionBehavior"] == "at-most-one"
    assert len(card["summary"]) < 140
    assert "588 mcg" in card["detail"] and "21 vials" in card["detail"]  # the full-dose order's own need, met
    assert "Each order is compared" in text(card) and "Other orders are left as they are" in text(card)
    accept(request, card)
    again = post(client, request)
    assert quantity_cards(again) == [] and quantity_status(again) == ["met", "met"]


def test_an_over_large_full_dose_order_is_set_to_its_own_days_not_to_what_the_limit_leaves(
        client: FlaskClient) -> None:
    request = split_step(3, 30)  # 30 vials for 21 days: the card suggested 25, what the limit left after 3
    [card] = quantity_cards(post(client, request))
    assert named(card) == [FULL] and corrections(card) == [(FULL, 21)]


def test_two_orders_each_above_their_own_days_each_get_their_correction(client: FlaskClient) -> None:
    """A warning that concerns two orders gave no suggestion at all: each wrong order now has its own card."""
    request = split_step(20, 30)
    cards = quantity_cards(post(client, request))
    assert [(named(c), corrections(c)) for c in cards] == [([STEP], [(STEP, 7)]), ([FULL], [(FULL, 21)])]
    assert len({c["summary"] for c in cards}) == 2  # each says which order it corrects
    for card in cards:
        accept(request, card)
    assert quantity_cards(post(client, request)) == []


def test_a_short_order_is_said_but_not_raised_since_its_bags_decide_how_many_vials(client: FlaskClient) -> None:
    """25 + 8 vials: the step order's excess is corrected; the full-dose order's 8 vials hold less than its 588 mcg
    (17 vials at least, 21 with a bag a day): said in the detail, with no value the bags do not decide."""
    [card] = quantity_cards(post(client, split_step(25, 8)))
    assert corrections(card) == [(STEP, 7)]
    assert "less than its dose" in card["detail"]


def full_past_day_28(request: Request, text: str = "") -> dict[str, Any]:
    """`request`'s full-dose order running to day 35 (days 8-35), `text` added to its dosage text."""
    full: dict[str, Any] = request["context"]["draftOrders"]["entry"][1]["resource"]
    line = full["dosageInstruction"][0]
    line["timing"]["repeat"]["boundsPeriod"]["end"] = "2027-01-04"
    line["text"] += text
    return full


def test_orders_within_their_own_days_get_no_correction_and_are_told_why(client: FlaskClient) -> None:
    """Each order within what its own days use, yet the cycle over the limit (a full-dose order of 28 days after the
    step days, whose text, "for 4 weeks", no one-click end rewrites): no order's quantity is wrong on its own, so no
    value is suggested; the detail says so."""
    request = split_step(7, 28)
    full_past_day_28(request, " for 4 weeks")
    [card] = quantity_cards(post(client, request))
    assert "suggestions" not in card and card["indicator"] == "warning"
    assert "what its own days use" in card["detail"]
    assert "Each order holds at most what its own days use" in text(card)
    assert "together their days and doses use more than the plan allows" in text(card)


def test_a_single_order_within_its_days_is_told_so_in_the_words_of_one_order(client: FlaskClient) -> None:
    """One order of days 1-35 ("for 5 weeks": no one-click end) holding the 35 vials its days use at most, above the
    plan's 28: the card's text speaks of this order, not of orders whose days "together" use too much."""
    request = example()
    full = the_order(request)["dosageInstruction"][1]
    full["timing"]["repeat"]["boundsPeriod"]["end"] = "2027-01-04"
    full["text"] += " for 5 weeks"
    the_order(request)["dispenseRequest"]["quantity"]["value"] = 35
    [card] = quantity_cards(post(client, request))
    assert "suggestions" not in card
    assert "| 35 vials | 847 mcg: 25 to 35 vials | within what its days use |" in card["detail"]
    assert "The order is compared with what its dosage lines use on their days" in text(card)
    assert ("This order holds no more than its days use, so no change is suggested: its days and dose use more than "
            "the plan allows. Check its days and dose.") in text(card)
    assert not [words for words in SEVERAL if words in text(card)]


def days_and_dose_cards(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in cards if c["source"]["topic"]["code"] in ("off-guideline", "limits")]


@pytest.mark.parametrize("full_dose", [28, 30])
def test_a_later_order_ended_on_day_28_has_its_quantity_corrected_with_the_end(client: FlaskClient,
                                                                              full_dose: int) -> None:
    """The full-dose order of days 8-35 holds 28 vials, within its days as written, and its days card ends it on day
    28 (at 30 mcg/day, the dose card's suggestion corrects the dose too): judged on the ended days 8-28, it holds
    more than the 21 vials they use, so its quantity card sets 21 beside the end, not the step order's card saying
    that no order is above its own days. Accepting every suggestion once and signing again gives no other card."""
    request = split_step(7, 28)
    full_past_day_28(request)["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"]["value"] = full_dose
    cards = post(client, request)
    [card] = quantity_cards(cards)
    assert named(card) == [FULL] and corrections(card) == [(FULL, 21)]
    corrected = "dose corrected and " if full_dose > 28 else ""
    assert f"| {corrected}ended on day 28 (28th infusion day): 588 mcg: 17 to 21 vials |" in card["detail"]
    ended = [s["actions"][0]["resource"] for c in days_and_dose_cards(cards) for s in c.get("suggestions", [])]
    assert len(ended) == 2 and ended[0] == ended[1]  # the days (or dose and days) card's carries the quantity too
    for found in days_and_dose_cards(cards):
        accept(request, found)
    again = post(client, request)
    assert [c["source"]["topic"]["code"] for c in again] == ["coverage-info", "coverage-info"]
    assert quantity_status(again) == ["met", "met"]


def test_an_order_whose_dose_cannot_be_read_is_not_corrected(client: FlaskClient) -> None:
    request = split_step(7, 30)
    full = request["context"]["draftOrders"]["entry"][1]["resource"]
    full["dosageInstruction"][0]["doseAndRate"] = [{"rateQuantity": {"value": 10, "unit": "mL/h"}}]
    [card] = quantity_cards(post(client, request))
    assert "suggestions" not in card
    assert ("| 30 vials | at most 21 vials | more than its days use at most; not corrected: its dose could not be "
            "read |") in card["detail"]
    assert ("An order whose dose or days could not be read is not checked (one of them holds more than its days use "
            "at most, a bag a day at up to the label's 28 mcg/day), and no other order holds more than its own days "
            "use, so no change is suggested.") in text(card)
    assert "Each order holds at most" not in text(card)


# 2. order-select: only the selected orders


@pytest.mark.parametrize(("step_vials", "full_vials", "selected", "expected"), [
    (3, 30, [STEP], []),  # the wrong order is not selected: the card names the selected one, and suggests nothing
    (3, 30, [FULL], [(FULL, 21)]),
    (20, 21, [STEP], [(STEP, 7)]),
    (20, 21, [FULL], []),
    (20, 30, [STEP, FULL], [(STEP, 7), (FULL, 21)]),
])
def test_order_select_cards_act_only_on_selected_orders(client: FlaskClient, step_vials: int, full_vials: int,
                                                       selected: list[str], expected: list[tuple[str, int]]) -> None:
    cards = post(client, selecting(split_step(step_vials, full_vials), *selected))
    found = quantity_cards(cards)
    assert found, "the cycle is over the limit: a quantity card"
    assert all(set(named(card)) <= set(selected) for card in cards)
    assert [c for card in found for c in corrections(card)] == expected
    if not expected:
        [card] = found
        assert "not among the orders selected" in card["detail"]


# 3. Florida Blue's plan limit from 45 kg


def _florida_blue_per_m2(weight: float, bsa: float) -> Request:
    """Florida Blue's relapsed/refractory example with the full dose written per m² just above 28 mcg/day."""
    request = example("florida-blue-relapsed-refractory-ph-negative")
    full = the_order(request)["dosageInstruction"][1]
    full["doseAndRate"] = [{"rateQuantity": {"value": 15.2, "unit": "mcg/m2/day", "system": "http://unitsofmeasure.org",
                                             "code": "ug/(m2.d)"}}]
    full["text"] = "15.2 mcg/m2/day continuous IV infusion"
    weights = [e["resource"] for e in request["prefetch"]["observations"]["entry"]
               if e["resource"]["code"]["coding"][0]["code"] == "29463-7"]
    weights[0]["valueQuantity"]["value"] = weight
    bsa_observation = copy.deepcopy(weights[0])
    bsa_observation["id"] = "bsa-1"
    bsa_observation["code"] = {"coding": [{"system": "http://loinc.org", "code": "8277-6",
                                           "display": "Body surface area"}]}
    bsa_observation["valueQuantity"] = {"value": bsa, "unit": "m2", "system": "http://unitsofmeasure.org",
                                        "code": "m2"}
    add(request, "observations", bsa_observation)
    return request


def test_florida_blue_limit_for_an_adult_is_the_fixed_28_mcg_per_day(client: FlaskClient) -> None:
    """15.2 mcg/m²/day × 1.87 m² is 28.42 mcg/day: within the label's rounding for 80 kg, above the plan's 28. From
    45 kg the label dose is a fixed 28 mcg/day: the correction writes it in mcg/day, not 14.97 mcg/m²/day."""
    request = _florida_blue_per_m2(80, 1.87)
    [card] = [c for c in post(client, request) if c["source"]["topic"]["code"] == "limits"]
    [suggestion] = card["suggestions"]
    assert suggestion["label"] == "Change dose to 28 mcg/day"
    rate = suggestion["actions"][0]["resource"]["dosageInstruction"][1]["doseAndRate"][0]["rateQuantity"]
    assert (rate["value"], rate["code"]) == (28, "ug/d")
    assert "fixed dose" in card["detail"]
    the_order(request).update(copy.deepcopy(suggestion["actions"][0]["resource"]))
    again = post(client, request)
    assert again[0]["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    assert [c for c in again if c["source"]["topic"]["code"] in ("limits", "off-guideline")] == []


def test_the_quantity_cards_of_many_orders_grow_linearly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Orders of one day each, 3 vials for a 1-vial day: each gets its own correction, and its card's table names a
    few orders. Counted in function calls, not time: twice the orders, about twice the calls (each card had read
    every order of the cycle). Whole cycles of 28 such orders (course.signed_cycles: the 29th starts cycle 2), each
    over the limit; each cycle's facts also count the cycles signed before it, hence a little above twice."""
    monkeypatch.setattr(order_validation, "MAX_ORDERS", 1000)

    def one_day_orders(count: int) -> Request:
        request = example("aspirus-quantity-over-limit")
        [entry] = request["context"]["draftOrders"]["entry"]
        request["context"]["draftOrders"]["entry"] = [{"resource": _one_day(entry["resource"], day)}
                                                      for day in range(count)]
        request["extension"] = {"davinci-crd.configuration": {"max-cards": 10_000, "coverage-info": False}}
        return request

    def calls(count: int) -> int:
        profile = cProfile.Profile()
        evaluation = profile.runcall(evaluate_directly, one_day_orders(count))
        assert [len(c.get("suggestions", ())) for c in quantity_cards(evaluation.cards)] == [1] * count
        return pstats.Stats(profile).total_calls  # type: ignore[attr-defined, no-any-return]

    calls(10)  # the process's caches (units, value sets, templates) filled first (10 × 3 vials: over the limit)
    assert calls(8 * 28) / calls(4 * 28) < 2.25


def _one_day(order: dict[str, Any], day: int) -> dict[str, Any]:
    """The order's 28 mcg/day line on one day only (cycle day `day` + 1), holding 3 vials."""
    one = copy.deepcopy(order)
    one["id"] = f"order-{day}"
    line = one["dosageInstruction"][1]
    start = (date(2026, 12, 1) + timedelta(days=day)).isoformat()
    line["timing"]["repeat"]["boundsPeriod"] = {"start": start, "end": start}
    one["dosageInstruction"] = [line]
    one["dispenseRequest"]["quantity"]["value"] = 3
    return one


# 4. A dose per m² not read without a BSA, which the dose card rewrites in mcg/day


def per_m2_without_bsa(last_day: int, vials: int) -> Request:
    """An 80 kg adult with no height, so no BSA: one order of 15 mcg/m²/day on days 1 to `last_day` (28 or 35) of
    relapsed/refractory cycle 1, holding `vials`. From 45 kg the dose card rewrites it as the label's fixed dose."""
    request = example()
    observations = request["prefetch"]["observations"]
    observations["entry"] = [e for e in observations["entry"] if e["resource"]["code"]["coding"][0]["code"] != "8302-2"]
    observations["total"] = len(observations["entry"])  # a Bundle short of its total is not received whole
    order = the_order(request)
    line = order["dosageInstruction"][1]
    line["sequence"] = 1
    line["doseAndRate"] = [{"rateQuantity": {"value": 15, "unit": "ug/m2/d", "system": "http://unitsofmeasure.org",
                                             "code": "ug/m2/d"}}]
    end = date(2026, 12, 1) + timedelta(days=last_day - 1)
    line["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-12-01", "end": end.isoformat()}
    line["text"] = f"15 mcg/m2/day continuous IV infusion days 1-{last_day}"
    order["dosageInstruction"] = [line]
    order["dispenseRequest"]["quantity"]["value"] = vials
    return request


def dose_suggestion(cards: list[dict[str, Any]]) -> dict[str, Any]:
    [suggestion] = [s for c in cards if c["source"]["topic"]["code"] == "off-guideline" for s in c["suggestions"]]
    return suggestion


@pytest.mark.parametrize(("last_day", "row", "also"), [
    (35, "dose corrected and ended on day 28 (28th infusion day): 651 mcg: 19 to 28 vials",
     "the dose to the label dose and the end to the 28th infusion day"),
    (28, "dose corrected: 651 mcg: 19 to 28 vials", "the dose to the label dose"),
])
def test_a_dose_not_read_as_written_is_judged_on_the_lines_its_correction_writes(
        client: FlaskClient, last_day: int, row: str, also: str) -> None:
    """40 vials: the quantity card said "its dose could not be read" with no suggestion, and the dose card's
    suggestion (9 mcg/day on days 1-7, then 28, ended on day 28 for days 1-35) left 40 vials, so signing it gave a
    new card "Change quantity to 28 vials". Judged on the lines the correction writes, the one click fixes both."""
    request = per_m2_without_bsa(last_day, 40)
    cards = post(client, request)
    [card] = quantity_cards(cards)
    assert corrections(card) == [(f"MedicationRequest/{the_order(request)['id']}", 28)]
    assert card["suggestions"][0]["label"] == f"Change quantity to 28 vials (and {also})"
    assert f"| 40 vials | {row} | more than its days use |" in card["detail"]
    assert not [words for words in SEVERAL if words in text(card)]
    suggestion = dose_suggestion(cards)
    assert suggestion["label"].endswith("(and quantity to 28 vials)")
    assert suggestion["actions"][0]["resource"] == card["suggestions"][0]["actions"][0]["resource"]
    request["context"]["draftOrders"]["entry"][0]["resource"] = copy.deepcopy(suggestion["actions"][0]["resource"])
    again = post(client, request)
    assert [c["source"]["topic"]["code"] for c in again] == ["coverage-info"]
    assert again[0]["extension"]["coverage-decision"]["decision"] == "meets-criteria"


def test_a_dose_not_read_within_the_limit_gets_the_dose_correction_alone(client: FlaskClient) -> None:
    """Days 1-28 with 28 vials: no quantity card, and the dose card's suggestion leaves the quantity alone."""
    request = per_m2_without_bsa(28, 28)
    cards = post(client, request)
    assert quantity_cards(cards) == []
    suggestion = dose_suggestion(cards)
    assert suggestion["label"] == "Change dose to 9 mcg/day on days 1–7, then 28 mcg/day on days 8–28"
    assert suggestion["actions"][0]["resource"]["dispenseRequest"]["quantity"]["value"] == 28
    request["context"]["draftOrders"]["entry"][0]["resource"] = copy.deepcopy(suggestion["actions"][0]["resource"])
    assert [c["source"]["topic"]["code"] for c in post(client, request)] == ["coverage-info"]


def volume_without_strength(request: Request) -> Request:
    """`request`'s order written as 10 mL/h, with no concentration to read it by: its dose is not read, and no
    suggestion rewrites it."""
    the_order(request)["dosageInstruction"][0]["doseAndRate"] = [{"rateQuantity": {"value": 10, "unit": "mL/h"}}]
    return request


@pytest.mark.parametrize("unread", [
    lambda: with_configuration(per_m2_without_bsa(35, 40), **{"off-guideline": False}),  # no dose card rewrites it
    lambda: volume_without_strength(per_m2_without_bsa(35, 40)),
], ids=["per m2, dose cards off", "volume without strength"])
def test_a_single_order_whose_dose_is_not_read_is_told_what_its_days_alone_bound(
        client: FlaskClient, unread: Callable[[], Request]) -> None:
    """Nothing rewrites its lines: no correction, as its dose is not known, but its days 1-35 use at most 35 vials (a
    bag a day at up to the label's 28 mcg/day), fewer than its 40; said in the words of one order (the card went on
    "Each order holds at most what its own days use ... together their days", about a cycle of one order)."""
    [card] = quantity_cards(post(client, unread()))
    assert "suggestions" not in card
    assert ("| 40 vials | at most 35 vials | more than its days use at most; not corrected: its dose could not be "
            "read |") in card["detail"]
    assert "The order is compared with what its dosage lines use on their days" in text(card)
    assert ("Its dose could not be read, so its quantity is not checked and no change is suggested; its days alone use "
            "at most 35 vials (a bag a day at up to the label's 28 mcg/day), less than the 40 vials it holds. Once its "
            "dosage lines can be read, signing again checks its quantity.") in text(card)
    assert not [words for words in SEVERAL if words in text(card)]
