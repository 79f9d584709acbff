"""What passes the seam between the protocol layer and the clinical logic: the context an evaluation needs, and
what it gives back (cards, system actions, and per order the outcome the audit trail keeps).

The protocol layer calls `pipeline.evaluate` with a validated request, a loader for the patient's FHIR data and an
`EvaluationContext`. The loader is called only when a draft order may be blinatumomab, so other orders never touch
the FHIR server.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any, Callable, Literal, NamedTuple

# The decisions of service-contract.md (the coverage-decision extension), and the audit trail's outcome of an order a
# fault of ours left undecided: the seam's vocabulary, read by the audit trail's queries as well as the clinical side.
DecisionCode = Literal["meets-criteria", "criteria-not-met", "information-needed"]
MEETS: DecisionCode = "meets-criteria"
NOT_MET_DECISION: DecisionCode = "criteria-not-met"
INFO_NEEDED: DecisionCode = "information-needed"
EVALUATION_FAILED = "evaluation-failed"
# Request types: an authorization on initiation criteria, or the renewal of one (policy-rules.md).
INITIAL = "initial"
RENEWAL = "renewal"


@dataclass
class OrderOutcome:
    """What was decided for one order: the audit trail stores it."""

    order_id: str
    policy: str | None = None
    policy_version: str | None = None
    decision: str | None = None
    indication: str | None = None
    request_type: str | None = None
    cycle: int | None = None
    coverage_assertion_id: str | None = None
    card_uuids: list[str] = field(default_factory=list)
    card_topics: dict[str, str] = field(default_factory=dict)  # card uuid -> its topic code (coverage-info, ...)
    # card uuid -> its kind (card_kinds.py: decision, dose, plan-dose-limit, ...), read from the cards sent
    # (audit_answer.py): one topic code covers several kinds.
    card_kinds: dict[str, str] = field(default_factory=dict)
    suggestion_uuids: list[str] = field(default_factory=list)
    # suggestion uuid -> the card that carried it: feedback may accept a suggestion only on its own card
    suggestion_cards: dict[str, str] = field(default_factory=dict)
    criteria: list[dict[str, Any]] = field(default_factory=list)
    # Every indication evaluated (of a met decision only the met one: the others are not read), each
    # {id, status, not_met, unknown} with the ids of its criteria not met and unknown (IndicationResult.as_audit_entry).
    indications: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    authorization: dict[str, Any] | None = None
    not_received: list[str] = field(default_factory=list)  # prefetch keys never received: their criteria unknown
    coverage_reference: str | None = None
    # A "what if" call (davinci-crd.configuration unsolicited-determ false): never proof of a prior authorization.
    what_if: bool = False
    # Which rules decided: the policy file's sha256 (first 16 hex digits) and its folder ("shipped" or
    # "CDS_POLICY_DIR"), and the digest of the value sets in use (they route payers and hold the code lists).
    policy_digest: str | None = None
    policy_source: str | None = None
    valueset_digest: str | None = None
    # No recognized plan, why (facts/coverage.py no_plan): "coverage-not-received" (the prefetch `coverage` never
    # arrived), "coverage-unreadable" (the Coverage the payer rules choose, or may choose, could not be read: named in
    # coverage_reference), "payer-not-received" (the one chosen names its payer by an Organization that could not be
    # read: named in coverage_reference), "no-coverage-in-force" (none active at the cycle's start, or none at all),
    # "payer-not-supported" (one in force, of a payer with no policy); with either of these two, a supported plan's
    # Coverage out of force at the start is named in coverage_reference.
    no_plan_reason: str | None = None
    # What the EHR was given: the covered and pa-needed codes of the coverage-information action sent (None: none
    # sent), recorded as it is built; each card's indicator and summary and each suggestion's label, by uuid, read
    # from the cards sent (audit_answer.py).
    covered: str | None = None
    pa_needed: str | None = None
    card_indicators: dict[str, str] = field(default_factory=dict)
    card_summaries: dict[str, str] = field(default_factory=dict)
    suggestion_labels: dict[str, str] = field(default_factory=dict)
    # suggestion uuid -> the references of the orders its `create` actions make (the split of an order spanning
    # cycles), read from the cards sent (audit_answer.py): a later call signing one is traced back to the suggestion.
    suggestion_creates: dict[str, list[str]] = field(default_factory=dict)
    # Whether the EHR was given the decision, by a coverage-information action or a decision card in the response:
    # the decision metrics count these, not the decisions made but withheld (`coverage-info: false`, or a decision
    # card max-cards dropped on order-select), which nobody acted on. Not stored: the trail keeps what was sent.
    handed_out: bool = False


@dataclass
class Evaluation:
    cards: list[dict[str, Any]] = field(default_factory=list)
    system_actions: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[OrderOutcome] = field(default_factory=list)


class PriorApproval(NamedTuple):
    """An earlier approval in the audit trail (policy-rules.md §3): an initial one shows that initiation criteria were
    met; a renewal (continuation) is a reauthorization, which counts only within the policy's look-back
    (prior_approval.py)."""

    order_id: str  # "MedicationRequest/<id>"
    time: datetime
    hook_instance: str
    coverage_assertion_id: str | None
    start: str  # the period it authorized, ISO dates as recorded ("" for an end not recorded)
    end: str
    request_type: str  # INITIAL or RENEWAL


# (patient id, calling client, its tenant, policy id, order ids to exclude, this order's start) -> the order-sign
# approvals, initial or renewal, of other orders of this patient from the same client and tenant (patient ids mean
# something only within one EHR site) whose authorization began before this order's start, newest first.
PriorApprovalLookup = Callable[[str, "str | None", "str | None", str, tuple[str, ...], date],
                               "tuple[PriorApproval, ...]"]


def _no_prior_approval(patient_id: str, client_iss: str | None, tenant: str | None, policy_id: str,
                       exclude: tuple[str, ...], before: date) -> tuple[PriorApproval, ...]:
    return ()


@dataclass
class EvaluationContext:
    today: date
    base_url: str  # public base URL of this service, for the Questionnaire canonical and links
    prior_approval: PriorApprovalLookup = _no_prior_approval
    # The clinical time zone (CDS_TIME_ZONE; None: the server's), for the day a recorded moment is shown on: an
    # approval at 01:00 UTC was given the evening before in Chicago.
    time_zone: tzinfo | None = None
