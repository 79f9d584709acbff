"""The label dose for a schedule, body size, cycle and day, and the length of its cycles (Aspirus V; policy-rules.md §2
and §5)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cds_service.facts.body import largest_bsa
from cds_service.facts.label_cycles import CYCLE_DAYS, LONGER_CYCLES, LONGER_FROM

WEIGHT_BOUNDARY_KG = Decimal(45)
FULL_DOSE = Decimal(28)  # mcg/day, and the cap of a BSA-based full dose
STEP_DOSE = Decimal(9)  # mcg/day on the step days, and the cap of a BSA-based step dose
FULL_PER_M2 = Decimal(15)  # mcg/m²/day below 45 kg (and Interfant)
STEP_PER_M2 = Decimal(5)
STEP_DAYS = range(1, 8)  # relapsed/refractory cycle 1, days 1-7
_NO_STEP_DAYS = range(0)
FIXED_TOLERANCE = Decimal("0.5")  # mcg/day above a fixed dose allowed for rounding
BSA_DOSE_TOLERANCE = Decimal("0.10")  # fraction above (and, for the info card, below) a BSA-computed dose
# A payer's fixed daily maximum has no rounding allowance (Florida Blue: 28.3 mcg/day is above 28), but a unit
# conversion's rounding is not a dose: 1.1667 mcg/h, 28 mcg/day written to four decimals, is 28.0008 mcg/day. A dose
# is above the maximum once rounded to hundredths of a mcg/day, finer than any pump or bag is set.
CEILING_ROUNDING = Decimal("0.005")


def above_ceiling(mcg_per_day: Decimal, ceiling: Decimal) -> bool:
    return mcg_per_day >= ceiling + CEILING_ROUNDING


@dataclass(frozen=True)
class Expected:
    mcg_per_day: Decimal  # the label dose (a BSA-based dose already capped)
    basis: str  # "fixed" (≥ 45 kg) or "bsa"
    cap: Decimal  # 9 on step days, else 28
    per_m2: Decimal | None = None  # 15 or 5 when BSA-based

    @property
    def allowed(self) -> Decimal:
        """The highest dose that is not above the label: +0.5 mcg/day for a fixed dose, +10% for a BSA-based dose,
        never above the cap."""
        if self.basis == "fixed":
            return self.mcg_per_day + FIXED_TOLERANCE
        return min(self.mcg_per_day * (1 + BSA_DOSE_TOLERANCE), self.cap)

    @property
    def low(self) -> Decimal:
        """Below this the dose is more than 10% under the label (an info card, never a correction)."""
        return self.mcg_per_day * (1 - BSA_DOSE_TOLERANCE)


def cycle_days(schedule: str | None, cycle: int | None) -> int | None:
    """The days of cycle `cycle` of `schedule`, its infusion days and the days without after them. None when the
    record leaves it open: the cycle number unknown in a schedule with longer cycles, or the schedule unknown (None)
    for a cycle that some schedule makes longer."""
    if (cycle is not None and cycle < LONGER_FROM) or (schedule is not None and schedule not in LONGER_CYCLES):
        return CYCLE_DAYS
    if schedule is None or cycle is None:
        return None
    longer = LONGER_CYCLES[schedule]
    return longer.days if cycle >= longer.first else CYCLE_DAYS


def step_days(schedule: str | None, cycle: int | None) -> range:
    """The days that take the step dose: relapsed/refractory cycle 1 days 1-7, none otherwise."""
    return STEP_DAYS if schedule == "relapsed-refractory" and cycle == 1 else _NO_STEP_DAYS


def is_step_day(schedule: str | None, cycle: int | None, day: int) -> bool:
    """Relapsed/refractory cycle 1 days 1-7 take the step dose."""
    return day in step_days(schedule, cycle)


def dosed_by_bsa(schedule: str | None, weight_kg: Decimal | None) -> bool:
    """Whether the label dose is per m² of BSA: for Interfant whatever the weight, otherwise below 45 kg (from 45 kg,
    a fixed dose). False for an unknown weight outside Interfant: no label dose is known yet."""
    return schedule == "interfant" or (weight_kg is not None and weight_kg < WEIGHT_BOUNDARY_KG)


def expected_daily_dose(schedule: str | None, weight_kg: Decimal | None, bsa_m2: Decimal | None, cycle: int | None,
                        day: int) -> Expected | None:
    """The label dose on one cycle day, or None when the body size needed is not known.

    `schedule` is one of `SCHEDULES`; None (no indication, phase unknown) gives the ceiling only: the full dose.
    Per m² of BSA when `dosed_by_bsa`, else a fixed dose.
    """
    step = is_step_day(schedule, cycle, day)
    if dosed_by_bsa(schedule, weight_kg):
        return None if bsa_m2 is None else _by_bsa(step, bsa_m2)
    return None if weight_kg is None else _fixed(step)


def label_maximum(schedule: str | None, weight_kg: Decimal | None, cycle: int | None, day: int) -> Expected:
    """The highest label dose at any body size the record leaves open; a dose above it is above the label whatever
    the patient's size. Without a weight (or from 45 kg), the fixed dose (a BSA-based dose is capped at it). Weighed
    and dosed by BSA (below 45 kg, or Interfant) without a BSA: the BSA dose at the tallest height accepted
    (`largest_bsa`)."""
    step = is_step_day(schedule, cycle, day)
    if weight_kg is not None and dosed_by_bsa(schedule, weight_kg):
        return _by_bsa(step, largest_bsa(weight_kg))
    return _fixed(step)


def _fixed(step: bool) -> Expected:
    return _STEP_MAXIMUM if step else _FULL_MAXIMUM


def _by_bsa(step: bool, bsa_m2: Decimal) -> Expected:
    per_m2, cap = (STEP_PER_M2, STEP_DOSE) if step else (FULL_PER_M2, FULL_DOSE)
    return Expected(min(per_m2 * bsa_m2, cap), "bsa", cap, per_m2)


# The two label maxima, built once: every patient from 45 kg (and every check without a weight) reads them.
_STEP_MAXIMUM = Expected(STEP_DOSE, "fixed", STEP_DOSE)
_FULL_MAXIMUM = Expected(FULL_DOSE, "fixed", FULL_DOSE)
