"""Da Vinci CRD 2.2 coverage information: the `ext-coverage-information` extension and its system action
(service-contract.md, Response item 2).

Codes: `covered`, `pa-needed`, `doc-needed`, `doc-purpose` are `code` values from CRD's coverage-information-codes
value sets; `info-needed` uses v3 NullFlavor `OTH`; a technical failure's `reason` uses the CRD temporary code
system (the coverage assertion reasons are still defined there in CRD 2.2); the `detail` that says what an `OTH` needs
is coded from HL7's crd-coverage-detail code system (CRD 2.2's coverageDetailNew value set).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from cds_service.decision import CLINICAL, CriterionResult, Decision
from cds_service.evaluation import INFO_NEEDED, MEETS, NOT_MET_DECISION
from cds_service.record import FHIR_ID
from cds_service.sentences import listed, mid_sentence
from cds_service.verdict import UNKNOWN, items

EXTENSION_URL = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
HCPCS_SYSTEM = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
BILLING_CODE = {"system": HCPCS_SYSTEM, "code": "J9039", "display": "Injection, blinatumomab, 1 microgram"}
CRD_TEMP_SYSTEM = "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp"
# The display is the code system's own ("Technical issues"): a Coding's display is the system's word for its code, and
# a validator checking it against CRD's temporary code system refuses another.
TECHNICAL_REASON = {"system": CRD_TEMP_SYSTEM, "code": "technical", "display": "Technical issues"}
CRD_DETAIL_SYSTEM = "http://terminology.hl7.org/CodeSystem/crd-coverage-detail"
INSTRUCTIONS = {"system": CRD_DETAIL_SYSTEM, "code": "instructions", "display": "Instructions"}
ALLOWED_QUANTITY = {"system": CRD_DETAIL_SYSTEM, "code": "allowed-quantity", "display": "Maximum quantity"}
UCUM = "http://unitsofmeasure.org"
# How a label-schedule dose criterion's summary opens (dosing/checks.schedule_finding): "dose above label on days
# 8–28", "dose above label maximum on days 1–7"; its days are the schedule's it was checked against.
LABEL_FINDING = "dose above label"


def coverage_information_action(
    order: dict[str, Any],
    decision: Decision | None,
    coverage_reference: str,
    assertion_id: str,
    today: date,
    questionnaire_url: str,
    unsolicited_determ: bool = True,
    secondary: bool = False,
) -> dict[str, Any]:
    """An `update` system action: the order as received plus one coverage-information extension.

    `decision` None means the evaluation failed (a fault, not the patient's data): `indeterminate`.
    `unsolicited_determ` False (a "what if" call) never asserts a satisfied prior authorization.
    `secondary`: the Coverage is the patient's secondary one (facts/coverage.Standing), which the description says.
    """
    # The elements in the order CRD's extension defines them: the assertion's codes, then the billing code, then
    # what the assertion adds (a reason, a detail, the questionnaire), then the date and the ids.
    codes, details = _assertion(decision, questionnaire_url, unsolicited_determ)
    parts = [
        {"url": "coverage", "valueReference": _coverage_value(coverage_reference)},
        *codes,
        {"url": "billingCode", "valueCoding": dict(BILLING_CODE)},
        *details,
        {"url": "date", "valueDate": today.isoformat()},
        {"url": "coverage-assertion-id", "valueString": assertion_id},
    ]
    # satisfied-pa-id exactly when pa-needed is `satisfied` (crd-ci-q5), read from the code asserted, not worked out
    # again apart from it: a met decision without an authorization period had `satisfied` and no id.
    if {"url": "pa-needed", "valueCode": "satisfied"} in codes:
        parts.append({"url": "satisfied-pa-id", "valueString": assertion_id})
        if decision is not None and decision.authorization:
            parts.append({"url": "expiry-date", "valueDate": decision.authorization["end"]})
    # A new top-level object with a new extension list: the order itself is left untouched (its nested elements
    # are shared, not copied: nothing after this point changes them, and the response is serialized at once).
    coverage = {"url": EXTENSION_URL, "extension": parts}
    kept = [e for e in order.get("extension") or () if not _earlier_assertion(e, parts[0]["valueReference"])]
    resource = {**order, "extension": [*kept, coverage]}
    description = _description(decision, secondary, unsolicited_determ)
    return {"type": "update", "description": description, "resource": resource}


def name_assertion(action: dict[str, Any], assertion_id: str) -> None:
    """Give the action's assertion (the coverage-information extension `coverage_information_action` added last) its
    id, as `coverage-assertion-id` and, when it has one, `satisfied-pa-id`: an id derived from all the action says
    is known only once the action is built (order_answers)."""
    for part in action["resource"]["extension"][-1]["extension"]:
        if part["url"] in ("coverage-assertion-id", "satisfied-pa-id"):
            part["valueString"] = assertion_id


def _coverage_value(coverage_reference: str) -> dict[str, str]:
    """The Reference to the Coverage. One sent without a FHIR id (a hand-built prefetch) gave "Coverage/", which is no
    reference: it is named by a display alone, as FHIR allows a Reference to be, and the assertion still stands."""
    if FHIR_ID.fullmatch(coverage_reference.partition("/")[2]):
        return {"reference": coverage_reference}
    return {"display": "The patient's Coverage (sent by the EHR without an id)"}


def _earlier_assertion(extension: Any, coverage: dict[str, str]) -> bool:
    """A coverage-information for the same coverage (`coverage`: the new one's Reference to it, a display for one
    without an id) already on the order (it is signed again): the new assertion replaces it, so the order never
    carries two answers for one coverage. Other payers' assertions stay."""
    if not isinstance(extension, dict) or extension.get("url") != EXTENSION_URL:
        return False
    parts = extension.get("extension") or ()
    return any(isinstance(sub, dict) and sub.get("url") == "coverage"
               and _same_coverage(sub.get("valueReference"), coverage) for sub in parts)


def _same_coverage(earlier: Any, coverage: dict[str, str]) -> bool:
    """Whether an earlier assertion's Reference names `coverage`: by its literal reference, else (a Coverage without
    an id) by the display this module gives it."""
    if not isinstance(earlier, dict):
        return False
    if "reference" in coverage:
        return earlier.get("reference") == coverage["reference"]
    return "reference" not in earlier and earlier.get("display") == coverage["display"]


def coverage_codes(decision: Decision | None, unsolicited_determ: bool = True) -> tuple[str, str | None]:
    """The `covered` and `pa-needed` codes the coverage information asserts (pa-needed None: left out), as the
    contract's table says; the audit record keeps them (OrderOutcome.covered and .pa_needed)."""
    if decision is None or (decision.decision == INFO_NEEDED and decision.not_received):
        # pa-needed is left out: its value set has no code for "could not tell" (CRD 2.2 coveragePaDetail).
        return "indeterminate", None
    if decision.decision == MEETS:
        return "covered", "satisfied" if unsolicited_determ else "auth-needed"
    if decision.decision == INFO_NEEDED:
        return "conditional", "auth-needed"
    return "not-covered", None


def _assertion(decision: Decision | None, questionnaire_url: str,
               unsolicited_determ: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of the contract's table, one per outcome: its codes, and what it adds (a reason, a detail, the
    questionnaire)."""
    covered, pa_needed = coverage_codes(decision, unsolicited_determ)
    codes = [_code("covered", covered), *([_code("pa-needed", pa_needed)] if pa_needed else [])]
    if decision is None:
        fault = "Coverage could not be evaluated (service fault)"
        return codes, [_reason({"coding": [dict(TECHNICAL_REASON)], "text": fault})]
    if decision.decision == MEETS:
        return codes, _authorized_cycles(decision) if unsolicited_determ else []
    if decision.decision == INFO_NEEDED and decision.not_received:
        return codes, [_not_received(decision)]
    if decision.decision == INFO_NEEDED:
        documentation = [_code("doc-needed", "clinical"), _code("doc-purpose", "withpa"), _code("info-needed", "OTH")]
        document = _to_document(decision)
        return [*codes, *documentation], [
            _reason({"text": _documentation_text(decision, document)}),
            _instructions(f"Document: {document}"),
            {"url": "questionnaire", "valueCanonical": questionnaire_url},
        ]
    failed = _findings(decision.not_met_criteria(), decision) or "no indication of the policy is met"
    # As the card's summary says it: "as ordered" when a corrected order would meet it, not a denial of the drug.
    return codes, [_reason({"text": f"Not met{' as ordered' if as_ordered(decision) else ''}: {failed}"})]


# Criteria the order itself fails, which a corrected order meets: its dose, its quantity.
_ORDER_KINDS = ("dose", "quantity")


def as_ordered(decision: Decision) -> bool:
    """Not covered only because of what the order says (its dose, its quantity), not the patient's chart: the card's
    summary, the action's description and its reason say "not covered as ordered", so that it does not read as a
    denial of the drug (the dose card corrects it). A chart that fails too (T-cell ALL ordered above the quantity
    limit) is not covered whatever the order says."""
    if decision.decision != NOT_MET_DECISION:
        return False
    failed = decision.not_met_criteria()
    return bool(failed) and all(c.kind in _ORDER_KINDS for c in failed)


def _findings(criteria: list[CriterionResult], decision: Decision) -> str:
    """The failed criteria's findings in one text, numbered when there are several ("(1) ...; (2) ..."): a finding's
    note may hold "; " itself (a dose on two ranges of days), and "; " alone between findings had left a reader to
    guess where one ended."""
    found = [_finding(c, decision) for c in criteria]
    return found[0] if len(found) == 1 else "; ".join(f"({n}) {text}" for n, text in enumerate(found, 1))


def _finding(criterion: CriterionResult, decision: Decision) -> str:
    """A failed criterion as what was found, not as the rule it states ("Not met: No live vaccine from 14 days
    before ..." read as if none was given): its summary, worded as the failure, with its evidence note; a clinical
    requirement as "requires ...", with what the chart showed (as the card's summary says them)."""
    if criterion.kind == CLINICAL:
        required = f"requires {mid_sentence(criterion.summary or criterion.text)}"
        return _noted(required, f"chart: {criterion.note}") if criterion.note else required
    found = criterion.summary or criterion.text
    if decision.indication is None and found.startswith(LABEL_FINDING):
        return _schedule_unsettled(decision, found)
    return _noted(found, mid_sentence(_unrepeated(criterion.note, found))) if criterion.note else found


def _unrepeated(note: str, found: str) -> str:
    """The note without its closing verdict when the finding ends with it: a plan limit's "dose above 28 mcg/day"
    had read "(28.4 mcg/day on days 1–28: above 28 mcg/day)", the limit said twice."""
    said, colon, verdict = note.rpartition(": ")
    return said if colon and verdict and found.endswith(verdict) else note


def _noted(found: str, note: str) -> str:
    """A finding and its note, read in one pass: the note in parentheses, or after a dash where it has parentheses of
    its own or the finding ends in some. A short rest had read "rest too short (2 of 14 days) (starts after 2 days
    without infusion (cycle 1's last infusion day 2026-12-08): ... (earliest start 2026-12-23))", three deep."""
    if found.endswith(")") or "(" in note:
        return f"{found} — {note}"
    return f"{found} ({note})"


def _schedule_unsettled(decision: Decision, found: str) -> str:
    """A label-schedule finding of the closest indication when no indication is established (the diagnosis not on
    record): which days are above the label, and by how much, is that indication's schedule's word (its step days
    1–7), which the diagnosis would settle; the dose card reads the label dose the chart supports. So the finding
    without its days and note, then what would establish the indication, as the card's criteria ask for it."""
    above, *others = found.split("; ")
    unknown = [c for c in decision.criteria if c.status == UNKNOWN and c.missing]
    documented = listed(list(dict.fromkeys(item for c in unknown if c.received for item in items(c.missing))))
    not_sent = listed(list(dict.fromkeys(item for c in unknown if not c.received for item in items(c.missing))))
    wanting = [*([f"document {documented}"] if documented else []),
               *([f"{not_sent} not received from the EHR"] if not_sent else [])]
    settle = f": {'; '.join(wanting)}" if wanting else ""
    unsettled = f"the label schedule depends on the indication, not established{settle}"
    return "; ".join([f"{above.split(' on day', 1)[0]} ({unsettled})", *others])


def _to_document(decision: Decision) -> str:
    """What to document: the card's own items, and apart from them what only another indication would need."""
    own, alternatives = decision.to_document()
    document = "; ".join(own or alternatives)
    if own and alternatives:  # as the card says it: a pharmacist must not read the other route's items as required
        document += f". Another indication would need: {'; '.join(alternatives)}"
    return document


def _documentation_text(decision: Decision, document: str) -> str:
    """The reason: what to document; first, when the reported indication's clinical criteria are met and the order
    fails on something else of it (its dose, a course limit), that failure: correcting the order is the shorter way
    to coverage, and documentation only opens other indications (the card's summary says the same)."""
    failed = decision.blocking()
    if failed:
        return f"Not met as ordered: {_findings(failed, decision)}. Or document: {document}"
    return f"Document: {document}"


def _not_received(decision: Decision) -> dict[str, Any]:
    """Information needed that the EHR holds but did not send (a prefetch key not answered, its FHIR server not
    reachable): a technical issue, which CRD asks to assert as `indeterminate` with reason `technical`, not as a
    request for clinical documentation (CRD 2.2 resp-43). What the chart itself lacks is named too."""
    text = "Not received from the EHR: " + "; ".join(decision.not_received)
    documented = [item for item in decision.missing if item not in decision.not_received]
    text += f". Also to document: {'; '.join(documented)}" if documented else ""
    return _reason({"coding": [dict(TECHNICAL_REASON)], "text": text})


# The sub-extensions are written as dict literals, not built by a helper taking the value as a keyword argument: that
# made two dicts per element.
def _code(url: str, code: str) -> dict[str, Any]:
    return {"url": url, "valueCode": code}


def _reason(concept: dict[str, Any]) -> dict[str, Any]:
    return {"url": "reason", "valueCodeableConcept": concept}


def _authorized_cycles(decision: Decision) -> list[dict[str, Any]]:
    """The cycles a satisfied authorization covers (Aspirus counts them, policy-rules.md §4), a qualifier of the
    assertion beside its expiry-date, which CRD 2.2 asks to be part of it (cards, Coverage Information: "qualifiers
    around when the coverage assertion is considered valid SHALL be included"). None for a plan that counts none."""
    authorization = decision.authorization
    if authorization is None or authorization["cycles"] is None:
        return []
    cycles = authorization["cycles"]
    quantity = {"value": cycles, "unit": "cycle" if cycles == 1 else "cycles", "system": UCUM, "code": "{cycle}"}
    qualification = f"Blinatumomab cycles authorized from {authorization['start']} to {authorization['end']}"
    return [_detail(ALLOWED_QUANTITY, {"valueQuantity": quantity}, qualification)]


def _instructions(text: str) -> dict[str, Any]:
    """The `detail` CRD 2.2 asks of an `info-needed` of `OTH` (its comment: at least one detail saying what is needed):
    the instructions, in the category of a limitation, since the coverage asserted holds only once they are followed,
    and CRD asks EHRs to show limitations to clinicians."""
    return _detail(INSTRUCTIONS, {"valueString": text})


def _detail(code: dict[str, str], value: dict[str, Any], qualification: str | None = None) -> dict[str, Any]:
    """A `detail` in the category of a limitation: the assertion holds within it."""
    parts = [{"url": "category", "valueCode": "cat-limitation"},
             {"url": "code", "valueCodeableConcept": {"coding": [dict(code)]}}, {"url": "value", **value}]
    if qualification:
        parts.append({"url": "qualification", "valueString": qualification})
    return {"url": "detail", "extension": parts}


_OUTCOME_TEXT = {"meets-criteria": "meets criteria", "information-needed": "documentation needed",
                 "criteria-not-met": "not covered"}  # the decision card's words


def _description(decision: Decision | None, secondary: bool, unsolicited_determ: bool) -> str:
    """What staff filing the order read: the payer as the decision card's summary names it (a secondary coverage's
    decision says so: the primary's rules come first) and the outcome in the card's words: a "what if" call's met
    decision issues no authorization (pa-needed `auth-needed`), and a denial a corrected order would lift is "as
    ordered"."""
    if decision is None:
        return "Coverage information: could not be evaluated"
    outcome = _OUTCOME_TEXT[decision.decision]
    if decision.decision == INFO_NEEDED and decision.not_received:
        outcome = "not determined, data not received from the EHR"
    elif decision.decision == MEETS and not unsolicited_determ:
        outcome += ", no authorization issued yet"
    elif as_ordered(decision):
        outcome += " as ordered"
    rank = " (secondary coverage)" if secondary else ""
    return f"Coverage information from {decision.payer_label}{rank}: {outcome}"
