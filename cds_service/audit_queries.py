"""The audit trail's queries, and the writes a request waits for (docs/audit.md): the prior approval a Florida Blue
evaluation asks for, used JWT ids (each accepted once, purged once expired), feedback and the cards it refers to,
and the listings `cds-service audit` prints.

The prior approval and the cards issued are looked up among the records the writer (audit_writer.py) still holds
as well as in the database, so a record is found while it is being written too.
"""
from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator

from sqlalchemy import ColumnElement, Connection, Engine, Text, bindparam, cast, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from cds_service.audit_rows import (ID_LENGTH, FeedbackEntry, InvocationRecord, aware, feedback_entry,
                                    feedback_values, invocation_record, masked_id, naive_utc, utcnow)
from cds_service.audit_writer import AuditWriter
from cds_service.db_models import Feedback, Invocation, IssuedCard, OrderOutcomeRow, UsedJti
from cds_service.db_writes import insert_new_rows, write_transaction
from cds_service.evaluation import INITIAL, MEETS, RENEWAL, OrderOutcome, PriorApproval
from cds_service.hook_request import ORDER_SIGN
from cds_service.record import FHIR_ID

NO_PLAN = "no-plan"  # the listings' name for the orders decided under no plan (order_outcome.no_plan_reason)
_ORDER_TYPE = "MedicationRequest/"
_APPROVED_REQUESTS = (INITIAL, RENEWAL)  # every request type: an approval of either may count (prior_approval.py)
_JTI_PURGE_INTERVAL = timedelta(minutes=10)
_EXPORT_BATCH = 500  # decisions read at a time by an export
# Outcome ids bound in one IN list: far below SQLite's (32,766 before 3.32) and PostgreSQL's (65,535) parameter limits.
_OUTCOMES_PER_QUERY = 500


@dataclass(frozen=True)
class DecisionRow:
    """One order's decision in the list `cds-service audit` prints."""

    time: datetime
    hook: str
    hook_instance: str
    client_iss: str | None  # patient ids mean one patient only within one client and tenant (EHR site)
    tenant: str | None
    patient_id: str | None
    user_id: str | None
    encounter_id: str | None
    order_id: str
    policy: str | None
    policy_version: str | None
    # Which files decided (migration 0006; null before): the policy file's digest and folder, the value sets' digest.
    policy_digest: str | None
    policy_source: str | None
    valueset_digest: str | None
    decision: str | None
    indication: str | None
    # The ids of the criteria not met and unknown ("U1", "<indication>.<criterion>"): what a decision not met beside an
    # indication met failed on (a universal criterion, the quantity, the dose), said in the listing's own row.
    criteria_not_met: list[str]
    criteria_unknown: list[str]
    what_if: bool
    no_plan_reason: str | None  # why there was no plan to decide under
    # What an auditor matches a claim with: the assertion the claim carries, what the EHR was given (covered,
    # pa-needed: an authorization was issued only when satisfied) and the period a met decision gives; the call's
    # status and the request id of its log line.
    coverage_assertion_id: str | None
    covered: str | None
    pa_needed: str | None
    authorization: dict[str, Any] | None
    status: int
    request_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "time": self.time.isoformat()}


@dataclass(frozen=True)
class Selection:
    """What a listing of `cds-service audit` and its export take, the one form of their filters: calls from `since`
    and before `until`, of this patient, client and tenant; decisions on this order, with this decision, under this
    policy, that issued a card of this kind; None: any. The feedback listing reads the times and the sender of the
    feedback item instead, and the kind of the card it names; the rejected calls, which decided nothing, take the
    call's filters alone."""

    since: datetime | None = None
    until: datetime | None = None
    patient: str | None = None
    client: str | None = None
    tenant: str | None = None
    order: str | None = None
    decision: str | None = None
    policy: str | None = None
    # Decisions that issued a card of this kind (card_kinds.py: plan-dose-limit, ...), feedback on a card of it.
    card_kind: str | None = None


@dataclass(frozen=True)
class RejectedRow:
    """One call refused (a 4xx, or a 5xx such as the 503 of a database outage), in the list `cds-service audit
    --rejected` prints."""

    time: datetime
    hook: str
    hook_instance: str
    client_iss: str | None
    tenant: str | None
    patient_id: str | None
    status: int
    reason: str | None
    # The id a refused call is shown by (`show REQUEST-ID`), and its log line found: one refused before its body was
    # read (a 415, a 413) has no hookInstance.
    request_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "time": self.time.isoformat()}


