"""Course and cycle of the draft blinatumomab orders (fhir-data-profile.md §Course and cycles).

Prior blinatumomab orders are grouped into cycles; cycles into courses. A cycle restarts after an interruption of
more than 7 days (the label's rule) or once it holds 28 infusion days. A course restarts at a relapse recorded
after a remission that itself was recorded (or attested) after the course began: EHRs re-code C91.02 at every
admission, which must not restart the count. A course given in remission (its disease status at the start is
remission) also ends at the first relapse recorded after its start: that relapse is a new episode of the disease
(docs/policy-reading.md, "A relapse after a course given in remission"). When the record cannot tell whether the
course was given in remission, the cycle number is unknown, for the clinician to attest, rather than a guess.

An earlier order whose drug could not be identified (medications.py) may be a prior cycle: the count is then
unknown, for the clinician to attest (`cycle-number`), rather than a guess that it was not one. Any such order begun
before this cycle counts, however old: which cycle or course it would join depends on what it was. So does an earlier
blinatumomab order whose start is recorded only to a month or a year (MedOrder.start_last): counted from its first
day and from its last, where the two give different cycle numbers, the number is unknown and the card asks for the
order's full date (or the cycle number); where they agree, nothing is asked. An end so recorded is counted to each
day it may be, alike, and where those days disagree on whether this cycle starts within the label's days without
infusion after the one before (dosing/rest.py), the rest is unknown (`CycleInfo.rest_unknown`, the full date asked
for) and that cycle before is not read. Past _DAYS_TRIED such days, the rest is unknown whenever one of those orders
may end within the label's days without infusion before this cycle, unless the cycle before is the last of the fully
dated orders and none of those may run within 7 days of its start (`_dated_cycle_before`): it is then that cycle on
every day they may be.

Orders signed together (one `draftOrders` Bundle) are one cycle unless the same rule separates them
(`signed_cycles`): cycle 1 and cycle 2 signed in one call are two cycles, the second counted, numbered and dosed
from its own start as if signed after the first.

The label follows a cycle's 28 infusion days with 14 days without infusion (56 after relapsed/refractory cycle 6 on).
Counting leniently, as above, is right for reading what was given; a cycle started within those days is a finding of
the dose check (dosing/rest.py), which reads the cycle before it here (`CycleInfo.previous`). The infusion days of
one cycle's orders are not cut there (dosing/cycle_end.py, `cycle_stretches`): days within them after a full cycle
are its days past the 28th infusion day, not a cycle of their own.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Sequence

from cds_service.facts.attestations import Attestations, course_answers_since
from cds_service.facts.diagnosis import Diagnosis, StatusRecord
from cds_service.facts.label_cycles import INFUSION_DAYS_PER_CYCLE, LEAST_REST, LONGER_FROM, RESTS
from cds_service.facts.medications import PRIOR_STATUSES, MedOrder, dates_text
from cds_service.facts.model import CycleInfo, Fact, PreviousCycle, needs_full_date
from cds_service.facts.order import (counted_days, dosage_bounds, last_infusion_day, order_ref, order_start,
                                     period_last_day)
from cds_service.record import PatientRecord

DAY = timedelta(days=1)
# An interruption (days without infusion) longer than this restarts the cycle: the label's rule. fhir-data-profile.md
# §Course and cycles words it as an order starting "more than 7 days after" the last infusion day, which restarts
# after 7 days without infusion (last on day 10, restarted on day 18); the label continues the cycle then.
MAX_INTERRUPTION = timedelta(days=7)
_PHASES_IN_REMISSION = frozenset({"consolidation", "maintenance"})


@dataclass(frozen=True)
class OrderSpan:
    """One prior blinatumomab order: its first and last infusion day."""

    reference: str
    first: date
    last: date


@dataclass
class Cycle:
    spans: list[OrderSpan] = field(default_factory=list)

    @property
    def start(self) -> date:
        return self.spans[0].first

    @property
    def last(self) -> date:
        return max(s.last for s in self.spans)

    def infusion_days_before(self, day: date) -> int:
        """Distinct infusion days of the cycle before `day` (overlapping orders count once): the spans merged, not
        their days listed one by one, as a span read to the end of a year recorded alone is months long and the
        cycles are counted again for each day that end may be (`_rest_unsure`, `_by_the_day`)."""
        count, reached = 0, date.min  # reached: the last day counted so far
        for first, last in sorted((span.first, min(span.last, day - DAY)) for span in self.spans):
            first = max(first, reached + DAY)
            if first <= last:
                count += (last - first).days + 1
                reached = last
        return count

    def takes(self, first: date) -> bool:
        """Whether an order starting on `first` continues this cycle."""
        return continues(self.last, first) and self.infusion_days_before(first) < INFUSION_DAYS_PER_CYCLE

    def full(self) -> bool:
        """Whether the cycle gave its 28 infusion days."""
        return self.infusion_days_before(self.last + DAY) >= INFUSION_DAYS_PER_CYCLE


def days_off(last: date, first: date) -> int:
    """The days without infusion between a last infusion day and a later first one (the day after: 0)."""
    return (first - last).days - 1


def continues(last: date, first: date) -> bool:
    """Whether a start on `first` after a last infusion day `last` is within the label's interruption (at most 7
    days without infusion: MAX_INTERRUPTION), the cycle not restarted."""
    return days_off(last, first) <= MAX_INTERRUPTION.days


class SignedCycle(NamedTuple):
    """A cycle of the orders signed together: its orders, in the Bundle's order, and its last infusion day (a line
    without an end running to the cycle's 28th day, `signed_span`): a Coverage ending before it ends mid-cycle.
    `spans`: its orders' signed spans, in the same order, which a later cycle of the call reads as earlier ones."""

    orders: list[dict[str, Any]]
    last: date
    spans: list[OrderSpan]


