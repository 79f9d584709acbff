"""Evaluates a payer policy file (policies/*.toml) against ClinicalFacts and DoseChecks (policy-rules.md §1, §4).

The engine knows no payer: every indication, criterion, citation and authorization length is data. It implements
the small test vocabulary documented in docs/policy-reading.md and the decision rules of policy-rules.md §1 with
the three-valued logic of cds_service.verdict.
"""
from __future__ import annotations

import calendar
import json
import os
import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from operator import attrgetter
from typing import Any, Callable, Iterable, Mapping, NamedTuple, get_args, get_origin, get_type_hints

from cds_service.decision import (
    CLINICAL, INFO_NEEDED, KINDS, MEETS, NOT_MET_DECISION, CriterionResult, Decision, DecisionCode,
    IndicationResult,
)
from cds_service.dosing.api import SCHEDULES, DoseChecks, QuantityLimit
from cds_service.facts.model import VOCABULARIES, ClinicalFacts, Fact, Graded
from cds_service.verdict import MET, NOT_MET, UNKNOWN, Status, Verdict, all_of, any_of

POLICY_DIR = Path(__file__).resolve().parent
ENV_DIR = "CDS_POLICY_DIR"
# The type of each fact's value: the Fact fields of ClinicalFacts, and what the engine supplies itself.
_FACT_TYPES: dict[str, type] = {
    name: get_args(hint)[0] for name, hint in get_type_hints(ClinicalFacts).items() if get_origin(hint) is Fact
} | {"prior_approval": bool}
_COMPARATORS = ("equals", "in", "at_least", "at_most")
_TEST_KEYS = frozenset(("fact", "any", "all", "dose", "quantity", "cycle_at_most", "if_unknown", "mcg_per_day",
                        "id", "missing", "attested_to_exclude", *_COMPARATORS))
_CRITERION_KEYS = frozenset(("id", "use", "kind", "text", "citation", "missing", "summary", "critical",
                             "from_cycle")) | _TEST_KEYS


class PolicyFileError(ValueError):
    """A policy file does not follow the vocabulary: raised at load, never during an evaluation."""


# --------------------------------------------------------------------------------------------------------------
# The policy as loaded
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CriterionSpec:
    id: str
    kind: str
    text: str
    citation: str
    missing: str
    test: Mapping[str, Any]
    summary: str = ""
    critical: bool = False
    from_cycle: int | None = None  # applies only from this cycle number on (renewal criteria)
    # The test in canonical form: indications repeat the same tests (age, lineage, dose), evaluated once per order.
    test_key: str = ""
    uses_schedule: bool = False  # the outcome depends on the indication's label schedule
    result_id: str = ""  # the id its results carry: "<indication>.<criterion>", or the criterion id at policy level
    run: Test = field(kw_only=True, compare=False, repr=False)  # the test compiled (_compile_test)


@dataclass(frozen=True)
class AuthorizationSpec:
    anchor: str  # "course" (Aspirus) or "order" (Florida Blue)
    weeks: int = 0
    months: int = 0
    years: int = 0
    cycles: int | None = None
    citation: str = ""  # the policy's section on the length of authorization (policy file `authorization_citation`)


@dataclass(frozen=True)
class RenewalSpec:
    from_cycle: int
    cycles_per_renewal: int
    weeks: int


@dataclass(frozen=True)
class IndicationSpec:
    id: str
    title: str
    citation: str
    authorization: AuthorizationSpec
    criteria: tuple[CriterionSpec, ...]
    label_schedule: str | None = None
    request: str = "initial"
    renewal: RenewalSpec | None = None
    exclusive_when: str | None = None  # id of a criterion: when met, this is the only indication evaluated
    shown_last: bool = False  # a catch-all, not-met by default: never the closest while another indication can be


