"""The decision audit trail (docs/audit.md): every hook invocation, its per-order outcomes, feedback, used JWT ids.

Hook responses must not wait for the database, so `record_invocation` only appends to a deque; one background thread
wakes every `_WRITE_INTERVAL_SECONDS` and writes what has gathered, in batches. Appending wakes nobody: a queue that
woke the writer for each record cost the request thread a lock hand-off and a GIL switch per call, and one
transaction per record cost about 0.65 ms of CPU against about 0.06 ms per record in batches of 20.

While the database is unavailable (down, locked, full, not answering, or not yet migrated because the worker booted
during an outage) records stay queued and the writer tries again with a growing wait, up to `MAX_QUEUED` records:
beyond it the oldest are dropped, logged and counted (`status().lost`). `status()` tells /healthz and /metrics how
the writer fares.

`close()` drains the deque: it runs at interpreter exit (atexit), which gunicorn workers reach on a graceful stop
(SIGTERM → worker exits through SystemExit), and the app may also call it from gunicorn's `worker_exit` hook.
Records still queued are visible to `prior_approval`, so a second order signed right after the first sees the
first one's approval.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time as clock
import weakref
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from cds_service.db import (DatabaseUnavailable, create_db_engine, error_summary, is_unavailable, migrate,
                            write_transaction)
from cds_service.db_models import Feedback, Invocation, IssuedCard, OrderOutcomeRow, UsedJti
from cds_service.evaluation import OrderOutcome, PriorApproval
from cds_service.json_codec import storable

log = logging.getLogger(__name__)

MEETS_CRITERIA = "meets-criteria"
INITIAL = "initial"  # request type of an approval on initiation criteria (not a renewal)
ORDER_SIGN = "order-sign"
_BATCH_MAX = 200
_WRITE_INTERVAL_SECONDS = 0.1
_RETRY_FIRST_SECONDS, _RETRY_MAX_SECONDS = 0.2, 5.0  # waits between attempts while the database is unavailable
# About 5 KB a record in memory (a decision's criteria and notes): at most ~100 MB per worker, some 20 minutes of
# a worker's records at 15 calls/s, before the oldest go.
MAX_QUEUED = 20_000
# Why records were given up: the queue was full, the database refused the record itself, or the database was
# unavailable with no writer running (after close) to keep the record.
LOSS_REASONS = ("queue-full", "refused", "unwritten")
STALLED_SECONDS = 10.0  # writes failing (or one hanging) this long: /healthz answers 503
DRAIN_SECONDS = 20.0  # close() at exit waits this long at most: below gunicorn's graceful_timeout (30 s by default)
PING_SECONDS = 2.0
_JTI_PURGE_INTERVAL = timedelta(minutes=10)


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
    reason: str | None = None  # why a 4xx refused the call: a field or check, never its content (migration 0004)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "time": self.time.isoformat()}


@dataclass
class FeedbackEntry:
    """One CDS Hooks feedback item, normalized (cds_service/feedback.py parses the client's shapes)."""

    card_uuid: str
    outcome: str  # "accepted" or "overridden"
    accepted_suggestions: list[str] = field(default_factory=list)
    override_system: str | None = None
    override_code: str | None = None
    override_display: str | None = None
    override_comment: str | None = None
    outcome_timestamp: datetime | None = None
    card_known: bool = True  # set when stored: False when no card with this uuid was issued
    received_at: datetime | None = None
    client_iss: str | None = None  # the verified JWT issuer that sent it, set when stored

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "outcome_timestamp": _iso(self.outcome_timestamp), "received_at": _iso(self.received_at)}


@dataclass(frozen=True)
class DecisionRow:
    """One order's decision in the list `cds-service audit` prints."""

    time: datetime
    hook: str
    hook_instance: str
    patient_id: str | None
    order_id: str
    policy: str | None
    policy_version: str | None
    decision: str | None
    indication: str | None
    what_if: bool

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "time": self.time.isoformat()}


@dataclass(frozen=True)
class RejectedRow:
    """One call refused with a 4xx, in the list `cds-service audit --rejected` prints."""

    time: datetime
    hook: str
    hook_instance: str
    client_iss: str | None
    patient_id: str | None
    status: int
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "time": self.time.isoformat()}


