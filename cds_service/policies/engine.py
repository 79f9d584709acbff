"""Evaluates a loaded payer policy (policies/*.toml) against ClinicalFacts and DoseChecks (policy-rules.md §1, §4).

The engine knows no payer: every indication, criterion, citation and authorization length is data. It runs the
criteria's tests (the vocabulary of docs/policy-reading.md, compiled by cds_service.policies.vocabulary) and applies
the decision rules of policy-rules.md §1 with the three-valued logic of cds_service.verdict, the request type
(§2/§3) and the authorization period (§4).
"""
from __future__ import annotations

from datetime import date
from functools import partial
from typing import NamedTuple

from cds_service.card_text import Wording
from cds_service.decision import CLINICAL, Authorization, CriterionResult, Decision, IndicationResult
from cds_service.evaluation import INFO_NEEDED, INITIAL, MEETS, NOT_MET_DECISION, RENEWAL, DecisionCode
from cds_service.dosing.api import DoseChecks
from cds_service.facts.model import ClinicalFacts, Fact, Windowed, read_within
from cds_service.policies.model import Criteria, CriterionSpec, IndicationSpec, Policy, Stage
from cds_service.policies.vocabulary import Context, Outcome, unique
from cds_service.verdict import MET, NOT_MET, UNKNOWN, Status, all_of, items


# --------------------------------------------------------------------------------------------------------------
# Criteria and indications
# --------------------------------------------------------------------------------------------------------------

# A CriterionResult from all its fields, in C, as vocabulary.py builds an Outcome: `CriterionResult(...)` runs the
# NamedTuple's generated __new__ in Python, about twice the cost, and a decision not met builds about seventy.
_new_result = partial(tuple.__new__, CriterionResult)


def _criterion_result(spec: CriterionSpec, outcome: Outcome) -> CriterionResult:
    status = outcome.status
    # In CriterionResult's field order. The summary: what the test found failing, when it says (which part of a dose
    # schedule), else the policy's phrase; the detail keeps the criterion's text, note and citation either way.
    return _new_result((
        spec.result_id, status, spec.citation, spec.text, outcome.evidence, spec.kind, "; ".join(outcome.notes),
        (outcome.missing or spec.missing) if status == UNKNOWN else spec.missing, outcome.attested,
        outcome.finding or spec.summary, spec.critical, outcome.received, spec.askable,
    ))


class _Evaluated(NamedTuple):
    """An indication as evaluated, with the authorization period it earns when met (the decision's, if reported)."""

    spec: IndicationSpec
    result: IndicationResult
    period: _Period | None


def _evaluate_indication(spec: IndicationSpec, applying: Criteria, ctx: Context) -> _Evaluated:
    """`applying`: the indication's criteria of the order's cycle, with their compiled tests."""
    criteria, runs = applying
    # ctx[run] by map: each test's outcome, run (Context.__missing__) or memoized, with no Python loop.
    outcomes = list(map(ctx.__getitem__, runs))
    return _indication_result(spec, ctx.facts, criteria, outcomes, all(o.status == MET for o in outcomes))


def _evaluated_if_met(spec: IndicationSpec, applying: Criteria, ctx: Context) -> _Evaluated | None:
    """The indication evaluated, as `_evaluate_indication` does, if it is met; None as soon as one of its criteria is
    not met (the rest are not read)."""
    criteria, runs = applying
    outcomes = []
    for run in runs:
        outcome = ctx[run]
        if outcome.status != MET:
            return None
        outcomes.append(outcome)
    evaluated = _indication_result(spec, ctx.facts, criteria, outcomes, True)
    return evaluated if evaluated.period is not None else None


def _indication_result(spec: IndicationSpec, facts: ClinicalFacts, criteria: tuple[CriterionSpec, ...],
                       outcomes: list[Outcome], met: bool) -> _Evaluated:
    """`met`: every outcome is met. The indication is then met, and earns its authorization period, unless the
    order starts after that period has ended."""
    results = tuple(map(_criterion_result, criteria, outcomes))
    if met:
        period = _authorization_period(spec, facts)
        # End = start + length (policy-rules.md §4). The card says "approved to <end>" and CRD's expiry-date is that
        # day, so a clinician reads it as covered: an order starting on it is within the period, one starting after
        # is not.
        if period.end >= facts.start_date:
            # Every criterion met: so are the clinical ones (all_of of none is met too).
            met_result = IndicationResult(spec.id, spec.title, spec.citation, MET, MET, results, spec.label_schedule)
            return _Evaluated(spec, met_result, period)
        results += (_period_lapsed(spec, facts, period),)  # not met: it earns no authorization
    result = IndicationResult(
        spec.id, spec.title, spec.citation, all_of(r.status for r in results),
        all_of(r.status for r in results if r.kind == CLINICAL), results, spec.label_schedule,
    )
    return _Evaluated(spec, result, None)


