"""Clinical cases for the dispensed quantity of a cycle's orders (policy-rules.md §2, Aspirus II; docs/dosing.md,
"Quantity of each order"): the cases a mutation test of cds_service/dosing/quantity.py found unpinned."""
from __future__ import annotations

from decimal import Decimal

import pytest

from cds_service.dosing.api import QuantityLimit
from cds_service.dosing.checks import CycleLines
from cds_service.dosing.quantity import (SHARED_DAYS, UNREAD_DAYS, UNREAD_DOSE, OrderNeed, check_quantity,
                                         quantity_unit_mcg, read_quantity)
from tests.test_dosing_cards import ASPIRUS, quantity_card_for
from tests.test_dosing_support import facts, line, order, rate


def need_of(written: dict, *others: dict) -> OrderNeed:
    return CycleLines([written, *others], facts()).needs(ASPIRUS).of[id(written)]


def test_two_orders_on_the_same_days_are_not_checked_and_the_card_says_why() -> None:
    """A duplicate 28 mcg/day order over days 1-28: which one the quantity is for is the prescriber's call."""
    first = order(line(rate(28), "2026-12-01", "2026-12-28"), id="a", quantity=28)
    second = order(line(rate(28), "2026-12-01", "2026-12-28"), id="b", quantity=28)
    needs = CycleLines([first, second], facts()).needs(ASPIRUS)
    assert needs.shared and not needs.above
    assert [n.undecided for n in needs.of.values()] == [SHARED_DAYS, SHARED_DAYS]
    card = quantity_card_for([first, second], facts())
    assert card is not None
    assert "not checked: it runs on the same days as another blinatumomab order of the cycle" in card["detail"]


def test_an_order_without_dosage_lines_is_not_judged_on_its_days() -> None:
    """40 vials and no dosage line: neither its dose nor its days say what it needs, so nothing is said of them."""
    written = order(id="e", quantity=40)
    written["dosageInstruction"] = []
    need = need_of(written)
    assert (need.undecided, need.most_mcg) == (UNREAD_DOSE, 0)
    assert not need.above and not need.short and not need.beyond_days


def test_one_line_without_days_leaves_the_whole_order_undecided() -> None:
    """The step line placed, the full-dose line ending before it starts: the order's days are not known."""
    written = order(line(rate(9), "2026-12-01", "2026-12-07"), line(rate(28), "2026-12-08", "2026-12-01"),
                    quantity=100)
    assert need_of(written).undecided == UNREAD_DAYS


def test_one_line_whose_dose_is_not_read_bounds_the_order_by_its_days_alone() -> None:
    """9 mcg/day days 1-7 and 10 mL/h (no concentration) days 8-28: a bag a day of one vial on each of 28 days."""
    written = order(line(rate(9), "2026-12-01", "2026-12-07"), line(rate(10, "mL/h"), "2026-12-08", "2026-12-28"),
                    quantity=29)
    need = need_of(written)
    assert (need.undecided, need.most_mcg, need.beyond_days) == (UNREAD_DOSE, 28 * 35, True)


@pytest.mark.parametrize("end", ["2026-12-28", "2026-11-30"])  # days read, and not
def test_an_order_without_a_quantity_is_neither_above_short_nor_beyond(end: str) -> None:
    for dose in (rate(28), rate(10, "mL/h")):
        need = need_of(order(line(dose, "2026-12-01", end), quantity=None))
        assert (need.above, need.short, need.beyond_days) == (False, False, False)


@pytest.mark.parametrize(("mcg", "short"), [(784, False), (783, True)])
def test_a_quantity_in_mcg_holding_exactly_the_dose_is_not_short(mcg: int, short: bool) -> None:
    """28 mcg/day on days 1-28 is 784 mcg: ordered in mcg (billing units), no whole vial rounds it up."""
    need = need_of(order(line(rate(28), "2026-12-01", "2026-12-28"), quantity=mcg, quantity_unit="ug"))
    assert (need.fewest_mcg, need.short) == (784, short)


def test_the_longest_supply_of_the_cycles_orders_scales_the_limit() -> None:
    """Orders supplied for 42 and 84 days: the 84 days allow twice the 42-day limit."""
    first = order(line(rate(28), "2026-12-01", "2026-12-28"), id="a", supply_days=42)
    second = order(line(rate(28), "2027-01-12", "2027-02-08"), id="b", supply_days=84)
    check = check_quantity([first, second], ASPIRUS, 1)
    assert (check.ordered_days, check.supply_days, check.allowed_mcg) == (84, 84, 1960)


def test_the_tighter_of_the_vial_and_billing_unit_limits_applies() -> None:
    """A plan allowing 28 vials (980 mcg) but 700 billing units per 42 days allows 700 mcg."""
    tighter = QuantityLimit(vials=28, units=700, days=42)
    check = check_quantity([order(line(rate(28), "2026-12-01", "2026-12-28"), quantity=21)], tighter, 1)
    assert (check.window_mcg, check.over) == (700, True)


def test_a_quantity_with_a_unit_but_no_value_is_unreadable() -> None:
    quantity = read_quantity(order(line(rate(28), "2026-12-01", "2026-12-28"), quantity=None) | {
        "dispenseRequest": {"quantity": {"unit": "{vial}"}}})
    assert (quantity.mcg, quantity.unreadable) == (None, "quantity without a value")


@pytest.mark.parametrize(("unit", "mcg"), [
    ("vials", 35), ("vial(s)", 35), ("{vials}", 35), ("Vial", 35), ("mg", 1000), ("ug", 1),
    ("ug/d", None), ("mg/mL", None), ("", None), ("mL", None),
])
def test_quantity_units_vials_masses_and_rates(unit: str, mcg: int | None) -> None:
    """Vials however written, a mass; a rate or a concentration is not a quantity to dispense."""
    assert quantity_unit_mcg(unit) == (None if mcg is None else Decimal(mcg))
