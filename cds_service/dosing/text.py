"""Numbers, day ranges and words as clinicians read them on a card (display only: values stay exact elsewhere)."""
from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Sequence

from cds_service.facts.quantities import BSA_PLACES, exact_text, implausible, normalize, rounded, shown

if TYPE_CHECKING:  # reading.py words its own notes with this module's functions
    from cds_service.dosing.reading import DoseLine


IMPLAUSIBLE_DOSE = "an implausible dose"  # a summary's words for a dose of a million mcg/day or more


def mcg_text(value: Decimal) -> str:
    """At most two decimals, no trailing zeros: 28, 13.9, 0.58; an implausible dose exactly, in powers of ten
    (facts/quantities.exact_text: "6.72 × 10³⁰³"), never hundreds of digits."""
    return shown(value)


def dose_said(value: Decimal, said: str) -> str:
    """A dose in mcg/day as a summary says it (`said`, "28 mcg/day"), or IMPLAUSIBLE_DOSE from a million mcg/day on
    (28 mcg per 1e-300 mL makes 6.72 × 10³⁰³): a clinician reads that it is absurd, the detail names it exactly."""
    return IMPLAUSIBLE_DOSE if implausible(value) else said


def label_mcg_text(value: Decimal) -> str:
    """A label dose in mcg/day, or the daily dose of a correction to it, to three decimals, cut: exact for a dose per
    m² (a whole number) times a BSA (three decimals, BSA_PLACES), so that a card's label agrees with its suggestion's
    arithmetic (two decimals showed 15 × 1.333 m² = 19.995 as a label of 20 beside a correction rounded down to
    19.9); a correction is never shown above what it gives, nor as the label it is below."""
    return shown(value, BSA_PLACES, ROUND_DOWN)


def mcg_text_against(value: Decimal, limit: Decimal) -> str:
    """`mcg_text`, with up to four decimals when two would hide the difference from `limit`: "28.0008 mcg/day,
    above 28" rather than "28, above 28"."""
    text = mcg_text(value)
    if value != limit and text == mcg_text(limit) and not implausible(value):
        text = f"{rounded(value, 4):f}"
    return text


_MOST_PLACES = 6  # far below a microgram's thousandth: a difference smaller is not a clinician's to read


def texts_apart(value: Decimal, limit: Decimal) -> tuple[str, str]:
    """`value` and `limit` as `mcg_text` shows them, both with more decimals (up to six) when two would show
    different numbers as one: "28.671 vials, limit 28.667 vials", not "28.67 vials, limit 28.67 vials" (a limit
    made proportional to a longer supply rarely ends at two decimals). Both to the same places, so that rounding
    never shows the larger as the smaller, as more decimals on one side alone could ("28.6667, limit 28.67")."""
    if implausible(value) or implausible(limit):
        return shown(value), shown(limit)
    places = 2
    while places < _MOST_PLACES and value != limit and rounded(value, places) == rounded(limit, places):
        places += 1
    return f"{rounded(value, places):f}", f"{rounded(limit, places):f}"


def per_m2_text(per_m2: Decimal, bsa_m2: Decimal) -> str:
    """'15 mcg/m²/day × 0.932 m²', so that the product can be checked by hand."""
    return f"{mcg_text(per_m2)} mcg/m²/day × {bsa_text(bsa_m2)}"


def bsa_text(bsa_m2: Decimal) -> str:
    """'0.932 m²': the BSA as the body-size note shows it and the dose is computed from (three decimals,
    facts/quantities.BSA_PLACES)."""
    return f"{shown(bsa_m2, BSA_PLACES)} m²"


# A dose unit's parts (facts/quantities.normalize: 'ug/m2/d') as a clinician writes them ('mcg/m²/day').
_UNIT_WORDS = {"ug": "mcg", "m2": "m²", "d": "day", "wk": "week", "ml": "mL", "l": "L"}
_TIMES = {"d": "days", "wk": "weeks"}  # a length of time in words ('per 2 days'); h, min and s as they are