_WITHIN_PERIOD = Wording("Order starts within the authorization period")


def _period_lapsed(spec: IndicationSpec, facts: ClinicalFacts, period: _Period) -> CriterionResult:
    """An order starting after the authorization its course (or renewal) earned has ended is not covered by it: a
    delayed cycle needs a new request, never an approval whose period is already over (policy-rules.md §4). The
    card says so, the next step with it: a bare "not covered" read as a denial of the drug."""
    note = (f"this order starts {facts.start_date.isoformat()}, when the authorization period "
            f"{period.start.isoformat()} to {period.end.isoformat()} has ended: the plan needs a new request for it")
    citation = spec.authorization.citation or spec.citation
    return CriterionResult(
        f"{spec.id}.authorization-period", NOT_MET, citation, _WITHIN_PERIOD, (), "course-limit", note,
        summary=f"order starts after the authorization ended ({period.end.isoformat()}): new request needed")


class _Gate(NamedTuple):
    """A gated indication left aside, its gate not met: its title and the gate's criterion, for the card to say
    what an answer outside its window did not open (_not_counted)."""

    title: str
    gate: CriterionResult


def _candidates(stage: Stage, ctx: Context, general_met: bool) -> tuple[list[_Evaluated], list[_Gate]]:
    """A gated indication (exclusive_when) whose gate is met is evaluated alone; one whose gate is unknown is
    evaluated after the others (a route the record may open: an answer would settle it); one whose gate is not met
    is left aside (returned second), but when the earlier cycles it would continue, signed in this call, were denied
    (`Context.earlier_cycle_denied`): the card then lists it among the indications not met, saying so, since the
    clinician signed those cycles together.

    With every policy-level criterion met, the first met indication (in policy order) decides: the decision is met
    and reports it (policy-rules.md §1), and a met decision's cards and audit record read no other indication. So
    the indications are first only checked, each up to its first criterion not met, and the first met one is the
    only one evaluated in full; when none is met, every one is (their outcomes are memoized: no test runs twice)."""
    aside: list[_Gate] = []
    open_routes: list[_Evaluated] = []
    for spec, applying in stage.gated:
        evaluated = _evaluate_indication(spec, applying, ctx)
        gate = next(r for r in evaluated.result.criteria if r.id == f"{spec.id}.{spec.exclusive_when}")
        if gate.status == MET:
            return [evaluated], []
        if gate.status == UNKNOWN or ctx.earlier_cycle_denied.value:
            open_routes.append(evaluated)
        else:
            aside.append(_Gate(spec.title, gate))
    met = next(filter(None, (_evaluated_if_met(*s, ctx) for s in stage.ungated)), None) if general_met else None
    if met is not None:
        return [met], aside
    return [_evaluate_indication(*s, ctx) for s in stage.ungated] + open_routes, aside


# --------------------------------------------------------------------------------------------------------------
# The decision
# --------------------------------------------------------------------------------------------------------------

