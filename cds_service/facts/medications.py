"""Medication history: combination at the start date, TKI failure, induction regimen
(fhir-data-profile.md §Medications).

Each MedicationRequest is read once into a `MedOrder` (its ingredient kinds and active span); every fact is then a
scan over that short list.

"Active at a date" (our reading, the profile leaves it open): status active or completed (draft orders count as
active), and the date falls in the order's span. The span starts at the order's start (fhir-data-profile.md §The
order, without the "today" fallback for history) and ends at the latest end of its dosage bounds, else at
dispenseRequest.validityPeriod.end; with neither, an active order is open-ended (still being taken) and a
completed one covers its start day only (when it ended is unknown, so it is not stretched). Stopped orders are not
active: when they stopped is unknown. A start recorded only to a month or a year ("2026-12") may be any of its days
(`start` its first, `start_last` its last), and so may an end (`end` its first, `end_last` its last: FHIR's Period
includes the whole of it, which says how long the order may have run, not that it ran so long; a completed
vincristine ending "2026" had been active at a December start): where the days they allow give different answers
(a TKI that may or may not be active at the start date), the fact is unknown and the card asks for the order's full
date; where they give the same answer, nothing is said.

An order whose drug cannot be identified (order.py `unidentified`: a Medication reference we could not read, with
no display; or, in the patient's record, an order naming no drug at all, which FHIR does not allow) is kept,
without kinds and marked `identified=False`: it may be blinatumomab, a TKI or chemotherapy, so the facts it could
change become unknown rather than read as "no such drug" (policy-rules.md §1: never an approval on data we could not
read). Unless its route says intrathecal: whatever it is, it is then not systemic. Only
the request's other draft orders may name no drug and be ignored: the CDS Hooks sandbox sends one, before a drug is
chosen; a recorded order without one had made a TKI order that lost its name read as "no TKI", a denial.
"""
from __future__ import annotations

import re
from datetime import date
from typing import AbstractSet, Any, Iterable, NamedTuple

from cds_service.facts.attestations import Attestations, course_answers_since
from cds_service.facts.codes import (as_recorded, concept_names, concept_text, month_or_year, parse_date,
                                     parse_end_date)
from cds_service.facts.model import UNKNOWN_FACT, Fact, needs_full_date
from cds_service.facts.observations import code_key, json_key
from cds_service.facts.order import (DosageBounds, dosage_bounds, last_infusion_day, medication_concepts,
                                     medication_of, names_a_drug, order_ref, recorded_start, unidentified)
from cds_service.facts.result_text import matches, result_clauses
from cds_service.facts.shape import STATUSES, direct_check
from cds_service.facts.unreadable import Bearing, Relevance
from cds_service.printable import cut_between_words
from cds_service.record import Resolver, no_server
from cds_service.sentences import mid_sentence
from cds_service.valuesets import Memo, ValueSets, get_valuesets

# Value sets (cds_service/valuesets/), one per kind of ingredient the rules tell apart.
KIND_VALUE_SETS = {
    "blinatumomab": "medications-blinatumomab",
    "tki": "medications-tki",
    "inotuzumab": "medications-inotuzumab",
    "cvd-partner": "medications-mini-hyper-cvd",  # cyclophosphamide, vincristine
    "antineoplastic": "medications-antineoplastic",
}
DEXAMETHASONE = "medications-dexamethasone"
INTRATHECAL = "medications-intrathecal"
TKI_FAILURE_REASONS = "medications-tki-failure-reasons"
_CLASSIFYING_SETS = frozenset({DEXAMETHASONE, *KIND_VALUE_SETS.values()})
_SYSTEMIC_KINDS = frozenset({"tki", "inotuzumab", "cvd-partner", "antineoplastic"})
_ACTIVE_STATUSES = frozenset({"active", "completed", "draft"})
PRIOR_STATUSES = frozenset({"active", "completed", "stopped"})  # of an earlier cycle (fhir-data-profile.md §Course)
# A cue before a stop reason in its clause negates it ("no intolerance", "not for resistance"). Unlike lab result
# text (result_text.NEGATION_CUE), "not" is a cue here: no negative phrase such as "not detected" claims it.
_REASON_NEGATION = re.compile(r"(?<![a-z0-9])(?:no|not|without)(?![a-z0-9])", re.IGNORECASE)