def signed_cycles(orders: list[dict[str, Any]], today: date) -> list[list[dict[str, Any]]]:
    """The blinatumomab orders signed together, as the cycles they are, oldest first (each in the Bundle's order):
    an order starts the next cycle when more than 7 days without infusion come before it, or once the
    cycle holds 28 infusion days (`Cycle.takes`, the rule for earlier orders). A step dose written as two orders, or
    two orders on the same days, stay one cycle. Linear in the orders after sorting them: the infusion days are
    counted as the cycle grows, not again for each order."""
    if len(orders) < 2:
        return [orders]
    return [cycle.orders for cycle in _grouped(orders, today)]


def dated_cycles(orders: list[dict[str, Any]], today: date) -> list[SignedCycle]:
    """`signed_cycles` with each cycle's last infusion day, each order's span read once. `orders`: one at least."""
    if len(orders) < 2:  # most calls: the one order's span, and no grouping
        span = signed_span(orders[0], today)
        return [SignedCycle(orders, span.last, [span])]
    return _grouped(orders, today)


def _grouped(orders: list[dict[str, Any]], today: date) -> list[SignedCycle]:
    """The cycles of two orders or more (signed_cycles), each with its last infusion day as it grew."""
    spans = sorted(((signed_span(order, today), position) for position, order in enumerate(orders)),
                   key=lambda item: (item[0].first, item[0].last, item[1]))
    cycles: list[tuple[_Growing, list[int]]] = []
    for span, position in spans:
        if cycles and cycles[-1][0].takes(span):
            cycles[-1][0].add(span)
            cycles[-1][1].append(position)
        else:
            cycles.append((_Growing(span), [position]))
    by_position = {position: span for span, position in spans}
    return [SignedCycle([orders[position] for position in sorted(positions)], growing.last,
                        [by_position[position] for position in sorted(positions)])
            for growing, positions in cycles]