def evaluate_policy(policy: Policy, facts: ClinicalFacts, doses: DoseChecks,
                    prior_approval: Fact[bool] | Windowed[bool],
                    earlier_cycle_denied: Fact[bool] = Fact(False)) -> Decision:
    """Apply policy-rules.md §1 (decision), §2/§3 (request type) and §4 (authorization) to one order group.
    `earlier_cycle_denied`: whether this call denied, under `policy`, the only earlier cycles of the course (signed
    with the order, none given before: pipeline.py)."""
    ctx = Context(facts, doses, prior_approval, earlier_cycle_denied)
    cycle = facts.cycle.number.value
    stage = policy.by_cycle.of(cycle)
    criteria, runs = stage.universal
    general = list(map(_criterion_result, criteria, map(ctx.__getitem__, runs)))
    general_statuses = [c.status for c in general]
    evaluated, aside = _candidates(stage, ctx, general_statuses.count(MET) == len(general_statuses))
    results = [e.result for e in evaluated]
    decision = _decide(general_statuses, [r.status for r in results])
    reported = _reported(evaluated, decision)
    shown = reported.result if reported else _closest(_shown_candidates(evaluated)) or _closest(results)
    spec = reported.spec if reported else None
    # With no reported indication the request type follows the one shown: a relapsed/refractory cycle 7 order that
    # needs information is still a renewal request (policy-rules.md §2).
    shown_spec = spec or next((e.spec for e in evaluated if e.result is shown), None)
    missing, not_received = _to_document(general, evaluated) if decision == INFO_NEEDED else ([], [])
    # A met decision reports a met indication, which carries the period it earns.
    period = reported.period if reported and decision == MEETS else None
    return Decision(
        policy_id=policy.id, policy_version=policy.version, payer_label=policy.payer_label,
        policy_url=policy.url, policy_title=policy.title, policy_digest=policy.digest, decision=decision,
        request_type=_request_type(shown_spec, cycle), indication=spec.id if spec else None,
        indication_title=spec.title if spec else None, cycle=cycle,
        authorization=period.as_json() if period else None,
        criteria=general + (list(shown.criteria) if shown else []),
        missing=missing, not_received=not_received,
        indications=results, label_schedule=spec.label_schedule if spec else None,
        critical=decision == NOT_MET_DECISION and any(c.critical and c.status == NOT_MET for c in general),
        shown_indication=shown.id if shown else None, attested_items=_attested_within(policy, facts),
        counts_cycles=policy.counts_cycles, not_counted=_not_counted(policy, facts, aside) if aside else (),
    )


def _attested_within(policy: Policy, facts: ClinicalFacts) -> tuple[str, ...]:
    """The attestation items of the windowed facts the policy reads that its numbers let count."""
    return tuple(dict.fromkeys(item for name, numbers, item in policy.attestable_windows
                               if read_within(getattr(facts, name), numbers).attested))


def _not_counted(policy: Policy, facts: ClinicalFacts, aside: list[_Gate]) -> tuple[str, ...]:
    """The attested answers the policy's windows leave out (facts/extract.py names one as the evidence of its unknown
    fact) whose gate was left unmet, each with that gate's indication: an authorization attested too long ago was
    otherwise dropped without a word, the continuation it would have opened not listed."""
    said = []
    for name, numbers, _ in policy.attestable_windows:
        fact = read_within(getattr(facts, name), numbers)
        if fact.value is not None or not fact.evidence:
            continue
        for title, gate in aside:
            if set(fact.evidence) <= set(gate.evidence):
                said.append(f"{fact.note}; {title} not applied ({gate.citation}): the other indications are "
                            "evaluated")
    return tuple(said)


def _decide(general: list[Status], indications: list[Status]) -> DecisionCode:
    if NOT_MET in general or all(s == NOT_MET for s in indications):
        return NOT_MET_DECISION
    if MET in indications and all(s == MET for s in general):
        return MEETS
    return INFO_NEEDED


def _reported(evaluated: list[_Evaluated], decision: DecisionCode) -> _Evaluated | None:
    """The first met indication when the decision is met, else the first whose clinical criteria are met."""
    if decision == MEETS:
        return next((e for e in evaluated if e.result.status == MET), None)
    return next((e for e in evaluated if e.result.clinical_status == MET), None)


def _shown_candidates(evaluated: list[_Evaluated]) -> list[IndicationResult]:
    """The indications the card may show as the closest: a catch-all (`shown_last`) only when every other indication
    is not met and it is not. Florida Blue indication 2 is not met unless attested, so a denial names the criterion
    of indication 1 that failed; beside an open indication-1 use it is left out too (an ALL of unknown lineage is
    most often B-lineage: indication 1 is the route to show). Open alone, it is the only route left (every
    indication-1 use failing on CD19, indication 2 waiting on the lineage): the card had asked what to document for
    an indication already not met."""
    others = [e.result for e in evaluated if not e.spec.shown_last]
    if any(r.status != NOT_MET for r in others):
        return others
    return [e.result for e in evaluated if e.result.status != NOT_MET] or others


