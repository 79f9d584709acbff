"""What the policy engine and the evaluation pipeline ask of the dose checks.

The engine never reads doses itself: a policy file names a dose schedule or a ceiling, and the engine asks an
object of this shape for a Verdict. `cds_service.dosing.checks.OrderDoseChecks` implements it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from cds_service.verdict import Verdict

# Dose schedules of Aspirus V, named in the policy files:
#  "relapsed-refractory": step dose in cycle 1 days 1-7, then full dose (the 84-day cycles 6-9 change the quantity
#  window, QuantityLimit.days_continued, and the days without infusion after them, expected.cycle_days, not the dose)
#  "standard": full dose every infusion day (consolidation, maintenance, pediatric MRD+ / less than CR)
#  "interfant": 15 mcg/m2/day (max 28) whatever the weight
SCHEDULES = ("relapsed-refractory", "standard", "interfant")


@dataclass(frozen=True)
class QuantityLimit:
    """Vials and billing units (1 unit = 1 mcg) per cycle window of `days` (Aspirus II: 28 vials or 980 units per 42
    days, per 84 days from cycle 6 on)."""

    vials: int
    units: int
    days: int
    days_continued: int | None = None  # the window from cycle `continued_from_cycle` on
    continued_from_cycle: int | None = None
    # The policy section, for the quantity card. Not compared: the criterion's limit (without it) and the card's are
    # the same limit, checked once per cycle (CycleLines.quantity).
    citation: str = field(default="", compare=False)

    def window(self, cycle: int | None) -> int:
        """The window in days of the order's cycle (the first one when the cycle number is unknown)."""
        continued = self.continued_from_cycle is not None and cycle is not None and cycle >= self.continued_from_cycle
        return self.days_continued if continued and self.days_continued is not None else self.days


class DoseChecks(Protocol):
    def schedule(self, schedule: str) -> Verdict:
        """The order's daily doses against an Aspirus V schedule for this patient, cycle and infusion days."""

    def ceiling(self, mcg_per_day: Decimal) -> Verdict:
        """Every dosage line at or below a fixed daily maximum (Florida Blue: 28 mcg/day)."""

    def quantity(self, limit: QuantityLimit) -> Verdict:
        """The quantity of all blinatumomab orders of the cycle against a per-cycle limit."""