@dataclass(frozen=True)
class Policy:
    id: str
    version: str
    title: str
    payer_label: str
    url: str
    universal: tuple[CriterionSpec, ...]
    indications: tuple[IndicationSpec, ...] = field(default_factory=tuple)

    @cached_property
    def quantity_limit(self) -> QuantityLimit | None:
        """The per-cycle quantity limit of the policy (Aspirus II), for the quantity card; None when it has none."""
        spec = next((c for c in self.universal if "quantity" in c.test), None)
        return QuantityLimit(**spec.test["quantity"], citation=spec.citation) if spec else None

    @cached_property
    def dose_ceiling(self) -> Decimal | None:
        """The fixed daily maximum its indications' dose criteria name (Florida Blue: 28 mcg/day); None when none."""
        tests = (c.test for i in self.indications for c in i.criteria)
        return next((Decimal(str(t["mcg_per_day"])) for t in tests if t.get("dose") == "ceiling"), None)

    @cached_property
    def reads_prior_approval(self) -> bool:
        """Whether a criterion asks the audit trail for a prior approval: only then is the database queried."""
        specs = [*self.universal, *(c for i in self.indications for c in i.criteria)]
        return any(_mentions_fact(spec.test, "prior_approval") for spec in specs)


def _mentions_fact(test: Any, name: str) -> bool:
    if isinstance(test, Mapping):
        return test.get("fact") == name or any(_mentions_fact(v, name) for v in test.values())
    if isinstance(test, (list, tuple)):
        return any(_mentions_fact(v, name) for v in test)
    return False


def policy_files() -> dict[str, Path]:
    """Policy id -> file: the files shipped with the service, then those of CDS_POLICY_DIR (an operator's plan, or
    a newer version of a shipped policy: the same id replaces the shipped file)."""
    files = {p.stem: p for p in POLICY_DIR.glob("*.toml")}
    directory = os.environ.get(ENV_DIR, "")
    if directory:
        if not Path(directory).is_dir():
            raise PolicyFileError(f"{ENV_DIR}={directory} is not a directory")
        files |= {p.stem: p for p in Path(directory).glob("*.toml")}
    return files


def policy_ids() -> list[str]:
    """The ids of the policies this service applies."""
    return sorted(policy_files())


@lru_cache(maxsize=None)
def load_policy(policy_id: str) -> Policy:
    """Read and check `<policy_id>.toml` once; later calls return the same Policy."""
    path = policy_files().get(policy_id)
    if path is None:
        raise KeyError(f"no policy file for {policy_id!r}")
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
        if raw.get("id") != policy_id:
            raise PolicyFileError(f"id {raw.get('id')!r} does not match the file name")
        return parse_policy(raw)
    except (KeyError, TypeError, ValueError) as exc:  # ValueError: TOML syntax and PolicyFileError
        raise PolicyFileError(f"{path}: {_problem(exc)}") from exc


def _problem(exc: Exception) -> str:
    """A missing required key (KeyError) says only the key's name: say what it is."""
    return f"required key {exc} missing" if isinstance(exc, KeyError) else str(exc)


def payer_labels() -> list[str]:
    """The plans this service applies, by name, for cards and the discovery document."""
    return [load_policy(policy_id).payer_label for policy_id in policy_ids()]


def check_policies(routed: Iterable[str]) -> None:
    """Load every policy file and check that each policy id the payer routing names (`routed`) has one: a mistake
    stops the service at start-up instead of failing the first order of that plan (PolicyFileError)."""
    for policy_id in policy_ids():
        load_policy(policy_id)
    unknown = sorted(set(routed) - set(policy_ids()))
    if unknown:
        raise PolicyFileError(f"the payer routing (payers value set) names policies with no file: {unknown}")


def parse_policy(raw: dict[str, Any]) -> Policy:
    """Build a Policy from a parsed TOML document, checking it against the vocabulary (PolicyFileError)."""
    common = raw.get("common", {})
    cite = raw.get("authorization_citation", "")
    indications = tuple(_parse_indication(i, common, cite) for i in raw.get("indications", []))
    return Policy(
        id=raw["id"], version=str(raw["version"]), title=raw["title"], payer_label=raw["payer_label"],
        url=raw["url"], universal=tuple(_parse_criterion(c, common, "") for c in raw.get("universal", [])),
        indications=indications,
    )