# What an unreadable MedicationRequest bears on, by its drug's kinds (unreadable.py), with the statuses the fact's
# reader counts (a readable status outside them rules the order out). A TKI on record makes the combination "with a
# TKI" whatever else is given (`combination`); a TKI failure or an inotuzumab induction on record stays one; an
# attested answer decides these facts.
_COMBINATION = (Bearing("combination", frozenset({"with-tki"}), attested_stands=True), _ACTIVE_STATUSES)
_INDUCTION = (Bearing("induction_ino_mini_hyper_cvd", frozenset({True}), attested_stands=True), PRIOR_STATUSES)
_TKI_FAILURE = (Bearing("tki_failure", frozenset({True}), attested_stands=True), frozenset({"stopped"}))
# An earlier cycle that cannot be read leaves the count unknown, attested or not: an order-level answer counts only
# when given after the latest earlier order started (course.PriorOrders.answers_since), and this one's start is
# unreadable. For the same reason it leaves an attested combination unknown (the answer may have been given for that
# order); a combination read from the other drugs' orders does not depend on it.
_BEARINGS_BY_KIND: dict[str, tuple[tuple[Bearing, frozenset[str]], ...]] = {
    "blinatumomab": ((Bearing("cycle.number"), PRIOR_STATUSES),
                     (Bearing("combination", attested_only=True), PRIOR_STATUSES)),
    "tki": (_COMBINATION, _TKI_FAILURE),
    "inotuzumab": (_COMBINATION, _INDUCTION),
    "cvd-partner": (_COMBINATION, _INDUCTION),
    "antineoplastic": (_COMBINATION,),
}
# The shape check of a MedicationRequest (shape.py), called directly: read_med_orders knows each order it checks is
# an object of that type, so well_formed's dispatch on the resource would only repeat its own tests.
_WELL_FORMED = direct_check("MedicationRequest")
_KIND_NAMES = {"blinatumomab": "a blinatumomab order", "tki": "a TKI order", "inotuzumab": "an inotuzumab order",
               "cvd-partner": "a cyclophosphamide or vincristine order", "antineoplastic": "a chemotherapy order",
               "unknown": "an order of a drug not identified"}


class MedOrder(NamedTuple):
    """One MedicationRequest as the medication rules see it (a NamedTuple: one is built per order of the history,
    several times faster than a frozen dataclass)."""

    status: str
    kinds: frozenset[str]
    start: date | None
    end: date | None  # last active day (an end of a month or a year: its first, `end_last` its last); None: open
    resource: dict[str, Any]
    identified: bool = True  # False: its drug is unknown (module docstring), and `kinds` is empty
    start_last: date | None = None  # the last day a start recorded as a month or a year may be; else `start`
    end_last: date | None = None  # the last active day counted from `start_last`; None = open-ended

    @property
    def reference(self) -> str:
        """"MedicationRequest/id": made when a fact names the order as evidence (few do), not for every order."""
        return order_ref(self.resource)

    def span(self, surely: bool) -> tuple[date | None, date | None]:
        """Its first and last active days: `surely`, the days active whichever day a partial start is (from its
        latest reading to the earliest end); else the days it may be active (from the earliest start to the latest
        end)."""
        return (self.start_last, self.end) if surely else (self.start, self.end_last)

    def overlaps(self, other: MedOrder, surely: bool = True) -> bool:
        (first, last), (other_first, other_last) = self.span(surely), other.span(surely)
        if first is None or other_first is None:
            return False
        return (last is None or other_first <= last) and (other_last is None or first <= other_last)

    @property
    def dated_exactly(self) -> bool:
        """Whether its start is a full date."""
        return self.start == self.start_last

    @property
    def spanned_exactly(self) -> bool:
        """Whether its start and its end are full dates (or it has no end)."""
        return self.start == self.start_last and self.end == self.end_last


class _Memos(NamedTuple):
    """The classifications already made (valuesets.Memo), looked up once per reading rather than once per order."""

    classes: Memo  # by the concepts' JSON text: their _Classes
    lines: Memo  # by a dosage line's route key and text: whether it says intrathecal


def _memos() -> _Memos:
    valuesets = get_valuesets()
    return _Memos(valuesets.memo("medication-classes"), valuesets.memo("intrathecal-lines"))


