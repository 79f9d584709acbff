"""Dispensed quantity of a cycle's blinatumomab orders against the Aspirus II limit (policy-rules.md §2).

Quantities are added across every draft order of the cycle, in mcg: a vial holds 35 mcg and one HCPCS J9039 billing
unit is 1 mcg, so 28 vials and 980 units are the same limit. A vial is single-use (the label; Florida Blue, Drug
Availability) and the limit counts vials (Aspirus II: "NDC unit"): a quantity in mcg or mg, or a part of a vial, is
dispensed as the whole vials that hold it, which the limit counts ("34.29 vials" had been shown for 1200 mcg, which
takes 35).

Over the limit, each order's quantity is compared with what its own dosage lines use on their own days (`OrderNeed`),
so that the order whose own quantity is wrong is the one corrected (docs/dosing.md, "Quantity of each order").
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any, NamedTuple

from cds_service.dosing.api import QuantityLimit
from cds_service.dosing.expected import FULL_DOSE
from cds_service.dosing.reading import DoseLine
from cds_service.dosing.units import parse_dose_unit
from cds_service.facts.codes import to_decimal
from cds_service.facts.order import order_ref
from cds_service.facts.quantities import (CACHED_UNIT_LENGTH, exact_text, normalize, refused_text, time_in_days,
                                         unit_text)

VIAL_MCG = Decimal(35)
_VIAL_UNITS = frozenset({"vial", "vials", "vial(s)", "{vial}", "{vials}"})


@dataclass(frozen=True)
class OrderQuantity:
    order: dict[str, Any]
    mcg: Decimal | None  # None when there is no quantity or it is unreadable
    per_unit: Decimal | None  # mcg per unit of the order's own quantity unit (35 for vials)
    unreadable: str = ""

    @property
    def vials(self) -> Decimal:
        """The whole vials the quantity takes (0 without a readable one)."""
        return Decimal(0) if self.mcg is None else (self.mcg / VIAL_MCG).to_integral_value(rounding=ROUND_CEILING)


@dataclass(frozen=True)
class QuantityCheck:
    orders: tuple[OrderQuantity, ...]
    window_days: int  # the limit's window for this cycle (42, or 84 in continued cycles)
    window_mcg: Decimal  # the limit per window
    ordered_days: Decimal | None  # the orders' longest expected supply duration (None: no order states one)
    supply_days: Decimal  # the window, or the longer expected supply duration of the orders
    allowed_mcg: Decimal  # the limit scaled to the supply
    # Added once (the check is shared by every order of the cycle): the readable quantities, and why the others
    # could not be read.
    total_mcg: Decimal
    unreadable: tuple[str, ...]
    counted: int  # how many orders have a readable quantity
    vials: Decimal  # the whole vials the readable quantities take, each order's rounded up
    # An expected supply duration stated but not read in days, as written ("2 mo": a month has no fixed length),
    # "" when none: it may be longer than the window, which allows proportionally more.
    supply_unread: str = ""

    @property
    def above(self) -> bool:
        """More than the limit for the supply read (the window, or a longer supply the orders state)."""
        return self.vials * VIAL_MCG > self.allowed_mcg

    @property
    def over(self) -> bool:
        """Above the limit, whatever supply the orders state: above it with a supply not read, the quantity may be
        within the limit of that supply (a denial, and a card cutting it to 28 vials, had come of "2 mo")."""
        return self.above and not self.supply_unread

    @property
    def rounded_up(self) -> bool:
        """Whether the vials take more than the quantity says: a mass, or a part of a vial, rounded up."""
        return self.vials * VIAL_MCG > self.total_mcg


@dataclass(frozen=True)
class OrderNeed:
    """What one order's own dosage lines use on their own days, against its quantity. A vial is single-use (the
    label; Florida Blue, Drug Availability), so a bag takes whole vials: from the fewest vials that hold the dose
    (bags of several days) up to a bag a day. A day's dose counts at most the label's 28 mcg/day: a dose above it is
    the dose card's to correct, not a reason to dispense more."""

    quantity: OrderQuantity
    dose_mcg: Decimal  # the dose over the order's days
    fewest_mcg: Decimal  # the least the quantity must hold: the dose, in vials the whole vials that hold it
    most_mcg: Decimal  # the most its days use: a bag a day of whole vials (0 when its days are not told)
    undecided: str = ""  # why the order's own need is not told ("" when it is): its quantity is then left alone

    @property
    def above(self) -> bool:
        """More than its own days use: the quantity to correct, to `most_mcg`."""
        mcg = self.quantity.mcg
        return not self.undecided and mcg is not None and mcg > self.most_mcg

    @property
    def short(self) -> bool:
        """Less than its own dose. Not corrected: how many vials it needs depends on how long its bags are."""
        mcg = self.quantity.mcg
        return not self.undecided and mcg is not None and mcg < self.fewest_mcg

    @property
    def beyond_days(self) -> bool:
        """Its dose not read, more than its days use at most. Said, not corrected: the dose the quantity is for is
        not known."""
        mcg = self.quantity.mcg
        return self.undecided == UNREAD_DOSE and mcg is not None and mcg > self.most_mcg > 0


