"""Dosage lines that run on the same days: the patient receives their sum (docs/dosing.md, "Lines given together").

Two lines of one order, or lines of two orders of one cycle (one `draftOrders` Bundle), on the same cycle days add up:
28 and 20 mcg/day on days 1-28 are 48 mcg/day, however each compares alone. A line that states no end runs until a
line starting later takes over, so "9 mcg/day from day 1, 28 mcg/day from day 8" stays sequential (not 37 mcg/day on
days 8-28); with no later line it runs to the cycle's last infusion day, as it is compared.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

from cds_service.dosing.reading import DoseLine

THIS_ORDER = ""  # the order key of the checked order's own lines


@dataclass(frozen=True)
class Together:
    """Consecutive cycle days on which the same lines, more than one, run together."""

    first_day: int
    last_day: int
    mcg_per_day: Decimal  # the sum of the readable lines
    complete: bool  # False: a line's dose is not readable, so the sum is a lower bound
    lines: tuple[int, ...]  # the checked order's lines among them (indexes in dosageInstruction)
    orders: tuple[str, ...]  # ids of the cycle's other orders with a line among them
    unreadable: tuple[str, ...] = ()  # the other orders' lines among them whose dose is not readable, and why

    def days(self) -> range:
        return range(self.first_day, self.last_day + 1)

    @property
    def text(self) -> str:
        """Whose doses the sum adds, as a card reads it: 'lines 1 and 2 together', 'this order and order b
        together'."""
        lines = f"lines {_and([str(index + 1) for index in self.lines])}" if len(self.lines) > 1 else ""
        if not self.orders:
            text = f"{lines} together"
        else:
            mine = f"{lines} of this order" if lines else "this order"
            text = f"{mine} and {_and([f'order {order}' for order in self.orders])} together"
        return text if self.complete else f"{text}, not counting a dose that could not be read"


def together_days(lines: list[DoseLine], others: Sequence[tuple[str, list[DoseLine]]]) -> tuple[Together, ...]:
    """The ranges of the checked order's days on which more than one line runs: its own `lines`, and the lines of
    the cycle's `others` orders (id, lines), all numbered on the same cycle days."""
    if not others and len(lines) < 2:
        return ()  # one line alone (the usual order): nothing is added
    every = [(THIS_ORDER, line) for line in lines] + [(order, line) for order, order_lines in others
                                                      for line in order_lines]
    spans = _spans([line for _, line in every])
    if not _any_overlap(spans):
        return ()  # sequential lines and consecutive orders
    own_days = sorted({day for (order, line), (first, last) in zip(every, spans)
                       if order == THIS_ORDER and line.mcg_per_day is not None for day in range(first, last + 1)})
    ranges: list[tuple[int, int, tuple[int, ...]]] = []  # first day, last day, which of `every` run
    for day in own_days:
        running = tuple(i for i, (first, last) in enumerate(spans) if first <= day <= last)
        if len(running) < 2:
            continue
        if ranges and ranges[-1][2] == running and ranges[-1][1] == day - 1:
            ranges[-1] = (ranges[-1][0], day, running)
        else:
            ranges.append((day, day, running))
    return tuple(_together(first, last, [every[i] for i in running]) for first, last, running in ranges)


def _spans(lines: list[DoseLine]) -> list[tuple[int, int]]:
    """The days each line runs (first, last; last < first when none): an open-ended line until a later one starts."""
    starts: list[int] = []  # every line's first day, sorted: read only for a line without an end
    spans = []
    for line in lines:
        last = line.last_day
        if last is None:
            starts = starts or sorted({other.first_day for other in lines})
            later = next((start for start in starts if start > line.first_day), None)
            last = line.through if later is None else min(line.through, later - 1)
        spans.append((line.first_day, last))
    return spans


def _any_overlap(spans: list[tuple[int, int]]) -> bool:
    latest_end = None
    for first, last in sorted(spans):
        if last < first:
            continue  # a line ending before it starts runs no day
        if latest_end is not None and first <= latest_end:
            return True
        latest_end = last if latest_end is None else max(latest_end, last)
    return False


def _together(first: int, last: int, running: list[tuple[str, DoseLine]]) -> Together:
    doses = [line.mcg_per_day for _, line in running]
    orders = tuple(dict.fromkeys(order for order, _ in running if order != THIS_ORDER))
    unreadable = tuple(f"order {order} line {line.index + 1}: {line.unreadable}" for order, line in running
                       if order != THIS_ORDER and line.mcg_per_day is None)
    return Together(first, last, sum((dose for dose in doses if dose is not None), Decimal(0)),
                    None not in doses, tuple(line.index for order, line in running if order == THIS_ORDER), orders,
                    unreadable)


def _and(items: list[str]) -> str:
    """'1 and 2', '1, 2 and 3'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
