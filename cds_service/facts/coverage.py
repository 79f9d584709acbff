"""Which payer policy applies to an order (fhir-data-profile.md §Coverage and payer)."""
from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from cds_service.facts.codes import last_day_named, parse_date, period_end_day, ref
from cds_service.facts.resolve import record_resolver, referenced
from cds_service.facts.shape import direct_check, rules_out, well_formed_only
from cds_service.facts.unreadable import Relevance, Unreadable, unreadable
from cds_service.record import PatientRecord, Resolver
from cds_service.valuesets import get_valuesets

PAYERS = "payers"
# The Coverages read are objects of that resourceType (PatientRecord.resources): checked without well_formed's dispatch.
_WELL_FORMED = direct_check("Coverage")


class PayerMatch(NamedTuple):
    """The policy of the payer of the Coverage chosen (a NamedTuple: one is built per order)."""

    policy_id: str
    coverage_reference: str


def routed_policy_ids() -> frozenset[str]:
    """Every policy id the payer routing (the payers value set, with CDS_VALUESET_DIR's entries) can choose."""
    return frozenset(policy for policy in get_valuesets()[PAYERS].policies.values() if policy is not None)


def _in_force(coverage: dict[str, Any], start: date) -> bool:
    return coverage.get("status") == "active" and _period_includes(coverage, start) is True


_IN_FORCE = frozenset({"active"})


def _may_be_in_force(coverage: dict[str, Any], start: date) -> bool:
    """Whether a Coverage that cannot be read (shape.py) may be in force at `start`: only what can be read of it, a
    status other than active (shape.rules_out) or a period without `start`, rules it out (unreadable.py)."""
    return not rules_out(coverage, _IN_FORCE) and _period_includes(coverage, start) is not False


def _period_includes(coverage: dict[str, Any], start: date) -> bool | None:
    """Whether the Coverage's period includes `start`; None when it starts on a month or a year ("2026-12") whose
    days fall either side of `start`: in force or not by the day, which the record does not give. (An end so given
    runs to its last day: FHIR's Period includes its end.)"""
    period = coverage.get("period")
    if not isinstance(period, dict):
        return True
    first, last = parse_date(period.get("start")), period_end_day(period.get("end"))
    if (first is not None and start < first) or (last is not None and last < start):
        return False
    return None if first is not None and start < last_day_named(first, period["start"]) else True


def _undated(coverage: dict[str, Any], start: date) -> Unreadable:
    """A Coverage of a plan that may decide, in force or not by the day its period starts (_period_includes): never
    chosen in its place nor passed over, it is named as one the rules may choose, with the full date asked for."""
    return Unreadable(ref(coverage), "a Coverage that may be in force",
                      f"its period starts {coverage['period']['start']}, which may be after this order's start "
                      f"({start}): its full date is needed", ())


def _payor_policy(coverage: dict[str, Any], payor: dict[str, Any], resolve: Resolver) -> str | None:
    """The policy id the payor's display or identifier names, else its Organization's name or identifiers;
    valuesets.NO_POLICY (falsy) for a program no policy applies to."""
    identifiers = [payor["identifier"]] if isinstance(payor.get("identifier"), dict) else []
    policy = _policy_named(payor.get("display"), identifiers)
    if policy is not None:  # NO_POLICY too: a program exception, which the Organization's name must not overrule
        return policy
    reference = payor.get("reference")
    organization = referenced(coverage, reference, "Organization", resolve) if isinstance(reference, str) else None
    if not isinstance(organization, dict):
        return None
    org_identifiers = [i for i in organization.get("identifier") or () if isinstance(i, dict)]
    return _policy_named(organization.get("name"), org_identifiers)


def _policy_named(name: Any, identifiers: list[dict[str, Any]]) -> str | None:
    """The policy a payer's name or identifiers name, memoized by exactly what `policy_for` reads of them: payer
    names repeat across requests as codes do, say nothing of the patient, and matching one runs a regular
    expression over it."""
    valuesets = get_valuesets()
    text = name if isinstance(name, str) else ""
    key = (text, tuple([(i.get("system"), i.get("value")) for i in identifiers]))
    return valuesets.memo("payer-policies").get(key, valuesets.policy_for, PAYERS, text, identifiers)