@dataclass(frozen=True)
class FeedbackRow:
    """One feedback item in the list `cds-service audit --feedback` prints, with the decision its card was about: the
    call that issued the card to the sender (its client and tenant), None each when none did (a card never issued to
    it, or not written yet)."""

    entry: FeedbackEntry
    card_topic: str | None
    card_kind: str | None  # null for a card recorded before migration 0015
    call_time: datetime | None  # of the call that issued the card
    hook_instance: str | None
    patient_id: str | None
    order_id: str | None
    policy: str | None
    decision: str | None  # NO_PLAN for an order decided under no plan
    # The accepted suggestions that call issued with this card, each with its label (None: recorded before migration
    # 0006): what dose or quantity change was accepted. Those left out were not issued with this card.
    accepted_labels: dict[str, str | None]

    def as_dict(self) -> dict[str, Any]:
        """The item's fields (not the suggestions worked out as unknown: `show` does that), then its card's decision."""
        item = {key: value for key, value in self.entry.as_dict().items() if key != "unknown_suggestions"}
        about = {field.name: getattr(self, field.name) for field in fields(self) if field.name != "entry"}
        return {**item, **about, "call_time": self.call_time.isoformat() if self.call_time else None}


@dataclass(frozen=True)
class FeedbackReceipt:
    """What feedback named that does not match what was issued *so far*: card uuids, and accepted suggestions never
    issued or issued with another card than the item's. The items are stored as received all the same: a call
    answered by another worker reaches the database up to 0.1 s after its answer (later while the database is slow),
    and feedback on its cards may come first; `show` works the match out again when it reads them."""

    unknown_cards: list[str]
    unknown_suggestions: list[str]
    # Items the trail held already (the same item posted again: a retry whose first answer was lost; or twice in the
    # call), not stored twice.
    already_stored: int = 0


@dataclass
class InvocationDetail:
    """One invocation with its outcomes (criteria included) and the feedback on its cards."""

    record: InvocationRecord
    feedback: list[FeedbackEntry]

    def as_dict(self) -> dict[str, Any]:
        """The call as `show --format json` prints it: each feedback item with the order, decision and topic of the
        card it names, as the text says them (a reader of the JSON need not join card uuids by hand)."""
        return {**self.record.as_dict(), "feedback": [{**entry.as_dict(), **self.card_of(entry.card_uuid)}
                                                      for entry in self.feedback]}

    def card_of(self, uuid: str) -> dict[str, Any]:
        """The order whose answer carried card `uuid`, its decision (NO_PLAN when none, for want of a plan) and the
        card's topic and kind; None each for a card this call did not issue."""
        for outcome in self.record.outcomes:
            if uuid in outcome.card_uuids:
                return {"order_id": outcome.order_id, "decision": decision_of(outcome),
                        "card_topic": outcome.card_topics.get(uuid), "card_kind": outcome.card_kinds.get(uuid)}
        return {"order_id": None, "decision": None, "card_topic": None, "card_kind": None}


def decision_of(outcome: OrderOutcome) -> str | None:
    """An order's decision as the listings name it: NO_PLAN for none, for want of a plan."""
    return outcome.decision or (NO_PLAN if outcome.no_plan_reason else None)


