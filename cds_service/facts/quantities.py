"""Quantities as the record writes them: the unit of a Quantity, lengths of time and ages, read exactly; and how a
number is rounded when a clinician reads it.

Units arrive as UCUM codes (`ug/d`, `ug/(m2.d)`, `ug/h`, `wk`) or as the strings EHRs print (`mcg/day`,
`mcg/m²/day`, `weeks`); both are normalized to one grammar `mass[/m2][/time]` before lookup. The fact readers (a
boundsDuration, an onsetAge) and the dose checks (dosing/units.py reads dose units in the same grammar) share this
module, so that both count the same days.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation, getcontext
from functools import cache, lru_cache
from typing import Any

from cds_service.facts.codes import normalize_system, to_decimal

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
CACHED_UNIT_LENGTH = 64


def normalize(unit: str) -> str:
    return _normalize_cached(unit) if len(unit) <= CACHED_UNIT_LENGTH else _normalize(unit)


def _normalize(unit: str) -> str:
    text = unit.strip().lower().replace(" ", "")
    for pattern, replacement in _SPELLINGS:
        text = re.sub(pattern, replacement, text)
    # UCUM groups a compound denominator: ug/(m2.d) is ug/m2/d.
    text = text.replace("(", "").replace(")", "").replace(".", "/")
    return re.sub(r"/+", "/", text)


_normalize_cached = lru_cache(maxsize=4096)(_normalize)


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


# A BSA is dosed by (facts/body.py) and shown everywhere (the body-size note, a dose card's "15 mcg/m²/day × 1.475 m²",
# the dose-check extension) to three decimals: the card's arithmetic then checks by hand (5 × 1.475 = 7.375, a label
# dose shown exactly), where a note's 1.47 beside a line's 1.475 gave 7.35 against the card's 7.37.
BSA_PLACES = 3


def rounded(value: Decimal, places: int = 2, rounding: str = ROUND_HALF_UP) -> Decimal:
    """`value` to `places` decimals, half up (1.125 is 1.13), without trailing zeros: how every number shown to a
    clinician is rounded, so a value reads the same on a card and in a criterion's note. A value with more digits
    than the context's precision holds at `places` (a dose read through a volume of 1e-300 mL) is shown as it is:
    quantize would raise, and the order be answered as a fault rather than as above the label. `rounding`: another
    mode, for a value that must not be shown across a boundary (`cut`)."""
    if value.is_finite() and value.adjusted() >= getcontext().prec - places:
        return value.normalize()
    return value.quantize(_quantum(places), rounding=rounding).normalize()


def cut(value: Decimal, places: int = 2) -> Decimal:
    """`value` to `places` decimals, the digits after them dropped (44.996 is 44.99): a value shown beside a
    boundary with no more decimals than `places` (the 45 kg of the weight) then reads on the side it is on, where
    rounding half up showed 44.996 kg as 45 kg, the other side."""
    return rounded(value, places, ROUND_DOWN)


# From a million on a number is no dose, quantity or result anyone meant (a volume of 1e-300 mL makes one of 10^303
# mcg/day): shown in powers of ten (`exact_text`), and a dose so large is said to be implausible (dosing/text.py).
PLAUSIBLE_BELOW = Decimal(10) ** 6
_SIGNIFICANT = 12  # digits of a number shown exactly at most; beyond them it is cut, and says so ("…")
_SMALLEST_PLAIN = -6  # below 10^-6 the zeros after the point are counted in a power of ten, not written
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def implausible(value: Decimal) -> bool:
    """Whether `value` is too large to be meant (PLAUSIBLE_BELOW), or to be shown as a string of digits."""
    return not value.is_finite() or value.copy_abs() >= PLAUSIBLE_BELOW  # abs() could overflow


def shown(value: Decimal, places: int = 2, rounding: str = ROUND_HALF_UP) -> str:
    """`value` as a clinician reads it: `rounded` to `places` (28, 13.9, 0.58); an implausible one exactly, in powers
    of ten (`exact_text`: "6.72 × 10³⁰³"), never hundreds of digits long."""
    return exact_text(value) if implausible(value) else f"{rounded(value, places, rounding):f}"


def refused_text(raw: Any) -> str:
    """A JSON number (or numeric text) that `to_decimal` refuses for its size (1e300 mcg/day, 300 digits), as
    `exact_text` shows it ("7.77777777777… × 10²⁹⁹"): said implausible, never "no value"; "" for anything else
    (none, words, a boolean, NaN, a number read)."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str, Decimal)) or to_decimal(raw) is not None:
        return ""
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):  # words; an integer past Python's 4,300 digits
        return ""
    return exact_text(value) if value.is_finite() else ""


def exact_text(value: Decimal) -> str:
    """`value` as it is, bounded: "240", "0.5" as written; from a million on, or below a millionth, in powers of ten
    ("6.72 × 10³⁰³", "1 × 10⁻³⁰⁰"); past twelve significant digits cut, the cut marked ("240.777777777…"), so that a
    pharmacist reads the value the record holds, never a line of 300 digits. Built from its digits, with no
    arithmetic: 1e999999999 is past what the decimal context can normalize."""
    if not value.is_finite():
        return str(value)
    sign, digits, exponent = value.as_tuple()
    exponent = int(exponent)  # an int for a finite value
    while len(digits) > 1 and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    if digits == (0,):
        return "0"
    magnitude = exponent + len(digits) - 1  # the power of ten of the first digit
    kept = digits[:_SIGNIFICANT]  # cut, its zeros kept: "28.0000000000…" shows where, "28…" read as a number left out
    mark = "…" if len(digits) > _SIGNIFICANT else ""
    if _SMALLEST_PLAIN <= magnitude < PLAUSIBLE_BELOW.adjusted():
        return f"{Decimal((sign, kept, magnitude - len(kept) + 1)):f}{mark}"
    return f"{Decimal((sign, kept, 1 - len(kept))):f}{mark} × 10{str(magnitude).translate(_SUPERSCRIPT)}"


@cache
def _quantum(places: int) -> Decimal:
    """10 ** -places, made once per `places` rather than for every number shown."""
    return Decimal(1).scaleb(-places)