class Offered(NamedTuple):
    """An order as the suggestion offered for it leaves its dosage lines, when it rewrites them (the dose corrected,
    the end on its cycle's 28th infusion day, or both): what its quantity is judged on (docs/dosing.md, "Quantity of
    each order")."""

    lines: list[DoseLine]  # its dosage lines as the suggestion writes them
    ended: int | None  # the cycle day it ends them on, the 28th infusion day; None when it does not end them
    dose_corrected: bool  # it corrects their dose (the dose card's suggestion)


@dataclass(frozen=True)
class CycleNeeds:
    """Each order's need by id() of the order (`order_need`, in the Bundle's order; an order whose suggestion rewrites
    its lines on the lines it writes), and what the quantity cards of the cycle's orders say of them all: read once
    for the cycle, not for each card."""

    of: dict[int, OrderNeed]
    shared: bool  # some orders run on the same days: their needs are not told
    above: tuple[int, ...]  # id() of the orders holding more than their own days use
    positions: dict[int, int]  # id() of each order -> its place in the Bundle's order
    offered: dict[int, Offered]  # id() of each order judged on the lines its suggestion writes -> those lines


SHARED_DAYS = "it runs on the same days as another blinatumomab order of the cycle (see the dose card)"
UNREAD_DOSE = "its dose could not be read"
UNREAD_DAYS = "its days could not be read"
UNREAD = (UNREAD_DOSE, UNREAD_DAYS)


def order_need(quantity: OrderQuantity, lines: list[DoseLine], shares_days: bool) -> OrderNeed:
    """`quantity` against what `lines`, one order's, use. `shares_days`: a line of another order of the cycle runs
    on its days, so which of them the quantity is for is the prescriber's call (a duplicate, a replacement)."""
    nothing = Decimal(0)
    if shares_days:
        return OrderNeed(quantity, nothing, nothing, nothing, SHARED_DAYS)
    if any(not line.placed for line in lines):
        return OrderNeed(quantity, nothing, nothing, nothing, UNREAD_DAYS)
    most = sum((_bag_a_day(line) for line in lines), nothing)
    if not lines or any(line.mcg_per_day is None for line in lines):
        # Its days alone still bound what it uses, as for a dose read: a day counts at most the label's 28 mcg/day.
        return OrderNeed(quantity, nothing, nothing, most, UNREAD_DOSE)
    dose = sum((_daily(line) * len(line.days()) for line in lines), nothing)
    in_vials = quantity.per_unit == VIAL_MCG
    fewest = (dose / VIAL_MCG).to_integral_value(rounding=ROUND_CEILING) * VIAL_MCG if in_vials else dose
    return OrderNeed(quantity, dose, fewest, most)


def _daily(line: DoseLine) -> Decimal:
    """The line's dose a day as what its days use counts it: at most the label's 28 mcg/day, a dose above it being
    the dose card's to correct; a dose not read counts as that most."""
    return FULL_DOSE if line.mcg_per_day is None else min(line.mcg_per_day, FULL_DOSE)


def _bag_a_day(line: DoseLine) -> Decimal:
    """The most the line's days use, in mcg: a bag a day of whole vials."""
    return (_daily(line) / VIAL_MCG).to_integral_value(rounding=ROUND_CEILING) * len(line.days()) * VIAL_MCG