class AuditQueries:
    """Reads of the audit database and the records still queued, and the synchronous jti and feedback writes."""

    def __init__(self, engine: Engine, writer: AuditWriter) -> None:
        self.engine = engine
        self._writer = writer  # holds the records not yet written, and knows whether the schema is there
        self._next_jti_purge = datetime.min

    # --- used JWT ids ------------------------------------------------------------------------------------------

    def use_jti(self, jti: str, expires_at: datetime, attempt: str | None = None) -> bool:
        """Remember `jti` until `expires_at`, as stored by the request `attempt` (a random id, made here if none is
        given); False if it was already used (by any worker on this database). Raises when the database cannot say
        (DatabaseUnavailable, OperationalError): the caller answers 503."""
        self._writer.require_schema()
        self._purge_expired_jtis()
        attempt = attempt or secrets.token_hex(16)
        try:
            self._store_jti(jti, expires_at, attempt)
            return True
        except IntegrityError:
            # Used, unless a call this worker refused with 503 stored it and its release is not written yet (the
            # writer's next round, later through an outage): the retry, refused as a replay then, releases that row
            # itself. A retry reaching another worker first still is (docs/audit.md §Timeouts).
            refused = self._writer.release_pending(jti)
        if refused is None:
            return False
        try:
            self._store_jti(jti, expires_at, attempt, refused)
        except IntegrityError:  # another request's row took the refused one's place: a retry accepted already
            return False
        return True

    def _store_jti(self, jti: str, expires_at: datetime, attempt: str, refused: str | None = None) -> None:
        """Store `jti`'s row for `attempt`, in place of the row the refused call `refused` stored, if named: that row
        may be gone already (the writer's release, done since the retry saw it), and any other row of `jti` is a call
        accepted with it (IntegrityError)."""
        inserted = False
        try:
            with write_transaction(self.engine) as connection:
                if refused is not None:
                    connection.execute(delete(UsedJti).where(UsedJti.jti == jti, UsedJti.attempt == refused))
                connection.execute(insert(UsedJti).values(jti=jti, expires_at=naive_utc(expires_at), attempt=attempt))
                inserted = True
        except Exception:
            if inserted:
                # The COMMIT went unanswered (the request's deadline, a connection cut): the row may be stored, yet the
                # call is refused (503), and the client's retry with the same token was refused as a replay. A jti
                # is used by a call accepted with it (service-contract.md §Security), so this attempt's row goes.
                self._writer.release_jti(jti, attempt, expires_at)
            raise

    def _purge_expired_jtis(self) -> None:
        now = utcnow()
        if now < self._next_jti_purge:
            return
        self._next_jti_purge = now + _JTI_PURGE_INTERVAL
        with write_transaction(self.engine) as connection:
            connection.execute(delete(UsedJti).where(UsedJti.expires_at < now))

    # --- prior approval ----------------------------------------------------------------------------------------

    def prior_approval(self, patient_id: str, client_iss: str | None, tenant: str | None, policy_id: str,
                       exclude_order_ids: tuple[str, ...], before: date) -> tuple[PriorApproval, ...]:
        """The approvals, initial or renewal (order-sign, meets-criteria, not a what-if call), under `policy_id` of
        other orders of this patient, from the same client and tenant (patient ids are only unique within one EHR
        site), whose authorization began before `before` (this order's start: a replacement or duplicate of the
        order, signed for the same start, proves no earlier authorization); newest first. Which of them counts is
        the policy's (prior_approval.py: a renewal only within its look-back)."""
        # Pending first, then the database: see AuditWriter._finish for why this order never misses a record (one
        # moving between the two reads is found twice, which changes nothing).
        pending = self._writer.pending_of_patient(patient_id)
        queued = [approval for record in pending
                  for approval in _approvals(record, (client_iss, tenant), policy_id, exclude_order_ids, before)]
        self._writer.require_schema()
        parameters = {"patient_id": patient_id, "client": client_iss, "tenant": tenant, "policy": policy_id,
                      "exclude": list(exclude_order_ids)}
        with self.engine.connect() as connection:  # each kind's latest: continuations must not crowd out initials
            written = [PriorApproval(row.order_id, aware(row.time), row.hook_instance, row.coverage_assertion_id,
                                     *_period(row.authorization), row.request_type)
                       for kind in _APPROVED_REQUESTS
                       for row in connection.execute(_PRIOR_APPROVAL, {**parameters, "request_type": kind})
                       if _began_before(row.authorization, before)]
        return tuple(sorted(queued + written, key=lambda approval: approval.time, reverse=True))

    # --- feedback ----------------------------------------------------------------------------------------------

    def record_feedback(self, service_id: str, entries: list[FeedbackEntry], client_iss: str | None = None,
                        tenant: str | None = None) -> FeedbackReceipt:
        """Store feedback items as received, as sent by `client_iss` and `tenant` (the verified JWT's), each once: an
        item the trail holds already (the same item posted again, feedback_digest) is not stored again, whichever
        worker stored it. Returns what they name that was not issued so far to that sender (records still queued in
        this worker included), for the answer and the log. A card issued to another client or tenant is unknown to
        this one: its feedback is stored, and never shown with that card (`show`), and the answer does not tell it
        was issued at all."""
        known = self._issued_cards({entry.card_uuid for entry in entries}, (client_iss, tenant))
        unknown_suggestions = [suggestions if entry.card_uuid in known else entry.accepted_suggestions
                               for entry, suggestions in zip(entries, self._unknown_suggestions(entries))]
        received_at = utcnow()
        for entry in entries:
            entry.received_at = received_at.replace(tzinfo=timezone.utc)
            entry.client_iss, entry.tenant = client_iss, tenant
        rows = [feedback_values(service_id, entry, received_at) for entry in entries]
        with write_transaction(self.engine) as connection:
            stored = insert_new_rows(connection, Feedback, rows, "item_digest")
        return FeedbackReceipt(
            unknown_cards=[entry.card_uuid for entry in entries if entry.card_uuid not in known],
            unknown_suggestions=sorted({uuid for unknown in unknown_suggestions for uuid in unknown}),
            already_stored=len(rows) - stored)

    def _unknown_suggestions(self, entries: list[FeedbackEntry]) -> list[list[str]]:
        """For each item, its accepted suggestions not issued with its card: never issued, or issued with another
        card (a suggestion of the quantity card accepted on the decision card was not what the clinician accepted
        there). A suggestion recorded before migration 0005 has no card: only that it was issued is checked."""
        issued_with = self._suggestion_cards({uuid for entry in entries for uuid in entry.accepted_suggestions})
        return [[uuid for uuid in entry.accepted_suggestions
                 if uuid not in issued_with or not _offered_with(issued_with[uuid], entry)]
                for entry in entries]

    def _issued_cards(self, uuids: set[str], owner: tuple[str | None, str | None]) -> set[str]:
        """Those of `uuids` handed out as cards in calls of `owner` (client and tenant), queued records included."""
        uuids = _possibly_ours(uuids)
        self._writer.require_schema()
        known = {uuid for record in self._writer.pending_records() if (record.client_iss, record.tenant) == owner
                 for outcome in record.outcomes for uuid in outcome.card_uuids} & uuids
        query = (select(IssuedCard.uuid)
                 .join(OrderOutcomeRow, OrderOutcomeRow.id == IssuedCard.outcome_id)
                 .join(Invocation, Invocation.id == OrderOutcomeRow.invocation_id)
                 .where(IssuedCard.uuid.in_(uuids - known), IssuedCard.kind == "card",
                        Invocation.client_iss.is_not_distinct_from(owner[0]),
                        Invocation.tenant.is_not_distinct_from(owner[1])))
        with self.engine.connect() as connection:
            return known | set(connection.execute(query).scalars())

    def _suggestion_cards(self, uuids: set[str]) -> dict[str, str | None]:
        """Those of `uuids` handed out as suggestions, each with the uuid of the card that carried it (None when
        recorded before migration 0005), queued records included."""
        uuids = _possibly_ours(uuids)
        self._writer.require_schema()
        known = {uuid: outcome.suggestion_cards.get(uuid) for record in self._writer.pending_records()
                 for outcome in record.outcomes for uuid in outcome.suggestion_uuids if uuid in uuids}
        query = select(IssuedCard.uuid, IssuedCard.card_uuid).where(IssuedCard.uuid.in_(uuids - known.keys()),
                                                                    IssuedCard.kind == "suggestion")
        with self.engine.connect() as connection:
            return {**{uuid: card for uuid, card in connection.execute(query)}, **known}

    # --- queries for the command line --------------------------------------------------------------------------

    def recent(self, selection: Selection = Selection(), limit: int = 50) -> list[DecisionRow]:
        """The latest order decisions of `selection`, newest first."""
        query = select(Invocation, OrderOutcomeRow).join(OrderOutcomeRow).where(
            *_calls(selection), *_decided(selection), *_issued_kind(selection))
        query = query.order_by(Invocation.time.desc(), OrderOutcomeRow.id.desc()).limit(limit)
        with Session(self.engine) as session:
            return [_decision_row(invocation, outcome) for invocation, outcome in session.execute(query)]

    def export(self, selection: Selection) -> Iterator[InvocationDetail]:
        """Every decision of `selection`, oldest first, each as its call holding that order's outcome alone, with the
        feedback on its cards: read in batches, so an export of a year's trail never holds it all in memory."""
        query = (select(Invocation, OrderOutcomeRow).join(OrderOutcomeRow)
                 .where(*_calls(selection), *_decided(selection), *_issued_kind(selection))
                 .options(selectinload(OrderOutcomeRow.cards))
                 .order_by(Invocation.time, Invocation.id, OrderOutcomeRow.id)
                 .execution_options(yield_per=_EXPORT_BATCH))
        with Session(self.engine) as session:
            _unbounded(session.connection())
            for batch in session.execute(query).partitions():
                for invocation, outcome in batch:
                    record = invocation_record(invocation, [outcome])
                    yield InvocationDetail(record, self._feedback_on(session, record))

    def feedback(self, selection: Selection = Selection(), limit: int = 50) -> list[FeedbackRow]:
        """The latest feedback items received (from `since`, before `until`, sent by `client` and `tenant`), newest
        first, each with the decision of the latest call that issued its card to the sender (a call sent again issues
        the same uuids); `patient`, `order`, `decision` and `policy` select by that decision, which feedback on a card
        never issued has not."""
        issuing = (select(func.max(IssuedCard.outcome_id))
                   .join(OrderOutcomeRow, OrderOutcomeRow.id == IssuedCard.outcome_id)
                   .join(Invocation, Invocation.id == OrderOutcomeRow.invocation_id)
                   .where(IssuedCard.uuid == Feedback.card_uuid, IssuedCard.kind == "card",
                          Invocation.client_iss.is_not_distinct_from(Feedback.client_iss),
                          Invocation.tenant.is_not_distinct_from(Feedback.tenant))
                   .correlate(Feedback).scalar_subquery())
        query = (select(Feedback, OrderOutcomeRow.id, IssuedCard.topic, IssuedCard.card_kind, Invocation.time,
                        Invocation.hook_instance, Invocation.patient_id, OrderOutcomeRow.order_id,
                        OrderOutcomeRow.policy, OrderOutcomeRow.decision, OrderOutcomeRow.no_plan_reason)
                 .select_from(Feedback)
                 .outerjoin(OrderOutcomeRow, OrderOutcomeRow.id == issuing)
                 .outerjoin(Invocation, Invocation.id == OrderOutcomeRow.invocation_id)
                 .outerjoin(IssuedCard, (IssuedCard.outcome_id == OrderOutcomeRow.id)
                            & (IssuedCard.uuid == Feedback.card_uuid) & (IssuedCard.kind == "card"))
                 .where(*_feedback_selected(selection))
                 .order_by(Feedback.received_at.desc(), Feedback.id.desc())
                 .limit(limit))
        with Session(self.engine) as session:
            found = session.execute(query).all()
            offered = _suggestions_of(session, {outcome for _, outcome, *_ in found if outcome is not None})
            return [_feedback_row(row, by, offered.get(outcome, {})) for row, outcome, *by in found]

    def rejected(self, selection: Selection = Selection(), limit: int = 50) -> list[RejectedRow]:
        """The latest calls of `selection` refused with an error status, newest first: 4xx (401s included: their
        reason names the failed check) and 5xx (a 503 while the database is unavailable, a fault of ours). Only the
        call's filters apply: a refused call decided no order."""
        query = select(Invocation).where(Invocation.status >= 400, *_calls(selection))
        query = query.order_by(Invocation.time.desc(), Invocation.id.desc()).limit(limit)
        with Session(self.engine) as session:
            return [RejectedRow(aware(row.time), row.hook, row.hook_instance, row.client_iss, row.tenant,
                                row.patient_id, row.status, row.reason, row.request_id)
                    for row in session.scalars(query)]

    # --- retention ---------------------------------------------------------------------------------------------

    def prune(self, before: datetime, dry_run: bool = False) -> dict[str, int]:
        """Delete the invocations before `before` with their outcomes and issued cards, the feedback received before
        it and the feedback on the cards deleted (`_on_pruned_cards`), in one transaction; the rows deleted, by table
        (with `dry_run`, counted and left). Children go first and explicitly: a connection without foreign keys on
        (the sqlite3 shell's default) does not cascade, and SQLite reuses the ids of deleted invocations, so an
        orphaned outcome would attach to a later call. Orphans an earlier deletion left behind go too, whatever their
        age."""
        cutoff = naive_utc(before)
        kept_call = select(Invocation.id).where(Invocation.id == OrderOutcomeRow.invocation_id,
                                                Invocation.time >= cutoff).exists()
        kept_outcome = (select(OrderOutcomeRow.id).join(Invocation)
                        .where(OrderOutcomeRow.id == IssuedCard.outcome_id, Invocation.time >= cutoff).exists())
        # Each condition holds of a row whatever the deletions before it did: they are counted alike. The feedback
        # goes first: which cards it is on is read from the calls about to go.
        doomed: tuple[tuple[str, Any, ColumnElement[bool]], ...] = (
            ("feedback", Feedback, (Feedback.received_at < cutoff) | _on_pruned_cards(cutoff)),
            ("issued_card", IssuedCard, ~kept_outcome), ("order_outcome", OrderOutcomeRow, ~kept_call),
            ("invocation", Invocation, Invocation.time < cutoff))
        if dry_run:
            with self.engine.connect() as connection:
                _unbounded(connection)
                return {table: connection.execute(select(func.count()).select_from(model).where(condition)).scalar_one()
                        for table, model, condition in doomed}
        with write_transaction(self.engine) as connection:
            _unbounded(connection)
            return {table: connection.execute(delete(model).where(condition)).rowcount
                    for table, model, condition in doomed}

    def show(self, key: str, limit: int | None = None) -> list[InvocationDetail]:
        """The invocations with this hookInstance (an EHR may send one again), this request id (the X-Request-ID of
        the log line and of a proxy's access log), whose decision carries this coverage-assertion-id (the id a claim
        refers to), that issued this card or suggestion uuid (what feedback and an EHR's override log name), or about
        this order (its id, with or without the type): every call that decided it and the call whose suggestion
        created it (a split's later cycle). Newest first, at most `limit` of them (None: all), with the feedback on
        their cards: the limit is the query's, so an order of a busy trail does not load every call about it."""
        with Session(self.engine) as session:
            return self._shown(session, _about(session, key), limit)

    def show_counted(self, key: str, limit: int) -> tuple[list[InvocationDetail], int]:
        """`show(key, limit)`, and how many invocations `show(key)` finds: counted in the database, none of them
        loaded, only when `limit` are found (else they are all there), under the same condition, whose lookup of the
        calls creating an order (`_creating`) is made once."""
        with Session(self.engine) as session:
            about = _about(session, key)
            details = self._shown(session, about, limit)
            if len(details) < limit:
                return details, len(details)
            return details, session.execute(select(func.count()).select_from(Invocation).where(about)).scalar_one()

    def _shown(self, session: Session, about: ColumnElement[bool], limit: int | None) -> list[InvocationDetail]:
        """The newest `limit` invocations `about` selects (None: all), with the feedback on their cards."""
        query = (
            select(Invocation)
            .where(about)
            .options(selectinload(Invocation.outcomes).selectinload(OrderOutcomeRow.cards))
            .order_by(Invocation.time.desc(), Invocation.id.desc())
            .limit(limit)
        )
        records = [invocation_record(invocation) for invocation in session.scalars(query)]
        return [InvocationDetail(record, self._feedback_on(session, record)) for record in records]

    def _feedback_on(self, session: Session, record: InvocationRecord) -> list[FeedbackEntry]:
        """The feedback on the call's cards sent by the call's own client and tenant, each with the accepted
        suggestions not issued with its card worked out now: stored as received, feedback may have arrived before the
        call was written. Feedback from anyone else naming these cards is not the clinician's who saw them."""
        card_uuids = [uuid for outcome in record.outcomes for uuid in outcome.card_uuids]
        rows = session.scalars(select(Feedback).where(
            Feedback.card_uuid.in_(card_uuids), Feedback.client_iss.is_not_distinct_from(record.client_iss),
            Feedback.tenant.is_not_distinct_from(record.tenant)).order_by(Feedback.id))
        entries = [feedback_entry(row) for row in rows]
        for entry, unknown in zip(entries, self._unknown_suggestions(entries)):
            entry.unknown_suggestions = unknown
        return entries


