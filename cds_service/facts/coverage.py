"""Which payer policy applies to an order (fhir-data-profile.md §Coverage and payer)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from cds_service.facts.codes import parse_date, parse_end_date, ref
from cds_service.facts.resolve import record_resolver, referenced
from cds_service.facts.shape import well_formed_only
from cds_service.record import PatientRecord, Resolver
from cds_service.valuesets import get_valuesets

PAYERS = "payers"


@dataclass(frozen=True)
class PayerMatch:
    policy_id: str
    coverage_reference: str


def routed_policy_ids() -> frozenset[str]:
    """Every policy id the payer routing (the payers value set, with CDS_VALUESET_DIR's entries) can choose."""
    return frozenset(get_valuesets()[PAYERS].policies.values())


def _in_force(coverage: dict[str, Any], start: date) -> bool:
    if coverage.get("status") != "active":
        return False
    period = coverage.get("period") or {}
    first, last = parse_date(period.get("start")), parse_end_date(period.get("end"))
    return (first is None or first <= start) and (last is None or start <= last)


def _payor_policy(coverage: dict[str, Any], payor: dict[str, Any], resolve: Resolver) -> str | None:
    """The policy id the payor's display or identifier names, else its Organization's name or identifiers."""
    identifiers = [payor["identifier"]] if isinstance(payor.get("identifier"), dict) else []
    policy = _policy_named(payor.get("display"), identifiers)
    if policy:
        return policy
    reference = payor.get("reference")
    organization = referenced(coverage, reference, "Organization", resolve) if isinstance(reference, str) else None
    if not isinstance(organization, dict):
        return None
    org_identifiers = [i for i in organization.get("identifier") or () if isinstance(i, dict)]
    return _policy_named(organization.get("name"), org_identifiers)


def _policy_named(name: Any, identifiers: list[dict[str, Any]]) -> str | None:
    return get_valuesets().policy_for(PAYERS, name if isinstance(name, str) else "", identifiers)


def _recognized(coverage: dict[str, Any], resolve: Resolver) -> PayerMatch | None:
    for payor in coverage.get("payor") or ():
        if isinstance(payor, dict):
            policy = _payor_policy(coverage, payor, resolve)
            if policy:
                return PayerMatch(policy, ref(coverage))
    return None


def _points_to(reference: str, target: str) -> bool:
    """A relative ("Coverage/1") or absolute (".../Coverage/1", with or without _history) reference to target."""
    path = reference.split("/_history/", 1)[0]
    return path == target or path.endswith("/" + target)


def no_plan_reason(record: PatientRecord, start: date) -> str:
    """Why `select_payer` recognized no plan, as the no-plan card says it and the audit trail keeps it:
    "coverage-not-received" (the prefetch `coverage` never arrived), "payer-not-received" (a Coverage in force names
    its payer only through an Organization that could not be read: the plan is unknown, not unsupported;
    service-contract.md: the card names data not received), "payer-not-supported" (one in force, of a payer with no
    policy) or "no-coverage-in-force"."""
    if not record.received("coverage"):
        return "coverage-not-received"
    current = [c for c in well_formed_only(record.resources("coverage", "Coverage")) if _in_force(c, start)]
    resolve = record_resolver(record)
    if any(_payer_unread(coverage, resolve) for coverage in current):
        return "payer-not-received"
    return "payer-not-supported" if current else "no-coverage-in-force"


def _payer_unread(coverage: dict[str, Any], resolve: Resolver) -> bool:
    for payor in coverage.get("payor") or ():
        reference = payor.get("reference") if isinstance(payor, dict) else None
        if isinstance(reference, str) and referenced(coverage, reference, "Organization", resolve) is None:
            return True
    return False


def select_payer(record: PatientRecord, order: dict[str, Any], start: date) -> PayerMatch | None:
    """The recognized payer of the Coverage in force at `start`: among several, the one the order's `insurance`
    references, else the lowest `order` (primary), else the first."""
    matches = []
    resolve = record_resolver(record)  # one lookup table for every payor reference
    # A Coverage with wrong JSON types in what is read here is ignored, never a failed evaluation (shape.py).
    for coverage in well_formed_only(record.resources("coverage", "Coverage")):
        if _in_force(coverage, start):
            match = _recognized(coverage, resolve)
            if match:
                matches.append((coverage, match))
    if not matches:
        return None
    insured = [i.get("reference") for i in order.get("insurance") or () if isinstance(i, dict)]
    for coverage, match in matches:
        if any(_points_to(r, match.coverage_reference) for r in insured if isinstance(r, str)):
            return match
    ranked = [(c.get("order"), i) for i, (c, _) in enumerate(matches) if isinstance(c.get("order"), int)]
    if ranked:
        return matches[min(ranked)[1]][1]
    return matches[0][1]