def check_quantity(group: list[dict[str, Any]], limit: QuantityLimit, cycle: int | None) -> QuantityCheck:
    """The group's total quantity against the limit for the cycle's window; a longer expected supply duration
    allows proportionally more (policy-rules.md §2, Aspirus II)."""
    window = limit.window(cycle)
    stated = [duration for duration in (_dispense(o).get("expectedSupplyDuration") for o in group)
              if isinstance(duration, dict) and duration]
    supplies = [time_in_days(duration) for duration in stated]
    ordered = max((s for s in supplies if s is not None), default=None)
    supply_unread = next((_written(d) for d, days in zip(stated, supplies) if days is None), "")
    supply = max(Decimal(window), ordered or Decimal(0))
    per_window = min(Decimal(limit.units), limit.vials * VIAL_MCG)
    allowed = per_window * supply / Decimal(window)
    orders = tuple(read_quantity(o) for o in group)
    total = sum((q.mcg for q in orders if q.mcg is not None), Decimal(0))
    # Each named by its order when the cycle has several: the same reason said three times had named none.
    unreadable = tuple(f"{q.unreadable} ({order_ref(q.order)})" if len(orders) > 1 else q.unreadable
                       for q in orders if q.unreadable)
    return QuantityCheck(orders, window, per_window, ordered, supply, allowed, total, unreadable,
                         sum(q.mcg is not None for q in orders), sum((q.vials for q in orders), Decimal(0)),
                         supply_unread)


def _written(duration: dict[str, Any]) -> str:
    """An expected supply duration as written ("2 mo"), the unit cut short when it is not a unit at all."""
    value = to_decimal(duration.get("value"))
    unit = unit_text(duration)
    shown_unit = unit if len(unit) <= CACHED_UNIT_LENGTH else unit[:CACHED_UNIT_LENGTH] + "…"
    return f"{'no value' if value is None else exact_text(value)} {shown_unit}".strip()


def read_quantity(order: dict[str, Any]) -> OrderQuantity:
    quantity = _dispense(order).get("quantity")
    if not isinstance(quantity, dict):
        return OrderQuantity(order, None, None)
    value = to_decimal(quantity.get("value"))
    per_unit = quantity_unit_mcg(unit_text(quantity))
    if value is None or per_unit is None:
        reason = f"quantity unit {unit_text(quantity) or '(none)'!r} not readable" if value is not None else \
            _without_value(quantity)
        return OrderQuantity(order, None, None, reason)
    first = _initial_fill(order, value * per_unit)
    return OrderQuantity(order, None, None, first) if first else OrderQuantity(order, value * per_unit, per_unit)


def _initial_fill(order: dict[str, Any], mcg: Decimal) -> str:
    """Why the quantity is not read when the order's first fill (`initialFill.quantity`) holds more than it, or may
    ("" when it does not): 40 vials first beside 28 had passed as 28. Which the cycle's quantity is, the prescriber
    says; the suggestion, setting `quantity`, would leave the first fill as it was."""
    fill = _dispense(order).get("initialFill")
    first = fill.get("quantity") if isinstance(fill, dict) else None
    if not isinstance(first, dict):
        return ""
    value, per_unit = to_decimal(first.get("value")), quantity_unit_mcg(unit_text(first))
    if value is None or per_unit is None:
        return "its initial fill's quantity not readable"
    unit = "vials" if per_unit == VIAL_MCG else unit_text(first)
    return "" if value * per_unit <= mcg else f"its initial fill ({exact_text(value)} {unit}) is more than its quantity"


def _without_value(quantity: dict[str, Any]) -> str:
    """Why a quantity has no value read: none sent, or one too large to read (facts/codes.to_decimal), named."""
    refused = refused_text(quantity.get("value"))
    unit = "vials" if quantity_unit_mcg(unit_text(quantity)) == VIAL_MCG else unit_text(quantity)
    return f"an implausible quantity ({refused} {unit})".replace(" )", ")") if refused else "quantity without a value"


def quantity_unit_mcg(unit: str) -> Decimal | None:
    """mcg per unit of a dispense quantity: vials, or a mass (mcg = billing units, mg)."""
    if unit.strip().lower() in _VIAL_UNITS:
        return VIAL_MCG
    mass = parse_dose_unit(unit) if unit and "/" not in normalize(unit) else None
    return mass.mcg if mass is not None and not isinstance(mass, str) else None


def _dispense(order: dict[str, Any]) -> dict[str, Any]:
    dispense = order.get("dispenseRequest")
    return dispense if isinstance(dispense, dict) else {}