def counted(number: str, unit: str) -> str:
    """'7 vials', '1 vial' ("1 vials" had been shown), '245 mcg': `number` as shown, then its unit."""
    return f"{number} {'vial' if unit == 'vials' and number == '1' else unit}"


def unit_said(unit: str) -> str:
    """A readable dose unit as a clinician reads it: 'ug/h' and 'mcg/hr' are 'mcg/h', 'ug/(m2.d)' 'mcg/m²/day', 'mg/d'
    'mg/day'."""
    return "/".join(_UNIT_WORDS.get(part, part) for part in normalize(unit).split("/"))


def per_time_said(value: Decimal, unit: str) -> str:
    """A rate ratio's denominator after its amount: '/day', '/h', ' per 2 days', ' per 48 h'."""
    time = normalize(unit).lstrip("/")
    if value == 1:
        return f"/{_UNIT_WORDS.get(time, time)}"
    return f" per {exact_text(value)} {_TIMES.get(time, time)}"


def days_text(first: int, last: int | None) -> str:
    """'day 8', 'days 1–7', or for a line stating no end 'days 8 onward' (after "on": "28 mcg/day on day 8 on" was
    misread)."""
    if last is None:
        return f"days {first} onward"
    return f"day {first}" if first == last else f"days {first}–{last}"


def days_list(ranges: Sequence[str]) -> str:
    """Ranges of days (days_text, in day order) in one phrase: 'days 1–7 and 8–28', 'day 1, days 8–14 and 15 onward'
    read as 'days 1, 8–14 and 15 onward'; past NAMED + 1 ranges, the first and how many others (a summary's words:
    "(+2 more)" had left the clinician to guess what the more were)."""
    if len(ranges) == 1:
        return ranges[0]
    if len(ranges) > NAMED + 1:
        return f"{ranges[0]} and {len(ranges) - 1} other day ranges"
    return f"days {and_list([r.split(' ', 1)[1] for r in ranges])}"


def and_list(items: Sequence[str]) -> str:
    """'1', '1 and 2', '1, 2 and 3'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def lines_text(numbers: Sequence[int]) -> str:
    """Dosage lines by number: 'line 2', 'lines 2 and 3', 'lines 1, 2 and 4'."""
    return f"line {numbers[0]}" if len(numbers) == 1 else f"lines {and_list([str(n) for n in numbers])}"


def order_words(lines: list[DoseLine], cycle: str = "") -> str:
    """An order as its dose tells it from others signed with it: "order of 9 mcg/day on days 1–7" ("" unread); with
    `cycle` when the call signs several cycles, whose days each count from their own start: "cycle 2 order of 28
    mcg/day on days 1–28" (two such orders of cycles 2 and 3 read alike without it)."""
    words = dose_words(lines)
    if not words:
        return f"{cycle} order" if cycle else ""
    return f"{cycle + ' ' if cycle else ''}order of {words}"


def dose_words(lines: list[DoseLine]) -> str:
    """An order's dose in words, its first two readable lines: "9 mcg/day on days 1–7; 28 mcg/day on days 8–28; …"
    ("" unread)."""
    parts = [f"{mcg_text(line.mcg_per_day)} mcg/day on {days_text(line.first_day, line.last_day)}"
             for line in lines if line.mcg_per_day is not None]
    return f"{'; '.join(parts[:2])}{'; …' if len(parts) > 2 else ''}"


# A list that grows with the lines or orders of one Bundle (an order's lines running together, the other orders'
# unreadable lines, unreadable quantities; the other orders themselves are counted, never named) is named in full up
# to NAMED + 1 items; past that, the first NAMED and how many others.
NAMED = 3


def first_few(items: Sequence[str], total: int, others: str) -> list[str]:
    """`items` (at least the first NAMED + 1 of `total`) as a note lists them: ['1', '2'], or past NAMED + 1, ['1',
    '2', '3', '6 other lines'] (`others`: 'other lines')."""
    if total <= NAMED + 1:
        return list(items[:total])
    return [*items[:NAMED], f"{total - NAMED} {others}"]