def signed_span(order: dict[str, Any], today: date) -> OrderSpan:
    """A signed order's infusion days: as an earlier order's, except that a dosage line stating no end runs to the
    cycle's 28th infusion day, as the dose check runs it (an earlier order's span is never guessed longer)."""
    first = order_start(order, today)
    last = last_infusion_day(order, first)
    if _runs_open(order):
        last = max(last, first + (INFUSION_DAYS_PER_CYCLE - 1) * DAY)
    return OrderSpan(order_ref(order), first, last)


def _runs_open(order: dict[str, Any]) -> bool:
    """Whether a dosage line of the order states no end (no boundsPeriod end, no boundsDuration, no count)."""
    for line in order.get("dosageInstruction") or ():
        timing = line.get("timing") if isinstance(line, dict) else None
        repeat = timing.get("repeat") if isinstance(timing, dict) else None
        repeat = repeat if isinstance(repeat, dict) else {}
        if (period_last_day(repeat.get("boundsPeriod")) is None and not repeat.get("boundsDuration")
                and counted_days(repeat) is None):
            return True
    return False


class _Growing:
    """A cycle of signed orders as it grows, spans added in order of their first day: its last infusion day and its
    infusion days, the merged days counted (`counted`) but for the last stretch (`stretch`), which a later span can
    only extend (it starts no earlier than it)."""

    def __init__(self, span: OrderSpan) -> None:
        self.last = span.last
        self.counted = 0
        self.stretch = (span.first, span.last)

    def infusion_days_before(self, day: date) -> int:
        first, last = self.stretch
        return self.counted + max(0, (min(last, day - DAY) - first).days + 1)

    def takes(self, span: OrderSpan) -> bool:
        """`Cycle.takes`, counted without walking the days."""
        return continues(self.last, span.first) and self.infusion_days_before(span.first) < INFUSION_DAYS_PER_CYCLE

    def add(self, span: OrderSpan) -> None:
        first, last = self.stretch
        if span.first <= last + DAY:
            self.stretch = (first, max(last, span.last))
        else:
            self.counted += (last - first).days + 1
            self.stretch = (span.first, span.last)
        self.last = max(self.last, span.last)


class Readings:
    """Undated.later: an order's span on each other day its partial date may be, oldest first, each read only when
    iterated (`_recounted`, up to _DAYS_TRIED days in all). A year recorded alone is 365 of them: listed for each of
    the thousands of such orders a 10 MB body holds, they had held a worker 12 s where, past _DAYS_TRIED, only how
    many they are and the latest day they reach are read (`latest`)."""

    def __init__(self, count: int, read: Callable[[int], OrderSpan | None]) -> None:
        self.count = count
        self.read = read  # the span of the reading at an index below `count`

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[OrderSpan | None]:
        return map(self.read, range(self.count))

    def latest(self) -> date | None:
        """The last infusion day of the latest reading: the latest of them all, as a later start or end never reads
        an earlier last day (order.last_infusion_day). None when there is no span."""
        for index in reversed(range(self.count)):  # two at the most: a None ends `later` only
            span = self.read(index)
            if span is not None:
                return span.last
        return None


class Undated(NamedTuple):
    """A prior order whose start is recorded only to a month or a year: `span`, read from its first day (as in
    PriorOrders.spans), and its span from each later day it may start (None: a start on or after this cycle's, when
    it is no prior order; none after its own recorded end). Or one whose end is so recorded (`ended`): `span` read to
    its last day, and its span to each earlier day it may end."""

    span: OrderSpan
    later: Readings
    ended: bool = False
    dated: str = ""  # its date as recorded, "started 2026-12" or "ended 2026-11" (medications.dates_text)

    def request(self, said: str) -> Fact[int]:
        """Unknown by the day it started or ended (`said`): the card asks for its full date in words, the
        reference left to the detail (model.full_date_request). Its date says it is an earlier order: "earlier" had
        pushed the request beside the cycle number's past the summary's limit."""
        return needs_full_date((self.span.reference,), said, f"the blinatumomab order {self.dated}")


