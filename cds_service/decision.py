"""The outcome of one payer policy for one order: what the cards, the CRD action and the audit trail report.

`Decision.as_extension()` is the `coverage-decision` object of service-contract.md (Response, item 1).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple, TypedDict

from cds_service.evaluation import INFO_NEEDED, DecisionCode
from cds_service.verdict import MET, NOT_MET, UNKNOWN, Status, items

# Criterion kinds of the policy files; "clinical" is every kind but the other five (policy-rules.md §1).
CLINICAL = "clinical"
NON_CLINICAL_KINDS = ("dose", "course-limit", "renewal", "quantity", "universal")
KINDS = (CLINICAL, *NON_CLINICAL_KINDS)


class CriterionResult(NamedTuple):
    """One evaluated criterion, with ids unique within a decision ("<indication>.<criterion>" or "<criterion>").

    A NamedTuple, not a frozen dataclass: a policy evaluation builds about seventy, and a frozen dataclass took
    four times as long to build.
    """

    id: str
    status: Status
    citation: str
    text: str
    evidence: tuple[str, ...] = ()
    kind: str = CLINICAL
    note: str = ""
    missing: str = ""  # what to document when unknown
    attested: bool = False  # some fact deciding it came from the attestation QuestionnaireResponse
    # Short phrase for card summaries when this criterion decides a denial: the policy's, or what its test found
    # failing when the test says (a dose schedule: "dose above label on days 8–28", "rest too short (2 of 14 days)").
    summary: str = ""
    critical: bool = False  # marked critical in the policy: its failure makes the decision card critical
    received: bool = True  # False: unknown because data it needs was not received from the EHR
    askable: bool = False  # unknown, the attestation Questionnaire can answer it (CriterionSpec.askable)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "citation": self.citation,
            "text": self.text,
            "evidence": list(self.evidence),
            "note": self.note,  # what decided it, in words ("MRD 0.05% on 2026-11-15"): for the pharmacist
            "received": self.received,
        }


class IndicationResult(NamedTuple):
    """One indication (pathway) of the policy as evaluated, kept for the card.

    A NamedTuple, not a frozen dataclass, for the reason CriterionResult is: a decision not met builds one per
    indication of the policy, and a frozen dataclass sets each field through object.__setattr__.
    """

    id: str
    title: str
    citation: str
    status: Status  # all criteria
    clinical_status: Status  # the clinical criteria only
    criteria: tuple[CriterionResult, ...]
    label_schedule: str | None = None

    def count_of(self, status: Status) -> int:
        """How many of its criteria have `status` (not tuple.count, which counts the fields)."""
        return sum(1 for c in self.criteria if c.status == status)

    def as_audit_entry(self) -> dict[str, Any]:
        """What the audit trail keeps of it beside the shown indication's criteria: its status, the ids of its
        criteria not met and unknown, and what the record showed for those (their notes, by id), so a denial or a
        request for documentation reads as every pathway and why, the values that decided included (docs/audit.md)."""
        return {
            "id": self.id,
            "status": self.status,
            "not_met": [c.id for c in self.criteria if c.status == NOT_MET],
            "unknown": [c.id for c in self.criteria if c.status == UNKNOWN],
            "notes": {c.id: c.note for c in self.criteria if c.status != MET and c.note},
        }


class Authorization(TypedDict):
    """The period a met decision authorizes (policy-rules.md §4), as the contract's `coverage-decision` and the
    audit trail write it."""

    start: str  # ISO date
    end: str  # ISO date, the last day covered (CRD's expiry-date)
    cycles: int | None  # the cycles it covers, None when the policy does not count them


@dataclass(frozen=True)
class Decision:
    policy_id: str
    policy_version: str
    payer_label: str
    policy_url: str
    decision: DecisionCode
    request_type: str  # INITIAL or RENEWAL
    indication: str | None  # first indication whose clinical criteria are met
    indication_title: str | None
    cycle: int | None
    authorization: Authorization | None  # when met
    criteria: list[CriterionResult]  # policy-level criteria, then those of the shown indication
    missing: list[str]
    # The `missing` items that are unknown because the EHR did not send the data (a technical gap, not the chart's).
    not_received: list[str] = field(default_factory=list)
    # The indications evaluated, in policy order: of a met decision, only the reported one (policies/engine.py).
    indications: list[IndicationResult] = field(default_factory=list)
    label_schedule: str | None = None
    critical: bool = False  # not met because of a criterion its policy marks critical
    shown_indication: str | None = None  # the matched, clinically matched or closest indication whose criteria are listed
    policy_title: str = ""
    policy_digest: str = ""  # sha256 of the policy file's bytes, first 16 hex digits (policies/loading.py)
    # Attestation items answered within this policy's windows (an authorization within its look-back): the facts'
    # own attested_items leave them out, as another policy's numbers may not count them.
    attested_items: tuple[str, ...] = ()
    # The policy counts its authorizations in cycles (Policy.counts_cycles): else the card does not name the order's
    # cycle, which the extension still gives (`cycle`).
    counts_cycles: bool = True
    # Attestation answers outside this policy's windows that would have opened an indication it then left aside (an
    # authorization attested too long ago, and the continuation not applied), in words: the card says why they did
    # not count.
    not_counted: tuple[str, ...] = ()

    def __init__(self, policy_id: str, policy_version: str, payer_label: str, policy_url: str, decision: DecisionCode,
                 request_type: str, indication: str | None, indication_title: str | None, cycle: int | None,
                 authorization: Authorization | None, criteria: list[CriterionResult], missing: list[str],
                 not_received: list[str] | None = None, indications: list[IndicationResult] | None = None,
                 label_schedule: str | None = None, critical: bool = False, shown_indication: str | None = None,
                 policy_title: str = "", policy_digest: str = "", attested_items: tuple[str, ...] = (),
                 counts_cycles: bool = True, not_counted: tuple[str, ...] = ()) -> None:
        # The fields above, set as the frozen dataclass's own __init__ would (a new empty list for each list not
        # given; tests/test_engine.py checks that this signature is the fields'), without its object.__setattr__
        # call per field, as facts/model.py's Fact and ClinicalFacts do: about a third of the cost of building one.
        self.__dict__.update(
            policy_id=policy_id, policy_version=policy_version, payer_label=payer_label, policy_url=policy_url,
            decision=decision, request_type=request_type, indication=indication, indication_title=indication_title,
            cycle=cycle, authorization=authorization, criteria=criteria, missing=missing,
            not_received=[] if not_received is None else not_received,
            indications=[] if indications is None else indications, label_schedule=label_schedule,
            critical=critical, shown_indication=shown_indication, policy_title=policy_title,
            policy_digest=policy_digest, attested_items=attested_items, counts_cycles=counts_cycles,
            not_counted=not_counted)

    def as_extension(self) -> dict[str, Any]:
        """The contract's `coverage-decision` object, plus the digest of the policy file that decided (a pharmacist
        matches a card to the file and to its audit record; the version alone is the file's own word)."""
        return {
            "policy": self.policy_id,
            "policy-version": self.policy_version,
            "policy-digest": self.policy_digest,
            "decision": self.decision,
            "request": self.request_type,
            "indication": self.indication,
            "cycle": self.cycle,
            "authorization": dict(self.authorization) if self.authorization else None,
            "criteria": self.criteria_dicts,
            "missing": list(self.missing),
            "not-received": list(self.not_received),
        }

    @cached_property
    def criteria_dicts(self) -> list[dict[str, Any]]:
        """`criteria` as the card writes them (CriterionResult.as_dict), made once for the card and the audit record
        (order_answers.record_decision copies each dict to add its `attested`). Shared, not copied: neither the
        response nor the audit trail changes them."""
        return [c.as_dict() for c in self.criteria]

    def not_met_criteria(self) -> list[CriterionResult]:
        return [c for c in self.criteria if c.status == NOT_MET]

    def blocking(self) -> list[CriterionResult]:
        """Information needed, yet the reported indication's clinical criteria are met and something else of it fails
        (its dose, a course limit): those failures, which the card's summary and the coverage information's reason
        put first, since correcting the order is the shorter way to coverage. Else none."""
        return self.not_met_criteria() if self.decision == INFO_NEEDED and self.indication else []

    def to_document(self) -> tuple[list[str], list[str]]:
        """`missing`, less what the EHR did not send, split in two: what the card's own criteria (the policy-level
        ones and the shown indication's) need, and what only other indications need. Those are alternatives:
        documenting them opens another route. Empty unless information is needed."""
        if self.decision != INFO_NEEDED:
            return [], []
        own = {item for c in self.criteria if c.status == UNKNOWN for item in items(c.missing)}
        asked = [item for item in self.missing if item not in self.not_received]
        return [item for item in asked if item in own], [item for item in asked if item not in own]
