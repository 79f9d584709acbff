"""Dosage lines that run on the same days: the patient receives their sum (docs/dosing.md, "Lines given together").

Two lines of one order, or lines of two orders of one cycle (one `draftOrders` Bundle, or an active order of the record
that no draft replaces: it runs beside them), on the same cycle days add up: 28 and 20 mcg/day on days 1-28 are 48
mcg/day, however each compares alone. A line that states no end runs until a
line starting later takes over, so "9 mcg/day from day 1, 28 mcg/day from day 8" stays sequential (not 37 mcg/day on
days 8-28); with no later line it runs to the cycle's last infusion day, as it is compared.

The cycle's days are read once for all its orders (`SharedDays`), each order then reads only its own days: with many
orders in one Bundle, no order reads every other order's lines, a note counts the other orders (a clinician does not
see their ids) and the criterion's evidence names a few, so neither the work nor the answer grows with the square of the
number of orders.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate
from typing import Iterable, Sequence, TypeVar

from cds_service.dosing.reading import DoseLine
from cds_service.dosing.text import NAMED, and_list, first_few

Item = TypeVar("Item")
Span = tuple[int, int]  # the first and last cycle day a line runs (last < first: it runs no day)


@dataclass(frozen=True)
class Together:
    """Consecutive cycle days on which the same lines, more than one, run together (for one order of the cycle)."""

    first_day: int
    last_day: int
    mcg_per_day: Decimal  # the sum of the readable lines
    complete: bool  # False: a line's dose is not readable, so the sum is a lower bound
    lines: tuple[int, ...]  # the checked order's first lines among them (indexes in dosageInstruction; see text)
    line_count: int  # how many of the checked order's lines are among them
    readable: frozenset[int]  # every readable line of the checked order among them
    orders: tuple[str, ...]  # ids of the first of the cycle's other orders with a line among them (for evidence)
    order_count: int  # how many other orders have a line among them
    # The first other orders' lines among them whose dose is not readable, and why: NAMED + 2 of them mean more.
    unreadable: tuple[str, ...] = ()
    # Every other order among them (one or more) has the same dosage lines as the checked order: likely duplicates
    duplicate: bool = False
    # How many of the other orders named (`orders`) are active orders of the record, not drafts: said as such, since
    # "being signed" would send the clinician to look for a draft that is not there.
    active: int = 0

    def days(self) -> range:
        return range(self.first_day, self.last_day + 1)

    @property
    def text(self) -> str:
        """Whose doses the sum adds, as a card's detail and a criterion's note read it: 'lines 1 and 2 together',
        'this order and the other blinatumomab order being signed together', 'lines 1 and 2 of this order and 3 other
        blinatumomab orders being signed together'. The other orders are counted, never named: their ids are nothing
        a clinician sees. Another order with the same dosage lines is said to look like a duplicate."""
        lines = self._lines()
        if not self.order_count:
            text = f"{lines} together"
        else:
            mine = f"{lines} of this order" if lines else "this order"
            others = self._others()
            same = ("which has the same dosage lines: likely a duplicate order" if self.order_count == 1
                    else "which have the same dosage lines: likely duplicate orders")
            text = f"{mine} and {others}, {same}" if self.duplicate else f"{mine} and {others} together"
        return text if self.complete else f"{text}, not counting a dose that could not be read"

    @property
    def brief(self) -> str:
        """`text` as short as a card summary needs (140 characters in all): 'lines 1 and 2 together', '2 blinatumomab
        orders together', 'this order and a likely duplicate order' ('... and 2 likely duplicates')."""
        if not self.order_count:
            text = f"{self._lines()} together"
        elif self.duplicate:
            copies = "a likely duplicate order" if self.order_count == 1 else f"{self.order_count} likely duplicates"
            text = f"this order and {copies}"
        elif self.active and self.order_count == 1:
            text = "this order and an active order together"
        else:
            text = f"{self.order_count + 1} blinatumomab orders together"
        return text if self.complete else f"{text}, not counting an unreadable dose"

    def _others(self) -> str:
        """The other orders in words: 'the other blinatumomab order being signed', 'an active blinatumomab order of
        the record', '3 other blinatumomab orders being signed or active'."""
        if self.order_count == 1:
            return ("an active blinatumomab order of the record" if self.active
                    else "the other blinatumomab order being signed")
        return f"{self.order_count} other blinatumomab orders being signed{' or active' if self.active else ''}"

    def _lines(self) -> str:
        """'lines 1 and 2' ('lines 1, 2, 3 and 6 other lines'), or '' when one line of this order is among them."""
        if self.line_count < 2:
            return ""
        return f"lines {and_list(first_few([str(i + 1) for i in self.lines], self.line_count, 'other lines'))}"


