"""Card and suggestion uuids derived from the call and what each card says (order_answers.stable_uuids): a call sent
again (the same hookInstance, CDS Hooks 2.0's one hook call) gets the same uuids for the same cards, so feedback on a
card joins whichever of the two answers the EHR showed; another call, or a card saying something else, gets new
ones; two cards of one answer never share one."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from cds_service import SERVICE_ID, prefetch
from cds_service.evaluation import Evaluation, OrderOutcome
from cds_service.order_answers import stable_uuids
from cds_service.validation import hook_request
from tests.test_duplicate_orders import with_copies
from tests.test_order_spans_cycles import spanning, split_of
from tests.test_pipeline import example, post

FEEDBACK = "/cds-services/blinatumomab-coverage/feedback"
OTHER_CALL = "b7c1d2e3-4f50-4a61-8b72-9c83d4e5f607"


def uuids(answer: dict[str, Any]) -> list[str]:
    """Every card's uuid, each followed by its suggestions'."""
    return [u for card in answer["cards"] for u in (card["uuid"], *(s["uuid"] for s in card.get("suggestions", ())))]


@pytest.mark.parametrize("name", ["aspirus-adult-relapsed-refractory-dose-per-m2-too-high",
                                  "aspirus-quantity-over-limit", "unknown-payer"])
def test_a_call_sent_again_gets_the_same_uuids_and_another_call_new_ones(client: Any, name: str) -> None:
    body = example(name)
    first = post(client, body)
    assert post(client, copy.deepcopy(body))["cards"] == first["cards"]
    body["hookInstance"] = OTHER_CALL
    other = post(client, body)
    assert set(uuids(other)).isdisjoint(uuids(first))
    assert [c["summary"] for c in other["cards"]] == [c["summary"] for c in first["cards"]]


def test_a_card_that_says_something_else_gets_another_uuid(client: Any) -> None:
    """The same hookInstance with the dose changed: the dose card and the decision card differ, and so do their
    uuids; feedback on the first answer's cards still names cards that answer said."""
    body = with_copies("florida-blue-consolidation")
    first = post(client, body)
    body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][0][
        "rateQuantity"]["value"] = 40
    second = post(client, body)
    assert [c["summary"] for c in second["cards"]] != [c["summary"] for c in first["cards"]]
    assert set(uuids(second)).isdisjoint(uuids(first))


def test_uuids_are_unique_within_an_answer(client: Any) -> None:
    answer = post(client, with_copies("aspirus-adult-relapsed-refractory-dose-per-m2-too-high", "copy-1", "copy-2"))
    assert len(answer["cards"]) > 2 and len(set(uuids(answer))) == len(uuids(answer))


def test_a_split_card_keeps_its_uuid_though_the_order_it_creates_is_new_each_time(client: Any) -> None:
    body = spanning()
    first, again = split_of(post(client, body)), split_of(post(client, copy.deepcopy(body)))
    created = [a["resource"]["id"] for card in (first, again) for a in card["suggestions"][0]["actions"]
               if a["type"] == "create"]
    assert created[0] != created[1]
    assert (again["uuid"], again["suggestions"][0]["uuid"]) == (first["uuid"], first["suggestions"][0]["uuid"])


def test_a_fault_card_sent_again_keeps_its_uuid(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> None:
        raise OverflowError("injected fault")

    monkeypatch.setattr(prefetch, "_fetch_all", broken)  # a fault outside the per-order steps (fault_answers.py)
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    del body["prefetch"]["conditions"]
    body["fhirServer"] = "http://127.0.0.1:9/fhir"
    [card] = post(client, body)["cards"]
    [again] = post(client, body)["cards"]
    assert "not checked" in card["summary"] and again["uuid"] == card["uuid"]


def test_both_calls_are_audited_with_the_uuids_sent_and_feedback_on_either_joins(client: Any) -> None:
    body = example("aspirus-relapsed-refractory-single-line-dose-too-high")
    answer = post(client, body)
    post(client, copy.deepcopy(body))
    store = client.application.extensions["cds_service"].store
    store.flush()
    records = [detail.record for detail in store.show(body["hookInstance"])]
    assert len(records) == 2
    for record in records:
        [outcome] = record.outcomes
        assert outcome.card_uuids == [card["uuid"] for card in answer["cards"]]
        [(suggestion, card)] = outcome.suggestion_cards.items()
        assert (suggestion, card) == (answer["cards"][1]["suggestions"][0]["uuid"], answer["cards"][1]["uuid"])
    dose = answer["cards"][1]
    item = {"card": dose["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-11-24T10:00:00Z",
            "acceptedSuggestions": [{"id": dose["suggestions"][0]["uuid"]}]}
    receipt = client.post(FEEDBACK, json={"feedback": [item]}).get_json()
    assert (receipt["unknownCards"], receipt["unknownSuggestions"]) == ([], [])


def test_two_cards_saying_the_same_in_one_answer_get_uuids_of_their_own() -> None:
    card = {"uuid": "a", "summary": "s", "indicator": "info", "source": {"label": "x"},
            "suggestions": [{"uuid": "sa", "label": "l", "actions": []}]}
    twin = {**copy.deepcopy(card), "uuid": "b"}
    twin["suggestions"][0]["uuid"] = "sb"
    outcome = OrderOutcome(order_id="MedicationRequest/m", card_uuids=["a", "b"], card_topics={"a": "t", "b": "t"},
                           suggestion_uuids=["sa", "sb"], suggestion_cards={"sa": "a", "sb": "b"})
    result = Evaluation(cards=[card, twin], outcomes=[outcome])
    stable_uuids(result, hook_request(example("unknown-payer"), SERVICE_ID))
    first, second = card["uuid"], twin["uuid"]
    assert first != second and card["suggestions"][0]["uuid"] != twin["suggestions"][0]["uuid"]
    assert outcome.card_uuids == [first, second] and set(outcome.card_topics) == {first, second}
    assert outcome.suggestion_cards == {card["suggestions"][0]["uuid"]: first, twin["suggestions"][0]["uuid"]: second}
    assert outcome.suggestion_uuids == list(outcome.suggestion_cards)