def _possibly_ours(uuids: set[str]) -> set[str]:
    """Ours are UUIDs: anything else was never issued, and may not even encode as a parameter (a lone surrogate)."""
    return {uuid for uuid in uuids if uuid.isascii()}


# Built once: a Florida Blue evaluation asks it on every call, and building the statement cost more than running it.
# The latest approvals of a patient of one request type: enough to pass over re-signed orders of one start, and
# renewals too old to count; asked for each type apart, so that an initial approval, which counts at any age, is never
# pushed out by later continuations.
_PRIOR_APPROVAL_ROWS = 20
_PRIOR_APPROVAL = (
    select(OrderOutcomeRow.order_id, Invocation.time, Invocation.hook_instance, OrderOutcomeRow.coverage_assertion_id,
           OrderOutcomeRow.authorization, OrderOutcomeRow.request_type)
    .join(Invocation)
    .where(
        Invocation.patient_id == bindparam("patient_id"),
        Invocation.client_iss.is_not_distinct_from(bindparam("client")),
        Invocation.tenant.is_not_distinct_from(bindparam("tenant")),
        Invocation.hook == ORDER_SIGN,
        OrderOutcomeRow.policy == bindparam("policy"),
        OrderOutcomeRow.decision == MEETS,
        OrderOutcomeRow.request_type == bindparam("request_type"),
        OrderOutcomeRow.what_if.is_(False),
        OrderOutcomeRow.order_id.not_in(bindparam("exclude", expanding=True)),
    )
    .order_by(Invocation.time.desc(), OrderOutcomeRow.id)  # one call's orders as a queued record has them
    .limit(_PRIOR_APPROVAL_ROWS)
)


