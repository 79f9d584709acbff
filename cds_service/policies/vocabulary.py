"""The test vocabulary of a policy file (docs/policy-reading.md): each criterion's test checked when the file is
loaded, then compiled into a function of the evaluation context that gives the three-valued outcome of
cds_service.verdict (policy-rules.md §1).

A test names no payer: a fact compared with a value (equals, in, at_least, at_most), an any/all group of tests, a dose
check (the label schedule, a daily ceiling, a per-cycle quantity limit) or a cycle limit.
"""
from __future__ import annotations

from decimal import Decimal
from functools import partial
from itertools import chain, repeat
from operator import attrgetter, call, eq
from types import UnionType
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Union, get_args, get_origin, get_type_hints

from cds_service.dosing.api import DoseChecks, QuantityLimit
from cds_service.facts.model import VOCABULARIES, WINDOWS, ClinicalFacts, Fact, Graded, Windowed, read_within
from cds_service.verdict import AND_RANK, MET, NOT_MET, OR_RANK, UNKNOWN, Status, Verdict, all_of


def _value_type(hint: Any) -> type | None:
    """T of a ClinicalFacts field Fact[T], or Fact[T] | Windowed[T]; None for the other fields."""
    members = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
    return next((get_args(m)[0] for m in members if get_origin(m) is Fact), None)


# Facts read elsewhere than a ClinicalFacts field of their name: the audit trail's prior approval and this call's
# denial of the earlier cycles signed with the order (neither a clinical fact), and the order's cycle number
# (CycleInfo's, which `cycle_at_most` reads too).
_READ_AT = {"prior_approval": "prior_approval", "earlier_cycle_denied": "earlier_cycle_denied",
            "cycle_number": "facts.cycle.number"}
# The type of each fact's value: the Fact fields of ClinicalFacts, and those read elsewhere.
_FACT_TYPES: dict[str, type] = {
    name: kind for name, kind in ((n, _value_type(h)) for n, h in get_type_hints(ClinicalFacts).items()) if kind
} | {"prior_approval": bool, "earlier_cycle_denied": bool, "cycle_number": int}
_COMPARATORS = ("equals", "in", "at_least", "at_most")
WINDOW_KEYS = frozenset(key for numbers in WINDOWS.values() for key in numbers)
TEST_KEYS = frozenset(("fact", "any", "all", "dose", "quantity", "cycle_at_most", "if_unknown", "mcg_per_day",
                       "id", "missing", "attested_to_exclude", *_COMPARATORS, *WINDOW_KEYS))


class PolicyFileError(ValueError):
    """A policy file does not follow the vocabulary: raised at load, never during an evaluation."""


# --------------------------------------------------------------------------------------------------------------
# Checked when the file is loaded
# --------------------------------------------------------------------------------------------------------------

def check_test(test: Mapping[str, Any], where: str) -> None:
    """What the policy schema (schemas/policy.schema.json, checked first) cannot say: the fact and its values, its
    windows, and plan limits only as a criterion's whole test."""
    if "fact" in test:
        _check_fact_test(test, where)
    for sub in test.get("any", []) + test.get("all", []):
        sub_where = f"{where}.{sub.get('id', '')}"
        if is_plan_limit(sub):
            raise PolicyFileError(f"{sub_where}: a dose ceiling or a quantity limit must be a criterion's whole test, "
                                  "not part of any/all: its card (with the corrected order) applies it to every order")
        check_test(sub, sub_where)


def is_plan_limit(test: Mapping[str, Any]) -> bool:
    """A daily dose ceiling or a per-cycle quantity limit: besides its criterion, the policy's cards apply it
    (Policy.dose_ceiling, Policy.quantity_limit), so only the shapes those read are accepted (loading.py)."""
    return "quantity" in test or test.get("dose") == "ceiling"