class PriorOrders(NamedTuple):
    """The earlier orders this cycle is counted from (not drafts, active/completed/stopped, begun before its start),
    read once for the cycle and for the order-level answers."""

    spans: list[OrderSpan]  # prior blinatumomab orders, oldest first
    unread: list[OrderSpan]  # orders whose drug is unknown (medications.py): each may be a prior blinatumomab one
    # The orders of the cycles signed before this one in the same call (signed_cycles): earlier cycles, which do not
    # move `answers_since`: an answer given for the call speaks for each of its cycles.
    signed: tuple[OrderSpan, ...] = ()
    signed_count: int = 0  # how many cycles they are
    # The prior orders whose start is recorded only to a month or a year; () when every start is a full date.
    undated: tuple[Undated, ...] = ()

    def answers_since(self) -> date | None:
        """From when order-level answers (combination, cycle-number) count: authored after the day the latest of
        these orders started, so an answer given for that order is not reused for this one."""
        starts = [s.first for s in (*self.spans, *self.unread)]
        return max(starts) + timedelta(days=1) if starts else None


def prior_orders(med_orders: Iterable[MedOrder], draft_ids: set[str], start: date,
                 signed: Sequence[OrderSpan] = (), signed_count: int = 0) -> PriorOrders:
    """The spans of the prior blinatumomab orders and of the orders that would be ones but for their unknown drug, in
    one pass (a span is read only for those: reading one costs a walk over the order's dosage lines). `signed`: the
    spans (`signed_span`) of the orders of the `signed_count` cycles signed before this one in the same call."""
    spans: list[OrderSpan] = []
    unread: list[OrderSpan] = []
    undated: list[Undated] = []
    for order in med_orders:
        if order.identified and "blinatumomab" not in order.kinds:
            continue
        if (order.status in PRIOR_STATUSES and order.resource.get("id") not in draft_ids
                and order.start is not None and order.start < start):
            span = OrderSpan(order.reference, order.start, last_infusion_day(order.resource, order.start))
            (spans if order.identified else unread).append(span)
            if order.identified and not order.dated_exactly and order.start_last is not None:
                later = _later_spans(order.resource, span, order.start_last, start)
                undated.append(Undated(span, later, dated=dates_text(order)))
            elif order.identified and order.end != order.end_last:
                earlier = _earlier_ends(order.resource, span)
                undated += [Undated(span, earlier, ended=True, dated=dates_text(order))] if len(earlier) else []
    spans.sort(key=lambda s: (s.first, s.last))
    return PriorOrders(spans, unread, tuple(signed), signed_count, tuple(undated))


def _later_spans(order: dict[str, Any], span: OrderSpan, last: date, start: date) -> Readings:
    """Undated.later: the order's span from each day after `span`'s first up to `last`, the last day its start may
    be, then None if that reaches this cycle's `start`. Every day, not the last alone: from March 1 a cycle-5 order
    joined cycle 4, from March 31 it began one, and a year from January 1 to December 31 may count alike at both
    ends and otherwise between. None past its latest recorded end: it cannot have started then."""
    bounds = dosage_bounds(order)
    days = (last - span.first).days  # the days after its first it may start
    before = (start - span.first).days - 1  # of those, the days before this cycle's start
    recorded = days if bounds.last is None else (bounds.last - span.first).days  # those up to its recorded end
    count = max(0, min(days, before, recorded))
    reaches = count == before < days  # the next day is this cycle's start, or after it: no prior order then

    def read(index: int) -> OrderSpan | None:
        if index == count:
            return None
        day = span.first + DAY * (index + 1)
        return OrderSpan(span.reference, day, last_infusion_day(order, day, bounds))

    return Readings(count + reaches, read)


def _earlier_ends(order: dict[str, Any], span: OrderSpan) -> Readings:
    """Undated.later of an order whose dosage end is recorded only to a month or a year: its span to each day before
    `span`'s last (the end's last day) that end may be, not before its first day. A cycle read to October 31 was
    full and owed its rest; ended October 20, it was interrupted."""
    bounds = dosage_bounds(order)
    if bounds.last_first is None or bounds.last_first == bounds.last:
        return Readings(0, lambda index: None)  # an end of its validity period alone: no infusion day is read from it
    earliest = last_infusion_day(order, span.first, bounds._replace(last=bounds.last_first))
    return Readings(max(0, (span.last - earliest).days),
                    lambda index: OrderSpan(span.reference, span.first, earliest + DAY * index))