class _Classes(NamedTuple):
    """What an order's concepts alone say (_order_kinds memoizes it by their JSON text, which holds all it reads)."""

    kinds: frozenset[str]  # the ingredient kinds
    intrathecal: bool  # whether their text says intrathecal
    # Whether they name a drug at all (order.names_a_drug), asked of the orders of no kind: the supportive-care orders
    # of a history, which repeat across requests. Read for each, it cost about 20,000 instructions an order.
    names_a_drug: bool


def _classes_of(concepts: list[dict[str, Any]]) -> _Classes:
    valuesets = get_valuesets()
    intrathecal = any(valuesets.matches_text(INTRATHECAL, concept_text(c)) for c in concepts)
    names = valuesets.members(_CLASSIFYING_SETS, concepts)
    if DEXAMETHASONE in names:  # required premedication, never part of a regimen
        return _Classes(frozenset(), intrathecal, names_a_drug(concepts))
    kinds = frozenset(kind for kind, name in KIND_VALUE_SETS.items() if name in names)
    return _Classes(kinds, intrathecal, names_a_drug(concepts))


def _code_keys(concepts: list[dict[str, Any]]) -> tuple[Any, ...]:
    """What a classification of the concepts reads, for those orjson cannot write (observations.json_key)."""
    return tuple(map(code_key, concepts))


def _has_intrathecal_line(resource: dict[str, Any], memos: _Memos) -> bool:
    """A dosage line whose route or text says intrathecal, memoized per route and text (a few recur)."""
    lines = resource.get("dosageInstruction")
    for line in lines if isinstance(lines, list) else ():  # any JSON: unreadable_relevance reads malformed orders
        if not isinstance(line, dict):
            continue
        route = line.get("route")
        key = (code_key(route), line.get("text"))
        if memos.lines.get(key, _intrathecal_line, route, line):
            return True
    return False


def _intrathecal_line(route: Any, line: dict[str, Any]) -> bool:
    valuesets = get_valuesets()
    if isinstance(route, dict) and valuesets.has(INTRATHECAL, route):
        return True
    return valuesets.matches_text(INTRATHECAL, str(line.get("text") or ""))


def _span_end(resource: dict[str, Any], start: date, bounds: DosageBounds, earliest: bool = False) -> date | None:
    """The order's last active day from `start`; an end recorded only to a month or a year read to its last day,
    or with `earliest` to its first (module docstring)."""
    if bounds.ends:
        early = bounds if not earliest or bounds.last_first == bounds.last else bounds._replace(last=bounds.last_first)
        return last_infusion_day(resource, start, early)
    stated = ((resource.get("dispenseRequest") or {}).get("validityPeriod") or {}).get("end")
    validity_end = parse_date(stated) if earliest else parse_end_date(stated)
    if validity_end is not None:
        return validity_end
    return None if resource.get("status") in ("active", "draft") else start


def _ends_partly(resource: dict[str, Any]) -> bool:
    """Whether the validity period's end is only a month or a year."""
    return month_or_year(((resource.get("dispenseRequest") or {}).get("validityPeriod") or {}).get("end"))


def _latest_start(resource: dict[str, Any], start: date | None, bounds: DosageBounds) -> date | None:
    """The last day the order's start (order.recorded_start, `start`) may be: the earliest of its dosage lines'
    starts each read to its last day, else its validity period's start or authoredOn so read; `start` when no
    start is recorded (a draft's today)."""
    if bounds.first is None:
        stated = ((resource.get("dispenseRequest") or {}).get("validityPeriod") or {}).get("start")
        stated = stated if parse_date(stated) is not None else resource.get("authoredOn")
        return parse_end_date(stated) or start  # a month or a year to its last day
    return bounds.first_last