@dataclass
class InvocationDetail:
    """One invocation with its outcomes (criteria included) and the feedback on its cards."""

    record: InvocationRecord
    feedback: list[FeedbackEntry]

    def as_dict(self) -> dict[str, Any]:
        return {**self.record.as_dict(), "feedback": [entry.as_dict() for entry in self.feedback]}


class _Pending:
    """Records queued or being written, by id() and by patient: the prior-approval check reads one patient's."""

    def __init__(self) -> None:
        self._by_patient: dict[str | None, dict[int, InvocationRecord]] = {}

    def __len__(self) -> int:
        return sum(len(records) for records in self._by_patient.values())

    def add(self, record: InvocationRecord) -> None:
        self._by_patient.setdefault(record.patient_id, {})[id(record)] = record

    def remove(self, record: InvocationRecord) -> None:
        records = self._by_patient.get(record.patient_id, {})
        records.pop(id(record), None)
        if not records:
            self._by_patient.pop(record.patient_id, None)

    def of_patient(self, patient_id: str) -> list[InvocationRecord]:
        return list(self._by_patient.get(patient_id, {}).values())

    def all(self) -> list[InvocationRecord]:
        return [record for records in self._by_patient.values() for record in records.values()]


@dataclass(frozen=True)
class WriterStatus:
    """How the background writer fares (AuditStore.status)."""

    alive: bool  # the writer thread runs
    schema_ready: bool  # False while the database has been unavailable since start (nothing created or migrated)
    backlog: int  # records queued or being written
    stalled_seconds: float  # how long the write now under way, or the failures since the last success, have lasted
    last_error: str | None  # the latest failure's classes and SQLSTATE (never its message: it may repeat a row)
    last_error_age_seconds: float | None
    lost: dict[str, int]  # records given up since start, by LOSS_REASONS

    def problems(self) -> list[str]:
        """What makes the audit trail unhealthy, for an operator: empty when records are being written."""
        found = [] if self.alive else ["audit writer not running"]
        if not self.schema_ready:
            found.append("audit schema not created yet: the database has not answered since start")
        if self.stalled_seconds > STALLED_SECONDS:
            found.append(f"audit writes failing or hanging for {self.stalled_seconds:.0f} s")
        return found

    def as_dict(self) -> dict[str, Any]:
        age = self.last_error_age_seconds
        return {**asdict(self), "stalled_seconds": round(self.stalled_seconds, 1),
                "last_error_age_seconds": None if age is None else round(age, 1)}


