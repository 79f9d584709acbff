"""The audit trail's records and their rows (docs/audit.md §What is recorded): a hook call and a feedback item as the
service keeps them, and the mapping between them and the tables of db_models.py, both ways.

Times are stored as naive UTC, and read back as aware UTC datetimes.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection

from cds_service.db_models import Feedback, Invocation, IssuedCard, OrderOutcomeRow
from cds_service.db_writes import insert_rows, largest_ids
from cds_service.evaluation import OrderOutcome
from cds_service.json_codec import storable
from cds_service.log_format import without_tokens


@dataclass
class InvocationRecord:
    """One hook call as the audit trail keeps it: ids and decisions, never tokens or the request body."""

    time: datetime
    service_id: str
    hook: str
    hook_instance: str
    client_iss: str | None
    patient_id: str | None
    status: int
    latency_ms: float
    outcomes: list[OrderOutcome] = field(default_factory=list)
    tenant: str | None = None  # the verified JWT's tenant (migration 0003)
    reason: str | None = None  # why the call was refused, or the fault a 200 answered: never content (migration 0004)
    user_id: str | None = None  # context.userId: the prescriber, e.g. "PractitionerRole/123" (migration 0006)
    encounter_id: str | None = None  # context.encounterId (migration 0006)
    request_id: str | None = None  # the X-Request-ID the response carried (migration 0009)

    def as_dict(self) -> dict[str, Any]:
        """As the trail keeps it: without an outcome's `handed_out`, which is not stored (it read false on every
        decision `show --format json` printed, those handed out included)."""
        outcomes = [{key: value for key, value in asdict(outcome).items() if key != "handed_out"}
                    for outcome in self.outcomes]
        return {**asdict(self), "time": self.time.isoformat(), "outcomes": outcomes}


@dataclass
class FeedbackEntry:
    """One CDS Hooks feedback item, normalized (cds_service/feedback.py parses the client's shapes), stored as
    received."""

    card_uuid: str
    outcome: str  # "accepted" or "overridden"
    accepted_suggestions: list[str] = field(default_factory=list)  # as the EHR sent them
    override_system: str | None = None
    override_code: str | None = None
    override_display: str | None = None
    override_comment: str | None = None
    outcome_timestamp: datetime | None = None
    received_at: datetime | None = None
    client_iss: str | None = None  # the verified JWT issuer that sent it, set when stored
    tenant: str | None = None  # and its verified tenant (migration 0009)
    # Worked out when read (audit_queries.AuditQueries.show): those of accepted_suggestions never issued with this
    # card (never issued at all, or with another card). Not stored: the call issuing them may be written later.
    unknown_suggestions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "outcome_timestamp": _iso(self.outcome_timestamp),
                "received_at": _iso(self.received_at)}


# --- a JWT a client sent as an id: never kept -------------------------------------------------------------------

ID_LENGTH = 200  # the length of the id columns (db_models), to which the routes cut a client's id before its record


def masked_id(value: str) -> str:
    """A client's id (a hookInstance, a request id) as the trail keeps it: one holding a JWT (log_format.without_tokens
    finds it: an EHR that put its access token there) replaced whole by `<token sha256:...>`, the hex sha256 of the id
    as received (cut to its column), which `audit show` computes again from the id it is given; any other id as it
    is. A token is never stored, and the marker is found from the original value."""
    if without_tokens(value) == value:  # no regex run without an "eyJ" in it
        return value
    return f"<token sha256:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()}>"


def with_masked_ids(record: InvocationRecord) -> InvocationRecord:
    """`record` with its hookInstance and request id masked (`masked_id`): the record itself when neither holds a
    JWT, as nearly every one."""
    hook_instance, request_id = masked_id(record.hook_instance), record.request_id and masked_id(record.request_id)
    if (hook_instance, request_id) == (record.hook_instance, record.request_id):
        return record
    return replace(record, hook_instance=hook_instance, request_id=request_id)


# --- mapping between dataclasses and rows ----------------------------------------------------------------------

def insert_records(connection: Connection, records: list[InvocationRecord]) -> None:
    """Three batched INSERTs (invocations, outcomes, issued cards; db_writes.insert_rows), in a
    `db_writes.write_transaction`: the ORM's unit of work cost several milliseconds of CPU per hook call, in the worker
    process that answers the EHR.
    On SQLite the largest ids of the invocations and the outcomes are read in one query for both."""
    largest_invocation, largest_outcome = largest_ids(connection, (Invocation, OrderOutcomeRow))
    invocation_ids = insert_rows(connection, Invocation, [_invocation_values(record) for record in records],
                                 largest_id=largest_invocation)
    outcomes = [(invocation_id, outcome) for invocation_id, record in zip(invocation_ids, records)
                for outcome in record.outcomes]
    if not outcomes:
        return
    outcome_ids = insert_rows(connection, OrderOutcomeRow,
                              [_outcome_values(invocation_id, outcome) for invocation_id, outcome in outcomes],
                              largest_id=largest_outcome)
    cards = [card for outcome_id, (_, outcome) in zip(outcome_ids, outcomes)
             for card in _issued_values(outcome_id, outcome)]
    if cards:
        insert_rows(connection, IssuedCard, cards, ids_needed=False)


def _invocation_values(record: InvocationRecord) -> dict[str, Any]:
    return {
        "time": naive_utc(record.time), "service_id": record.service_id, "hook": record.hook,
        "hook_instance": record.hook_instance, "client_iss": record.client_iss, "tenant": record.tenant,
        "patient_id": record.patient_id, "user_id": record.user_id, "encounter_id": record.encounter_id,
        "request_id": record.request_id,
        "status": record.status, "latency_ms": record.latency_ms, "reason": record.reason,
    }


def _outcome_values(invocation_id: int, outcome: OrderOutcome) -> dict[str, Any]:
    return {
        "invocation_id": invocation_id, "order_id": outcome.order_id, "policy": outcome.policy,
        "policy_version": outcome.policy_version, "decision": outcome.decision, "indication": outcome.indication,
        "request_type": outcome.request_type, "cycle": outcome.cycle,
        "coverage_assertion_id": outcome.coverage_assertion_id, "what_if": outcome.what_if,
        # db.py (its engine's JSON serializer) serializes the JSON columns, values JSON cannot carry as text
        "criteria": outcome.criteria, "indications": outcome.indications, "missing": outcome.missing,
        "authorization": outcome.authorization, "not_received": outcome.not_received,
        # The Coverage's id comes from prefetch, never validated: bounded to its column, and storable.
        "coverage_reference": storable(outcome.coverage_reference[:200]) if outcome.coverage_reference else None,
        "policy_digest": outcome.policy_digest, "policy_source": outcome.policy_source,
        "valueset_digest": outcome.valueset_digest, "no_plan_reason": outcome.no_plan_reason,
        "covered": outcome.covered, "pa_needed": outcome.pa_needed,
    }


def _issued_values(outcome_id: int, outcome: OrderOutcome) -> list[dict[str, Any]]:
    """The outcome's cards and suggestions with what each said. The texts are ours, but a summary or label may quote
    the order (its dose text): bounded to their columns, and storable."""
    cards = [{"outcome_id": outcome_id, "uuid": uuid, "kind": "card", "topic": outcome.card_topics.get(uuid),
              "card_kind": outcome.card_kinds.get(uuid), "indicator": outcome.card_indicators.get(uuid),
              "summary": _bounded(outcome.card_summaries.get(uuid)), "label": None, "card_uuid": None, "creates": None}
             for uuid in outcome.card_uuids]
    return cards + [{"outcome_id": outcome_id, "uuid": uuid, "kind": "suggestion", "topic": None, "card_kind": None,
                     "indicator": None, "summary": None, "label": _bounded(outcome.suggestion_labels.get(uuid)),
                     "card_uuid": outcome.suggestion_cards.get(uuid), "creates": outcome.suggestion_creates.get(uuid)}
                    for uuid in outcome.suggestion_uuids]


def _bounded(text: str | None, limit: int = 300) -> str | None:
    return storable(text[:limit]) if text else None


def invocation_record(row: Invocation, outcomes: list[OrderOutcomeRow] | None = None) -> InvocationRecord:
    """The call of `row` with its outcomes, or with `outcomes` alone (an export's one decision: the others are not
    loaded)."""
    return InvocationRecord(
        time=aware(row.time), service_id=row.service_id, hook=row.hook, hook_instance=row.hook_instance,
        client_iss=row.client_iss, patient_id=row.patient_id, status=row.status, latency_ms=row.latency_ms,
        outcomes=[_order_outcome(o) for o in (row.outcomes if outcomes is None else outcomes)], tenant=row.tenant,
        reason=row.reason,
        user_id=row.user_id, encounter_id=row.encounter_id, request_id=row.request_id,
    )


def _order_outcome(row: OrderOutcomeRow) -> OrderOutcome:
    return OrderOutcome(
        order_id=row.order_id, policy=row.policy, policy_version=row.policy_version, decision=row.decision,
        indication=row.indication, request_type=row.request_type, cycle=row.cycle,
        coverage_assertion_id=row.coverage_assertion_id, what_if=row.what_if, criteria=list(row.criteria),
        indications=list(row.indications or ()),
        missing=list(row.missing or ()), authorization=row.authorization, not_received=list(row.not_received or ()),
        coverage_reference=row.coverage_reference,
        card_uuids=[card.uuid for card in row.cards if card.kind == "card"],
        card_topics={card.uuid: card.topic for card in row.cards if card.kind == "card" and card.topic},
        card_kinds={card.uuid: card.card_kind for card in row.cards if card.kind == "card" and card.card_kind},
        suggestion_uuids=[card.uuid for card in row.cards if card.kind == "suggestion"],
        suggestion_cards={card.uuid: card.card_uuid for card in row.cards
                          if card.kind == "suggestion" and card.card_uuid},
        policy_digest=row.policy_digest, policy_source=row.policy_source, valueset_digest=row.valueset_digest,
        no_plan_reason=row.no_plan_reason, covered=row.covered, pa_needed=row.pa_needed,
        card_indicators={card.uuid: card.indicator for card in row.cards if card.kind == "card" and card.indicator},
        card_summaries={card.uuid: card.summary for card in row.cards if card.kind == "card" and card.summary},
        suggestion_labels={card.uuid: card.label for card in row.cards if card.kind == "suggestion" and card.label},
        suggestion_creates={card.uuid: list(card.creates) for card in row.cards
                            if card.kind == "suggestion" and card.creates},
    )


def feedback_values(service_id: str, entry: FeedbackEntry, received_at: datetime) -> dict[str, Any]:
    """The feedback table's row of `entry` (its sender set), with its digest (`feedback_digest`)."""
    return {
        "received_at": received_at, "service_id": service_id, "card_uuid": entry.card_uuid,
        "outcome": entry.outcome,
        "outcome_timestamp": naive_utc(entry.outcome_timestamp) if entry.outcome_timestamp else None,
        "accepted_suggestions": list(entry.accepted_suggestions), "override_system": entry.override_system,
        "override_code": entry.override_code, "override_display": entry.override_display,
        "override_comment": entry.override_comment, "client_iss": entry.client_iss, "tenant": entry.tenant,
        "item_digest": feedback_digest(service_id, entry),
    }