def group_cycles(spans: list[OrderSpan]) -> list[Cycle]:
    """The cycles of `spans` (in order of their first day, then their last): a span continues the cycle before it
    as `Cycle.takes` tells, the cycle's infusion days counted as it grows (_Growing), not merged again for each
    span: 4,000 earlier orders on the same days had taken seconds, the 25,000 a 10 MB body holds past gunicorn's
    timeout."""
    cycles: list[Cycle] = []
    growing: _Growing | None = None
    for span in spans:
        if growing is not None and growing.takes(span):
            cycles[-1].spans.append(span)
            growing.add(span)
        else:
            cycles.append(Cycle([span]))
            growing = _Growing(span)
    return cycles


def _remission_after(course_start: date, records: tuple[StatusRecord, ...], attestations: Attestations) -> date | None:
    """The first remission recorded after the course's start (fhir-data-profile.md §Course and cycles: C91.01,
    clinicalStatus remission, or attested). The attested one is `remission-number`, authored after the start: it
    names the remission the patient is in when answered. `complete-response-to-induction` and
    `end-of-consolidation-response` are not: they date a response to earlier treatment, true of most relapsed
    patients, so they would restart an ordinary relapsed/refractory course at its next re-coded C91.02."""
    days = [r.day for r in records if r.status == "remission" and r.day > course_start]
    answer = attestations.get("remission-number", authored_since=course_start + DAY)
    if answer is not None:
        days.append(answer.authored)
    return min(days, default=None)


def _given_in_remission(course_start: date, records: tuple[StatusRecord, ...], attestations: Attestations,
                        relapse: StatusRecord) -> bool | None:
    """Whether the course was given in remission (docs/policy-reading.md), read as its phase is (fhir-data-profile.md
    §Therapy phase): a phase other than consolidation or maintenance attested for the course before `relapse` says
    not; else the disease status at its start. None when records of active disease (C91.00: a relapse coded without
    its status, or a remission coded loosely) follow the last remission up to the start: the record cannot tell."""
    phase = attestations.get("therapy-phase", authored_since=course_answers_since(course_start))
    if phase is not None and phase.authored < relapse.day and phase.value not in _PHASES_IN_REMISSION:
        return False
    statuses = [r.status for r in records if r.day <= course_start]
    decided = [s for s in statuses if s != "active"]
    if not decided or decided[-1] != "remission":
        return False
    return True if statuses[-1] == "remission" else None


def _course_ended(course_start: date, relapses: list[StatusRecord], records: tuple[StatusRecord, ...],
                  attestations: Attestations) -> bool | None:
    """Whether one of `relapses` (recorded after the course's start, oldest first) ended the course: it follows a
    remission recorded after the start, or the course was given in remission (module docstring); None when the
    record cannot tell."""
    remission = _remission_after(course_start, records, attestations)
    if remission is not None and any(r.day > remission for r in relapses):
        return True
    return _given_in_remission(course_start, records, attestations, relapses[0])


def course_cycle_starts(cycle_starts: list[date], diagnosis: Diagnosis,
                        attestations: Attestations) -> tuple[list[date], StatusRecord | None]:
    """The starts of the cycles of the current (last) course, given every cycle start in order, and the relapse
    that may have ended that course when the record cannot tell whether it did."""
    records = diagnosis.status_records()  # oldest first
    relapsed: _Relapses | None = None  # read at a second start: most calls count one
    course: list[date] = []
    unclear: StatusRecord | None = None
    for cycle_start in cycle_starts:
        unclear = None
        if course:
            relapsed = relapsed or _Relapses(records)
            relapses = relapsed.between(course[0], cycle_start)
            ended = _course_ended(course[0], relapses, records, attestations) if relapses else False
            if ended:
                course = []
            elif ended is None:
                unclear = relapses[0]
        course.append(cycle_start)
    return course, unclear