def _began_before(authorization: Any, before: date) -> bool:
    start = authorization.get("start") if isinstance(authorization, dict) else None
    return isinstance(start, str) and start < before.isoformat()  # ISO dates compare as text


def _period(authorization: Any) -> tuple[str, str]:
    """The start and end of an approval's authorization (one _began_before accepted: a dict with a start), as
    recorded."""
    end = authorization.get("end")
    return str(authorization["start"]), end if isinstance(end, str) else ""


def _approvals(record: InvocationRecord, caller: tuple[str | None, str | None], policy_id: str,
               exclude: tuple[str, ...], before: date) -> list[PriorApproval]:
    """A queued record's outcomes that _PRIOR_APPROVAL would find once written (the patient is already matched)."""
    if (record.client_iss, record.tenant) != caller or record.hook != ORDER_SIGN:
        return []
    return [PriorApproval(o.order_id, record.time, record.hook_instance, o.coverage_assertion_id,
                          *_period(o.authorization), o.request_type)
            for o in record.outcomes
            if o.policy == policy_id and o.decision == MEETS and o.request_type in _APPROVED_REQUESTS
            and not o.what_if and o.order_id not in exclude and _began_before(o.authorization, before)]


def _unbounded(connection: Connection) -> None:
    """No statement timeout for this transaction (PostgreSQL): the service's 5 s bound a request's waits, and a
    prune of a year's trail takes longer; an operator runs it and can stop it."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")


def _order_reference(order: str) -> str:
    """An order as the trail names it, "MedicationRequest/<id>", from its id with or without the type."""
    return order if order.startswith(_ORDER_TYPE) else _ORDER_TYPE + order


def _about(session: Session, key: str) -> ColumnElement[bool]:
    """The invocations `AuditQueries.show` finds for `key`: by hookInstance or request id, by the coverage-assertion-id
    or a card or suggestion uuid of their decisions, or about the order `key` names."""
    # A JWT sent as the hookInstance or request id is stored as its marker (audit_rows.masked_id), of the id as
    # received or, for a longer one, cut to its column.
    keys = {key, masked_id(key), masked_id(key[:ID_LENGTH])}
    asserted = select(OrderOutcomeRow.invocation_id).where(OrderOutcomeRow.coverage_assertion_id == key)
    carded = select(OrderOutcomeRow.invocation_id).join(IssuedCard, IssuedCard.outcome_id == OrderOutcomeRow.id) \
        .where(IssuedCard.uuid == key)
    order = _order_reference(key)
    decided = select(OrderOutcomeRow.invocation_id).where(OrderOutcomeRow.order_id == order)
    return (Invocation.hook_instance.in_(keys) | Invocation.request_id.in_(keys) | Invocation.id.in_(asserted)
            | Invocation.id.in_(carded) | Invocation.id.in_(decided) | Invocation.id.in_(_creating(session, order)))


def _creating(session: Session, reference: str) -> list[int]:
    """The invocations whose suggestion creates this order. `creates` is a JSON list of references: the rows whose
    text holds the reference quoted are read (LIKE), and the list itself decides, since SQLite's LIKE ignores case
    and FHIR ids do not. Only an id can be one: no LIKE wildcard, quote or backslash, and not the 50,000 bytes of a
    pattern SQLite refuses."""
    if not FHIR_ID.fullmatch(reference.removeprefix(_ORDER_TYPE)):
        return []
    rows = session.execute(
        select(OrderOutcomeRow.invocation_id, IssuedCard.creates)
        .join(IssuedCard, IssuedCard.outcome_id == OrderOutcomeRow.id)
        .where(IssuedCard.kind == "suggestion", cast(IssuedCard.creates, Text).like(f'%"{reference}"%')))
    return [invocation for invocation, creates in rows if reference in (creates or [])]


def _calls(selection: Selection) -> list[ColumnElement[bool]]:
    """The conditions on the invocation of the filters given: from `since`, before `until`, its patient, client and
    tenant."""
    conditions = [column == value for column, value in ((Invocation.patient_id, selection.patient),
                                                        (Invocation.client_iss, selection.client),
                                                        (Invocation.tenant, selection.tenant)) if value is not None]
    return conditions + _between(Invocation.time, selection)


def _between(column: Any, selection: Selection) -> list[ColumnElement[bool]]:
    """`column` (a time) from the selection's `since` and before its `until`, those given."""
    since = [column >= naive_utc(selection.since)] if selection.since is not None else []
    return since + ([column < naive_utc(selection.until)] if selection.until is not None else [])