@dataclass(frozen=True)
class _Stretch:
    """Consecutive cycle days on which the same lines of the cycle's orders run, more than one."""

    first_day: int
    last_day: int
    orders: int  # how many orders have a line running
    unreadable: int  # how many running lines have a dose that is not readable


class SharedDays:
    """The days on which lines of a cycle's orders (`orders`: id and lines, one entry per order, the first `active` of
    them active orders of the record, so that they are among the orders named) run together, read
    once for the cycle: a sweep over the lines' first and last days cuts the cycle into stretches on which the same
    lines run; each stretch gets its sum and the first few orders and unreadable lines among its lines. An order then
    reads the stretches of its own days (`of`). Every step is about linear in the number of lines, and in the days a
    readable line runs (at most a cycle's): however many orders share days, none reads the others' lines."""

    def __init__(self, orders: Sequence[tuple[str, list[DoseLine]]], active: int = 0) -> None:
        self._ids = [order_id for order_id, _ in orders]
        self._active = active
        every = [(position, line) for position, (_, lines) in enumerate(orders) for line in lines]
        spans = _spans([line for _, line in every])
        self._lines: list[list[tuple[DoseLine, Span]]] = []  # each order's lines and spans
        self._sums: list[Decimal] = []
        self._orders: list[list[int]] = []
        self._unreadable: list[list[tuple[int, DoseLine]]] = []
        self._kinds: list[int] = []  # each order's kind of lines (see below)
        self._kind_counts: Counter[int] = Counter()
        self._stretches = _sweep(every, spans)
        self._starts = [stretch.first_day for stretch in self._stretches]
        if not self._stretches:
            return  # no day shared: nothing more to read
        self._lines = [[] for _ in orders]
        for (position, line), span in zip(every, spans):
            self._lines[position].append((line, span))
        self._sums = self._add_doses(every, spans)
        # The first NAMED + 2 orders of each stretch: NAMED + 1 besides the one checked, to tell whether to count.
        self._orders = _first_groups(self._starts, [[span for _, span in lines] for lines in self._lines], NAMED + 2)
        self._unreadable = self._first_unreadable()
        # Each order's lines as one value, numbered by kind: two orders of one kind have the same lines (a duplicate).
        kinds: dict[tuple[DoseLine, ...], int] = {}
        self._kinds = [kinds.setdefault(tuple(lines), len(kinds)) for _, lines in orders]
        # How many orders of each kind: orders of one kind run on the same days, so a stretch with as many orders as
        # the checked order's kind has holds no order of another kind.
        self._kind_counts = Counter(self._kinds)

    def of(self, position: int) -> tuple[Together, ...]:
        """The ranges of the days of order `position`'s readable lines on which more than one line runs."""
        if not self._stretches:
            return ()
        own = self._lines[position]
        readable: dict[int, set[int]] = {}  # stretch -> the order's readable lines running in it
        for line, span in own:
            if line.mcg_per_day is not None:
                for index in self._covered(span):
                    readable.setdefault(index, set()).add(line.index)
        if not readable:
            return ()
        mine = sorted(readable)
        starts = [self._starts[index] for index in mine]
        # An unreadable line may run for years: its stretches are found without visiting each one.
        named = _first_items(starts, [(*span, line.index) for line, span in own], NAMED + 1)
        counts = _counts(starts, [span for _, span in own])
        return tuple(self._together(index, position, named[k], counts[k], readable[index])
                     for k, index in enumerate(mine))

    def _together(self, index: int, position: int, lines: list[int], line_count: int,
                  readable: set[int]) -> Together:
        stretch = self._stretches[index]
        others = [other for other in self._orders[index] if other != position][:NAMED + 1]
        duplicate = stretch.orders > 1 and self._kind_counts[self._kinds[position]] == stretch.orders
        unreadable = [f"order {self._ids[other]} line {line.index + 1}: {line.unreadable}"
                      for other, line in self._unreadable[index] if other != position][:NAMED + 2]
        return Together(stretch.first_day, stretch.last_day, self._sums[index], stretch.unreadable == 0,
                        tuple(lines), line_count, frozenset(readable), tuple(self._ids[other] for other in others),
                        stretch.orders - 1, tuple(unreadable), duplicate,
                        sum(other < self._active for other in others))

    def _covered(self, span: Span) -> range:
        """The stretches within `span` (a stretch lies within a line's span or outside it)."""
        return range(bisect_left(self._starts, span[0]), bisect_right(self._starts, span[1]))

    def _add_doses(self, every: list[tuple[int, DoseLine]], spans: list[Span]) -> list[Decimal]:
        """Each stretch's sum of readable doses, added in the order of the lines: a readable line runs at most a
        cycle, so it is added to a bounded number of stretches."""
        sums = [Decimal(0)] * len(self._starts)
        for (_, line), span in zip(every, spans):
            if line.mcg_per_day is not None:
                for index in self._covered(span):
                    sums[index] += line.mcg_per_day
        return sums

    def _first_unreadable(self) -> list[list[tuple[int, DoseLine]]]:
        """Each stretch's first unreadable lines, with their order's position: the first NAMED + 2 lines of each of
        the first NAMED + 3 orders with such a line, so that besides any one order NAMED + 2 remain, if there are."""
        unreadable = [[(line, span) for line, span in lines if line.mcg_per_day is None] for lines in self._lines]
        orders = _first_groups(self._starts, [[span for _, span in lines] for lines in unreadable], NAMED + 3)
        stretches: dict[int, list[int]] = {}  # order -> the stretches it is among the first in
        for index, positions in enumerate(orders):
            for position in positions:
                stretches.setdefault(position, []).append(index)
        found: list[list[tuple[int, DoseLine]]] = [[] for _ in self._starts]
        for position in sorted(stretches):  # each stretch's lines in the orders' order
            indexes = stretches[position]
            starts = [self._starts[index] for index in indexes]
            lines = _first_items(starts, [(*span, line) for line, span in unreadable[position]], NAMED + 2)
            for index, first in zip(indexes, lines):
                found[index].extend((position, line) for line in first)
        return found