class _Relapses:
    """The relapses among the status records (oldest first), those between two days found by bisection: each start
    had walked every record, and each of the 50 cycles a call signs counts from every start, beside the 10,000
    Conditions a 6 MB body holds a second a call."""

    def __init__(self, records: tuple[StatusRecord, ...]) -> None:
        self.records = [record for record in records if record.status == "relapsed"]
        self.days = [record.day for record in self.records]

    def between(self, after: date, until: date) -> list[StatusRecord]:
        """The relapses recorded after `after`, up to `until`."""
        return self.records[bisect_right(self.days, after):bisect_right(self.days, until)]


def read_cycle(record: PatientRecord, start: date, diagnosis: Diagnosis, attestations: Attestations,
               priors: PriorOrders) -> CycleInfo:
    """Cycle number, course start and cycle starts for the draft blinatumomab orders starting on `start`, given the
    earlier orders `prior_orders` found (extract.py)."""
    signed_before = priors.signed_count
    cycles, continuing, starts, course, number = _count(priors.spans, priors, start, diagnosis, attestations)
    days_before = cycles[-1].infusion_days_before(start) if continuing else 0
    many = sum(len(undated.later) for undated in priors.undated) > _DAYS_TRIED
    if priors.undated and number.value is not None:
        number = _many_undated(priors) if many else _by_the_day(number, priors, start, diagnosis, attestations)
    if not record.received("medicationRequests"):
        number, course = Fact(received=False), [start]
    answer = attestations.get("cycle-number", authored_since=priors.answers_since())
    if answer is not None and isinstance(answer.value, int) and answer.value >= 1:
        # The call's answer is the first cycle signed in it: each cycle signed after it in the call is one more.
        value = answer.value + signed_before
        note = f"cycle {answer.value} attested for the first cycle signed with it" if signed_before else ""
        number = Fact(value, (answer.reference,), attested=True, note=note)
        course = _attested_course(starts, course, value)
    previous = None if continuing or not cycles else _previous(cycles[-1])
    rest_unknown = _rest_unknown(previous, priors, start, diagnosis, attestations, number.value, many)
    return CycleInfo(number=number, start=start, course_start=course[0], cycle_starts=tuple(course),
                     infusion_days_before=days_before, previous=None if rest_unknown else previous,
                     rest_unknown=rest_unknown)


def _count(spans: list[OrderSpan], priors: PriorOrders, start: date, diagnosis: Diagnosis,
           attestations: Attestations) -> tuple[list[Cycle], bool, list[date], list[date], Fact[int]]:
    """The cycles of the prior `spans` (and the ones signed before this cycle), whether this cycle continues the
    last, every cycle start, the course's, and the cycle number."""
    signed = priors.signed
    cycles = group_cycles(sorted([*spans, *signed], key=lambda s: (s.first, s.last)) if signed else spans)
    continuing = bool(cycles) and cycles[-1].takes(start)
    starts = [c.start for c in cycles] + ([] if continuing else [start])
    course, unclear = course_cycle_starts(starts, diagnosis, attestations)
    return cycles, continuing, starts, course, _counted(cycles, course, priors.unread, unclear)


# Each day a prior order's partial date may be is a count of the cycles (_by_the_day, _rest_unsure): a record of many
# such orders (an end recorded as a year alone is 365 days) took seconds a call. Past this many days in all (two
# year-only dates, or dozens of month-only ones, stay below it), the cycle number is asked for, with their full dates.
_DAYS_TRIED = 1_000


def _many_undated(priors: PriorOrders, what: str = "the cycle number depends") -> Fact[int]:
    """Unknown: too many prior orders dated only to a month or a year to count the cycles by each of their days.
    `what`: what is not known, as the note says it."""
    references = tuple(dict.fromkeys(undated.span.reference for undated in priors.undated))
    said = f"{what} on the days {len(references)} earlier blinatumomab orders started or ended"
    return needs_full_date(references, f"{said} (recorded only to a month or a year)",
                           f"{len(references)} earlier blinatumomab orders dated only to a month or a year")