def _decided(selection: Selection) -> list[ColumnElement[bool]]:
    """The conditions on the order's outcome of the filters given: its order (its id, with or without the type),
    its decision (NO_PLAN: none, for want of a plan) and its policy; the kind of a card it issued is the listing's
    (`_issued_kind`), the feedback's that of the card it names."""
    order, decision = selection.order, selection.decision
    conditions = [] if order is None else [OrderOutcomeRow.order_id == _order_reference(order)]
    if decision == NO_PLAN:
        conditions.append(OrderOutcomeRow.no_plan_reason.is_not(None))
    elif decision is not None:
        conditions.append(OrderOutcomeRow.decision == decision)
    return conditions + ([] if selection.policy is None else [OrderOutcomeRow.policy == selection.policy])


def _issued_kind(selection: Selection) -> list[ColumnElement[bool]]:
    """The decision issued a card of the kind selected (cards recorded before migration 0015 have none)."""
    if selection.card_kind is None:
        return []
    return [select(IssuedCard.id).where(IssuedCard.outcome_id == OrderOutcomeRow.id,
                                        IssuedCard.card_kind == selection.card_kind).exists()]


def _feedback_selected(selection: Selection) -> list[ColumnElement[bool]]:
    """The conditions of `AuditQueries.feedback`: the time received and the sender on the feedback, the rest on the
    decision of its card."""
    conditions = [column == value for column, value in (
        (Feedback.client_iss, selection.client), (Feedback.tenant, selection.tenant),
        (Invocation.patient_id, selection.patient)) if value is not None]
    kind = [] if selection.card_kind is None else [IssuedCard.card_kind == selection.card_kind]
    return conditions + _between(Feedback.received_at, selection) + _decided(selection) + kind