def unread_elsewhere(together: Sequence[Together]) -> list[str]:
    """The other orders' unreadable lines running with an order's (`Together.unreadable`), each named once however
    many ranges it runs in; past NAMED + 1 of them, the first NAMED and "and lines of other orders"."""
    found = list(dict.fromkeys(reason for t in together for reason in t.unreadable))
    return found if len(found) <= NAMED + 1 else [*found[:NAMED], "and lines of other orders"]


def shares_days(lines: list[DoseLine]) -> bool:
    """Whether two of `lines` (one order's) run on a same day: for the usual order, one pass over its sorted spans
    instead of a `SharedDays`."""
    return len(lines) > 1 and _any_overlap(_spans(lines))


def _spans(lines: list[DoseLine]) -> list[Span]:
    """The days each line runs: an open-ended line until a later one starts."""
    starts: list[int] = []  # every line's first day, sorted: read only for a line without an end
    spans = []
    for line in lines:
        if line.last_day is None:
            starts = starts or line_starts(lines)
        spans.append(span_of(line, starts))
    return spans


def line_starts(lines: Iterable[DoseLine]) -> list[int]:
    """The first days of `lines`, sorted, once each: what `span_of` reads."""
    return sorted({line.first_day for line in lines})


def span_of(line: DoseLine, starts: Sequence[int]) -> Span:
    """The days `line` runs, `starts` being the first days of the cycle's lines (`line_starts`): its own, or for a
    line stating no end, until a line starting later takes over, else to the cycle's last infusion day."""
    if line.last_day is not None:
        return line.first_day, line.last_day
    later = bisect_right(starts, line.first_day)
    return line.first_day, line.through if later == len(starts) else min(line.through, starts[later] - 1)