def feedback_digest(service_id: str, entry: FeedbackEntry) -> str:
    """What makes a feedback item this one, hashed (sha256, hex): the service and sender (client and tenant), the
    card, the outcome and its time, the accepted suggestions (as a set: their order says nothing) and the override
    reason. The same item posted again (a retry) has the same digest, which the feedback table holds once; when it
    was received does not count."""
    moment = entry.outcome_timestamp
    what = [service_id, entry.client_iss, entry.tenant, entry.card_uuid, entry.outcome,
            naive_utc(moment).isoformat() if moment else None, sorted(set(entry.accepted_suggestions)),
            entry.override_system, entry.override_code, entry.override_display, entry.override_comment]
    return hashlib.sha256(json.dumps(what).encode("ascii")).hexdigest()  # ensure_ascii: any text, escaped


def feedback_entry(row: Feedback) -> FeedbackEntry:
    return FeedbackEntry(
        card_uuid=row.card_uuid, outcome=row.outcome, accepted_suggestions=list(row.accepted_suggestions),
        override_system=row.override_system, override_code=row.override_code, override_display=row.override_display,
        override_comment=row.override_comment,
        outcome_timestamp=aware(row.outcome_timestamp) if row.outcome_timestamp else None,
        received_at=aware(row.received_at), client_iss=row.client_iss, tenant=row.tenant,
    )


# --- times: stored as naive UTC so SQLite and PostgreSQL compare them the same way -----------------------------

def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def naive_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken to be UTC already."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