def _parse_indication(raw: dict[str, Any], common: dict[str, Any], authorization_citation: str) -> IndicationSpec:
    criteria = tuple(_parse_criterion(c, common, raw["id"]) for c in raw["criteria"])
    renewal = raw.get("renewal")
    spec = IndicationSpec(
        id=raw["id"], title=raw["title"], citation=raw["citation"],
        authorization=AuthorizationSpec(**raw["authorization"], citation=authorization_citation), criteria=criteria,
        label_schedule=raw.get("label_schedule"), request=raw.get("request", "initial"),
        renewal=RenewalSpec(**renewal) if renewal else None, exclusive_when=raw.get("exclusive_when"),
        shown_last=bool(raw.get("shown_last", False)),
    )
    _check_indication(spec)
    return spec


def _check_indication(spec: IndicationSpec) -> None:
    if spec.label_schedule is not None and spec.label_schedule not in SCHEDULES:
        raise PolicyFileError(f"{spec.id}: unknown label_schedule {spec.label_schedule!r}")
    if spec.authorization.anchor not in ("course", "order"):
        raise PolicyFileError(f"{spec.id}: authorization anchor must be 'course' or 'order'")
    ids = [c.id for c in spec.criteria]
    if len(ids) != len(set(ids)):
        raise PolicyFileError(f"{spec.id}: criterion ids must be unique")
    if spec.exclusive_when is not None and spec.exclusive_when not in ids:
        raise PolicyFileError(f"{spec.id}: exclusive_when names no criterion of the indication")
    if spec.label_schedule is None and any(c.test.get("dose") == "schedule" for c in spec.criteria):
        raise PolicyFileError(f"{spec.id}: a dose schedule criterion needs the indication's label_schedule")


def _parse_criterion(raw: dict[str, Any], common: dict[str, Any], indication: str) -> CriterionSpec:
    if "use" in raw:  # a shared criterion, optionally with some keys overridden
        raw = {"id": raw["use"], **common[raw["use"]], **{k: v for k, v in raw.items() if k != "use"}}
    unknown_keys = set(raw) - _CRITERION_KEYS
    if unknown_keys:
        raise PolicyFileError(f"criterion {raw.get('id')!r}: unknown keys {sorted(unknown_keys)}")
    kind = raw.get("kind", CLINICAL)
    if kind not in KINDS:
        raise PolicyFileError(f"criterion {raw['id']!r}: unknown kind {kind!r}")
    test = {k: v for k, v in raw.items() if k in _TEST_KEYS and k not in ("id", "missing")}
    _check_test(test, raw["id"])
    test_key = json.dumps(test, sort_keys=True)
    return CriterionSpec(
        id=raw["id"], kind=kind, text=raw["text"], citation=raw["citation"], missing=raw["missing"], test=test,
        summary=raw.get("summary", ""), critical=bool(raw.get("critical", False)), from_cycle=raw.get("from_cycle"),
        test_key=test_key, uses_schedule='"dose": "schedule"' in test_key, run=_compile_test(test),
        result_id=f"{indication}.{raw['id']}" if indication else raw["id"],
    )


def _check_test(test: Mapping[str, Any], where: str) -> None:
    unknown_keys = set(test) - _TEST_KEYS
    heads = [k for k in ("fact", "any", "all", "dose", "quantity", "cycle_at_most") if k in test]
    if unknown_keys or len(heads) != 1:
        raise PolicyFileError(f"{where}: a test needs exactly one of fact/any/all/dose/quantity/cycle_at_most")
    if "fact" in test:
        _check_fact_test(test, where)
    if "quantity" in test:
        _check_quantity(test["quantity"], where)
    if test.get("dose") not in (None, "schedule", "ceiling"):
        raise PolicyFileError(f"{where}: dose must be 'schedule' or 'ceiling'")
    if test.get("if_unknown") not in (None, NOT_MET):
        raise PolicyFileError(f"{where}: if_unknown can only be 'not-met'")
    for sub in test.get("any", []) + test.get("all", []):
        _check_test(sub, f"{where}.{sub.get('id', '')}")


