"""Da Vinci CRD 2.2 coverage information: the `ext-coverage-information` extension and its system action
(service-contract.md, Response item 2).

Codes: `covered`, `pa-needed`, `doc-needed`, `doc-purpose` are `code` values from CRD's coverage-information-codes
value sets; `info-needed` uses v3 NullFlavor `OTH`; a technical failure's `reason` uses the CRD temporary code
system (the coverage assertion reasons are still defined there in CRD 2.2).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from cds_service.decision import INFO_NEEDED, MEETS, Decision

EXTENSION_URL = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
HCPCS_SYSTEM = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
BILLING_CODE = {"system": HCPCS_SYSTEM, "code": "J9039", "display": "Injection, blinatumomab, 1 microgram"}
CRD_TEMP_SYSTEM = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"
TECHNICAL_REASON = {"system": CRD_TEMP_SYSTEM, "code": "technical", "display": "Technical issue"}

COVERED_CODES = ("covered", "not-covered", "conditional", "indeterminate")
PA_CODES = ("no-auth", "auth-needed", "satisfied", "performpa", "conditional")  # no "indeterminate" in CRD 2.2
SINGLE = ("coverage", "covered", "date", "coverage-assertion-id")  # exactly once each


def coverage_information_action(
    order: dict[str, Any],
    decision: Decision | None,
    coverage_reference: str,
    assertion_id: str,
    today: date,
    questionnaire_url: str,
    unsolicited_determ: bool = True,
) -> dict[str, Any]:
    """An `update` system action: the order as received plus one coverage-information extension.

    `decision` None means the evaluation failed (a fault, not the patient's data): `indeterminate`.
    `unsolicited_determ` False (a "what if" call) never asserts a satisfied prior authorization.
    """
    parts = [
        _sub("coverage", valueReference={"reference": coverage_reference}),
        *_assertion(decision, questionnaire_url, unsolicited_determ),
        _sub("billingCode", valueCoding=dict(BILLING_CODE)),
        _sub("date", valueDate=today.isoformat()),
        _sub("coverage-assertion-id", valueString=assertion_id),
    ]
    if decision is not None and decision.decision == MEETS and unsolicited_determ and decision.authorization:
        parts.append(_sub("satisfied-pa-id", valueString=assertion_id))
        parts.append(_sub("expiry-date", valueDate=decision.authorization["end"]))
    # A new top-level object with a new extension list: the order itself is left untouched (its nested elements
    # are shared, not copied: nothing after this point changes them, and the response is serialized at once).
    coverage = {"url": EXTENSION_URL, "extension": _ordered(parts)}
    kept = [e for e in order.get("extension") or () if not _earlier_assertion(e, coverage_reference)]
    resource = {**order, "extension": [*kept, coverage]}
    return {"type": "update", "description": _description(decision), "resource": resource}


def _earlier_assertion(extension: Any, coverage_reference: str) -> bool:
    """A coverage-information for the same coverage already on the order (it is signed again): the new assertion
    replaces it, so the order never carries two answers for one coverage. Other payers' assertions stay."""
    if not isinstance(extension, dict) or extension.get("url") != EXTENSION_URL:
        return False
    return any(isinstance(sub, dict) and sub.get("url") == "coverage"
               and isinstance(sub.get("valueReference"), dict)
               and sub["valueReference"].get("reference") == coverage_reference
               for sub in extension.get("extension") or ())


def _assertion(decision: Decision | None, questionnaire_url: str, unsolicited_determ: bool) -> list[dict[str, Any]]:
    """The rows of the contract's table, one per outcome."""
    if decision is None:
        # pa-needed is left out: its value set has no code for "could not tell" (CRD 2.2 coveragePaDetail).
        return [_code("covered", "indeterminate"),
                _sub("reason", valueCodeableConcept={"coding": [dict(TECHNICAL_REASON)],
                                                     "text": "Coverage could not be evaluated (service fault)"})]
    if decision.decision == MEETS:
        return [_code("covered", "covered"), _code("pa-needed", "satisfied" if unsolicited_determ else "auth-needed")]
    if decision.decision == INFO_NEEDED:
        return [
            _code("covered", "conditional"), _code("pa-needed", "auth-needed"), _code("doc-needed", "clinical"),
            _code("doc-purpose", "withpa"), _code("info-needed", "OTH"),
            _sub("reason", valueCodeableConcept={"text": "Document: " + "; ".join(decision.missing)}),
            _sub("questionnaire", valueCanonical=questionnaire_url),
        ]
    failed = "; ".join(c.text for c in decision.not_met_criteria()) or "no indication of the policy is met"
    return [_code("covered", "not-covered"), _sub("reason", valueCodeableConcept={"text": f"Not met: {failed}"})]


_ORDER = ("coverage", "covered", "pa-needed", "doc-needed", "doc-purpose", "info-needed", "billingCode", "reason",
          "questionnaire", "date", "coverage-assertion-id", "satisfied-pa-id", "expiry-date")


def _ordered(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(parts, key=lambda p: _ORDER.index(p["url"]))


def _sub(url: str, **value: Any) -> dict[str, Any]:
    return {"url": url, **value}


def _code(url: str, code: str) -> dict[str, Any]:
    return _sub(url, valueCode=code)


def _description(decision: Decision | None) -> str:
    if decision is None:
        return "Coverage information: could not be evaluated"
    outcome = {"meets-criteria": "meets criteria", "information-needed": "documentation needed",
               "criteria-not-met": "criteria not met"}[decision.decision]
    return f"Coverage information from {decision.payer_label}: {outcome}"


def check_crd_invariants(extension: dict[str, Any]) -> list[str]:
    """The CRD rules of ext-coverage-information (crd-ci-q1..q5 and cardinalities); empty when valid."""
    subs: dict[str, list[Any]] = {}
    for part in extension.get("extension", []):
        value = next((v for k, v in part.items() if k.startswith("value")), None)
        subs.setdefault(part.get("url"), []).append(value)
    problems = [f"{name} must occur exactly once" for name in SINGLE if len(subs.get(name, [])) != 1]
    if extension.get("url") != EXTENSION_URL:
        problems.append("wrong extension url")
    return problems + _value_rules(subs)


def _value_rules(subs: dict[str, list[Any]]) -> list[str]:
    covered = (subs.get("covered") or [None])[0]
    pa = subs.get("pa-needed", [])
    problems = []
    if covered not in COVERED_CODES:
        problems.append(f"covered {covered!r} is not a CRD code")
    if any(p not in PA_CODES for p in pa) or len(pa) > 1:
        problems.append("pa-needed must be one CRD code")
    if covered == "not-covered" and pa:
        problems.append("not-covered must not have pa-needed (crd-ci-q2)")
    if covered in ("covered", "conditional") and not pa:
        problems.append("this service always says whether prior authorization is needed when coverage is possible")
    if covered == "conditional" and "info-needed" not in subs:
        problems.append("conditional needs info-needed")
    if "info-needed" in subs and "conditional" not in [covered, *pa, *subs.get("doc-needed", [])]:
        problems.append("info-needed needs something conditional (crd-ci-q3)")
    if ("questionnaire" in subs or "response" in subs) and not subs.get("doc-needed"):
        problems.append("questionnaire needs doc-needed (crd-ci-q1)")
    if ("satisfied" in pa) != ("satisfied-pa-id" in subs):
        problems.append("satisfied-pa-id if and only if pa-needed is satisfied (crd-ci-q5)")
    if "satisfied" in pa and "withpa" in subs.get("doc-purpose", []):
        problems.append("satisfied must not ask for documentation with a prior authorization (crd-ci-q4)")
    if covered == "indeterminate" and "reason" not in subs:
        problems.append("indeterminate needs a reason")
    return problems