def _closest(results: list[IndicationResult]) -> IndicationResult | None:
    """With no clinical match, the pathway the record supports best: first the indications none of whose clinical
    criteria is not-met (a maintenance course past its cycle limit is shown as that, not as a relapse it never was),
    then the fewest not-met, fewest unknown and most met criteria; then the one the record follows furthest, its
    first not-met criterion latest (an indication lists its defining criteria first: an MRD-negative chart failing
    the MRD-negative pathway on its Ph+ use is shown that pathway, not the MRD-positive one failing on its MRD);
    first on ties."""
    if not results:
        return None
    return min(results, key=lambda r: (r.clinical_status == NOT_MET, r.count_of(NOT_MET), r.count_of(UNKNOWN),
                                       -r.count_of(MET), -_followed(r)))


def _followed(result: IndicationResult) -> int:
    """How many criteria of the indication come before its first not-met one."""
    return next((i for i, c in enumerate(result.criteria) if c.status == NOT_MET), len(result.criteria))


def _to_document(general: list[CriterionResult], evaluated: list[_Evaluated]) -> tuple[list[str], list[str]]:
    """What the unknown criteria, policy-level and of the indications still possible, say would decide them: what to
    document, and of that what the EHR did not send (the data of those criteria never arrived). Then the answers that
    alone would meet an indication not met (_answer_wanting)."""
    open_criteria = [c for e in evaluated if e.result.status != NOT_MET for c in e.result.criteria]
    wanting = [c for e in evaluated if e.result.status == NOT_MET for c in _answer_wanting(e)]
    unknown = [c for c in general + open_criteria + wanting if c.status != MET and c.missing]
    return (list(unique(item for c in unknown for item in items(c.missing))),
            list(unique(item for c in unknown if not c.received for item in items(c.missing))))


def _answer_wanting(evaluated: _Evaluated) -> list[CriterionResult]:
    """The criteria of a not-met indication that an answer alone would meet: every other criterion met, these not
    met only because an attestation-only test (`if_unknown = "not-met"`) was not answered (not attested). Such an
    indication stays not met (Florida Blue indication 2, policy-rules.md §3: its absence must not turn a denial into
    a request), but a card that needs information anyway names the answer: with a lymphoblastic lymphoma and no ALL
    on record it is the plan's route, and the card pointed only to indication 1's B-ALL evidence. With another
    criterion open the pathway asks for nothing, as before (the answer would not settle it)."""
    tests = {c.result_id: c.test for c in evaluated.spec.criteria}
    wanting = [c for c in evaluated.result.criteria if c.status != MET]
    if any(c.status != NOT_MET or c.attested or tests.get(c.id, {}).get("if_unknown") != NOT_MET for c in wanting):
        return []
    return wanting


def _request_type(spec: IndicationSpec | None, cycle: int | None) -> str:
    if spec is None:
        return INITIAL
    if spec.renewal and cycle is not None and cycle >= spec.renewal.from_cycle:
        return RENEWAL
    return spec.request


class _Period(NamedTuple):
    """An authorization period, in dates: `_period_lapsed` compares them, the Decision writes them (`as_json`).
    Computed once per met indication: the same period decides whether it is met and is the decision's."""

    start: date
    end: date
    cycles: int | None

    def as_json(self) -> Authorization:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "cycles": self.cycles}


def _authorization_period(spec: IndicationSpec, facts: ClinicalFacts) -> _Period:
    """policy-rules.md §4: course-anchored (renewals start at their first cycle) or order-anchored."""
    auth, renewal, cycle = spec.authorization, spec.renewal, facts.cycle.number.value
    if renewal and cycle is not None and cycle >= renewal.from_cycle:
        per = renewal.cycles_per_renewal
        first = renewal.from_cycle + (cycle - renewal.from_cycle) // per * per
        start = _cycle_start(facts, first)
        return _Period(start, renewal.authorization.end(start), renewal.cycles_per_renewal)
    start = facts.cycle.course_start if auth.anchor == "course" else facts.start_date
    return _Period(start, auth.end(start), auth.cycles)


def _cycle_start(facts: ClinicalFacts, number: int) -> date:
    starts = facts.cycle.cycle_starts
    # An attested cycle number can run ahead of the counted cycles: then this cycle's own start is the anchor.
    return starts[number - 1] if len(starts) >= number else facts.cycle.start
