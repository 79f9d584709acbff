"""Dose units: micrograms, optionally per m², optionally per time, read exactly (fhir-data-profile.md §The order).

Units arrive as UCUM codes (`ug/d`, `ug/(m2.d)`, `ug/h`) or as the strings EHRs print (`mcg/day`, `mcg/m²/day`,
`mcg/hr`); both are normalized to one grammar `mass[/m2][/time]` before lookup (facts/quantities.py, which also
reads the units of time the facts use). A volume (`mL/h`) in the same grammar is a dose only through a concentration:
the strength of the order's Medication in mcg per mL (`read_concentration`).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from cds_service.facts.codes import to_decimal
from cds_service.facts.quantities import CACHED_UNIT_LENGTH, DAYS, Duration, exact_text, normalize, unit_text

MCG_PER_MASS = {"ug": Decimal(1), "mg": Decimal(1000), "ng": Decimal("0.001")}
ML_PER_VOLUME = {"ml": Decimal(1), "l": Decimal(1000)}
VOLUME_UNITS = frozenset(ML_PER_VOLUME)


@dataclass(frozen=True)
class Concentration:
    """mcg of blinatumomab in `ml` mL, as the Medication's strength states them: kept as two numbers, so that a dose
    read through it stays exact (28 mcg in 240 mL is no finite decimal per mL)."""

    mcg: Decimal
    ml: Decimal
    text: str  # the strength as a pharmacist checks it: "28 mcg per 240 mL"


@dataclass(frozen=True)
class DoseUnit:
    """A readable dose unit: `mcg` per unit value (before BSA and time), per m² or not, and for a rate the length of
    its time unit (None for an amount: a dose, not a rate). A volume read through a concentration has `mcg` per
    `per_ml` unit values, and the concentration."""

    mcg: Decimal
    per_m2: bool
    time: Duration | None
    per_ml: Decimal = Decimal(1)
    concentration: Concentration | None = None


def parse_dose_unit(unit: str) -> DoseUnit | str:
    """The DoseUnit of a unit string, or why it cannot be read (short strings parsed once per process, as
    `normalize` caches them)."""
    return _parse_cached(unit) if len(unit) <= CACHED_UNIT_LENGTH else _parse_dose_unit(unit)


def volume_dose_unit(unit: str, concentration: Concentration | str) -> DoseUnit | str:
    """A volume unit (mL or L, per m² and per time as a mass may be) read through `concentration` (a str: why there
    is none), or why not."""
    parsed = _grammar(unit)
    if isinstance(parsed, str):
        return parsed
    head, per_m2, time = parsed
    if head not in ML_PER_VOLUME:
        return f"unknown unit {_shown(unit)!r}"
    if isinstance(concentration, str):
        return f"volume ({_shown(unit)}) without a concentration: {concentration}"
    return DoseUnit(ML_PER_VOLUME[head] * concentration.mcg, per_m2, time, concentration.ml, concentration)


def is_volume(unit: str) -> bool:
    return normalize(unit).split("/", 1)[0] in VOLUME_UNITS


def read_concentration(strength: dict[str, Any]) -> Concentration | str:
    """A Medication's ingredient strength (a Ratio) as mcg per mL, or why it is not one ("is not per mL": a strength
    per vial or per tablet gives no concentration)."""
    numerator, denominator = strength.get("numerator"), strength.get("denominator")
    numerator = numerator if isinstance(numerator, dict) else {}
    denominator = denominator if isinstance(denominator, dict) else {}
    mass, volume = to_decimal(numerator.get("value")), to_decimal(denominator.get("value"))
    written = f"{_written(numerator)} per {_written(denominator)}" if denominator else _written(numerator)
    mass_unit = parse_dose_unit(unit_text(numerator))
    volume_unit = normalize(unit_text(denominator))
    if isinstance(mass_unit, str):
        return f"its Medication's strength ({written}): {mass_unit}"
    if mass_unit.time is not None or mass_unit.per_m2:
        return f"its Medication's strength ({written}) is not an amount"
    if volume is None or not volume_unit:
        return f"its Medication's strength ({written}) has no volume"
    if volume_unit not in ML_PER_VOLUME:
        return f"its Medication's strength ({written}) is not per mL"
    if mass is None or mass <= 0 or volume <= 0:
        return f"its Medication's strength ({written}) is not a positive amount"
    said = (f"{exact_text(mass)} {_MASS_SAID[normalize(unit_text(numerator))]} per {exact_text(volume)} "
            f"{_VOLUME_SAID[volume_unit]}")
    return Concentration(mass * mass_unit.mcg, volume * ML_PER_VOLUME[volume_unit], said)


_MASS_SAID = {"ug": "mcg", "mg": "mg", "ng": "ng"}
_VOLUME_SAID = {"ml": "mL", "l": "L"}


def _written(quantity: dict[str, Any]) -> str:
    """A Quantity as the record writes it (value and unit), cut short for a card."""
    value = to_decimal(quantity.get("value"))
    return _shown(f"{'?' if value is None else exact_text(value)} {unit_text(quantity)}".strip())




def _parse_dose_unit(unit: str) -> DoseUnit | str:
    parsed = _grammar(unit)
    if isinstance(parsed, str):
        return parsed
    head, per_m2, time = parsed
    if head in VOLUME_UNITS:
        return f"volume ({_shown(unit)}) without a concentration"
    if head not in MCG_PER_MASS:
        return f"unknown unit {_shown(unit)!r}"
    return DoseUnit(MCG_PER_MASS[head], per_m2, time)


def _grammar(unit: str) -> tuple[str, bool, Duration | None] | str:
    """`amount[/m2][/time]`: the amount's unit, per m² or not, the time unit's length; or why the unit is not read."""
    parts = normalize(unit).split("/") if unit else []
    if not parts:
        return "no unit"
    if parts[0] not in MCG_PER_MASS and parts[0] not in VOLUME_UNITS:
        return f"unknown unit {_shown(unit)!r}"
    rest = [p for p in parts[1:] if p != "m2"]
    if len(rest) > 1 or (rest and rest[0] not in DAYS):
        return f"unknown unit {_shown(unit)!r}"
    return parts[0], "m2" in parts[1:], Duration(*DAYS[rest[0]]) if rest else None


def _shown(unit: str) -> str:
    """A unit as quoted on a card: the EHR's text, cut short when it is not a unit at all."""
    return unit if len(unit) <= CACHED_UNIT_LENGTH else unit[:CACHED_UNIT_LENGTH] + "…"


_parse_cached = lru_cache(maxsize=4096)(_parse_dose_unit)