def read_med_orders(resources: Iterable[Any], resolve: Resolver, today: date | None = None,
                    malformed: list[dict[str, Any]] | None = None,
                    skipped_ids: AbstractSet[str] = frozenset(), recorded: bool = False) -> list[MedOrder]:
    """Every usable MedicationRequest of a kind the rules tell apart, or whose drug is unknown, once, with its kinds.
    Draft orders without a recorded start start `today`, as the order being signed does. Those whose id (as text)
    is one of `skipped_ids` are not read: the orders being signed, which a history may also hold. `recorded`: the
    orders are the patient's record (the history), where one naming no drug is of an unknown drug (module docstring).
    With a `malformed` list, `resources` are as received: each order kept is shape-checked (shape.py) once its kinds
    are known, and one with wrong JSON types goes to `malformed` instead, for unreadable.py. The supportive-care
    orders, much of a history, cost no check: no rule reads them, so a malformed one would be ignored anyway."""
    orders = []
    memos = _memos()
    for resource in resources:
        if not isinstance(resource, dict) or str(resource.get("id")) in skipped_ids:
            continue  # not a resource (the shape check would have dropped it), or one of the orders being signed
        status = resource.get("status")
        if resource.get("resourceType") != "MedicationRequest" or status == "entered-in-error":
            continue
        # _order_kinds reads malformed JSON safely (unreadable_relevance calls it too)
        kinds = _order_kinds(resource, resolve, memos, recorded)
        if kinds is not None and not kinds:
            continue  # supportive care (antiemetics, anti-infectives, premedication): no rule reads it
        if malformed is not None and not _WELL_FORMED(resource):
            malformed.append(resource)
            continue
        bounds = dosage_bounds(resource)
        start = recorded_start(resource, bounds) or (today if status == "draft" else None)
        end = _span_end(resource, start, bounds, earliest=True) if start is not None else None
        start_last = _latest_start(resource, start, bounds)
        latest = start_last if start_last is not None else start
        end_last = end if latest == start and bounds.last_first == bounds.last and not _ends_partly(resource) else (
            None if latest is None else _span_end(resource, latest, bounds))
        # Every field given, the tuple built directly: a NamedTuple's generated __new__ is a Python frame per order.
        orders.append(tuple.__new__(MedOrder, (str(status), kinds or frozenset(), start, end, resource,
                                               kinds is not None, start_last, end_last)))
    return orders


def _order_kinds(resource: dict[str, Any], resolve: Resolver, memos: _Memos,
                 recorded: bool = False) -> frozenset[str] | None:
    """The order's ingredient kinds (intrathecal orders lose their systemic kinds); None when its drug is unknown
    and may be systemic (module docstring): `recorded`, an order naming no drug is one."""
    concepts = medication_concepts(resource, resolve)
    if unidentified(resource, concepts):
        return frozenset() if _has_intrathecal_line(resource, memos) else None
    # Memoized by the concepts' JSON text: histories repeat the same drugs, and so do requests.
    kinds, intrathecal_text, named = memos.classes.get(json_key(concepts, _code_keys), _classes_of, concepts)
    if not kinds and recorded and not named:
        return frozenset() if _has_intrathecal_line(resource, memos) else None
    if not kinds.isdisjoint(_SYSTEMIC_KINDS) and (intrathecal_text or _has_intrathecal_line(resource, memos)):
        return kinds - _SYSTEMIC_KINDS  # CNS prophylaxis, not a systemic regimen
    return kinds


def unreadable_relevance(resource: dict[str, Any], resolve: Resolver) -> Relevance | None:
    """A MedicationRequest the shape filter left out (unreadable.py) bears on the facts its drug's kinds decide,
    unless its status, when readable, rules it out: entered in error, or not one the fact's reader counts (a draft or
    cancelled blinatumomab order is no earlier cycle; a cancelled inotuzumab order no induction). One whose drug
    cannot be identified (its medicationCodeableConcept null or of a wrong type, its Medication unreadable) may be any
    of them, as a readable one is (module docstring): ignored, a prior cycle's order sent with a null drug had left
    cycle 10 counted as 9, and approved."""
    status = resource.get("status")
    if status == "entered-in-error":
        return None
    kinds = _order_kinds(resource, resolve, _memos(), recorded=True)
    what = _KIND_NAMES["unknown"] if kinds is None else ""
    kinds = frozenset(KIND_VALUE_SETS) if kinds is None else kinds
    readable = status in STATUSES["MedicationRequest"] if isinstance(status, str) else False  # "active " is unread
    by_kind = {kind: [bearing for bearing, statuses in _BEARINGS_BY_KIND[kind] if not readable or status in statuses]
               for kind in KIND_VALUE_SETS if kind in kinds}
    ordered = [kind for kind, bearings in by_kind.items() if bearings]
    if not ordered:
        return None
    bearings = tuple(dict.fromkeys(bearing for kind in ordered for bearing in by_kind[kind]))
    return Relevance(what or _KIND_NAMES[ordered[0]], bearings)