def _any_overlap(spans: list[Span]) -> bool:
    latest_end: int | None = None
    for first, last in sorted(spans):
        if last < first:
            continue  # a line ending before it starts runs no day
        if latest_end is not None and first <= latest_end:
            return True
        latest_end = last if latest_end is None else max(latest_end, last)
    return False


def _sweep(every: list[tuple[int, DoseLine]], spans: list[Span]) -> list[_Stretch]:
    """The stretches, in day order: the lines running change only where one starts or stops."""
    changes: dict[int, list[tuple[int, int]]] = {}  # day -> (line, +1 starts or -1 stopped the day before)
    for number, (first, last) in enumerate(spans):
        if first <= last:
            changes.setdefault(first, []).append((number, 1))
            changes.setdefault(last + 1, []).append((number, -1))
    running = unreadable = 0
    per_order: dict[int, int] = {}  # order position -> its lines running
    stretches = []
    days = sorted(changes)
    for day, next_day in zip(days, days[1:]):
        for number, step in changes[day]:
            position, line = every[number]
            running += step
            unreadable += step if line.mcg_per_day is None else 0
            per_order[position] = per_order.get(position, 0) + step
            if not per_order[position]:
                del per_order[position]
        if running > 1:
            stretches.append(_Stretch(day, next_day - 1, len(per_order), unreadable))
    return stretches


def _first_groups(starts: list[int], groups: list[list[Span]], limit: int) -> list[list[int]]:
    """For each stretch (`starts`: their first days, in order), the first `limit` groups (numbers in `groups`, in its
    order) with a span over it: a group's spans are merged first, so that it meets each stretch once."""
    return _first_items(starts, [(first, last, number) for number, spans in enumerate(groups)
                                 for first, last in _merged(spans)], limit)


def _first_items(starts: list[int], items: list[tuple[int, int, Item]], limit: int) -> list[list[Item]]:
    """For each stretch, the first `limit` of `items` (first day, last day, item) running over it, in their order. A
    stretch is skipped once full, so the work does not grow with how many items share it."""
    found: list[list[Item]] = [[] for _ in starts]
    full = _Closed()
    for first, last, item in items:
        index = full.next_open(bisect_left(starts, first))
        while index < len(starts) and starts[index] <= last:
            found[index].append(item)
            if len(found[index]) == limit:
                full.close(index)
            index = full.next_open(index + 1)
    return found


def _merged(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for first, last in sorted(span for span in spans if span[0] <= span[1]):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _counts(starts: list[int], spans: list[Span]) -> list[int]:
    """How many of `spans` are over each stretch."""
    changes = [0] * (len(starts) + 1)
    for first, last in spans:
        if first <= last:
            changes[bisect_left(starts, first)] += 1
            changes[bisect_right(starts, last)] -= 1
    return list(accumulate(changes[:-1]))


class _Closed:
    """Closed indexes, the next open one found in about constant time however many follow each other (a union-find
    with path halving): visiting a stretch only while it takes an item keeps `_first_groups` linear."""

    def __init__(self) -> None:
        self._next: dict[int, int] = {}

    def close(self, index: int) -> None:
        self._next[index] = index + 1

    def next_open(self, index: int) -> int:
        while index in self._next:
            following = self._next[index]
            self._next[index] = self._next.get(following, following)
            index = self._next[index]
        return index