def _feedback_row(row: Feedback, by: list[Any], offered: dict[str, tuple[str | None, str | None]]) -> FeedbackRow:
    """A feedback item and what the query found of its card's decision (`by`: the query's columns after it), with the
    accepted suggestions among those its card's call `offered` with the card (`_suggestions_of`). A suggestion recorded
    before migration 0005 has no card: only that it was issued is checked, as `show` does."""
    topic, kind, time, hook_instance, patient_id, order_id, policy, decision, no_plan_reason = by
    entry = feedback_entry(row)
    accepted = {uuid: offered[uuid][1] for uuid in entry.accepted_suggestions
                if uuid in offered and _offered_with(offered[uuid][0], entry)}
    return FeedbackRow(entry, card_topic=topic, card_kind=kind, call_time=aware(time) if time else None,
                       hook_instance=hook_instance, patient_id=patient_id, order_id=order_id, policy=policy,
                       decision=decision or (NO_PLAN if no_plan_reason else None), accepted_labels=accepted)


def _offered_with(card: str | None, entry: FeedbackEntry) -> bool:
    """Whether a suggestion issued with `card` was offered on the card `entry` is feedback on: the same card, or none
    known (a suggestion recorded before migration 0005 has no card, so only that it was issued is checked)."""
    return card in (entry.card_uuid, None)