def _active_on(orders: list[MedOrder], day: date) -> list[MedOrder]:
    """The orders active on `day` (module docstring), whichever day a partial start is, in one comprehension: a
    method call per order cost more than the test (the combination asks it of every order of the history)."""
    return [o for o in orders if o.status in _ACTIVE_STATUSES
            and o.start_last is not None and o.start_last <= day and (o.end is None or day <= o.end)]


def _maybe_active_on(orders: list[MedOrder], day: date) -> list[MedOrder]:
    """The orders that may be active on `day` for some day their partial start may be (module docstring)."""
    return [o for o in orders if o.status in _ACTIVE_STATUSES and not o.spanned_exactly
            and o.start is not None and o.start <= day and (o.end_last is None or day <= o.end_last)
            and not (o.start_last is not None and o.start_last <= day and (o.end is None or day <= o.end))]


def _refs(orders: Iterable[MedOrder]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(o.reference for o in orders))


def combination(orders: list[MedOrder], start: date, received: bool, attestations: Attestations,
                attested_since: date | None) -> Fact[str]:
    """How blinatumomab is used at the start date. `orders` excludes the blinatumomab orders themselves;
    `attested_since` is when order-level answers start to count (course.PriorOrders.answers_since)."""
    attested = attestations.fact("combination", attested_since, cast=str)
    if attested is not None:
        return attested
    on_start = _active_on(orders, start)
    found = _combination_of(on_start, received)
    maybe = _maybe_active_on(orders, start)
    if maybe and _combination_of(on_start + maybe, received).value != found.value:
        return _undated(maybe, f"may be active at the start date ({start})")
    return found


def _undated(orders: list[MedOrder], said: str) -> Fact[Any]:
    """Unknown: `orders`, whose starts are recorded only to a month or a year, change the fact by the day they
    started (`said`: how), and the card asks for their full dates."""
    dates = "; ".join(dict.fromkeys(f"{_drug_name(o) or 'an order'} {dates_text(o)}" for o in orders))
    named = [f"the {_drug_name(o) or 'other'} order {dates_text(o)}" for o in orders[:_NAMED_DRUGS]]
    more = len(orders) - _NAMED_DRUGS
    named += [f"{more} other order{'s' if more > 1 else ''}"] if more > 0 else []
    asked = f"{', '.join(named[:-1])} and {named[-1]}" if len(named) > 1 else named[0]
    return needs_full_date(_refs(orders), f"{cut_between_words(dates, 120)}: {said}", asked)


def dates_text(order: MedOrder) -> str:
    """The order's date recorded as a month or a year: "started 2026-12", else "ended 2026"."""
    if not order.dated_exactly:  # its end, counted from each day it may start, is then no date recorded
        return f"started {_as_recorded(order.start, order.start_last)}"
    return f"ended {_as_recorded(order.end, order.end_last)}"


def _as_recorded(first: date | None, last: date | None) -> str:
    return "on an unknown day" if first is None or last is None else as_recorded(first, last)


def _combination_of(on_start: list[MedOrder], received: bool) -> Fact[str]:
    """The combination the orders active at the start date make."""
    active = [o for o in on_start if o.kinds & _SYSTEMIC_KINDS]
    tkis = [o for o in active if "tki" in o.kinds]
    if tkis:
        return Fact("with-tki", _refs(tkis), note=_named("TKI active at the start date", tkis))
    # Only a TKI decides whatever else is given (the order of these tests); an unknown drug may be one.
    unknown = [o for o in on_start if not o.identified]
    if unknown:
        return Fact(None, _refs(unknown), note="the drug of an order active at the start date could not be identified")
    ino = [o for o in active if "inotuzumab" in o.kinds]
    partners = [o for o in active if "cvd-partner" in o.kinds]
    if ino and partners:
        return Fact("with-ino-mini-hyper-cvd", _refs(ino + partners))
    if active:
        return Fact("with-multiagent-chemo", _refs(active),
                    note=_named("other antineoplastics active at the start date", active))
    if not received:
        return Fact(received=False)
    return Fact("single-agent", note="no other antineoplastic active at the start date")


