"""The coverage-assertion-id derived from the call and all the action says (order_answers._assertion_id), as the card
uuids are: CRD 2.2 makes it the trace id a claim quotes so that the payer can hold to what it asserted. A call sent
again (the same hookInstance) asserting the same for the same order is the same assertion: a new id on every retry
had read as a new assertion, and a claim quoting the answer the EHR applied found another id in the trail than the
retry's. Another call, another order of one call, or another assertion gets another id."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.test_cards_uuids import OTHER_CALL
from tests.test_duplicate_orders import with_copies
from tests.test_pipeline import example, post


def assertions(answer: dict[str, Any]) -> list[dict[str, str]]:
    """Each action's assertion: its id, and its satisfied-pa-id when it has one."""
    found = []
    for action in answer["systemActions"]:
        [parts] = [e["extension"] for e in action["resource"]["extension"] if e["url"].endswith("coverage-information")]
        found.append({p["url"]: p["valueString"] for p in parts if p["url"] in ("coverage-assertion-id",
                                                                              "satisfied-pa-id")})
    return found


def ids(answer: dict[str, Any]) -> list[str]:
    return [a["coverage-assertion-id"] for a in assertions(answer)]


@pytest.mark.parametrize("name", ["florida-blue-consolidation", "aspirus-quantity-over-limit",
                                  "aspirus-consolidation-mrd-missing"])
def test_a_call_sent_again_carries_the_same_assertion_id(client: Any, name: str) -> None:
    body = example(name)
    first = post(client, body)
    again = post(client, copy.deepcopy(body))
    assert ids(first) and ids(again) == ids(first)
    assert again["systemActions"] == first["systemActions"]  # the whole action, word for word


def test_another_call_gets_another_assertion_id(client: Any) -> None:
    body = example("florida-blue-consolidation")
    first = post(client, body)
    body["hookInstance"] = OTHER_CALL
    assert set(ids(post(client, body))).isdisjoint(ids(first))


def test_another_assertion_in_the_same_call_gets_another_id(client: Any) -> None:
    """The same hookInstance with the dose changed: the order and what is asserted of it differ."""
    body = example("florida-blue-consolidation")
    first = post(client, body)
    body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][0][
        "rateQuantity"]["value"] = 40
    assert set(ids(post(client, body))).isdisjoint(ids(first))


def test_each_order_of_one_call_has_an_assertion_of_its_own(client: Any) -> None:
    """Copies of one order, answered alike: each order's assertion is its own, which a claim for it quotes."""
    answer = post(client, with_copies("florida-blue-consolidation", "copy-1", "copy-2"))
    assert len(ids(answer)) == 3 and len(set(ids(answer))) == 3


def test_a_satisfied_prior_authorization_is_named_by_the_assertion_id(client: Any) -> None:
    body = example("florida-blue-consolidation")
    [first], [again] = assertions(post(client, body)), assertions(post(client, copy.deepcopy(body)))
    assert first["satisfied-pa-id"] == first["coverage-assertion-id"] and again == first
