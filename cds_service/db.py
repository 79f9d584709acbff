"""SQLAlchemy engine from a URL, for SQLite (db_sqlite.py) or PostgreSQL (db_postgres.py, through psycopg 3), and
what the request path and the health checks ask of a database: a deadline for its waits, a ping.

Every wait on the database is bounded (docs/audit.md §Timeouts): a request or the audit writer waiting on a server
that does not answer would be killed with the worker by gunicorn's timeout, and the worker's queued audit records
with it. PostgreSQL's timeouts are db_postgres.py's, and a request's waits end at its `deadline`; SQLite waits for a
lock at most `db_sqlite._SQLITE_BUSY_TIMEOUT_MS`.

The errors (db_errors.py), the migrations (db_schema.py) and the writes (db_writes.py) are modules of their own.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL

from cds_service import db_sqlite, json_codec
from cds_service.db_errors import READ_ONLY, note_connection_in_use


# The request path's waits on PostgreSQL end at a deadline (`deadline`): the deadline and its length, or None.
_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("cds_database_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Waits on PostgreSQL in this thread (and context) end `seconds` from now, inside the block (db_postgres): the
    request path's (the jti check, the prior approval, feedback), so that a frozen server gets the call a 503, not a
    worker killed by gunicorn's timeout. The audit writer and the health checks' ping, in threads of their own, set
    none. A deadline set inside another ends no later than the outer one."""
    outer = _DEADLINE.get()
    ends = time.monotonic() + seconds
    token = _DEADLINE.set(outer if outer is not None and outer[0] <= ends else (ends, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def current_deadline() -> tuple[float, float] | None:
    """The deadline (time.monotonic) of this thread's waits on PostgreSQL and its length in seconds, if one is set."""
    return _DEADLINE.get()



def driver_url(url: URL) -> URL:
    """The URL with the driver this service uses: plain postgresql:// (or postgres://) URLs are routed to psycopg 3."""
    return url.set(drivername="postgresql+psycopg") if url.drivername in ("postgresql", "postgres") else url


def create_db_engine(database_url: str) -> Engine:
    """An engine for `database_url` (`driver_url`). Statement parameters are kept out of error messages
    (`hide_parameters`): they hold patient ids and criteria notes, and errors are logged."""
    url = driver_url(make_url(database_url))
    if url.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url)
    elif url.get_backend_name() == "postgresql":
        engine = _postgres_engine(url)
    else:
        engine = create_engine(url, pool_pre_ping=True, json_serializer=_json_text, hide_parameters=True)
    event.listen(engine, "handle_error", note_connection_in_use)
    return engine


# A password holding "@" or "@.../": the URL is cut at its first "@", the rest of the password taken for the host or
# the database, and printed as such in every log line naming the database (or, "@...:", for a port).
UNENCODED_AT = "the database URL holds an '@' after its user and password: write an '@' of the password or user " \
    "percent-encoded, as %40"


def option_problem(url: URL) -> str | None:
    """Why the driver would refuse the URL (`driver_url`) or its options when connecting, found without connecting
    (db_postgres.option_problem); None when none is found, or for a database other than PostgreSQL."""
    if url.get_backend_name() != "postgresql":
        return None
    if "@" in (url.host or "") or "@" in (url.database or ""):
        return UNENCODED_AT
    from cds_service import db_postgres  # psycopg: installed with the postgres extra only

    return db_postgres.option_problem(url)


def _postgres_engine(url: URL) -> Engine:
    from cds_service import db_postgres  # psycopg: installed with the postgres extra only

    engine = create_engine(db_postgres.with_client_settings(url), pool_pre_ping=True, json_serializer=_json_text,
                           hide_parameters=True)
    event.listen(engine, "do_connect", db_postgres.connect)
    return engine


def _sqlite_engine(url: URL) -> Engine:
    db_sqlite.create_file(url)
    engine = create_engine(url, json_serializer=_json_text, hide_parameters=True)
    event.listen(engine, "connect", db_sqlite.pragmas)
    return engine


def _json_text(value: Any) -> str:
    """JSON columns (the criteria of a decision): text for what JSON cannot carry (a stray date or Decimal in a
    criterion must not fail the batch of audit records it is in), "?" for what a database refuses."""
    return json_codec.storable_json(value)



def ping(connection: Connection) -> str | None:
    """The health checks' question: None when the database answers and takes writes, READ_ONLY when PostgreSQL's
    sessions are read-only (a standby after a failover answers every read). An SQLite file that cannot be written
    answers reads alike: the audit writes find it (audit_health.WriterStatus)."""
    if connection.dialect.name != "postgresql":
        connection.execute(text("SELECT 1"))
        return None
    if connection.exec_driver_sql("SHOW transaction_read_only").scalar() != "on":
        return None
    connection.invalidate()  # the next ping asks a new session: this one stays read-only (write_transaction)
    return READ_ONLY



# libpq's connection parameters that hold a secret: they may stand in a URL's query, where SQLAlchemy prints them.
_SECRET_PARAMETERS = ("password", "sslpassword")


def printable_url(url: URL) -> str:
    """A database URL to show an operator (a log line, the CLI): the password hidden as SQLAlchemy hides it
    (`***`), and so is one given as a query parameter (`?password=...`, which libpq takes), which SQLAlchemy prints."""
    hidden = {key: "***" if key.lower() in _SECRET_PARAMETERS else value for key, value in url.query.items()}
    return url.set(query=hidden).render_as_string(hide_password=True).replace("%2A%2A%2A", "***")
