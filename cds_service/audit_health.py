"""What /healthz, /readyz, /metrics and the log are told about the audit trail (docs/audit.md §Health): the background
writer's status and the problems it makes for an operator, what it logs through a database outage, and a ping of the
database that stops waiting at its deadline."""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cds_service.audit_words import counted
from cds_service.db import ping, printable_url
from cds_service.db_errors import error_summary, is_unavailable
from cds_service.log_format import without_message

log = logging.getLogger(__name__)

# Why records were given up: the queue was full, the database refused the record itself, or the database was
# unavailable with no writer running (after close) to keep the record.
LOSS_REASONS = ("queue-full", "refused", "unwritten")
STALLED_SECONDS = 10.0  # writes failing (or one hanging) this long: /readyz answers 503
OUTAGE_REPORT_SECONDS = 60.0  # through an outage, the failed attempts are reported at most this often
PING_SECONDS = 2.0  # /readyz
LIVENESS_PING_SECONDS = 0.5  # /healthz: answered within a liveness probe's 1 s default


@dataclass(frozen=True)
class WriterStatus:
    """How the background writer fares (AuditStore.status)."""

    alive: bool  # the writer thread runs
    schema_ready: bool  # False while the database has been unavailable since start (nothing created or migrated)
    backlog: int  # records queued or being written
    stalled_seconds: float  # how long the write now under way, or the failures since the last success, have lasted
    last_error: str | None  # the latest failure's kind, "unavailable" or "fault" (error_kind)
    last_error_age_seconds: float | None
    lost: dict[str, int]  # records given up since start, by LOSS_REASONS
    # Why the writes have been failing since the last success (db_errors.error_summary: classes, codes and the cause in
    # the service's words, never the message, the server's name or a password); None while they succeed, or one hangs.
    stalled_cause: str | None = None

    def problems(self) -> list[str]:
        """What makes the audit trail unhealthy, for an operator: empty when records are being written."""
        found = [] if self.alive else ["audit writer not running"]
        if not self.schema_ready:
            found.append(f"audit schema not created yet: {self.stalled_cause or 'the database has not answered'}")
        if self.stalled_seconds > STALLED_SECONDS:
            cause = f": {self.stalled_cause}" if self.stalled_cause else ""
            found.append(f"audit writes failing or hanging for {self.stalled_seconds:.0f} s{cause}")
        return found

    def as_dict(self) -> dict[str, Any]:
        age = self.last_error_age_seconds
        return {**asdict(self), "stalled_seconds": round(self.stalled_seconds, 1),
                "last_error_age_seconds": None if age is None else round(age, 1)}


class OutageLog:
    """What the writer logs while the database fails it: the first failure at ERROR, then at most one WARNING every
    OUTAGE_REPORT_SECONDS with how many attempts failed since the last, and an INFO when it answers again. Each
    attempt is logged at DEBUG. A WARNING for every retry (every 5 s, in every worker) buried the log and said no more
    than the first. Each line says what failed, by the classes and codes of error_summary (no message, no secret), and
    the process whose memory holds the records: each gunicorn worker queues its own."""

    def __init__(self) -> None:
        self._began: float | None = None  # the first failure since the database last answered
        self._reported_at = 0.0
        self._unreported = 0  # failed attempts since the last ERROR or WARNING
        self._attempts = 0  # failed attempts since the first

    def failed(self, operation: str, exc: Exception, backlog: int) -> None:
        """An attempt at `operation` ("writing 12 audit records") failed with `exc`; `backlog` records wait."""
        now = time.monotonic()
        waiting = f"{counted(backlog, 'record')} {'waits' if backlog == 1 else 'wait'}"
        what = f"{operation} failed ({error_summary(exc)}); {waiting} in the memory of pid {os.getpid()}"
        self._attempts += 1
        log.debug("audit database attempt %d: %s", self._attempts, what)
        # A fault that is not an outage (a migration this code cannot run?) is kept trying too, with its traceback.
        kind = error_kind(exc)
        trace = without_message(exc) if kind == "fault" else None  # a statement's parameters are the record's
        if self._began is None:
            self._began, self._reported_at, self._unreported = now, now, 0
            log.error("audit database %s: %s, retried until it answers", kind, what, exc_info=trace)
            return
        self._unreported += 1
        if now - self._reported_at >= OUTAGE_REPORT_SECONDS:
            log.warning("audit database still %s after %.0f s: %s failed, the last %s", kind,
                        now - self._began, counted(self._unreported, "more attempt"), what)
            self._reported_at, self._unreported = now, 0

    def answered(self) -> None:
        """The database took a write (or the migration): said once, if it had failed."""
        if self._began is None:
            return
        log.info("audit database answers again after %.1f s and %s of pid %d",
                 time.monotonic() - self._began, counted(self._attempts, "failed attempt"), os.getpid())
        self._began, self._attempts = None, 0