def tki_failure(orders: list[MedOrder], received: bool, attestations: Attestations) -> Fact[bool]:
    """Attested; else a stopped TKI whose statusReason is intolerance, resistance, ...; else unknown, naming the TKIs
    stopped for another reason (or none given): the pharmacist sees which stop was not read as a failure."""
    attested = attestations.fact("tki-failure", cast=bool)
    if attested is not None:
        return attested
    other_stops = []
    for order in orders:
        if "tki" not in order.kinds or order.status != "stopped":
            continue  # most orders: their stop reason is not read
        reason = order.resource.get("statusReason")
        if isinstance(reason, dict) and _failure(reason):
            return Fact(True, (order.reference,), note=_stopped_for(order, concept_text(reason)))
        other_stops.append(order)
    if not other_stops:
        return Fact(received=received)
    stops = list(dict.fromkeys(map(_stop, other_stops)))
    more = len(stops) - _NAMED_DRUGS
    others = f"; and {more} other TKI stop{'s' if more > 1 else ''}" if more > 0 else ""
    return Fact(None, _refs(other_stops), received=received,
                note=f"{'; '.join(stops[:_NAMED_DRUGS])}{others}: not read as intolerance or inadequate response")


# A stop reason's own opening verb ("Stopped for intolerance: ..."), said once by the note that names the stop.
_STOP_OPENING = re.compile(r"^(?:(?:stopped|discontinued|ceased|held)\b\s*)?(?:(?:for|due to|because of)\b)?[\s:-]*",
                           re.IGNORECASE)


def _stopped_for(order: MedOrder, reason: str) -> str:
    """A TKI failure as a clinician says it: 'dasatinib stopped 2026-09-01 for intolerance: pleural effusion', the
    record's reason without its own "Stopped for" (the card had read "TKI stopped: Stopped for intolerance: ...")."""
    said = mid_sentence(_STOP_OPENING.sub("", " ".join(reason.split()), count=1) or reason)
    return f"{_drug_name(order) or 'TKI'} stopped{_ended(order)} for {cut_between_words(said, 80)}"


def _ended(order: MedOrder) -> str:
    """" 2026-09-01": the order's last day as recorded, when it records one (a dosage line's end or duration, its
    validity period's end); "" otherwise: a stopped order without one is read to its start day, no day it stopped."""
    validity = (order.resource.get("dispenseRequest") or {}).get("validityPeriod") or {}
    if order.end is None or order.end_last is None or not (dosage_bounds(order.resource).ends or validity.get("end")):
        return ""
    return f" {as_recorded(order.end, order.end_last)}"


def _stop(order: MedOrder) -> str:
    """'dasatinib stopped (reason: course completed)', 'TKI stopped (no reason given)'."""
    reason = order.resource.get("statusReason")
    text = concept_text(reason) if isinstance(reason, dict) else ""
    return f"{_drug_name(order) or 'TKI'} stopped ({f'reason: {_clipped(text)}' if text else 'no reason given'})"


# Drugs named in a note at most (then how many more), each name at most so many characters: a note is a line of the
# card, and an EHR's order name can be a whole sentence ("vinCRIStine 1.4 mg/m2 in sodium chloride 0.9% 50 mL").
_NAMED_DRUGS = 2
_NAME_WIDTH = 40


def _named(note: str, orders: list[MedOrder]) -> str:
    """`note` with the drugs of `orders` named after it ("... at the start date: vincristine, cytarabine"): the
    references alone (MedicationRequest/8841) tell a clinician nothing. `note` as is when no order names its drug in
    itself (a Medication read from elsewhere through its reference; the evidence still points to it)."""
    names = list(dict.fromkeys(filter(None, map(_drug_name, orders))))
    if not names:
        return note
    more = len(names) - _NAMED_DRUGS
    # What is left unnamed said in words ("(+1 more)" had left the clinician to guess one more of what).
    return f"{note}: {', '.join(names[:_NAMED_DRUGS])}" + (f" and {more} other{'s' if more > 1 else ''}" if more > 0
                                                          else "")


def _drug_name(order: MedOrder) -> str:
    """The drug as the order itself names it: its concept's text, else its first coding's display, else the
    display of its Medication reference, else its contained Medication's code text or display (a dasatinib order
    written so was "TKI active at the start date", naming no drug); "" when none. Nothing is read from elsewhere."""
    resource = order.resource
    pointer = resource.get("medicationReference")
    names: list[Any] = concept_names(resource.get("medicationCodeableConcept"))
    if isinstance(pointer, dict):
        names.append(pointer.get("display"))
        contained = medication_of(resource, no_server)
        names += concept_names(contained.get("code") if contained is not None else None)
    return next((_clipped(name) for name in names if isinstance(name, str) and name.strip()), "")


