"""A dispense quantity in mcg or mg, or a part of a vial, is dispensed as the whole vials that hold it (a vial is
single-use: the label; Florida Blue, Drug Availability), and the Aspirus limit counts vials (Aspirus II, "NDC unit").
1200 mcg had read "34.29 vials" on the card and in the criterion's evidence: it takes 35, which the card says, with
why, and which the limit counts."""
from __future__ import annotations

from typing import Any

import pytest

from cds_service.dosing.api import QuantityLimit
from tests.dates_support import answer, example, order, service, summaries
from tests.test_dosing_support import facts, order_checks, rate, single_line_order

__all__ = ["service"]

ASPIRUS = QuantityLimit(vials=28, units=980, days=42, days_continued=84, continued_from_cycle=6)
UCUM = "http://unitsofmeasure.org"


@pytest.mark.parametrize(("quantity", "unit", "supply", "status", "said"), [
    (1200, "ug", 42, "not-met", "35 vials (1200 mcg, rounded up to whole vials of 35 mcg), supply 42 days"),
    (700, "ug", 42, "met", "20 vials (700 mcg), supply 42 days"),
    (0.976, "mg", 42, "met", "28 vials (976 mcg, rounded up to whole vials of 35 mcg), supply 42 days"),
    (28, "{vial}", 42, "met", "28 vials (980 mcg), supply 42 days"),
    (1, "{vial}", 42, "met", "1 vial (35 mcg), supply 42 days"),
    # A 43-day supply allows 1003.33 mcg, 28.667 vials: 1000 mcg takes 29 vials, as 29 vials ordered are above it.
    (1000, "ug", 43, "not-met", "29 vials (1000 mcg, rounded up to whole vials of 35 mcg), supply 43 days"),
    (28.5, "{vial}", 43, "not-met", "29 vials (997.5 mcg, rounded up to whole vials of 35 mcg), supply 43 days"),
    (28, "{vial}", 43, "met", "28 vials (980 mcg), supply 43 days"),
])
def test_the_limit_counts_the_whole_vials_a_quantity_takes(quantity: float, unit: str, supply: int, status: str,
                                                           said: str) -> None:
    ordered = single_line_order(rate(28), quantity=quantity, quantity_unit=unit, supply_days=supply)
    verdict = order_checks(ordered, [ordered], facts()).quantity(ASPIRUS)
    assert (verdict.status, verdict.note.split("; limit")[0]) == (status, said)


def test_two_orders_in_mcg_take_their_vials_each() -> None:
    """Each order is dispensed in its own vials: 490 mcg twice (14 vials each) is 28 vials; 475 mcg twice (13.57
    vials each) takes 14 each too, and 480 + 500 mcg (14 + 15 vials) 29, above the limit though 980 mcg."""
    def pair(first: int, second: int) -> str:
        group = [single_line_order(rate(28), id=f"o{n}", quantity=value, quantity_unit="ug")
                 for n, value in enumerate((first, second))]
        return order_checks(group[0], group, facts()).quantity(ASPIRUS).status
    assert (pair(490, 490), pair(475, 475), pair(480, 500)) == ("met", "met", "not-met")


def _in_mcg(value: int) -> dict[str, Any]:
    request = example("aspirus-quantity-over-limit")
    order(request)["dispenseRequest"]["quantity"] = {"value": value, "unit": "mcg", "system": UCUM, "code": "ug"}
    return request


def test_the_card_says_the_vials_a_quantity_in_mcg_takes(service: Any) -> None:
    found = answer(service, _in_mcg(1200))
    assert "Quantity above plan limit: 35 vials (1200 mcg, rounded up) in cycle 1; limit is 28 vials (980 mcg) for " \
           "the 42-day supply" in summaries(found)
    [card] = [card for card in found["cards"] if card["summary"].startswith("Quantity above")]
    assert "34.29" not in card["detail"] and "a vial is\nsingle-use" in card["detail"]
    # What the suggestion sets is in the order's own unit, whole vials: a bag a day of 28 mcg.
    assert [s["label"] for s in card["suggestions"]] == ["Change quantity to 980 mcg"]


@pytest.mark.parametrize(("fill", "status", "note"), [
    ({"value": 40, "unit": "vial", "system": UCUM, "code": "{vial}"}, "unknown",
     "its initial fill (40 vials) is more than its quantity"),
    ({"value": 1200, "unit": "mcg", "system": UCUM, "code": "ug"}, "unknown",
     "its initial fill (1200 ug) is more than its quantity"),
    ({"value": 10, "unit": "mL"}, "unknown", "its initial fill's quantity not readable"),
    ({"value": 7, "unit": "vial", "system": UCUM, "code": "{vial}"}, "met", None),  # a first fill within it
    ({"value": 28, "unit": "vial", "system": UCUM, "code": "{vial}"}, "met", None),
])
def test_an_initial_fill_above_the_quantity_is_asked_for(fill: dict[str, Any], status: str, note: str | None) -> None:
    """40 vials first beside a quantity of 28 had passed as 28: the first fill is above the limit whatever the later
    ones, and the quantity card's one click would set `quantity`, leaving it. Information needed, no denial."""
    ordered = single_line_order(rate(28))
    ordered["dispenseRequest"]["initialFill"] = {"quantity": fill}
    verdict = order_checks(ordered, [ordered], facts()).quantity(ASPIRUS)
    assert verdict.status == status
    if note is not None:
        assert (verdict.note, verdict.missing) == (note, "dispensed quantity in vials or mcg")