def _recounted(undated: Undated, priors: PriorOrders, start: date, diagnosis: Diagnosis,
               attestations: Attestations) -> Iterator[tuple[list[Cycle], bool, list[date], list[date], Fact[int]]]:
    """`_count` of the prior orders with `undated` read from each other day its partial date may be, a day at a time
    (None in Undated.later: no prior order then)."""
    others = [span for span in priors.spans if span is not undated.span]
    for later in dict.fromkeys(undated.later):
        spans = others if later is None else sorted([*others, later], key=lambda s: (s.first, s.last))
        yield _count(spans, priors, start, diagnosis, attestations)


def _by_the_day(number: Fact[int], priors: PriorOrders, start: date, diagnosis: Diagnosis,
                attestations: Attestations) -> Fact[int]:
    """The cycle number counted with the partial starts at their first day, unless counting one of them from a later
    day it may start gives another: then unknown, and the card asks for its full date."""
    for undated in priors.undated:
        for *_, other in _recounted(undated, priors, start, diagnosis, attestations):
            if other.value != number.value:
                reference = undated.span.reference
                numbers = f"cycle {number.value}" + (f" or {other.value}" if other.value is not None else "")
                what = "ended" if undated.ended else "started"
                said = f"{numbers} by the day {reference} {what} (recorded only to a month or a year)"
                return undated.request(said)
    return number


def _rest_unknown(previous: PreviousCycle | None, priors: PriorOrders, start: date, diagnosis: Diagnosis,
                  attestations: Attestations, number: int | None, many: bool) -> Fact[Any] | None:
    """The full dates to ask for when the days without infusion before this cycle depend on earlier orders dated only
    to a month or a year (CycleInfo.rest_unknown), the cycle number known or not (attested, or the same on each day
    they may be): read on a guess, a cycle read to its last day had been denied; past _DAYS_TRIED, with the cycle
    number attested, not read at all and approved."""
    if many:
        if _dated_cycle_before(priors):
            return None
        return _many_undated(priors, "the days without infusion before this cycle depend") if _may_end_near(
            priors, start, number) else None
    unsure = _rest_unsure(previous, priors, start, diagnosis, attestations, number)
    if unsure is None:
        return None
    said = f"the days without infusion before this cycle depend on the day {unsure.span.reference} ended"
    return unsure.request(f"{said} (recorded only to a month or a year)")


def _dated_cycle_before(priors: PriorOrders) -> bool:
    """Whether the cycle before this one is the same on every day the partial dates may be, told without counting
    the cycles again for each of those days (past _DAYS_TRIED): the last cycle of the orders whose dates are not
    partial, when every other order, on any day it may be, ends more than 7 days before that cycle starts. Cycles
    are grouped in order of their first day, so that cycle then starts anew on every reading and holds the same
    orders: the days without infusion after it, a short rest or not, are known. A fully dated cycle that ended 13
    days before this one had been asked for the dates of dozens of month-only orders of years before, its short
    rest unsaid."""
    partial = {id(undated.span) for undated in priors.undated}
    dated = sorted([*(span for span in priors.spans if id(span) not in partial), *priors.signed],
                   key=lambda span: (span.first, span.last))
    if not dated:
        return False
    last = group_cycles(dated)[-1]
    in_last = {id(span) for span in last.spans}
    others = [span.last for span in dated if id(span) not in in_last]
    others += [undated.span.last for undated in priors.undated]
    # The latest day each undated order may end alone: an earlier one continues no cycle a later one does not.
    others += [latest for undated in priors.undated if (latest := undated.later.latest()) is not None]
    return not any(continues(other, last.start) for other in others)