def _clipped(text: str) -> str:
    """`text` on one line within _NAME_WIDTH characters, cut after a whole word with an ellipsis."""
    return cut_between_words(" ".join(text.split()), _NAME_WIDTH)


def _failure(reason: dict[str, Any]) -> bool:
    """Whether a stop reason says TKI failure: a code of the value set, or its words in a clause that does not
    negate them. "Formulary switch; no intolerance or resistance" does not: a negated or unrelated reason leaves
    the failure unknown, for the attestation (fhir-data-profile.md §Medications)."""
    valuesets = get_valuesets()
    if valuesets.has_code(TKI_FAILURE_REASONS, reason):
        return True
    clauses = result_clauses(concept_text(reason), valuesets, _failure_words)
    return any(True in words for _, words in clauses)


def _failure_words(clause: str, vs: ValueSets) -> frozenset[bool]:
    """Per failure reason the clause names: True when stated, False when negated by a cue before it or by a negative
    phrase in the clause ("T315I resistance mutation not detected")."""
    negative = bool(matches(vs, "result-negative", clause))
    return frozenset(not negative and _REASON_NEGATION.search(clause, 0, match.start()) is None
                     for match in matches(vs, TKI_FAILURE_REASONS, clause))


def induction_ino_mini_hyper_cvd(orders: list[MedOrder], course_start: date, received: bool,
                                 attestations: Attestations) -> Fact[bool]:
    """Attested for this course (the induction that preceded it, not an earlier course's: course_answers_since);
    else an inotuzumab order before the course start overlapping a cyclophosphamide or vincristine order; else
    unknown. Only orders that were given count, by the statuses of an earlier cycle (PRIOR_STATUSES): a cancelled or
    draft order is no induction."""
    attested = attestations.fact("induction-ino-mini-hyper-cvd", course_answers_since(course_start), cast=bool)
    if attested is not None:
        return attested
    inotuzumab = [o for o in orders if "inotuzumab" in o.kinds]
    if not inotuzumab:  # most histories: their orders are then not sorted into given or not
        return Fact(received=received)
    surely = _induction(orders, inotuzumab, course_start, surely=True)
    if surely:
        return Fact(True, _refs(surely), note="inotuzumab with mini-hyper-CVD before this course")
    maybe = [o for o in _induction(orders, inotuzumab, course_start, surely=False) if not o.spanned_exactly]
    if maybe:  # an inotuzumab order and a partner that may have overlapped before the course, by their dates
        return _undated(maybe, "the days decide whether inotuzumab and mini-hyper-CVD overlapped before this course")
    return Fact(received=received)


def _induction(orders: list[MedOrder], inotuzumab: list[MedOrder], course_start: date,
               surely: bool) -> list[MedOrder]:
    """An inotuzumab order given before `course_start` and the partners overlapping it: `surely`, whichever days
    partial starts are; else for some of them (MedOrder.span). None found: []."""
    earlier = _given_before(orders, course_start, surely)
    for ino in _given_before(inotuzumab, course_start, surely):
        partners = [o for o in earlier if "cvd-partner" in o.kinds and o.overlaps(ino, surely)]
        if partners:
            return [ino, *partners]
    return []


def _given_before(orders: list[MedOrder], day: date, surely: bool) -> list[MedOrder]:
    """The orders given (PRIOR_STATUSES) that started before `day`: `surely`, whichever day a partial start is."""
    return [o for o in orders if o.status in PRIOR_STATUSES and (first := o.span(surely)[0]) is not None
            and first < day]


def multiagent_chemo_candidate(course_start: date, attestations: Attestations) -> Fact[bool]:
    """Only the clinician can say whether the patient is a candidate for multi-agent chemotherapy when this course is
    given (Aspirus adult consolidation): an answer from an earlier course describes the patient then."""
    attested = attestations.fact("multiagent-chemo-candidate", course_answers_since(course_start), cast=bool)
    return UNKNOWN_FACT if attested is None else attested
