"""The dose card beside a likely duplicate order's card, for any number of copies: it points to the duplicate card's
one-click removal when every order it adds is a copy of the order, and only then."""
from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from cds_service.card_kinds import kind_of
from cds_service.dosing.cards import dose_card
from cds_service.dosing.together import Together
from tests.test_dosing_support import facts, line, order, order_checks, rate
from tests.test_duplicate_orders import decision_cards, duplicate_cards, with_copies
from tests.test_pipeline import post


def _together(order_count: int, duplicate: bool) -> Together:
    return Together(1, 28, Decimal(28 * (order_count + 1)), True, (0,), 1, frozenset({0}), ("copy",) * order_count,
                    order_count, (), duplicate)


@pytest.mark.parametrize("count, text, brief", [
    (1, "this order and the other blinatumomab order being signed, which has the same dosage lines: likely a "
        "duplicate order", "this order and a likely duplicate order"),
    (3, "this order and 3 other blinatumomab orders being signed, which have the same dosage lines: likely "
        "duplicate orders", "this order and 3 likely duplicates"),
])
def test_copies_are_said_as_duplicates_in_the_singular_and_the_plural(count: int, text: str, brief: str) -> None:
    together = _together(count, duplicate=True)
    assert (together.text, together.brief) == (text, brief)


def test_orders_added_that_are_not_all_copies_are_orders_together() -> None:
    together = _together(2, duplicate=False)
    assert together.brief == "3 blinatumomab orders together"
    assert together.text == "this order and 2 other blinatumomab orders being signed together"


def _dose_cards(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in answer["cards"] if kind_of(c) == "dose"]


def test_four_copies_point_to_the_duplicate_card_removing_three(client: Any) -> None:
    answer = post(client, with_copies("florida-blue-consolidation", "copy-1", "copy-2", "copy-3"))
    [duplicate] = duplicate_cards(answer)
    assert duplicate["suggestions"][0]["label"] == "Remove the 3 duplicate orders"
    # No dose card: the kept order alone is within the label (orders34; it had pointed to the duplicate card).
    assert _dose_cards(answer) == [] and len(decision_cards(answer)) == 1


def test_a_copy_and_another_order_on_the_same_days_are_orders_together(client: Any) -> None:
    """Two copies and a third order of other lines: removing the copy still leaves two orders adding up, which the
    dose cards say as the removal leaves them (28 + 20 mcg/day), not pointing to the duplicate card's click."""
    body = with_copies("florida-blue-consolidation", "copy")
    third = copy.deepcopy(body["context"]["draftOrders"]["entry"][0])
    third["resource"]["id"] = "other"
    third["resource"]["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"]["value"] = 20
    third["resource"]["dosageInstruction"][0]["text"] = "20 ug/d continuous IV infusion"
    body["context"]["draftOrders"]["entry"].append(third)
    answer = post(client, body)
    assert len(duplicate_cards(answer)) == 1
    doses = _dose_cards(answer)
    assert doses and all("48 mcg/day (2 blinatumomab orders together)" in d["summary"] for d in doses)
    for dose in doses:
        detail = " ".join(dose["detail"].split())
        assert "This card suggests no dose change" in detail and "removes the" not in detail


def test_copies_joined_by_another_order_on_some_days_are_not_pointed_to_the_duplicate_card() -> None:
    """An order and its copy on days 1-28, a third order on days 15-28: removing the copy would leave two orders
    adding up on days 15-28, so the dose card does not say the removal leaves one order's dose."""
    first = order(line(rate(28), "2026-12-01", "2026-12-28"), id="a")
    group = [first, order(line(rate(28), "2026-12-01", "2026-12-28"), id="copy"),
             order(line(rate(28), "2026-12-15", "2026-12-28"), id="later")]
    card = dose_card(first, facts(), "standard", True, "X", order_checks(first, group, facts()))
    assert card is not None
    detail = " ".join(card["detail"].split())
    assert "likely a duplicate order" in detail  # days 1-14: the copy alone
    assert "This card suggests no dose change" in detail and "removes the" not in detail
