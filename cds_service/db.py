"""SQLAlchemy engine from a URL, and the schema migrations run on start.

SQLite (the default: a file under the data directory, see `config.Settings.database_url`) runs in WAL mode so the
background audit writer and the request threads of several gunicorn workers can read while one writes. PostgreSQL
is reached through psycopg 3.
"""
from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from cds_service import json_codec

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Key of the PostgreSQL advisory lock held while migrating: any constant shared by every worker of this service.
_PG_MIGRATION_LOCK = 0x0CD5A0D17
_SQLITE_BUSY_TIMEOUT_MS = 10_000


def create_db_engine(database_url: str) -> Engine:
    """An engine for `database_url`; plain postgresql:// URLs are routed to psycopg 3. Statement parameters are kept
    out of error messages (`hide_parameters`): they hold patient ids and criteria notes, and errors are logged."""
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, json_serializer=_json_text, hide_parameters=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, json_serializer=_json_text, hide_parameters=True)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _json_text(value: Any) -> str:
    """JSON columns (the criteria of a decision): text for what JSON cannot carry (a stray date or Decimal in a
    criterion must not fail the batch of audit records it is in), "?" for what a database refuses."""
    return json_codec.storable_json(value)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
    _wal_mode(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _wal_mode(cursor: sqlite3.Cursor) -> None:
    """Switching a new database file to WAL needs it alone for a moment, and SQLite does not apply the busy timeout
    to that: workers opening a fresh file together (gunicorn boot) retry for as long as the busy timeout."""
    deadline = time.monotonic() + _SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def alembic_config() -> Config:
    """Alembic configuration built in code: no alembic.ini is needed at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def error_summary(exc: SQLAlchemyError) -> str:
    """A database error for the log, without its message: PostgreSQL's message repeats the failing row ("Failing
    row contains ..."), which holds patient ids and criteria notes. The classes and SQLSTATE say what went wrong."""
    original = exc.orig if isinstance(exc, DBAPIError) else None
    sqlstate = getattr(original, "sqlstate", None)
    parts = [type(exc).__name__] + ([type(original).__name__] if original is not None else [])
    return " / ".join(parts) + (f" (SQLSTATE {sqlstate})" if sqlstate else "")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes. On SQLite it takes the write lock at BEGIN (IMMEDIATE): a deferred transaction
    whose first statement both reads and writes (INSERT ... RETURNING) can fail at once with "database is locked"
    when another worker commits in between, without waiting the busy timeout."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield connection


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the latest revision.

    Several gunicorn workers start at once: on PostgreSQL the upgrade runs in one transaction holding an advisory
    lock, so the others wait and then find nothing to do; on SQLite `BEGIN IMMEDIATE` takes the write lock first.
    """
    config = alembic_config()
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_MIGRATION_LOCK})
        elif engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