def _check_fact_test(test: Mapping[str, Any], where: str) -> None:
    """The comparisons must suit the fact's type: a misspelt vocabulary value would otherwise never match, silently."""
    kind = _FACT_TYPES.get(test["fact"])
    if kind is None:
        raise PolicyFileError(f"{where}: unknown fact {test['fact']!r}")
    for op in (op for op in _COMPARATORS if op in test):
        for value in test[op] if op == "in" else [test[op]]:
            problem = _value_problem(test["fact"], kind, op, value)
            if problem:
                raise PolicyFileError(f"{where}: {op} {value!r}: {problem}")
    _check_window(test, where)


def _check_window(test: Mapping[str, Any], where: str) -> None:
    """A windowed fact is read with the numbers its test gives, all of them and only those (docs/policy-reading.md,
    "Windows"): the payer's numbers live in its file, not in the facts layer. The schema bounds each number."""
    maxima = WINDOWS.get(test["fact"], {})
    if set(test) & WINDOW_KEYS != set(maxima):
        needs = f"needs {' and '.join(maxima)}" if maxima else "takes no window"
        raise PolicyFileError(f"{where}: {test['fact']} {needs}")


def _value_problem(fact: str, kind: type, op: str, value: Any) -> str:
    """Why `value` (of the schema's types) cannot be compared with the fact by `op`; "" when it can."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if op in ("at_least", "at_most"):  # the schema says a number
        ordered = kind is int or issubclass(kind, Graded)
        return "" if ordered else f"{fact} has no order to compare with a number"
    if issubclass(kind, Graded):
        return f"{fact} is known within bounds (a lab result, an age): compare it with at_least or at_most"
    if kind is bool:
        return "" if isinstance(value, bool) else f"{fact} is true or false"
    if kind is int:
        return "" if number and float(value).is_integer() else f"{fact} is a whole number"
    vocabulary = VOCABULARIES.get(fact)
    if vocabulary is not None and value not in vocabulary:
        return f"{fact} is one of {sorted(vocabulary)}"
    return ""


# --------------------------------------------------------------------------------------------------------------
# The test vocabulary
# --------------------------------------------------------------------------------------------------------------

class Outcome(NamedTuple):
    """The result of one test node (a tuple: built for every node of every criterion on the hot path)."""

    status: Status
    evidence: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    attested: bool = False
    missing: str = ""  # what to document, from the innermost unknown part that says (dose check or sub-test)
    received: bool = True  # False: unknown because data it needs was not received (Fact.received)
    finding: str = ""  # what failed, in a few words for a card's summary, when the test says (Verdict.finding)


# An Outcome from all seven fields, in C: `Outcome(...)` runs the NamedTuple's generated __new__, a Python function
# reached through the type's slot lookup, about twice the cost, and a test node builds one on every run.
_outcome = partial(tuple.__new__, Outcome)


class Context(dict["Test", Outcome]):
    """What a test reads, one per evaluation; as a dict, the outcome of each test it has run, by the compiled test.

    `ctx[test]` runs the test the first time (`__missing__`) and later gives the same outcome: a test shared by
    several criteria (the same test in several indications, compiled once when the file loads) runs once per
    evaluation. A dict subclass, so that an outcome already there costs a lookup in C, not a Python call."""

    __slots__ = ("facts", "doses", "prior_approval", "earlier_cycle_denied")

    def __init__(self, facts: ClinicalFacts, doses: DoseChecks, prior_approval: Fact[bool] | Windowed[bool],
                 earlier_cycle_denied: Fact[bool] = Fact(False)) -> None:
        super().__init__()
        self.facts = facts
        self.doses = doses
        self.prior_approval = prior_approval  # the audit trail's answer (prior_approval.py), not a clinical fact
        # True when this call denied the only earlier cycles of the course, signed with the order (pipeline.py)
        self.earlier_cycle_denied = earlier_cycle_denied

    def __missing__(self, test: Test) -> Outcome:
        outcome = self[test] = test(self)
        return outcome


# A test compiled once, when the policy file is loaded, into a function of the evaluation context: an evaluation then
# runs closures instead of re-reading the test's keys for every node of every criterion.
Test = Callable[[Context], Outcome]


def compile_test(test: Mapping[str, Any], label_schedule: str | None) -> Test:
    """`label_schedule`: the schedule of the criterion's indication, which a `dose = "schedule"` test checks."""
    # A sub-test's `missing` is what its unknown outcome asks for when no part of it says: the innermost unknown part
    # that says what to document is the most precise request. Written by the test itself into its unknown outcome,
    # not by a wrapper called on every run.
    head = _compile_head(test, label_schedule, test.get("missing", ""))
    if test.get("if_unknown") == NOT_MET:
        def unknown_is_not_met(ctx: Context) -> Outcome:
            outcome = head(ctx)
            if outcome.status == UNKNOWN:
                return Outcome(NOT_MET, outcome.evidence, outcome.notes, outcome.attested, finding=outcome.finding)
            return outcome
        return unknown_is_not_met
    if test.get("if_unknown") == MET:
        # An exclusion (policy-rules.md §1): met without contrary evidence, but only once the data was received.
        def unknown_is_met(ctx: Context) -> Outcome:
            outcome = head(ctx)
            if outcome.status == UNKNOWN and outcome.received:
                return Outcome(MET, outcome.evidence, outcome.notes, outcome.attested)
            return outcome
        return unknown_is_met
    return head