def error_kind(exc: Exception) -> str:
    """A database failure as /healthz and /readyz may say it: "unavailable" (an outage, a refusal to connect) or
    "fault"; its cause is WriterStatus.stalled_cause."""
    return "unavailable" if is_unavailable(exc) else "fault"


class _Probe:
    """The ping (db.ping: `SELECT 1`, on PostgreSQL whether it takes writes) in a thread of its own, so /healthz and
    /readyz stop waiting at their deadline: a frozen server (its processes stopped, its connections still accepted by
    the kernel) holds a pooled connection for ever, statement timeouts being the server's to enforce."""

    def __init__(self, engine: Engine) -> None:
        # A problem until the answer came: a probe ended by anything but the ping's answer must not read as healthy.
        self._error: str | None = "the ping ended without an answer"
        self._thread = threading.Thread(target=self._run, args=(engine,), name="audit-ping", daemon=True)
        self._thread.start()

    def _run(self, engine: Engine) -> None:
        try:
            with engine.connect() as connection:
                self._error = ping(connection)
        except SQLAlchemyError as exc:
            self._error = error_summary(exc)  # what an operator reads: a password refused, not "down"
        except Exception as exc:  # a driver's own error (an OSError from a connection factory): still not ready
            self._error = type(exc).__name__

    def done(self) -> bool:
        return not self._thread.is_alive()

    def problem(self, timeout: float) -> str | None:
        self._thread.join(timeout)
        return self._error if self.done() else NO_ANSWER


# The cause of a ping still waiting at its caller's deadline. Without the deadline, which is /healthz's 0.5 s or
# /readyz's 2 s: a frozen server asked by both would otherwise read as a cause changing at every probe (PingLog).
NO_ANSWER = "no answer to the health check's ping before its deadline"


class PingLog:
    """What the log is told of the health checks' pings, with the database's URL (its password hidden), which
    /healthz and /readyz do not say: the first failure, and a cause that changes, at WARNING; the same cause again at
    most once every OUTAGE_REPORT_SECONDS, with how many pings failed since; an INFO when the database answers
    again. Each names the process that asked: every gunicorn worker pings, and logs, on its own."""

    def __init__(self, where: str) -> None:
        self._where = where
        self._cause: str | None = None  # the last failure's cause, None while the database answers
        self._reported_at = 0.0
        self._unreported = 0  # failed pings since the last WARNING

    def seen(self, cause: str | None) -> None:
        """A ping ended (or its caller stopped waiting) with `cause`, None when the database answered."""
        now = time.monotonic()
        if cause is None:
            if self._cause is not None:
                log.info("audit database %s answers the health checks of pid %d again", self._where, os.getpid())
            self._cause = None
            return
        if cause != self._cause or now - self._reported_at >= OUTAGE_REPORT_SECONDS:
            again = f" ({self._unreported} more pings failed)" if cause == self._cause and self._unreported else ""
            log.warning("audit database %s not ready for pid %d: %s%s", self._where, os.getpid(), cause, again)
            self._cause, self._reported_at, self._unreported = cause, now, 0
            return
        self._unreported += 1


class DatabasePing:
    """The ping /healthz and /readyz ask (AuditStore.database_problem), one probe at a time. The writer holds it, so
    that a forked child gets one of its own, its lock free."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._probe: _Probe | None = None
        # Without the URL's query, which holds our timeouts (and a password, printable_url hides).
        self._log = PingLog(printable_url(engine.url.set(query={})))

    def problem(self, timeout: float = PING_SECONDS) -> str | None:
        """Why the database did not answer within `timeout` (classes, codes and cause: db_errors.error_summary, or
        NO_ANSWER), or db_errors.READ_ONLY; None when it answered; logged (PingLog). While a probe hangs on a frozen
        server, later calls wait on it instead of starting more: a hung database costs one thread."""
        with self._lock:
            if self._probe is None or self._probe.done():
                self._probe = _Probe(self._engine)
            probe = self._probe
        cause = probe.problem(timeout)
        with self._lock:
            self._log.seen(cause)
        return cause