_QUANTITY_KEYS = ("vials", "units", "days", "days_continued", "continued_from_cycle")


def _check_quantity(limit: Any, where: str) -> None:
    keys = set(limit) if isinstance(limit, Mapping) else set()
    if not {"vials", "units", "days"} <= keys <= set(_QUANTITY_KEYS):
        raise PolicyFileError(f"{where}: quantity needs vials, units and days (optionally days_continued and "
                              "continued_from_cycle), nothing else")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in limit.values()):
        raise PolicyFileError(f"{where}: quantity values are positive whole numbers")
    if ("days_continued" in limit) != ("continued_from_cycle" in limit):
        raise PolicyFileError(f"{where}: days_continued and continued_from_cycle go together")


def _check_fact_test(test: Mapping[str, Any], where: str) -> None:
    """The comparisons must suit the fact's type: a misspelt vocabulary value would otherwise never match, silently."""
    kind = _FACT_TYPES.get(test["fact"])
    if kind is None:
        raise PolicyFileError(f"{where}: unknown fact {test['fact']!r}")
    if not any(k in test for k in _COMPARATORS):
        raise PolicyFileError(f"{where}: a fact test needs equals, in, at_least or at_most")
    if "in" in test and not isinstance(test["in"], list):
        raise PolicyFileError(f"{where}: 'in' needs a list")
    for op in (op for op in _COMPARATORS if op in test):
        for value in test[op] if op == "in" else [test[op]]:
            problem = _value_problem(test["fact"], kind, op, value)
            if problem:
                raise PolicyFileError(f"{where}: {op} {value!r}: {problem}")


def _value_problem(fact: str, kind: type, op: str, value: Any) -> str:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if op in ("at_least", "at_most"):
        ordered = kind is int or issubclass(kind, Graded)
        return "" if ordered and number else f"{fact} has no order to compare with a number"
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

class _Outcome(NamedTuple):
    """The result of one test node (a tuple: built for every node of every criterion on the hot path)."""

    status: Status
    evidence: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    attested: bool = False
    missing: str = ""  # what to document, from the innermost unknown part that says (dose check or sub-test)


@dataclass(frozen=True)
class _Context:
    facts: ClinicalFacts
    doses: DoseChecks
    prior_approval: Fact[bool]  # the audit trail's answer (pipeline.py), not a clinical fact
    label_schedule: str | None
    # Outcomes by (test_key, schedule) for this evaluation: the same test in several indications is run once.
    memo: dict[tuple[str, str | None], "_Outcome"] = field(default_factory=dict)


# A test compiled once, when the policy file is loaded, into a function of the evaluation context: an evaluation then
# runs closures instead of re-reading the test's keys for every node of every criterion.
Test = Callable[[_Context], _Outcome]


def _compile_test(test: Mapping[str, Any]) -> Test:
    head = _compile_head(test)
    if test.get("if_unknown") == NOT_MET:
        def unknown_is_not_met(ctx: _Context) -> _Outcome:
            outcome = head(ctx)
            if outcome.status == UNKNOWN:
                return _Outcome(NOT_MET, outcome.evidence, outcome.notes, outcome.attested)
            return outcome
        return unknown_is_not_met
    if "missing" in test:
        missing = test["missing"]

        def says_what_is_missing(ctx: _Context) -> _Outcome:
            outcome = head(ctx)
            # The innermost unknown part that says what to document is the most precise request.
            if outcome.status == UNKNOWN and not outcome.missing:
                return outcome._replace(missing=missing)
            return outcome
        return says_what_is_missing
    return head


def _compile_head(test: Mapping[str, Any]) -> Test:
    if "fact" in test:
        return _compile_fact(_fact_reader(test["fact"]), _matcher(test), bool(test.get("attested_to_exclude")))
    if "any" in test or "all" in test:
        return _compile_group(test)
    if "cycle_at_most" in test:
        return _compile_fact(lambda ctx: ctx.facts.cycle.number, _matcher({"at_most": test["cycle_at_most"]}), False)
    if test.get("dose") == "schedule":
        return lambda ctx: _from_verdict(ctx.doses.schedule(ctx.label_schedule or ""))
    if test.get("dose") == "ceiling":
        ceiling = Decimal(str(test["mcg_per_day"]))
        return lambda ctx: _from_verdict(ctx.doses.ceiling(ceiling))
    limit = QuantityLimit(**test["quantity"])
    return lambda ctx: _from_verdict(ctx.doses.quantity(limit))