def _may_end_near(priors: PriorOrders, start: date, number: int | None) -> bool:
    """Whether an earlier order may end within the label's days without infusion owed before `start`, on any day
    its partial date may be: the cycles are not counted again for each of those days (_DAYS_TRIED), so only an
    order ending long enough before this cycle is known to leave no rest in doubt."""
    owed = _rests_for(number)[-1]
    lasts = [span.last for span in priors.spans]
    # The latest day each undated order may end alone: an earlier one is no nearer `start`.
    lasts += [latest for undated in priors.undated if (latest := undated.later.latest()) is not None]
    return any(days_off(last, start) < owed for last in lasts)


def _rests_for(number: int | None) -> tuple[int, ...]:
    """The label's rests the cycle before cycle `number` may owe (label_cycles.RESTS; dosing/rest.py reads which is
    owed): up to cycle 6, the cycle before is one of the 42-day cycles every schedule gives."""
    return (LEAST_REST,) if number is not None and number <= LONGER_FROM else RESTS


def _rest_unsure(previous: PreviousCycle | None, priors: PriorOrders, start: date, diagnosis: Diagnosis,
                 attestations: Attestations, number: int | None) -> Undated | None:
    """The prior order whose end, recorded only to a month or a year, decides whether this cycle starts within the
    label's days without infusion after the one before (`previous`, read with that end at its last day): read so, a
    cycle 1 of October 1 to "2026-10" was full and owed 14 days before a November 3 start, a denial; ended
    October 20, it was interrupted and owed none. None when every day it may end gives the same finding (`number`,
    this cycle's: 56 days are owed only from cycle 7)."""
    ended = [undated for undated in priors.undated if undated.ended]
    if not ended:
        return None
    rests = _rests_for(number)  # a day each side of either changes the finding
    found = _rest_finding(previous, start, rests)
    for undated in ended:
        for cycles, continuing, *_ in _recounted(undated, priors, start, diagnosis, attestations):
            other = None if continuing or not cycles else _previous(cycles[-1])
            if _rest_finding(other, start, rests) != found:
                return undated
    return None


def _rest_finding(previous: PreviousCycle | None, start: date, rests: tuple[int, ...]) -> tuple[bool, ...]:
    """Whether `start` is within each of `rests` after `previous` (none is owed without a full cycle before)."""
    return tuple(previous is not None and days_off(previous.last, start) < rest for rest in rests)


def _previous(cycle: Cycle) -> PreviousCycle | None:
    """`cycle`, the one before a new cycle, when it gave its 28 infusion days; None when it was interrupted (more
    than 7 days without infusion restart a cycle: the label's restart, not a short rest) or its days are not known
    (an earlier order without a readable end covers its start day only)."""
    return PreviousCycle(cycle.last, tuple(span.reference for span in cycle.spans)) if cycle.full() else None


def _counted(cycles: list[Cycle], course: list[date], unread: list[OrderSpan],
             unclear: StatusRecord | None) -> Fact[int]:
    """The number of cycles in the course; unknown when an earlier order's drug is, or when the record cannot tell
    whether a relapse began a new course (module docstring)."""
    if unread:
        note = f"drug of {len(unread)} earlier order(s) not identified (no drug named, or its Medication unreadable)"
        return Fact(None, tuple(s.reference for s in unread), note=note + ": each may be a prior cycle")
    if unclear is not None:
        note = (f"relapse recorded {unclear.day.isoformat()} after the course that started {course[0].isoformat()}: a "
                "new course if that one was given in remission, but active disease is recorded between the remission "
                "and its start")
        return Fact(None, (unclear.reference,), note=note)
    evidence = tuple(s.reference for c in cycles if c.start >= course[0] for s in c.spans)
    return Fact(len(course), evidence, note=f"cycle {len(course)} of the course that started {course[0].isoformat()}")


def _attested_course(starts: list[date], counted: list[date], number: int) -> list[date]:
    """Cycle starts matching an attested cycle number: the last `number` cycle starts when the record holds that
    many, else the counted course (the attestation fixes the number, not dates the record does not show)."""
    if number <= len(starts):
        return starts[-number:]
    return counted
