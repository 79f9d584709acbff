"""The audit trail's background writer (docs/audit.md §When the database is unavailable, §Stopping): invocation
records queued in memory, written in batches, kept through an outage, drained at exit, restarted in a forked child.

Hook responses must not wait for the database, so `record_invocation` only appends to a deque; one background thread
wakes every `_WRITE_INTERVAL_SECONDS` and writes what has gathered, in batches. Appending wakes nobody: a queue that
woke the writer for each record cost the request thread a lock hand-off and a GIL switch per call, and one
transaction per record cost about 0.65 ms of CPU against about 0.06 ms per record in batches of 20.

While the database is unavailable (down, locked, full, not answering, or not yet migrated because the worker booted
during an outage) records stay queued and the writer tries again with a growing wait, up to `MAX_QUEUED` records:
beyond it the oldest are dropped, logged and counted (`status().lost`). `status()` tells /healthz and /metrics how
the writer fares (audit_health.py); `database_problem()` asks the database for /healthz and /readyz. The writer also
creates or migrates the schema: at `start()`, or once the database answers if it did not then.

`close()` drains the deque: it runs at interpreter exit (atexit), which gunicorn workers reach on a graceful stop
(SIGTERM → worker exits through SystemExit), and the app may also call it from gunicorn's `worker_exit` hook.
A forked child (gunicorn --preload) starts a writer of its own. Records still queued are visible to `prior_approval`
and the feedback join (audit_queries.py reads them through `pending_of_patient` and `pending_records`), so a second
order signed right after the first sees the first one's approval.
"""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time as clock
import weakref
from collections import Counter, deque
from datetime import datetime
from typing import Callable

from sqlalchemy import Connection, Engine, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from cds_service.audit_health import PING_SECONDS, DatabasePing, OutageLog, WriterStatus, error_kind
from cds_service.audit_rows import InvocationRecord, insert_records, naive_utc, utcnow
from cds_service.audit_words import counted
from cds_service.config_constants import AUDIT_DRAIN_SECONDS
from cds_service.db import printable_url
from cds_service.db_errors import DatabaseUnavailable, error_summary, is_unavailable
from cds_service.db_schema import migrate
from cds_service.db_writes import write_transaction
from cds_service.db_models import UsedJti
from cds_service.log_format import without_message

log = logging.getLogger(__name__)

_BATCH_MAX = 200
_WRITE_INTERVAL_SECONDS = 0.1
_RETRY_FIRST_SECONDS, _RETRY_MAX_SECONDS = 0.2, 5.0  # waits between attempts while the database is unavailable
# About 5 KB a record in memory (a decision's criteria and notes): at most ~100 MB per worker, some 20 minutes of
# a worker's records at 15 calls/s, before the oldest go.
MAX_QUEUED = 20_000
DRAIN_SECONDS = AUDIT_DRAIN_SECONDS  # close() at exit waits this long at most: below gunicorn's graceful_timeout
_UNDER_WAY_WAIT_MS = 100  # a JWT id's release waits this long a round for the refused call's transaction (_release)
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout


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