def _compile_head(test: Mapping[str, Any], label_schedule: str | None, missing: str) -> Test:
    """`missing`: what an unknown outcome asks for when the fact, dose check or sub-tests deciding it do not say."""
    if "fact" in test:
        return _compile_fact(_fact_reader(test), _matcher(test), bool(test.get("attested_to_exclude")), missing)
    if "any" in test or "all" in test:
        return _compile_group(test, label_schedule, missing)
    if "cycle_at_most" in test:
        return _compile_fact(attrgetter("facts.cycle.number"), _matcher({"at_most": test["cycle_at_most"]}), False,
                             missing)
    if test.get("dose") == "schedule":
        schedule = label_schedule or ""
        return lambda ctx: _from_verdict(ctx.doses.schedule(schedule), missing)
    if test.get("dose") == "ceiling":
        ceiling = Decimal(str(test["mcg_per_day"]))
        return lambda ctx: _from_verdict(ctx.doses.ceiling(ceiling), missing)
    limit = QuantityLimit(**test["quantity"])
    return lambda ctx: _from_verdict(ctx.doses.quantity(limit), missing)


def _fact_reader(test: Mapping[str, Any]) -> Callable[[Context], Fact[Any]]:
    name = test["fact"]
    # A dotted attrgetter reads ctx.facts.<name> in C: no Python frame per fact test.
    read = attrgetter(_READ_AT.get(name, f"facts.{name}"))
    if name in WINDOWS:
        numbers = {key: test[key] for key in WINDOWS[name]}
        return lambda ctx: read_within(read(ctx), numbers)
    return read


def _compile_fact(read: Callable[[Context], Fact[Any]], matches: Callable[[Any], bool | None],
                  attested_to_exclude: bool, missing: str) -> Test:
    def fact_test(ctx: Context) -> Outcome:
        fact = read(ctx)
        matched = None if fact.value is None else matches(fact.value)
        notes = (fact.note,) if fact.note else ()
        if matched is None:  # no value, or a value that cannot decide the threshold (a qualitative positive MRD)
            return _outcome((UNKNOWN, fact.evidence, notes, fact.attested, fact.missing or missing, fact.received, ""))
        if not matched and attested_to_exclude and not fact.attested:
            # A use the record never shows (fhir-data-profile.md: attested, else unknown) is not ruled out by an
            # inferred value: asking for the attestation, never an auto-denial.
            return _outcome((UNKNOWN, fact.evidence, notes, False, missing, True, ""))
        return _outcome((MET if matched else NOT_MET, fact.evidence, notes, fact.attested, "", True, ""))
    return fact_test


def _matcher(test: Mapping[str, Any]) -> Callable[[Any], bool | None]:
    checks = [_comparison(op, test[op]) for op in _COMPARATORS if op in test]
    if len(checks) == 1:
        return checks[0]
    # Several comparisons (at_least and at_most: a range) must all hold: their answers combined by verdict.all_of.
    return lambda value: _ANSWER[all_of(_STATUS[check(value)] for check in checks)]