def _recognized(coverage: dict[str, Any], reference: str, resolve: Resolver) -> PayerMatch | None:
    """The match of the first payor naming a policy; `reference` is the Coverage's."""
    for payor in coverage.get("payor") or ():
        if isinstance(payor, dict):
            policy = _payor_policy(coverage, payor, resolve)
            if policy:
                return PayerMatch(policy, reference)
    return None


def _points_to(reference: str, target: str) -> bool:
    """A relative ("Coverage/1") or absolute (".../Coverage/1", with or without _history) reference to target."""
    path = reference.split("/_history/", 1)[0]
    return path == target or path.endswith("/" + target)


class _Candidate(NamedTuple):
    """A Coverage in force that the rules of `select_payer` may choose: one of a recognized payer (`match`), or one
    whose payer cannot be known (`match` None), which may be of a supported plan and the primary one. (A NamedTuple:
    one is built per Coverage in force, per order.)"""

    reference: str
    order: Any  # Coverage.order as received: ranks when a whole number
    match: PayerMatch | None
    unreadable: Unreadable | None = None  # the Coverage itself could not be read (shape.py): why, for the note

    def may_be(self, insured: list[str]) -> bool:
        """Whether one of the order's `insurance` references may point to it (any may, when its id is unreadable)."""
        if self.reference == "Coverage":  # no readable id: unreadable.py names it by its type alone
            return bool(insured)
        for reference in insured:  # a loop, not any(generator): the usual one reference
            if _points_to(reference, self.reference):
                return True
        return False


def _read_candidates(record: PatientRecord, start: date) -> list[_Candidate]:
    """The Coverages in force at `start` whose payer is recognized or cannot be known, in the order received."""
    resolve = record_resolver(record)  # one lookup table for every payor reference
    candidates: list[_Candidate] = []
    for coverage in record.resources("coverage", "Coverage"):
        if not _WELL_FORMED(coverage):  # wrong JSON types where this reads: never read, never forgotten
            found = unreadable([coverage], "Coverage", lambda c: _unreadable_relevance(c, start))
            candidates.extend(_Candidate(item.reference, coverage.get("order"), None, item) for item in found)
        elif coverage.get("status") == "active" and (includes := _period_includes(coverage, start)) is not False:
            reference = ref(coverage)
            match = _recognized(coverage, reference, resolve)
            if match is None and not _payer_unread(coverage, resolve):
                continue  # a payer with no policy: it chooses nothing
            undated = None if includes else _undated(coverage, start)
            candidates.append(_Candidate(reference, coverage.get("order"), None if undated else match, undated))
    return candidates


def _unreadable_relevance(coverage: dict[str, Any], start: date) -> Relevance | None:
    """A Coverage that cannot be read bears on the payer unless what can be read of it shows it not in force. It
    bears on no clinical fact: the payer is decided here (unreadable.py)."""
    return Relevance("a Coverage that may be in force", ()) if _may_be_in_force(coverage, start) else None


def _chosen(candidates: list[_Candidate], order: dict[str, Any]) -> _Candidate | None:
    """The candidate the rules choose (fhir-data-profile.md §Coverage and payer): the one the order's `insurance`
    references, else the lowest `order` (primary), else the first. A Coverage that cannot be read is chosen when it
    may be: when its id or its `order` cannot be read, the rule it would pass cannot be applied to it."""
    insured = _insured(order)
    for candidate in candidates:  # a loop, not next(generator): the usual one candidate
        if candidate.may_be(insured):
            return candidate
    unranked = [c for c in candidates if c.order is not None and not _whole_number(c.order)]  # unreadable ones
    if unranked:
        return unranked[0]
    ranked = [(c.order, index) for index, c in enumerate(candidates) if _whole_number(c.order)]
    if ranked:
        return candidates[min(ranked)[1]]
    return candidates[0] if candidates else None


def _insured(order: dict[str, Any]) -> list[str]:
    """The references of the order's `insurance`."""
    insured = []
    for insurance in order.get("insurance") or ():
        reference = insurance.get("reference") if isinstance(insurance, dict) else None
        if isinstance(reference, str):
            insured.append(reference)
    return insured


