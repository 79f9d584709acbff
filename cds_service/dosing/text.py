"""Numbers and day ranges as clinicians read them on a card (display only: values stay exact elsewhere)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def mcg_text(value: Decimal) -> str:
    """At most two decimals, no trailing zeros: 28, 13.9, 0.58."""
    rounded = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
    return f"{rounded:f}"


def mcg_text_against(value: Decimal, limit: Decimal) -> str:
    """`mcg_text`, with up to four decimals when two would hide the difference from `limit`: "28.0008 mcg/day,
    above 28" rather than "28, above 28"."""
    text = mcg_text(value)
    if value != limit and text == mcg_text(limit):
        text = f"{value.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP).normalize():f}"
    return text


def per_m2_text(per_m2: Decimal, bsa_m2: Decimal) -> str:
    """'15 mcg/m²/day × 0.932 m²': the BSA to three decimals, so that the product can be checked by hand."""
    bsa = bsa_m2.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP).normalize()
    return f"{mcg_text(per_m2)} mcg/m²/day × {bsa:f} m²"


def days_text(first: int, last: int | None) -> str:
    """'day 8', 'days 1–7', or for a line stating no end 'day 8 on'."""
    if last is None:
        return f"day {first} on"
    return f"day {first}" if first == last else f"days {first}–{last}"