class _Probe:
    """`SELECT 1` in a thread of its own, so /healthz stops waiting at its deadline: a frozen server (its processes
    stopped, its connections still accepted by the kernel) holds a pooled connection for ever, statement timeouts
    being the server's to enforce."""

    def __init__(self, engine: Engine) -> None:
        self._ok = False
        self._thread = threading.Thread(target=self._run, args=(engine,), name="audit-ping", daemon=True)
        self._thread.start()

    def _run(self, engine: Engine) -> None:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return
        self._ok = True

    def done(self) -> bool:
        return not self._thread.is_alive()

    def answered(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return self.done() and self._ok


class AuditStore:
    """The audit database: a background writer for invocations, synchronous jti and feedback writes, queries."""

    def __init__(self, database_url: str, max_queued: int = MAX_QUEUED) -> None:
        self.engine: Engine = create_db_engine(database_url)
        self._max_queued = max_queued
        self._schema = "unchecked"  # "ready" once migrated; "pending" while the database could not be reached
        self._next_jti_purge = datetime.min
        self._reset_writer()
        _STORES.add(self)

    def _reset_writer(self) -> None:
        """The writer's state, fresh: at creation, and in a forked child (_after_fork)."""
        self._queue: deque[InvocationRecord] = deque()  # appended by request threads, taken by the writer
        self._pending = _Pending()  # queued or being written
        self._lock = threading.Lock()  # guards _queue, _pending, _running, _queued, _lost and the enqueue/stop order
        self._wake = threading.Event()  # set by flush and close: write now
        self._progress = threading.Condition()  # notified as records are done (guards _done)
        self._queued = 0  # records ever queued
        self._done = 0  # records ever taken off the queue: written, refused by the database, or dropped
        self._lost: Counter[str] = Counter()  # records given up, by why
        self._running = False
        self._thread: threading.Thread | None = None
        self._stalled_since: float | None = None  # when the unfinished write attempt, or series of failed ones, began
        self._last_error: tuple[str, float] | None = None  # the latest failure's summary and time
        self._probe_lock = threading.Lock()
        self._probe: _Probe | None = None

    def start(self) -> None:
        """Create or migrate the schema, then start the background writer. A database unavailable now leaves the
        migration to the writer, once the database answers: a gunicorn worker that fails to boot takes the whole
        server down with it. Starting a running store does nothing."""
        if self._schema == "unchecked":
            self._migrate_or_defer()
        with self._lock:
            if self._running and self._thread is not None and self._thread.is_alive():
                return
            self._running = True
            self._thread = threading.Thread(target=self._write_loop, name="audit-writer", daemon=True)
            self._thread.start()
        atexit.unregister(self.close)  # registered once, however often started
        atexit.register(self.close)

    def _migrate_or_defer(self) -> None:
        try:
            migrate(self.engine)
        except Exception as exc:
            if not is_unavailable(exc):
                raise  # a schema this code cannot upgrade: the start-up stops with it
            self._schema = "pending"
            self._note_failure(exc)
            log.error("audit database unavailable at start (%s): /healthz answers 503 and audit records wait in "
                      "memory until it answers and its schema is created", error_summary(exc))
            return
        self._schema = "ready"

    def _after_fork(self) -> None:
        """In a forked child (gunicorn --preload forks its workers from a master that created the app): the parent's
        writer thread did not come along, its locks may have been held at the fork, and its queue is the parent's
        to write. The child runs a writer of its own, and leaves the parent's pooled connections to the parent."""
        was_running = self._running
        self._reset_writer()
        self.engine.dispose(close=False)
        if was_running:
            self.start()

    def close(self, timeout: float | None = None) -> None:
        """Write everything still queued, stop the writer and release connections. Waits at most `timeout` (default
        DRAIN_SECONDS, below gunicorn's graceful_timeout, after which the worker is killed): what is still unwritten
        then is logged as lost. Safe to call twice."""
        with self._lock:
            was_running, self._running = self._running, False
        thread, wait = self._thread, DRAIN_SECONDS if timeout is None else timeout
        if was_running and thread is not None:
            self._wake.set()
            thread.join(wait)
            if thread.is_alive():
                with self._lock:
                    unwritten = self._pending.all()
                log.error("audit writer did not finish within %.1f s: %d records unwritten, lost: hookInstance %s",
                          wait, len(unwritten), _ids(unwritten))
        atexit.unregister(self.close)
        if thread is None or not thread.is_alive():  # else the writer still holds a connection: the exit closes it
            self.engine.dispose()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every record queued so far is written (or given up); False if `timeout` passed first. For tests
        and the CLI: the hook path never waits."""
        with self._lock:
            if not self._running:
                return True
            target = self._queued
        self._wake.set()
        with self._progress:
            return self._progress.wait_for(lambda: self._done >= target, timeout)

    def status(self) -> WriterStatus:
        """The writer's health, for /healthz and /metrics."""
        now = clock.monotonic()
        with self._lock:
            alive = self._running and self._thread is not None and self._thread.is_alive()
            lost = dict(self._lost)
        backlog = self._backlog()
        since, error = self._stalled_since, self._last_error
        return WriterStatus(
            alive=alive, schema_ready=self._schema != "pending", backlog=backlog,
            stalled_seconds=0.0 if since is None else now - since, last_error=error and error[0],
            last_error_age_seconds=None if error is None else now - error[1], lost=lost,
        )

    # --- invocations -------------------------------------------------------------------------------------------

    def record_invocation(self, record: InvocationRecord) -> None:
        """Queue `record` for the writer; without a running writer (not started, or closed) write it now."""
        if not self._enqueue(record) and self._write_batch([record]):
            self._lose([record], "unwritten", "database unavailable, no writer running")

    def _enqueue(self, record: InvocationRecord) -> bool:
        with self._lock:
            if not self._running:
                return False
            self._pending.add(record)
            self._queue.append(record)
            self._queued += 1
            dropped = self._overflow()
        self._dropped(dropped)
        return True

    def _overflow(self) -> list[InvocationRecord]:
        """The oldest records beyond the bound, taken off the queue (under _lock): memory is bounded, and the newest
        records are the ones still worth something to prior_approval and to an operator."""
        return [self._queue.popleft() for _ in range(len(self._queue) - self._max_queued)]

    def _dropped(self, records: list[InvocationRecord]) -> None:
        if records:
            self._finish(records)
            self._lose(records, "queue-full", f"audit queue full at {self._max_queued} records")

    def _lose(self, records: list[InvocationRecord], reason: str, why: str) -> None:
        log.error("audit records lost (%s): hookInstance %s", why, _ids(records))
        with self._lock:
            self._lost[reason] += len(records)

    def _write_loop(self) -> None:
        retry = 0.0  # the wait before the next attempt while the database is unavailable; 0 while it answers
        while True:
            self._wake.wait(retry or _WRITE_INTERVAL_SECONDS)
            self._wake.clear()
            # Read before counting the queue: once close has cleared _running, nothing more is appended.
            stopping = not self._running
            retry = 0.0 if self._write_queued() else min(max(2 * retry, _RETRY_FIRST_SECONDS), _RETRY_MAX_SECONDS)
            if stopping and not self._queue:  # else keep trying until close stops waiting and the process exits
                return

    def _write_queued(self) -> bool:
        """Write the records that had gathered when the writer woke, `_BATCH_MAX` a transaction, creating the schema
        first if start() could not. False when the database is unavailable: what is left stays queued, in order."""
        if not self._schema_ready():
            return False
        count = len(self._queue)
        while count > 0:
            batch = self._take(min(count, _BATCH_MAX))
            if not batch:  # the queue overflowed meanwhile
                break
            count -= len(batch)
            left = self._write_batch(batch)
            self._finish(batch[:len(batch) - len(left)])
            if left:
                self._requeue(left)
                return False
        return True

    def _schema_ready(self) -> bool:
        if self._schema != "pending":
            return True
        self._attempting()
        try:
            migrate(self.engine)
        except Exception as exc:  # whatever it is, the writer lives on, and /healthz reports it
            self._failed(exc)
            return False
        self._schema = "ready"
        self._answered()
        return True

    def _take(self, count: int) -> list[InvocationRecord]:
        with self._lock:
            return [self._queue.popleft() for _ in range(min(count, len(self._queue)))]

    def _requeue(self, records: list[InvocationRecord]) -> None:
        """Back at the head of the queue, oldest first; the queue may then be over its bound."""
        with self._lock:
            self._queue.extendleft(reversed(records))
            dropped = self._overflow()
        self._dropped(dropped)

    def _finish(self, records: list[InvocationRecord]) -> None:
        # Removed only after the commit: a reader that misses a record here finds it in the database.
        with self._lock:
            for record in records:
                self._pending.remove(record)
        with self._progress:
            self._done += len(records)
            self._progress.notify_all()

    def _write_batch(self, records: list[InvocationRecord]) -> list[InvocationRecord]:
        """Write `records` in one transaction. Returns those left unwritten because the database is unavailable, to
        be tried again; a record the database refuses for its content (a constraint, a value too long: a bug of
        ours) costs only itself, the batch being written again record by record."""
        self._attempting()
        try:
            with write_transaction(self.engine) as connection:
                _insert_records(connection, records)
        except Exception as exc:
            if is_unavailable(exc):
                self._failed(exc)
                return records
            if len(records) > 1:
                return self._write_each(records)
            self._refused(records[0], exc)
        self._answered()
        return []

    def _write_each(self, records: list[InvocationRecord]) -> list[InvocationRecord]:
        for index, record in enumerate(records):
            if self._write_batch([record]):
                return records[index:]
        return []

    def _refused(self, record: InvocationRecord, exc: Exception) -> None:
        if isinstance(exc, SQLAlchemyError):
            log.error("audit record refused by the database (%s), lost: hookInstance %s", error_summary(exc),
                      record.hook_instance)
        else:
            log.exception("audit record could not be written, lost: hookInstance %s", record.hook_instance)
        with self._lock:
            self._lost["refused"] += 1

    def _attempting(self) -> None:
        if self._stalled_since is None:
            self._stalled_since = clock.monotonic()

    def _answered(self) -> None:
        since, self._stalled_since = self._stalled_since, None
        if since is not None and self._last_error is not None and self._last_error[1] >= since:
            log.warning("audit database answers again after %.1f s of failures", clock.monotonic() - since)

    def _note_failure(self, exc: Exception) -> str:
        self._attempting()
        summary = error_summary(exc)
        self._last_error = (summary, clock.monotonic())
        return summary

    def _failed(self, exc: Exception) -> None:
        summary = self._note_failure(exc)
        if is_unavailable(exc):
            log.warning("audit database unavailable (%s): %d records wait", summary, self._backlog())
        else:  # not an outage (a migration this code cannot run?): kept trying, and /healthz says so
            log.error("audit database fault (%s): %d records wait", summary, self._backlog(), exc_info=exc)

    def _backlog(self) -> int:
        with self._lock:
            return len(self._pending)

    # --- used JWT ids ------------------------------------------------------------------------------------------

    def use_jti(self, jti: str, expires_at: datetime) -> bool:
        """Remember `jti` until `expires_at`; False if it was already used (by any worker on this database). Raises
        when the database cannot say (DatabaseUnavailable, OperationalError): the caller answers 503."""
        self._require_schema()
        self._purge_expired_jtis()
        try:
            with write_transaction(self.engine) as connection:
                connection.execute(insert(UsedJti).values(jti=jti, expires_at=_naive_utc(expires_at)))
        except IntegrityError:
            return False
        return True

    def _purge_expired_jtis(self) -> None:
        now = _utcnow()
        if now < self._next_jti_purge:
            return
        self._next_jti_purge = now + _JTI_PURGE_INTERVAL
        with write_transaction(self.engine) as connection:
            connection.execute(delete(UsedJti).where(UsedJti.expires_at < now))

    # --- prior approval ----------------------------------------------------------------------------------------

    def prior_approval(self, patient_id: str, client_iss: str | None, tenant: str | None, policy_id: str,
                       exclude_order_ids: tuple[str, ...], before: date) -> PriorApproval | None:
        """The latest initial approval (order-sign, meets-criteria, not a what-if call) under `policy_id` of another
        order of this patient, from the same client and tenant (patient ids are only unique within one EHR site),
        whose authorization began before `before` (this order's start: a replacement or duplicate of the order,
        signed for the same start, proves no earlier authorization). A renewal is not counted: it proves no
        initiation criteria, and counting it would let one continuation beget the next."""
        # Pending first, then the database: see _finish for why this order never misses a record.
        with self._lock:
            pending = self._pending.of_patient(patient_id)
        found = [approval for record in pending
                 for approval in _approvals(record, (client_iss, tenant), policy_id, exclude_order_ids, before)]
        if found:
            return max(found, key=lambda approval: approval.time)
        self._require_schema()
        parameters = {"patient_id": patient_id, "client": client_iss, "tenant": tenant, "policy": policy_id,
                      "exclude": list(exclude_order_ids)}
        with self.engine.connect() as connection:
            rows = connection.execute(_PRIOR_APPROVAL, parameters)
            row = next((r for r in rows if _began_before(r.authorization, before)), None)
        return None if row is None else PriorApproval(row.order_id, _aware(row.time), row.hook_instance,
                                                      row.coverage_assertion_id)

    # --- feedback ----------------------------------------------------------------------------------------------

    def record_feedback(self, service_id: str, entries: list[FeedbackEntry],
                        client_iss: str | None = None) -> list[FeedbackEntry]:
        """Store feedback items, flagging those whose card uuid was never issued. Returns them as stored."""
        known = self.issued({entry.card_uuid for entry in entries}, "card")
        received_at = _utcnow()
        for entry in entries:
            entry.card_known = entry.card_uuid in known
            entry.received_at = received_at.replace(tzinfo=timezone.utc)
            entry.client_iss = client_iss
        with write_transaction(self.engine) as connection, Session(connection) as session:
            session.add_all(_feedback_row(service_id, entry, received_at) for entry in entries)
            session.flush()  # inside the write transaction, which commits it
        return entries

    def issued(self, uuids: set[str], kind: str) -> set[str]:
        """Those of `uuids` handed out as a `kind` ("card" or "suggestion"), queued records included."""
        # Ours are UUIDs: anything else was never issued, and may not even encode as a parameter (a lone surrogate).
        uuids = {uuid for uuid in uuids if uuid.isascii()}
        self._require_schema()
        with self._lock:
            pending = self._pending.all()
        known = {uuid for record in pending for outcome in record.outcomes
                 for uuid in (outcome.card_uuids if kind == "card" else outcome.suggestion_uuids)} & uuids
        query = select(IssuedCard.uuid).where(IssuedCard.uuid.in_(uuids - known), IssuedCard.kind == kind)
        with self.engine.connect() as connection:
            return known | set(connection.execute(query).scalars())

    # --- queries for the command line --------------------------------------------------------------------------

    def recent(self, since: datetime | None = None, patient: str | None = None, decision: str | None = None,
               limit: int = 50) -> list[DecisionRow]:
        """The latest order decisions, newest first."""
        query = select(Invocation, OrderOutcomeRow).join(OrderOutcomeRow)
        if since is not None:
            query = query.where(Invocation.time >= _naive_utc(since))
        if patient is not None:
            query = query.where(Invocation.patient_id == patient)
        if decision is not None:
            query = query.where(OrderOutcomeRow.decision == decision)
        query = query.order_by(Invocation.time.desc(), OrderOutcomeRow.id.desc()).limit(limit)
        with Session(self.engine) as session:
            return [_decision_row(invocation, outcome) for invocation, outcome in session.execute(query)]

    def rejected(self, since: datetime | None = None, patient: str | None = None,
                 limit: int = 50) -> list[RejectedRow]:
        """The latest calls refused with a 4xx, newest first (401s included: their reason names the failed check)."""
        query = select(Invocation).where(Invocation.status.between(400, 499))
        if since is not None:
            query = query.where(Invocation.time >= _naive_utc(since))
        if patient is not None:
            query = query.where(Invocation.patient_id == patient)
        query = query.order_by(Invocation.time.desc(), Invocation.id.desc()).limit(limit)
        with Session(self.engine) as session:
            return [RejectedRow(_aware(row.time), row.hook, row.hook_instance, row.client_iss, row.patient_id,
                                row.status, row.reason) for row in session.scalars(query)]

    def show(self, key: str) -> list[InvocationDetail]:
        """The invocations with this hookInstance (an EHR may send one again) or whose decision carries this
        coverage-assertion-id (the id a claim refers to), newest first, with the feedback on their cards."""
        asserted = select(OrderOutcomeRow.invocation_id).where(OrderOutcomeRow.coverage_assertion_id == key)
        query = (
            select(Invocation)
            .where((Invocation.hook_instance == key) | Invocation.id.in_(asserted))
            .options(selectinload(Invocation.outcomes).selectinload(OrderOutcomeRow.cards))
            .order_by(Invocation.time.desc(), Invocation.id.desc())
        )
        with Session(self.engine) as session:
            records = [_invocation_record(invocation) for invocation in session.scalars(query)]
            return [InvocationDetail(record, self._feedback_on(session, record)) for record in records]

    @staticmethod
    def _feedback_on(session: Session, record: InvocationRecord) -> list[FeedbackEntry]:
        card_uuids = [uuid for outcome in record.outcomes for uuid in outcome.card_uuids]
        rows = session.scalars(select(Feedback).where(Feedback.card_uuid.in_(card_uuids)).order_by(Feedback.id))
        return [_feedback_entry(row) for row in rows]

    def ping(self, timeout: float = PING_SECONDS) -> bool:
        """Does the database answer within `timeout`? (for /healthz). While a probe hangs on a frozen server, later
        calls wait on it instead of starting more: a hung database costs one thread."""
        with self._probe_lock:
            if self._probe is None or self._probe.done():
                self._probe = _Probe(self.engine)
            probe = self._probe
        return probe.answered(timeout)

    def _require_schema(self) -> None:
        """The request path's reads and writes need the tables, which are not there until the database answers."""
        if self._schema == "pending":
            raise DatabaseUnavailable("audit schema not created yet")


# Stores of this process, restarted in a forked child (AuditStore._after_fork).
_STORES: weakref.WeakSet[AuditStore] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for store in list(_STORES):
        store._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


# Built once: a Florida Blue evaluation asks it on every call, and building the statement cost more than running it.
_PRIOR_APPROVAL_ROWS = 20  # the latest approvals of a patient: enough to pass over re-signed orders of one start
_PRIOR_APPROVAL = (
    select(OrderOutcomeRow.order_id, Invocation.time, Invocation.hook_instance, OrderOutcomeRow.coverage_assertion_id,
           OrderOutcomeRow.authorization)
    .join(Invocation)
    .where(
        Invocation.patient_id == bindparam("patient_id"),
        Invocation.client_iss.is_not_distinct_from(bindparam("client")),
        Invocation.tenant.is_not_distinct_from(bindparam("tenant")),
        Invocation.hook == ORDER_SIGN,
        OrderOutcomeRow.policy == bindparam("policy"),
        OrderOutcomeRow.decision == MEETS_CRITERIA,
        OrderOutcomeRow.request_type == INITIAL,
        OrderOutcomeRow.what_if.is_(False),
        OrderOutcomeRow.order_id.not_in(bindparam("exclude", expanding=True)),
    )
    .order_by(Invocation.time.desc())
    .limit(_PRIOR_APPROVAL_ROWS)
)


_LOGGED_IDS = 20


def _ids(records: list[InvocationRecord]) -> str:
    """The records' hookInstances for a log line: the first twenty, and how many more (a full queue is 20,000)."""
    shown = ", ".join(record.hook_instance for record in records[:_LOGGED_IDS])
    return shown + (f" (+{len(records) - _LOGGED_IDS} more)" if len(records) > _LOGGED_IDS else "")


def _began_before(authorization: Any, before: date) -> bool:
    start = authorization.get("start") if isinstance(authorization, dict) else None
    return isinstance(start, str) and start < before.isoformat()  # ISO dates compare as text


def _approvals(record: InvocationRecord, caller: tuple[str | None, str | None], policy_id: str,
               exclude: tuple[str, ...], before: date) -> list[PriorApproval]:
    """A queued record's outcomes that _PRIOR_APPROVAL would find once written (the patient is already matched)."""
    if (record.client_iss, record.tenant) != caller or record.hook != ORDER_SIGN:
        return []
    return [PriorApproval(o.order_id, record.time, record.hook_instance, o.coverage_assertion_id)
            for o in record.outcomes
            if o.policy == policy_id and o.decision == MEETS_CRITERIA and o.request_type == INITIAL
            and not o.what_if and o.order_id not in exclude and _began_before(o.authorization, before)]


# --- mapping between dataclasses and rows ----------------------------------------------------------------------

def _insert_records(connection: Connection, records: list[InvocationRecord]) -> None:
    """Three statements per batch (invocations, outcomes, issued cards) through SQLAlchemy Core: the ORM's unit of
    work cost several milliseconds of CPU per hook call, in the worker process that answers the EHR."""
    invocation_ids = connection.execute(
        insert(Invocation).returning(Invocation.id, sort_by_parameter_order=True),
        [_invocation_values(record) for record in records],
    ).scalars().all()
    outcomes = [(invocation_id, outcome) for invocation_id, record in zip(invocation_ids, records)
                for outcome in record.outcomes]
    if not outcomes:
        return
    outcome_ids = connection.execute(
        insert(OrderOutcomeRow).returning(OrderOutcomeRow.id, sort_by_parameter_order=True),
        [_outcome_values(invocation_id, outcome) for invocation_id, outcome in outcomes],
    ).scalars().all()
    cards = [{"outcome_id": outcome_id, "uuid": uuid, "kind": kind, "topic": outcome.card_topics.get(uuid)}
             for outcome_id, (_, outcome) in zip(outcome_ids, outcomes)
             for kind, uuids in (("card", outcome.card_uuids), ("suggestion", outcome.suggestion_uuids))
             for uuid in uuids]
    if cards:
        connection.execute(insert(IssuedCard), cards)


def _invocation_values(record: InvocationRecord) -> dict[str, Any]:
    return {
        "time": _naive_utc(record.time), "service_id": record.service_id, "hook": record.hook,
        "hook_instance": record.hook_instance, "client_iss": record.client_iss, "tenant": record.tenant,
        "patient_id": record.patient_id,
        "status": record.status, "latency_ms": record.latency_ms, "reason": record.reason,
    }


def _outcome_values(invocation_id: int, outcome: OrderOutcome) -> dict[str, Any]:
    return {
        "invocation_id": invocation_id, "order_id": outcome.order_id, "policy": outcome.policy,
        "policy_version": outcome.policy_version, "decision": outcome.decision, "indication": outcome.indication,
        "request_type": outcome.request_type, "cycle": outcome.cycle,
        "coverage_assertion_id": outcome.coverage_assertion_id, "what_if": outcome.what_if,
        # db.py serializes the JSON columns, values JSON cannot carry as text
        "criteria": outcome.criteria, "missing": outcome.missing, "authorization": outcome.authorization,
        "not_received": outcome.not_received,
        # The Coverage's id comes from prefetch, never validated: bounded to its column, and storable.
        "coverage_reference": storable(outcome.coverage_reference[:200]) if outcome.coverage_reference else None,
    }


def _invocation_record(row: Invocation) -> InvocationRecord:
    return InvocationRecord(
        time=_aware(row.time), service_id=row.service_id, hook=row.hook, hook_instance=row.hook_instance,
        client_iss=row.client_iss, patient_id=row.patient_id, status=row.status, latency_ms=row.latency_ms,
        outcomes=[_order_outcome(o) for o in row.outcomes], tenant=row.tenant, reason=row.reason,
    )


def _order_outcome(row: OrderOutcomeRow) -> OrderOutcome:
    return OrderOutcome(
        order_id=row.order_id, policy=row.policy, policy_version=row.policy_version, decision=row.decision,
        indication=row.indication, request_type=row.request_type, cycle=row.cycle,
        coverage_assertion_id=row.coverage_assertion_id, what_if=row.what_if, criteria=list(row.criteria),
        missing=list(row.missing or ()), authorization=row.authorization, not_received=list(row.not_received or ()),
        coverage_reference=row.coverage_reference,
        card_uuids=[card.uuid for card in row.cards if card.kind == "card"],
        card_topics={card.uuid: card.topic for card in row.cards if card.kind == "card" and card.topic},
        suggestion_uuids=[card.uuid for card in row.cards if card.kind == "suggestion"],
    )


def _decision_row(invocation: Invocation, outcome: OrderOutcomeRow) -> DecisionRow:
    return DecisionRow(
        time=_aware(invocation.time), hook=invocation.hook, hook_instance=invocation.hook_instance,
        patient_id=invocation.patient_id, order_id=outcome.order_id, policy=outcome.policy,
        policy_version=outcome.policy_version, decision=outcome.decision, indication=outcome.indication,
        what_if=outcome.what_if,
    )


def _feedback_row(service_id: str, entry: FeedbackEntry, received_at: datetime) -> Feedback:
    return Feedback(
        received_at=received_at, service_id=service_id, card_uuid=entry.card_uuid, card_known=entry.card_known,
        outcome=entry.outcome, outcome_timestamp=_naive_utc(entry.outcome_timestamp) if entry.outcome_timestamp else None,
        accepted_suggestions=list(entry.accepted_suggestions), override_system=entry.override_system,
        override_code=entry.override_code, override_display=entry.override_display,
        override_comment=entry.override_comment, client_iss=entry.client_iss,
    )


def _feedback_entry(row: Feedback) -> FeedbackEntry:
    return FeedbackEntry(
        card_uuid=row.card_uuid, outcome=row.outcome, accepted_suggestions=list(row.accepted_suggestions),
        override_system=row.override_system, override_code=row.override_code, override_display=row.override_display,
        override_comment=row.override_comment,
        outcome_timestamp=_aware(row.outcome_timestamp) if row.outcome_timestamp else None,
        card_known=row.card_known, received_at=_aware(row.received_at), client_iss=row.client_iss,
    )


# --- times: stored as naive UTC so SQLite and PostgreSQL compare them the same way -----------------------------

def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _naive_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken to be UTC already."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