def _fact_reader(name: str) -> Callable[[_Context], Fact]:
    if name == "prior_approval":  # the audit trail's answer, not a clinical fact
        return lambda ctx: ctx.prior_approval
    read = attrgetter(name)
    return lambda ctx: read(ctx.facts)


def _compile_fact(read: Callable[[_Context], Fact], matches: Callable[[Any], bool | None],
                  attested_to_exclude: bool) -> Test:
    def fact_test(ctx: _Context) -> _Outcome:
        fact = read(ctx)
        matched = None if fact.value is None else matches(fact.value)
        if matched is None:  # no value, or a value that cannot decide the threshold (a qualitative positive MRD)
            return _Outcome(UNKNOWN, fact.evidence, _notes(fact.note), fact.attested, fact.missing)
        status = MET if matched else NOT_MET
        if status == NOT_MET and attested_to_exclude and not fact.attested:
            # A use the record never shows (fhir-data-profile.md: attested, else unknown) is not ruled out by an
            # inferred value: asking for the attestation, never an auto-denial.
            status = UNKNOWN
        return _Outcome(status, fact.evidence, _notes(fact.note), fact.attested)
    return fact_test


def _matcher(test: Mapping[str, Any]) -> Callable[[Any], bool | None]:
    checks = [(op, test[op]) for op in _COMPARATORS if op in test]
    if len(checks) == 1:
        op, expected = checks[0]
        return lambda value: _compare(value, op, expected)
    return lambda value: _all_true(_compare(value, op, expected) for op, expected in checks)


def _all_true(answers: Iterable[bool | None]) -> bool | None:
    """Three-valued AND: False if any is False, else None if any cannot say."""
    found: bool | None = True
    for answer in answers:
        if answer is False:
            return False
        if answer is None:
            found = None
    return found


def _compare(value: Any, op: str, expected: Any) -> bool | None:
    if op == "equals":  # the values suit the fact's type: checked when the file is loaded
        return bool(value == expected)
    if op == "in":
        return value in expected
    if isinstance(value, Graded):
        threshold = Decimal(str(expected))
        return value.at_least(threshold) if op == "at_least" else value.at_most(threshold)
    if op == "at_least":
        return value >= expected
    return value <= expected


def _compile_group(test: Mapping[str, Any]) -> Test:
    children = tuple(_compile_test(sub) for sub in test.get("any", test.get("all", [])))
    combine = any_of if "any" in test else all_of

    def group(ctx: _Context) -> _Outcome:
        outcomes = [child(ctx) for child in children]
        status = combine(o.status for o in outcomes)
        # The children that decided the group carry its evidence: the met ones of a met OR, the failing ones of an
        # AND.
        deciding = [o for o in outcomes if o.status == status]
        return _Outcome(
            status,
            _unique(e for o in deciding for e in o.evidence),
            _unique(n for o in deciding for n in o.notes),
            any(o.attested for o in deciding),
            next((o.missing for o in deciding if o.missing), ""),
        )
    return group


def _from_verdict(verdict: Verdict) -> _Outcome:
    return _Outcome(verdict.status, verdict.evidence, _notes(verdict.note), False, verdict.missing)


def _notes(note: str) -> tuple[str, ...]:
    return (note,) if note else ()