class AuditWriter:
    """The background writer of invocation records, the index of those still queued, and the schema's state."""

    def __init__(self, engine: Engine, max_queued: int = MAX_QUEUED) -> None:
        self.engine = engine
        self._max_queued = max_queued
        self._schema = "unchecked"  # "ready" once migrated; "pending" while the database could not be reached
        self._report: Callable[[WriterStatus], None] | None = None  # report_status
        self._report_failed = False
        self._reset()
        _WRITERS.add(self)

    def _reset(self) -> None:
        """The writer's state, fresh: at creation, and in a forked child (_after_fork)."""
        self._queue: deque[InvocationRecord] = deque()  # appended by request threads, taken by the writer
        # JWT ids to release (release_jti): (jti, attempt, expiry); a release given up leaves a token refused, no more.
        self._releases: deque[tuple[str, str, datetime]] = deque()
        self._released = [0, 0]  # releases asked for, and done or given up (flush waits for them)
        self._pending = _Pending()  # queued or being written
        self._lock = threading.Lock()  # guards _queue, _releases, _pending, _running, _queued, _lost, enqueue/stop
        self._wake = threading.Event()  # set by flush and close: write now
        self._progress = threading.Condition()  # notified as records are done (guards _done)
        self._queued = 0  # records ever queued
        self._done = 0  # records ever taken off the queue: written, refused by the database, or dropped
        self._lost: Counter[str] = Counter()  # records given up, by why
        self._running = False
        self._thread: threading.Thread | None = None
        self._stalled_since: float | None = None  # when the unfinished write attempt, or series of failed ones, began
        # The latest failure's kind (error_kind), cause (error_summary) and time.
        self._last_error: tuple[str, str, float] | None = None
        self._outage = OutageLog()
        self._ping = DatabasePing(self.engine)  # its lock may have been held at the fork too

    def start(self) -> None:
        """Create or migrate the schema, then start the background writer. A database unavailable now leaves the
        migration to the writer, once the database answers: a gunicorn worker that fails to boot takes the whole
        server down with it. Starting a running writer does nothing."""
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
            self._schema = "pending"  # /readyz answers 503 until the writer has created it
            # Which database, said once at start: the cause (a password refused, no such database) is the operator's
            # to fix there. Without the URL's query, which holds our timeouts (and a password, printable_url hides).
            where = printable_url(self.engine.url.set(query={}))
            self._failed(f"creating or migrating the audit schema of {where} at start", exc)
            return
        self._schema = "ready"

    def _after_fork(self) -> None:
        """In a forked child (gunicorn --preload forks its workers from a master that created the app): the parent's
        writer thread did not come along, its locks may have been held at the fork, and its queue is the parent's
        to write. The child runs a writer of its own, and leaves the parent's pooled connections to the parent."""
        was_running = self._running
        self._reset()
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
            backlog = self._backlog()
            if backlog:
                log.info("writing %s of pid %d before stopping (at most %.1f s)",
                         counted(backlog, "queued audit record"), os.getpid(), wait)
            self._wake.set()
            thread.join(wait)
            if thread.is_alive():
                with self._lock:
                    unwritten = self._pending.all()
                    self._lost["unwritten"] += len(unwritten)
                    releases = len(self._releases)
                log.error("audit writer of pid %d did not finish within %.1f s: %s unwritten, lost: %s",
                          os.getpid(), wait, counted(len(unwritten), "record"), _ids(unwritten))
                if releases:
                    log.error("%s of calls refused not released by pid %d: a retry with the same token is refused "
                              "as a replay", counted(releases, "JWT id"), os.getpid())
                self._publish()  # counted in /metrics after the worker is gone: its writer, stuck, publishes no more
        atexit.unregister(self.close)
        if thread is None or not thread.is_alive():  # else the writer still holds a connection: the exit closes it
            self.engine.dispose()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every record queued so far is written (or given up); False if `timeout` passed first. For tests
        and the CLI: the hook path never waits."""
        with self._lock:
            if not self._running:
                return True
            target, releases = self._queued, self._released[0]
        self._wake.set()
        with self._progress:
            return self._progress.wait_for(lambda: self._done >= target and self._released[1] >= releases, timeout)

    def report_status(self, report: Callable[[WriterStatus], None]) -> None:
        """Have the writer hand its status to `report` each time it wakes (every 0.1 s; through an outage, at each
        attempt): the metrics of gunicorn's other workers read it from there (metrics.Metrics.publish_audit)."""
        self._report = report

    def _publish(self) -> None:
        if self._report is None:
            return
        try:
            self._report(self.status())
        except Exception:  # the audit trail matters more than its metrics (a full metrics folder): said once
            if not self._report_failed:
                self._report_failed = True
                log.exception("the audit writer's status could not be published to the metrics; records are written "
                              "as before")

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
            last_error_age_seconds=None if error is None else now - error[2], lost=lost,
            stalled_cause=error[1] if error and since is not None and error[2] >= since else None,
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
        log.error("audit records lost in pid %d (%s): %s, %s", os.getpid(), why, counted(len(records), "record"),
                  _ids(records))
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
            self._publish()
            if stopping and not self._queue and not self._releases:  # else keep trying until close stops waiting
                return

    def _write_queued(self) -> bool:
        """Write the records that had gathered when the writer woke, `_BATCH_MAX` a transaction, creating the schema
        first if start() could not. False when the database is unavailable: what is left stays queued, in order."""
        if not self._schema_ready() or not self._release_jtis():
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
            self._failed("creating or migrating the audit schema", exc)
            return False
        self._schema = "ready"
        self._answered()
        return True

    def release_jti(self, jti: str, attempt: str, expires_at: datetime) -> None:
        """Forget `jti` if the request `attempt` stored it (audit_queries.use_jti: its COMMIT went unanswered, and the
        call was refused), `expires_at` as it was to be kept. Done by the writer, through an outage as records are; a
        row another request stored stays: the retry that stored it was accepted, and a third call with it is a
        replay."""
        with self._lock:
            if len(self._releases) >= MAX_QUEUED:  # bounded as the records are
                log.error("a JWT id of a call refused stays used (%d releases wait already in pid %d): a retry with "
                          "the same token is refused as a replay", MAX_QUEUED, os.getpid())
                return
            self._releases.append((jti, attempt, naive_utc(expires_at)))
            self._released[0] += 1

    def release_pending(self, jti: str) -> str | None:
        """The attempt whose release of `jti` is asked for and not written yet, if any (audit_queries.use_jti: the
        retry of the refused call, come first, does it itself)."""
        with self._lock:
            return next((attempt for queued, attempt, _ in self._releases if queued == jti), None)

    def _release_jtis(self) -> bool:
        """The releases asked for, in one transaction; False when the database is unavailable (they wait). One whose
        refused call's transaction is still open waits for the next round, until its token has expired. Each stays
        queued until done, for release_pending."""
        with self._lock:
            releases = list(self._releases)
        if not releases:
            return True
        self._attempting()
        now, under_way = utcnow(), []
        try:
            with write_transaction(self.engine) as connection:
                under_way = [release for release in releases if not _release(connection, *release)]
        except Exception as exc:
            if is_unavailable(exc):
                self._failed(f"releasing {counted(len(releases), 'JWT id')} of calls refused", exc)
                return False
            log.error("%s of calls refused stay used (%s): a retry with the same token is refused as a replay",
                      counted(len(releases), "JWT id"),
                      error_summary(exc) if isinstance(exc, SQLAlchemyError) else "error")
        waiting = [release for release in under_way if release[2] > now]  # an expired token is refused anyway
        with self._lock:
            for _ in releases:
                self._releases.popleft()
            self._releases.extendleft(reversed(waiting))
        self._answered()
        with self._progress:
            self._released[1] += len(releases) - len(waiting)
            self._progress.notify_all()
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
                insert_records(connection, records)
        except Exception as exc:
            if is_unavailable(exc):
                self._failed(f"writing {counted(len(records), 'audit record')}", exc)
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
            log.error("audit record refused by the database (%s), lost: %s", error_summary(exc), _ids([record]))
        else:
            log.error("audit record could not be written, lost: %s", _ids([record]), exc_info=without_message(exc))
        with self._lock:
            self._lost["refused"] += 1

    def _attempting(self) -> None:
        if self._stalled_since is None:
            self._stalled_since = clock.monotonic()

    def _answered(self) -> None:
        self._stalled_since = None
        self._outage.answered()

    def _failed(self, operation: str, exc: Exception) -> None:
        """An attempt failed: kept for /healthz, and logged (OutageLog: the first at ERROR, then summaries)."""
        self._attempting()
        self._last_error = (error_kind(exc), error_summary(exc), clock.monotonic())
        self._outage.failed(operation, exc, self._backlog())

    def _backlog(self) -> int:
        with self._lock:
            return len(self._pending)

    # --- for the queries and /healthz: queued records, the schema, the database --------------------------------

    def pending_of_patient(self, patient_id: str) -> list[InvocationRecord]:
        """This patient's records queued or being written."""
        with self._lock:
            return self._pending.of_patient(patient_id)

    def pending_records(self) -> list[InvocationRecord]:
        """Every record queued or being written."""
        with self._lock:
            return self._pending.all()

    def require_schema(self) -> None:
        """The request path's reads and writes need the tables, which are not there until the database answers."""
        if self._schema == "pending":
            raise DatabaseUnavailable("audit schema not created yet")

    def database_problem(self, timeout: float = PING_SECONDS) -> str | None:
        """Why the database did not answer the ping (db.ping) within `timeout`, or takes no writes; None when it
        answered (for /healthz, /readyz)."""
        return self._ping.problem(timeout)