# A comparison's answer (None: the value cannot say) as a status, and back.
_STATUS: dict[bool | None, Status] = {True: MET, False: NOT_MET, None: UNKNOWN}
_ANSWER: dict[Status, bool | None] = {MET: True, NOT_MET: False, UNKNOWN: None}


def _comparison(op: str, expected: Any) -> Callable[[Any], bool | None]:
    """`value <op> expected` (None: the value cannot say), the operator chosen and a threshold converted once, when
    the file is loaded."""
    # `equals` and `in` as C callables (no Python frame per fact test). The values suit the fact's type (a bool, a
    # whole number or a string of its vocabulary: checked when the file is loaded), so `expected == value` is a bool.
    if op == "equals":
        return partial(eq, expected)
    if op == "in":
        contains: Callable[[Any], bool] = expected.__contains__
        return contains
    threshold = Decimal(str(expected))  # for a Graded value (a lab result, an age known within bounds)
    if op == "at_least":
        return lambda value: value.at_least(threshold) if isinstance(value, Graded) else value >= expected
    return lambda value: value.at_most(threshold) if isinstance(value, Graded) else value <= expected


def _compile_group(test: Mapping[str, Any], label_schedule: str | None, missing: str) -> Test:
    children = tuple(compile_test(sub, label_schedule) for sub in test.get("any", test.get("all", [])))
    # Children that disagree give the group the highest-ranked of their statuses (AND or OR, verdict.py), found here
    # by max in C, without the Python call of verdict.all_of.
    is_or = "any" in test
    rank = (OR_RANK if is_or else AND_RANK).__getitem__

    def group(ctx: Context) -> Outcome:
        # The children run, and their outcomes' fields are read column by column, by builtins in C: no comprehension
        # or generator per group.
        outcomes = tuple(map(call, children, repeat(ctx)))
        statuses, evidence, notes, attested, asks, received, findings = zip(*outcomes)
        status = statuses[0]
        if statuses.count(status) != len(statuses):
            status = max(statuses, key=rank)
            # The children that decided the group carry its evidence: the met ones of a met OR, the failing ones of
            # an AND (at least one: a group has children, the schema says). An unknown OR keeps its not-met
            # children's too: what ruled those alternatives out ("third remission, attested") is part of the answer.
            shown = (UNKNOWN, NOT_MET) if is_or and status == UNKNOWN else (status,)
            _, evidence, notes, attested, asks, received, findings = zip(*(o for o in outcomes if o.status in shown))
        if is_or and status == UNKNOWN:
            ask = _open_alternatives(outcomes) or missing
        else:
            ask = next(filter(None, asks), missing if status == UNKNOWN else "")
        # The first finding of the children that decided it (a dose check's, the group's only one as a rule).
        return _outcome((status, unique(chain.from_iterable(evidence)), unique(chain.from_iterable(notes)),
                         any(attested), ask, all(received), next(filter(None, findings), "")))
    return group


def _open_alternatives(outcomes: tuple[Outcome, ...]) -> str:
    """What an unknown OR asks for: any of its unknown alternatives would settle it, so each that says what to document
    is asked for ("A, or B"); one already not met, never (its group's `missing`, naming every alternative, was asked
    for whenever the open one said nothing). "" when none says: the group's own `missing` then."""
    return ", or ".join(unique(o.missing for o in outcomes if o.status == UNKNOWN and o.missing))


def _from_verdict(verdict: Verdict, missing: str) -> Outcome:
    """`missing`: what an unknown verdict asks for when it does not say."""
    asks = verdict.missing or (missing if verdict.status == UNKNOWN else "")
    return _outcome((verdict.status, verdict.evidence, _notes(verdict.note), False, asks, verdict.received,
                     verdict.finding))


def _notes(note: str) -> tuple[str, ...]:
    return (note,) if note else ()


def unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
