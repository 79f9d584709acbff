"""Dose units: micrograms, optionally per m², optionally per time, read exactly (fhir-data-profile.md §The order).

Units arrive as UCUM codes (`ug/d`, `ug/(m2.d)`, `ug/h`) or as the strings EHRs print (`mcg/day`, `mcg/m²/day`,
`mcg/hr`); both are normalized to one grammar `mass[/m2][/time]` before lookup.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from decimal import Decimal
from typing import Any

from cds_service.facts.codes import normalize_system, to_decimal

MCG_PER_MASS = {"ug": Decimal(1), "mg": Decimal(1000), "ng": Decimal("0.001")}
# Days in one time unit, as a fraction: callers multiply first and divide last, so 196 mcg/wk is exactly 28 mcg/day.
DAYS = {
    "d": (Decimal(1), Decimal(1)),
    "h": (Decimal(1), Decimal(24)),
    "min": (Decimal(1), Decimal(1440)),
    "s": (Decimal(1), Decimal(86400)),
    "wk": (Decimal(7), Decimal(1)),
}
# Calendar units (UCUM `a`, `mo`) have no fixed length in days: a quantity in them (an age) is counted in months.
MONTHS = {"a": Decimal(12), "mo": Decimal(1)}
VOLUME_UNITS = frozenset({"ml", "l"})

_SPELLINGS = (
    (r"µg|μg|mcg|microgram(s)?", "ug"),
    (r"milligram(s)?", "mg"),
    (r"m\^2|m²|sq\.?m", "m2"),
    (r"\(24\.?h\)|24h(r|our)?s?|24-hours?", "d"),
    (r"days?|/24\b", "/d"),
    (r"h(ou)?rs?|hour", "h"),
    (r"minutes?|mins?", "min"),
    (r"weeks?|wks?", "wk"),
)


@dataclass(frozen=True)
class Duration:
    """An exact length of time: `num / den` days."""

    num: Decimal
    den: Decimal

    @property
    def days(self) -> Decimal:
        return self.num / self.den


@dataclass(frozen=True)
class DoseUnit:
    """A readable dose unit: `mcg` per unit value (before BSA and time), per m² or not, and for a rate the length of
    its time unit (None for an amount: a dose, not a rate)."""

    mcg: Decimal
    per_m2: bool
    time: Duration | None


UCUM = "unitsofmeasure.org"


def unit_text(quantity: dict[str, Any]) -> str:
    """The unit of a Quantity as written: its code, else its unit string. A code of another system than UCUM (an
    NCI or local unit code) means nothing to the parser, so the unit string a person reads is used instead."""
    system = quantity.get("system")
    foreign = isinstance(system, str) and normalize_system(system) != UCUM
    code = None if foreign else quantity.get("code")
    return str(code or quantity.get("unit") or "").strip()


# Unit strings are few and recur in every order and history: each is normalized and parsed once per process. Only
# short strings are kept (a unit is a few characters; a client may send megabytes), at most 4,096 of them.
_CACHED_UNIT_LENGTH = 64


def normalize(unit: str) -> str:
    return _normalize_cached(unit) if len(unit) <= _CACHED_UNIT_LENGTH else _normalize(unit)


def parse_dose_unit(unit: str) -> DoseUnit | str:
    """The DoseUnit of a unit string, or why it cannot be read."""
    return _parse_cached(unit) if len(unit) <= _CACHED_UNIT_LENGTH else _parse_dose_unit(unit)


def _normalize(unit: str) -> str:
    text = unit.strip().lower().replace(" ", "")
    for pattern, replacement in _SPELLINGS:
        text = re.sub(pattern, replacement, text)
    # UCUM groups a compound denominator: ug/(m2.d) is ug/m2/d.
    text = text.replace("(", "").replace(")", "").replace(".", "/")
    return re.sub(r"/+", "/", text)


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
    return unit if len(unit) <= _CACHED_UNIT_LENGTH else unit[:_CACHED_UNIT_LENGTH] + "…"


_normalize_cached = lru_cache(maxsize=4096)(_normalize)
_parse_cached = lru_cache(maxsize=4096)(_parse_dose_unit)


def time_span(quantity: dict[str, Any]) -> Duration | None:
    """A duration Quantity (value and time unit), or None when it has no positive value or known time unit."""
    value = to_decimal(quantity.get("value"))
    days = DAYS.get(normalize(unit_text(quantity)).lstrip("/"))
    if value is None or value <= 0 or days is None:
        return None
    return Duration(value * days[0], days[1])


def time_in_days(quantity: dict[str, Any]) -> Decimal | None:
    span = time_span(quantity)
    return span.days if span is not None else None


def months_in(quantity: dict[str, Any]) -> Decimal | None:
    """A Quantity in years or months as months, or None when it has no positive value or another unit."""
    value = to_decimal(quantity.get("value"))
    months = MONTHS.get(normalize(unit_text(quantity)))
    return value * months if value is not None and value > 0 and months is not None else None