# Writers of this process, restarted in a forked child (AuditWriter._after_fork).
_WRITERS: weakref.WeakSet[AuditWriter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for writer in list(_WRITERS):
        writer._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


_LOGGED_IDS = 20


def _release(connection: Connection, jti: str, attempt: str, expires_at: datetime) -> bool:
    """Delete `jti`'s row if `attempt` stored it; False while the refused call's transaction is still open on
    PostgreSQL, its COMMIT under way (the server waiting for a synchronous standby) or never to come (the server not
    yet aware that the connection is gone): its row, which the DELETE does not see, may yet be committed. An INSERT of
    the same jti waits for that transaction, `_UNDER_WAY_WAIT_MS` a round, so that one left open holds up no records;
    what the INSERT stores itself (the COMMIT never came) is the attempt's, and goes with the DELETE. SQLite's write
    lock already waits for the transaction."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {_UNDER_WAY_WAIT_MS}")
        try:
            with connection.begin_nested():
                connection.execute(pg_insert(UsedJti).values(jti=jti, expires_at=expires_at, attempt=attempt)
                                   .on_conflict_do_nothing(index_elements=[UsedJti.jti]))
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                raise
            return False
    connection.execute(delete(UsedJti).where(UsedJti.jti == jti, UsedJti.attempt == attempt))
    return True


def _ids(records: list[InvocationRecord]) -> str:
    """The records' hookInstances for a log line: the first twenty, how many more (a full queue is 20,000), and how
    many have none (a call refused before its body was read: a 401, or a 503 with a body that could not be read)."""
    known = [record.hook_instance for record in records if record.hook_instance]
    parts = []
    if known:
        more = f" (+{len(known) - _LOGGED_IDS} more)" if len(known) > _LOGGED_IDS else ""
        parts.append(f"hookInstance {', '.join(known[:_LOGGED_IDS])}{more}")
    if len(known) < len(records):
        parts.append(f"{len(records) - len(known)} without a hookInstance")
    return "; ".join(parts)
