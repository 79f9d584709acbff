"""Dispensed quantity of a cycle's blinatumomab orders against the Aspirus II limit (policy-rules.md §2).

Quantities are added across every draft order of the cycle, in mcg: a vial holds 35 mcg and one HCPCS J9039 billing
unit is 1 mcg, so 28 vials and 980 units are the same limit.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cds_service.dosing.api import QuantityLimit
from cds_service.dosing.units import parse_dose_unit
from cds_service.facts.codes import to_decimal
from cds_service.facts.quantities import normalize, time_in_days, unit_text

VIAL_MCG = Decimal(35)
_VIAL_UNITS = frozenset({"vial", "vials", "vial(s)", "{vial}", "{vials}"})


@dataclass(frozen=True)
class OrderQuantity:
    order: dict[str, Any]
    mcg: Decimal | None  # None when there is no quantity or it is unreadable
    per_unit: Decimal | None  # mcg per unit of the order's own quantity unit (35 for vials)
    unreadable: str = ""


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

    @property
    def over(self) -> bool:
        return self.total_mcg > self.allowed_mcg


def check_quantity(group: list[dict[str, Any]], limit: QuantityLimit, cycle: int | None) -> QuantityCheck:
    """The group's total quantity against the limit for the cycle's window; a longer expected supply duration
    allows proportionally more (policy-rules.md §2, Aspirus II)."""
    window = limit.window(cycle)
    supplies = [time_in_days(_dispense(o).get("expectedSupplyDuration") or {}) for o in group]
    ordered = max((s for s in supplies if s is not None), default=None)
    supply = max(Decimal(window), ordered or Decimal(0))
    per_window = min(Decimal(limit.units), limit.vials * VIAL_MCG)
    allowed = per_window * supply / Decimal(window)
    orders = tuple(read_quantity(o) for o in group)
    total = sum((q.mcg for q in orders if q.mcg is not None), Decimal(0))
    return QuantityCheck(orders, window, per_window, ordered, supply, allowed, total,
                         tuple(q.unreadable for q in orders if q.unreadable))


def read_quantity(order: dict[str, Any]) -> OrderQuantity:
    quantity = _dispense(order).get("quantity")
    if not isinstance(quantity, dict):
        return OrderQuantity(order, None, None)
    value = to_decimal(quantity.get("value"))
    per_unit = quantity_unit_mcg(unit_text(quantity))
    if value is None or per_unit is None:
        reason = f"quantity unit {unit_text(quantity) or '(none)'!r} not readable" if value is not None else \
            "quantity without a value"
        return OrderQuantity(order, None, None, reason)
    return OrderQuantity(order, value * per_unit, per_unit)


def quantity_unit_mcg(unit: str) -> Decimal | None:
    """mcg per unit of a dispense quantity: vials, or a mass (mcg = billing units, mg)."""
    if unit.strip().lower() in _VIAL_UNITS:
        return VIAL_MCG
    mass = parse_dose_unit(unit) if unit and "/" not in normalize(unit) else None
    return mass.mcg if mass is not None and not isinstance(mass, str) else None


def _dispense(order: dict[str, Any]) -> dict[str, Any]:
    dispense = order.get("dispenseRequest")
    return dispense if isinstance(dispense, dict) else {}