def _suggestions_of(session: Session, outcomes: set[int]) -> dict[int, dict[str, tuple[str | None, str | None]]]:
    """The suggestions each of these outcomes issued: by uuid, the card that carried it and its label. Read
    `_OUTCOMES_PER_QUERY` outcomes at a time: a listing's --limit may name more than a statement can bind."""
    issued: dict[int, dict[str, tuple[str | None, str | None]]] = {}
    ordered = sorted(outcomes)
    for start in range(0, len(ordered), _OUTCOMES_PER_QUERY):
        rows = session.execute(select(IssuedCard.outcome_id, IssuedCard.uuid, IssuedCard.card_uuid, IssuedCard.label)
                               .where(IssuedCard.kind == "suggestion",
                                      IssuedCard.outcome_id.in_(ordered[start:start + _OUTCOMES_PER_QUERY])))
        for outcome, uuid, card, label in rows:
            issued.setdefault(outcome, {})[uuid] = (card, label)
    return issued


def _decision_row(invocation: Invocation, outcome: OrderOutcomeRow) -> DecisionRow:
    return DecisionRow(
        time=aware(invocation.time), hook=invocation.hook, hook_instance=invocation.hook_instance,
        client_iss=invocation.client_iss, tenant=invocation.tenant,
        patient_id=invocation.patient_id, user_id=invocation.user_id, encounter_id=invocation.encounter_id,
        order_id=outcome.order_id, policy=outcome.policy,
        policy_version=outcome.policy_version, policy_digest=outcome.policy_digest,
        policy_source=outcome.policy_source, valueset_digest=outcome.valueset_digest,
        decision=outcome.decision, indication=outcome.indication,
        criteria_not_met=criterion_ids(outcome.criteria, "not-met"),
        criteria_unknown=criterion_ids(outcome.criteria, "unknown"),
        what_if=outcome.what_if, no_plan_reason=outcome.no_plan_reason,
        coverage_assertion_id=outcome.coverage_assertion_id, covered=outcome.covered, pa_needed=outcome.pa_needed,
        authorization=outcome.authorization, status=invocation.status, request_id=invocation.request_id,
    )


def recorded_policies(engine: Engine) -> list[str]:
    """The policy ids the trail's decisions were made under (read from the index on policy and decision)."""
    with engine.connect() as connection:
        return sorted(connection.scalars(select(OrderOutcomeRow.policy).where(OrderOutcomeRow.policy.is_not(None))
                                         .distinct()))


def _on_pruned_cards(cutoff: datetime) -> ColumnElement[bool]:
    """Feedback on a card that a call before `cutoff` issued to its sender, and no call since: the card goes with the
    call, and its feedback, kept, would be listed as on a card never issued (an EHR's integration bug). A card issued
    again by a call kept (a call sent again) keeps its feedback; feedback on a card never issued stays such."""
    def issued(when: ColumnElement[bool]) -> ColumnElement[bool]:
        return (select(IssuedCard.id)
                .join(OrderOutcomeRow, OrderOutcomeRow.id == IssuedCard.outcome_id)
                .join(Invocation, Invocation.id == OrderOutcomeRow.invocation_id)
                .where(IssuedCard.uuid == Feedback.card_uuid, IssuedCard.kind == "card", when,
                       Invocation.client_iss.is_not_distinct_from(Feedback.client_iss),
                       Invocation.tenant.is_not_distinct_from(Feedback.tenant))
                .correlate(Feedback).exists())

    return issued(Invocation.time < cutoff) & ~issued(Invocation.time >= cutoff)


def criterion_ids(criteria: list[dict[str, Any]] | None, status: str) -> list[str]:
    """The ids of a decision's criteria (as recorded) with `status` ("not-met", "unknown"), in the decision's order."""
    return [str(criterion.get("id")) for criterion in criteria or () if criterion.get("status") == status]
