"""Dose units: micrograms, optionally per m², optionally per time, read exactly (fhir-data-profile.md §The order).

Units arrive as UCUM codes (`ug/d`, `ug/(m2.d)`, `ug/h`) or as the strings EHRs print (`mcg/day`, `mcg/m²/day`,
`mcg/hr`); both are normalized to one grammar `mass[/m2][/time]` before lookup (facts/quantities.py, which also
reads the units of time the facts use).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from cds_service.facts.quantities import CACHED_UNIT_LENGTH, DAYS, Duration, normalize

MCG_PER_MASS = {"ug": Decimal(1), "mg": Decimal(1000), "ng": Decimal("0.001")}
VOLUME_UNITS = frozenset({"ml", "l"})


@dataclass(frozen=True)
class DoseUnit:
    """A readable dose unit: `mcg` per unit value (before BSA and time), per m² or not, and for a rate the length of
    its time unit (None for an amount: a dose, not a rate)."""

    mcg: Decimal
    per_m2: bool
    time: Duration | None


def parse_dose_unit(unit: str) -> DoseUnit | str:
    """The DoseUnit of a unit string, or why it cannot be read (short strings parsed once per process, as
    `normalize` caches them)."""
    return _parse_cached(unit) if len(unit) <= CACHED_UNIT_LENGTH else _parse_dose_unit(unit)


def _parse_dose_unit(unit: str) -> DoseUnit | str:
    parts = normalize(unit).split("/") if unit else []
    if not parts:
        return "no unit"
    if parts[0] in VOLUME_UNITS:
        return f"volume ({_shown(unit)}) without a concentration"
    if parts[0] not in MCG_PER_MASS:
        return f"unknown unit {_shown(unit)!r}"
    per_m2 = "m2" in parts[1:]
    rest = [p for p in parts[1:] if p != "m2"]
    if len(rest) > 1 or (rest and rest[0] not in DAYS):
        return f"unknown unit {_shown(unit)!r}"
    return DoseUnit(MCG_PER_MASS[parts[0]], per_m2, Duration(*DAYS[rest[0]]) if rest else None)


def _shown(unit: str) -> str:
    """A unit as quoted on a card: the EHR's text, cut short when it is not a unit at all."""
    return unit if len(unit) <= CACHED_UNIT_LENGTH else unit[:CACHED_UNIT_LENGTH] + "…"


_parse_cached = lru_cache(maxsize=4096)(_parse_dose_unit)