def _whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def select_payer(record: PatientRecord, order: dict[str, Any], start: date) -> PayerMatch | None:
    """The recognized payer of the Coverage in force at `start` that the rules choose (`_chosen`). None when none is
    recognized, or when the one chosen is a Coverage, or names a payer, that cannot be read (`no_plan` says which):
    its payer may be a supported plan, whose policy, not another Coverage's, would decide."""
    chosen = _chosen(record.once(("candidates", start), lambda: _read_candidates(record, start)), order)
    return chosen.match if chosen is not None else None


class Primary(NamedTuple):
    """A Coverage in force ranked before the one chosen: the lowest `order` among the others."""

    reference: str
    order: int
    policy_id: str | None  # its plan's policy, when this service supports the plan
    payer: str = ""  # its payer as written ("Acme Health"), "" when it names none: the card names a plan not supported


class Standing(NamedTuple):
    """The Coverage `select_payer` chose, as the decision card names it beside its plan: its period (`start`, `end`,
    None when open), which the policies' criteria do not read, and its rank: its `order` (a whole number, else None),
    and whether it is the secondary coverage (`secondary`: ranked after the first, or after the `primary` in force).
    The rules choose among the recognized Coverages only (fhir-data-profile.md §Coverage and payer): a plan may decide
    as the secondary coverage, whose primary's rules apply first (coordination of benefits), and the card says so."""

    reference: str
    start: date | None
    end: date | None
    order: int | None = None
    secondary: bool = False
    primary: Primary | None = None


def standing(record: PatientRecord, payer: PayerMatch, start: date) -> Standing:
    """The Coverage in force at `start` that `payer` names (select_payer chose it: it was read and is in force), and
    the first-ranked of the other Coverages in force when it is ranked before it. An unranked Coverage chosen is
    secondary only to a Coverage ranked first (order 1): Coverage.order ranks the Coverages in force."""
    chosen: dict[str, Any] | None = None
    ranked: list[dict[str, Any]] = []
    for coverage in record.once(("in force", start), lambda: _read_in_force(record, start)):
        if chosen is None and ref(coverage) == payer.coverage_reference:
            chosen = coverage
        elif _whole_number(coverage.get("order")):
            ranked.append(coverage)
    if chosen is None:
        return Standing(payer.coverage_reference, None, None)
    period = chosen.get("period") or {}  # an object or absent: well formed
    order = chosen["order"] if _whole_number(chosen.get("order")) else None
    first = min(ranked, key=lambda c: int(c["order"]), default=None)
    ahead = first if first is not None and first["order"] < (order or 2) else None
    primary = Primary(ref(ahead), ahead["order"], _policy_of(record, ahead),
                      _payer_name(ahead, record_resolver(record))) if ahead else None
    return Standing(payer.coverage_reference, parse_date(period.get("start")), period_end_day(period.get("end")),
                    order, primary is not None or (order or 1) > 1, primary)


def _read_in_force(record: PatientRecord, start: date) -> list[dict[str, Any]]:
    """The well-formed Coverages in force at `start`."""
    return [c for c in well_formed_only(record.resources("coverage", "Coverage")) if _in_force(c, start)]


def _policy_of(record: PatientRecord, coverage: dict[str, Any]) -> str | None:
    match = _recognized(coverage, ref(coverage), record_resolver(record))
    return match.policy_id if match else None


class OutOfForce(NamedTuple):
    """A Coverage of a supported plan (`payer`), active, whose period leaves out the order's start: it ended before
    (`end`), or starts after it (`start`)."""

    payer: PayerMatch
    start: date | None
    end: date | None


class NoPlan(NamedTuple):
    """Why `select_payer` chose no payer, as the no-plan card says it and the audit trail keeps it (`reason`), and
    the Coverage the card names, if any (`coverage`): the one chosen whose payer could not be known (`unreadable`
    when the Coverage itself could not be read), or, with none of a supported plan in force, a supported plan's out
    of force at the start (`out_of_force`). `in_force`: with Coverages in force of payers with no policy, the one the
    rules would choose among them."""

    reason: str
    coverage: str | None = None
    unreadable: Unreadable | None = None
    out_of_force: OutOfForce | None = None
    in_force: str | None = None
    in_force_payer: str = ""  # the payer `in_force` names, as written ("Florida Blue FEP"), "" when it names none


