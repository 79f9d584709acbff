"""The decision audit trail (docs/audit.md): every hook invocation, its per-order outcomes, feedback, used JWT ids.

`AuditStore` is what the app, the CLI and the tests use: one database, and the parts that do the work:

- audit_writer.py: the background writer of invocation records (queued, batched, kept through an outage, drained
  at exit, restarted in a forked child) and the schema's creation;
- audit_health.py: the writer's status and the database ping, for /healthz and /metrics, and its outage log;
- audit_queries.py: prior approval, used JWT ids, feedback, and the listings of `cds-service audit`;
- audit_rows.py: the records (`InvocationRecord`, `FeedbackEntry`) and their mapping to the tables.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Callable, Iterator

from sqlalchemy import Engine

from cds_service.audit_health import PING_SECONDS, WriterStatus
from cds_service.audit_queries import (AuditQueries, DecisionRow, FeedbackReceipt, FeedbackRow, InvocationDetail,
                                       RejectedRow, Selection)
from cds_service.audit_rows import FeedbackEntry, InvocationRecord, with_masked_ids
from cds_service.audit_writer import MAX_QUEUED, AuditWriter
from cds_service.db import create_db_engine, deadline
from cds_service.evaluation import PriorApproval


# How long a request waits on the database for one of its reads or writes (on PostgreSQL: db.deadline), pooled
# connection's ping and commit included: a frozen server gets the call its 503 (or, for the prior approval, a
# criterion unknown) within seconds, not a worker killed at gunicorn's timeout (30 s). The server's own statement
# timeout, which a frozen server cannot enforce.
REQUEST_WAIT_SECONDS = 5.0


class AuditStore:
    """The audit database: a background writer for invocations, synchronous jti and feedback writes, queries."""

    def __init__(self, database_url: str, max_queued: int = MAX_QUEUED) -> None:
        self.engine: Engine = create_db_engine(database_url)
        self._writer = AuditWriter(self.engine, max_queued)
        self._queries = AuditQueries(self.engine, self._writer)

    # --- the writer (audit_writer.py) --------------------------------------------------------------------------

    def start(self) -> None:
        """Create or migrate the schema (later, if the database is unavailable now), then start the writer."""
        self._writer.start()

    def close(self, timeout: float | None = None) -> None:
        """Write everything still queued, waiting at most `timeout`, stop the writer and release connections."""
        self._writer.close(timeout)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every record queued so far is written (or given up); False if `timeout` passed first."""
        return self._writer.flush(timeout)

    def record_invocation(self, record: InvocationRecord) -> None:
        """Queue `record` for the writer; without a running writer (not started, or closed) write it now. A JWT sent
        as its hookInstance or request id is kept as a marker (audit_rows.masked_id), also by the queue, which prior
        approvals quote."""
        self._writer.record_invocation(with_masked_ids(record))

    def report_status(self, report: Callable[[WriterStatus], None]) -> None:
        """Have the writer hand its status to `report` as it runs (every 0.1 s), for metrics other processes read."""
        self._writer.report_status(report)

    def status(self) -> WriterStatus:
        """The writer's health, for /healthz and /metrics."""
        return self._writer.status()

    def database_problem(self, timeout: float = PING_SECONDS) -> str | None:
        """Why the database did not answer the ping (db.ping) within `timeout`, or takes no writes; None when it
        answered (for /healthz, /readyz)."""
        return self._writer.database_problem(timeout)

    # --- the request path's reads and writes (audit_queries.py), each bounded by REQUEST_WAIT_SECONDS ----------

    def use_jti(self, jti: str, expires_at: datetime, attempt: str | None = None) -> bool:
        """Remember `jti` until `expires_at`, stored by the request `attempt` (a random id); False if it was already
        used. Raises when the database cannot say."""
        with deadline(REQUEST_WAIT_SECONDS):
            return self._queries.use_jti(jti, expires_at, attempt)

    def release_jti(self, jti: str, attempt: str, expires_at: datetime) -> None:
        """Forget `jti` if the request `attempt` stored it: that call was refused with 503 after its replay check
        (feedback not stored), and a jti is used by a call accepted with it. Written by the writer, as records are."""
        self._writer.release_jti(jti, attempt, expires_at)

    def prior_approval(self, patient_id: str, client_iss: str | None, tenant: str | None, policy_id: str,
                       exclude_order_ids: tuple[str, ...], before: date) -> tuple[PriorApproval, ...]:
        """The approvals under `policy_id` of other orders of this patient, from this client, newest first."""
        with deadline(REQUEST_WAIT_SECONDS):
            return self._queries.prior_approval(patient_id, client_iss, tenant, policy_id, exclude_order_ids, before)

    def record_feedback(self, service_id: str, entries: list[FeedbackEntry], client_iss: str | None = None,
                        tenant: str | None = None) -> FeedbackReceipt:
        """Store feedback items as received from `client_iss` and `tenant`; the card and suggestion uuids they name
        not issued so far to that sender."""
        with deadline(REQUEST_WAIT_SECONDS):
            return self._queries.record_feedback(service_id, entries, client_iss, tenant)

    # --- the listings of `cds-service audit` (audit_queries.py) -------------------------------------------------

    def recent(self, selection: Selection = Selection(), limit: int = 50) -> list[DecisionRow]:
        """The latest order decisions of `selection`, newest first."""
        return self._queries.recent(selection, limit)

    def feedback(self, selection: Selection = Selection(), limit: int = 50) -> list[FeedbackRow]:
        """The latest feedback items received, newest first, each with the decision its card was about."""
        return self._queries.feedback(selection, limit)

    def rejected(self, selection: Selection = Selection(), limit: int = 50) -> list[RejectedRow]:
        """The latest calls of `selection` refused with an error status (4xx or 5xx), newest first."""
        return self._queries.rejected(selection, limit)

    def export(self, selection: Selection) -> Iterator[InvocationDetail]:
        """Every decision selected, oldest first, each with its call, its criteria and the feedback on its cards."""
        return self._queries.export(selection)

    def prune(self, before: datetime, dry_run: bool = False) -> dict[str, int]:
        """Delete the calls before `before` with their outcomes and cards, and older feedback; rows deleted by table
        (with `dry_run`, the rows that would be)."""
        return self._queries.prune(before, dry_run)

    def show(self, key: str, limit: int | None = None) -> list[InvocationDetail]:
        """The invocations with this hookInstance or coverage-assertion-id, newest first (at most `limit`), with their
        feedback."""
        return self._queries.show(key, limit)

    def show_counted(self, key: str, limit: int) -> tuple[list[InvocationDetail], int]:
        """`show(key, limit)`, and how many invocations `show(key)` finds (counted only when `limit` are found)."""
        return self._queries.show_counted(key, limit)