def _unique(items: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


# --------------------------------------------------------------------------------------------------------------
# Criteria and indications
# --------------------------------------------------------------------------------------------------------------

def _applies(spec: CriterionSpec, facts: ClinicalFacts) -> bool:
    cycle = facts.cycle.number.value
    return spec.from_cycle is None or cycle is None or cycle >= spec.from_cycle


def _evaluate_criterion(spec: CriterionSpec, ctx: _Context) -> CriterionResult:
    key = (spec.test_key, ctx.label_schedule if spec.uses_schedule else None)
    outcome = ctx.memo.get(key)
    if outcome is None:
        outcome = ctx.memo[key] = spec.run(ctx)
    status = outcome.status
    # Positional, in CriterionResult's field order: about seventy are built per evaluation.
    return CriterionResult(
        spec.result_id, status, spec.citation, spec.text, outcome.evidence, spec.kind, "; ".join(outcome.notes),
        (outcome.missing or spec.missing) if status == UNKNOWN else spec.missing, outcome.attested, spec.summary,
        spec.critical,
    )


def _evaluate_indication(spec: IndicationSpec, ctx: _Context) -> IndicationResult:
    ctx = _Context(ctx.facts, ctx.doses, ctx.prior_approval, spec.label_schedule, ctx.memo)
    results = tuple(_evaluate_criterion(c, ctx) for c in spec.criteria if _applies(c, ctx.facts))
    if all(r.status == MET for r in results):
        results += _period_lapsed(spec, ctx.facts)
    return IndicationResult(
        id=spec.id, title=spec.title, citation=spec.citation,
        status=all_of(r.status for r in results),
        clinical_status=all_of(r.status for r in results if r.kind == CLINICAL),
        criteria=results, label_schedule=spec.label_schedule,
    )


def _period_lapsed(spec: IndicationSpec, facts: ClinicalFacts) -> tuple[CriterionResult, ...]:
    """An order starting after the authorization its course (or renewal) earned has ended is not covered by it: a
    delayed cycle needs a new request, never an approval whose period is already over (policy-rules.md §4)."""
    period = _authorization(spec, facts)
    # End = start + length (policy-rules.md §4): the end day is the first day after the period, so an order starting
    # on it gets none of its infusion days authorized.
    if date.fromisoformat(period["end"]) > facts.start_date:
        return ()
    note = (f"this order starts {facts.start_date.isoformat()}, when the authorization period "
            f"{period['start']} to {period['end']} has ended")
    citation = spec.authorization.citation or spec.citation
    return (CriterionResult(
        f"{spec.id}.authorization-period", NOT_MET, citation, "Order starts within the authorization period",
        (), "course-limit", note, summary="order starts after the authorization period ended"),)


def _candidates(policy: Policy, ctx: _Context) -> list[tuple[IndicationSpec, IndicationResult]]:
    """A gated indication (exclusive_when) whose gate is met is evaluated alone; otherwise the others are."""
    for spec in (s for s in policy.indications if s.exclusive_when):
        result = _evaluate_indication(spec, ctx)
        gate = next(r for r in result.criteria if r.id == f"{spec.id}.{spec.exclusive_when}")
        if gate.status == MET:
            return [(spec, result)]
    return [(s, _evaluate_indication(s, ctx)) for s in policy.indications if not s.exclusive_when]


# --------------------------------------------------------------------------------------------------------------
# The decision
# --------------------------------------------------------------------------------------------------------------

def evaluate_policy(policy: Policy, facts: ClinicalFacts, doses: DoseChecks, prior_approval: Fact[bool]) -> Decision:
    """Apply policy-rules.md §1 (decision), §2/§3 (request type) and §4 (authorization) to one order group."""
    ctx = _Context(facts, doses, prior_approval, None)
    general = [_evaluate_criterion(c, ctx) for c in policy.universal if _applies(c, facts)]
    evaluated = _candidates(policy, ctx)
    results = [r for _, r in evaluated]
    decision = _decide([c.status for c in general], [r.status for r in results])
    reported = _reported(evaluated, decision)
    shown = reported[1] if reported else _closest([r for s, r in evaluated if not s.shown_last]) or _closest(results)
    spec = reported[0] if reported else None
    # With no reported indication the request type follows the one shown: a relapsed/refractory cycle 7 order that
    # needs information is still a renewal request (policy-rules.md §2).
    shown_spec = spec or next((s for s, r in evaluated if r is shown), None)
    cycle = facts.cycle.number.value
    return Decision(
        policy_id=policy.id, policy_version=policy.version, payer_label=policy.payer_label,
        policy_url=policy.url, policy_title=policy.title, decision=decision,
        request_type=_request_type(shown_spec, cycle), indication=spec.id if spec else None,
        indication_title=spec.title if spec else None, cycle=cycle,
        authorization=_authorization(spec, facts) if spec and decision == MEETS else None,
        criteria=general + (list(shown.criteria) if shown else []),
        missing=_missing(general, results) if decision == INFO_NEEDED else [],
        indications=results, label_schedule=spec.label_schedule if spec else None,
        critical=decision == NOT_MET_DECISION and any(c.critical and c.status == NOT_MET for c in general),
        shown_indication=shown.id if shown else None,
    )


def _decide(general: list[Status], indications: list[Status]) -> DecisionCode:
    if NOT_MET in general or all(s == NOT_MET for s in indications):
        return NOT_MET_DECISION
    if MET in indications and all(s == MET for s in general):
        return MEETS
    return INFO_NEEDED


def _reported(
    evaluated: list[tuple[IndicationSpec, IndicationResult]], decision: DecisionCode
) -> tuple[IndicationSpec, IndicationResult] | None:
    """The first met indication when the decision is met, else the first whose clinical criteria are met."""
    if decision == MEETS:
        return next((pair for pair in evaluated if pair[1].status == MET), None)
    return next((pair for pair in evaluated if pair[1].clinical_status == MET), None)


def _closest(results: list[IndicationResult]) -> IndicationResult | None:
    """With no clinical match, the pathway the record supports best: first the indications none of whose clinical
    criteria is not-met (a maintenance course past its cycle limit is shown as that, not as a relapse it never was),
    then the fewest not-met, fewest unknown and most met criteria; first on ties."""
    if not results:
        return None
    return min(results, key=lambda r: (r.clinical_status == NOT_MET, r.count(NOT_MET), r.count(UNKNOWN),
                                       -r.count(MET)))


def _missing(general: list[CriterionResult], results: list[IndicationResult]) -> list[str]:
    """What to document: the unknown criteria of the indications still possible, each said once."""
    open_criteria = [c for r in results if r.status != NOT_MET for c in r.criteria]
    return list(_unique(c.missing for c in general + open_criteria if c.status == UNKNOWN and c.missing))


def _request_type(spec: IndicationSpec | None, cycle: int | None) -> str:
    if spec is None:
        return "initial"
    if spec.renewal and cycle is not None and cycle >= spec.renewal.from_cycle:
        return "renewal"
    return spec.request


def _authorization(spec: IndicationSpec, facts: ClinicalFacts) -> dict[str, Any]:
    """policy-rules.md §4: course-anchored (renewals start at their first cycle) or order-anchored."""
    auth, renewal, cycle = spec.authorization, spec.renewal, facts.cycle.number.value
    if renewal and cycle is not None and cycle >= renewal.from_cycle:
        first = renewal.from_cycle + (cycle - renewal.from_cycle) // renewal.cycles_per_renewal * renewal.cycles_per_renewal
        start = _cycle_start(facts, first)
        return _period(start, AuthorizationSpec("course", weeks=renewal.weeks), renewal.cycles_per_renewal)
    start = facts.cycle.course_start if auth.anchor == "course" else facts.start_date
    return _period(start, auth, auth.cycles)


def _cycle_start(facts: ClinicalFacts, number: int) -> date:
    starts = facts.cycle.cycle_starts
    # An attested cycle number can run ahead of the counted cycles: then this cycle's own start is the anchor.
    return starts[number - 1] if len(starts) >= number else facts.cycle.start


def _period(start: date, length: AuthorizationSpec, cycles: int | None) -> dict[str, Any]:
    end = _add_months(start, length.months + 12 * length.years) + timedelta(weeks=length.weeks)
    return {"start": start.isoformat(), "end": end.isoformat(), "cycles": cycles}


def _add_months(day: date, months: int) -> date:
    """Calendar months; a day past the end of the target month falls on its last day (Jan 31 + 1 month = Feb 28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