def no_plan(record: PatientRecord, order: dict[str, Any], start: date) -> NoPlan:
    """Why `select_payer` chose no payer for `order`: "coverage-not-received" (the prefetch `coverage` never
    arrived), "coverage-unreadable" (the Coverage the rules choose, or may choose, could not be read: shape.py),
    "payer-not-received" (the Coverage chosen names its payer only through an Organization that could not be read:
    the plan is unknown, not unsupported; service-contract.md: the card names data not received),
    "payer-not-supported" (Coverages in force, of payers with no policy: the one the rules would choose named) or
    "no-coverage-in-force"; with either of the last two, the supported plan's Coverage out of force at `start` the
    rules would choose, if there is one: a patient whose Florida Blue Coverage ended and who has another plan now
    still has the card say which plan ended, and when."""
    if not record.received("coverage"):
        return NoPlan("coverage-not-received")
    chosen = _chosen(record.once(("candidates", start), lambda: _read_candidates(record, start)), order)
    if chosen is not None:
        reason = "coverage-unreadable" if chosen.unreadable else "payer-not-received"
        return NoPlan(reason, chosen.reference, chosen.unreadable)
    lapsed = _out_of_force(record.once(("out of force", start), lambda: _read_out_of_force(record, start)), order)
    named = lapsed.payer.coverage_reference if lapsed else None
    in_force_coverages = record.once(("in force", start), lambda: _read_in_force(record, start))
    in_force = _chosen([_Candidate(ref(c), c.get("order"), None) for c in in_force_coverages], order)
    if in_force is not None:
        payer = _payer_name(next(c for c in in_force_coverages if ref(c) == in_force.reference),
                            record_resolver(record))
        return NoPlan("payer-not-supported", named, out_of_force=lapsed, in_force=in_force.reference,
                      in_force_payer=payer)
    return NoPlan("no-coverage-in-force", named, out_of_force=lapsed)


def _out_of_force(found: list[tuple[_Candidate, OutOfForce]], order: dict[str, Any]) -> OutOfForce | None:
    """Of the active Coverages of a supported plan whose period leaves out the order's start (`found`:
    _read_out_of_force), the one the rules of `select_payer` would choose were they in force: a patient with such a
    Coverage has a plan, not "no supported plan", and the card says which and when it is in force."""
    chosen = _chosen([candidate for candidate, _ in found], order)
    return next((lapsed for candidate, lapsed in found if candidate is chosen), None)


def _read_out_of_force(record: PatientRecord, start: date) -> list[tuple[_Candidate, OutOfForce]]:
    """The well-formed active Coverages of a supported plan whose period leaves out `start`, as candidates."""
    resolve = record_resolver(record)
    found: list[tuple[_Candidate, OutOfForce]] = []
    for coverage in well_formed_only(record.resources("coverage", "Coverage")):
        if coverage.get("status") != "active" or _period_includes(coverage, start) is not False:
            continue
        match = _recognized(coverage, ref(coverage), resolve)
        if match is not None:  # a period leaves out `start`: there is one, and it is an object (shape.py)
            period = coverage["period"]
            found.append((_Candidate(match.coverage_reference, coverage.get("order"), match),
                          OutOfForce(match, parse_date(period.get("start")), period_end_day(period.get("end")))))
    return found


def _payer_name(coverage: dict[str, Any], resolve: Resolver) -> str:
    """The first payer the Coverage names, by its display or its Organization's name: the no-plan card says whose
    plan it does not check (a Florida Blue program with its own guidelines read as "no supported plan" beside the
    plans listed, Florida Blue among them)."""
    for payor in coverage.get("payor") or ():
        if not isinstance(payor, dict):
            continue
        reference = payor.get("reference")
        organization = referenced(coverage, reference, "Organization", resolve) if isinstance(reference, str) else None
        name = payor.get("display") or (organization.get("name") if isinstance(organization, dict) else None)
        if isinstance(name, str) and name.strip():
            return name.strip()
    return ""


def _payer_unread(coverage: dict[str, Any], resolve: Resolver) -> bool:
    for payor in coverage.get("payor") or ():
        reference = payor.get("reference") if isinstance(payor, dict) else None
        if isinstance(reference, str) and referenced(coverage, reference, "Organization", resolve) is None:
            return True
    return False
