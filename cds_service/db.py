"""SQLAlchemy engine from a URL, the schema migrations run on start, and the audit writer's batched INSERT.

SQLite (the default: a file under the data directory, see `config.Settings.database_url`) runs in WAL mode so the
background audit writer and the request threads of several gunicorn workers can read while one writes. PostgreSQL
is reached through psycopg 3.

Every wait on the database is bounded (docs/audit.md §Timeouts): a request or the audit writer waiting on a server
that does not answer would be killed with the worker by gunicorn's timeout, and the worker's queued audit records
with it. PostgreSQL's timeouts are db_postgres.py's, and a request's waits end at its `deadline`; SQLite waits for a
lock at most `_SQLITE_BUSY_TIMEOUT_MS`.
"""
from __future__ import annotations

import logging
import operator
import os
import re
import sqlite3
import time
import weakref
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from functools import cache
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl, unquote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (JSON, Column, Connection, DateTime, Engine, Insert, LargeBinary, Table, Text, bindparam, cast,
                        create_engine, event, func, insert, make_url, select, text)
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL, Dialect, ExceptionContext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout  # no connection free in the pool within its timeout
from sqlalchemy.util import asbool

from cds_service import json_codec
from cds_service.db_models import Base

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Key of the PostgreSQL advisory lock held while migrating: any constant shared by every worker of this service.
_PG_MIGRATION_LOCK = 0x0CD5A0D17
_SQLITE_BUSY_TIMEOUT_MS = 5_000  # a write transaction takes milliseconds: 5 s of waiting is another writer stuck
# The page cache of each connection, at most (KiB; SQLite's default is 2 MB). The audit trail only grows, and its
# indexes of random keys (hookInstance, card uuids) send each insert to pages a small cache has dropped: under load
# against a growing database (to 150 MB) the workers' CPU per request rose 5-6 % with the default and stayed level
# with 32 MB, their peak RSS unchanged (docs/performance.md).
_SQLITE_CACHE_KIB = 32_000
# PostgreSQL SQLSTATE class 54 (program limit exceeded) is raised as an OperationalError, but the row is at fault.
_CONTENT_SQLSTATE_CLASSES = ("54",)
_INSUFFICIENT_PRIVILEGE = "42501"
_READ_ONLY_TRANSACTION = "25006"
# SQLSTATEs psycopg raises as InternalError or ProgrammingError for a database that refuses every write for now,
# whatever the rows: a read-only transaction (a standby after a failover, default_transaction_read_only), a privilege
# revoked, a session the server broke off (in a failed transaction, or ended for idling in one). The same rows are
# taken once it is fixed: they are an outage, not a refusal of the records (which would then be dropped).
_WRITES_REFUSED = (_READ_ONLY_TRANSACTION, _INSUFFICIENT_PRIVILEGE, "25P02", "25P03")
READ_ONLY = ("the database is read-only: a standby (after a failover?), or default_transaction_read_only set for "
             "the role or the database")


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


class DatabaseUnavailable(Exception):
    """The database cannot be used now (not reachable, locked, its schema not yet created): a 503, not a 500."""


class SchemaError(Exception):
    """This release cannot create or upgrade the audit schema (a newer release's schema, a role without the
    privilege): trying again will not help, so the start-up stops with it."""


def is_unavailable(exc: BaseException) -> bool:
    """An error that may pass if tried again later (the database is down, locked, full, slow, read-only, the role
    without a privilege, or the connection broke), as opposed to one the database will repeat for the same rows (a
    constraint, a value too long)."""
    if isinstance(exc, DatabaseUnavailable | InterfaceError | PoolTimeout):
        return True
    sqlstate = _sqlstate(exc)
    if sqlstate in _WRITES_REFUSED:
        return True
    return isinstance(exc, OperationalError) and not sqlstate.startswith(_CONTENT_SQLSTATE_CLASSES)


def _sqlstate(exc: BaseException) -> str:
    """PostgreSQL's SQLSTATE of a driver's error wrapped by SQLAlchemy; "" for any other error."""
    sqlstate = getattr(exc.orig, "sqlstate", None) if isinstance(exc, DBAPIError) else None
    return sqlstate if isinstance(sqlstate, str) else ""


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
    event.listen(engine, "handle_error", _note_connection_in_use)
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


# The options of an SQLite URL that are the driver's (pysqlite's, as SQLAlchemy reads them); with uri=true the others
# are SQLite's URI parameters (mode, immutable, nolock, vfs, cache...).
_DRIVER_OPTIONS = frozenset({"uri", "timeout", "isolation_level", "detect_types", "check_same_thread",
                             "cached_statements"})


@dataclass(frozen=True)
class SqliteFile:
    """The database an SQLite URL names, as SQLite reads it: `path` ("" or ":memory:" for one in memory; relative to
    the working directory unless absolute), and for a URI filename (`uri=true` and a database `file:...`,
    https://www.sqlite.org/uri.html) the `host` its authority names ("" or "localhost": this machine) and SQLite's
    parameters (`mode`, `immutable`, ...). A `file:` URI's path is percent-decoded, without its query or fragment:
    taken for a plain path, it named a folder `file:` in the working directory."""

    path: str
    host: str = ""
    options: tuple[tuple[str, str], ...] = ()

    def option(self, name: str) -> str | None:
        return dict(self.options).get(name)

    @property
    def in_memory(self) -> bool:
        """No file: `:memory:`, a temporary database (no path), or SQLite's in-memory mode or VFS."""
        return self.path in ("", ":memory:") or self.option("mode") == "memory" or self.option("vfs") == "memdb"


def sqlite_file(url: URL) -> SqliteFile:
    """What the SQLite URL `url` names (SqliteFile)."""
    database = url.database or ""
    if not (asbool(url.query.get("uri", False)) and database.startswith("file:")):
        return SqliteFile(database)
    target, _, query = database.removeprefix("file:").split("#", 1)[0].partition("?")
    options = [(key, value if isinstance(value, str) else value[-1]) for key, value in url.query.items()
               if key not in _DRIVER_OPTIONS]
    host = ""
    if target.startswith("//"):  # file://host/path, file:///path
        host, slash, target = target[2:].partition("/")
        target = slash + target
    return SqliteFile(unquote(target), host, tuple(options + parse_qsl(query)))


def _sqlite_engine(url: URL) -> Engine:
    named = sqlite_file(url)
    # SQLite's mode=rw opens a file that exists, and creates none: nor does the service (a volume not mounted yet).
    if not named.in_memory and named.option("mode") != "rw":
        _create_private(Path(named.path))
    engine = create_engine(url, json_serializer=_json_text, hide_parameters=True)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _create_private(database: Path) -> None:
    """A new SQLite database's folder (0700) and empty file (0600), for the service's user alone: the audit trail
    holds PHI, and under the usual umask (022) SQLite would create the file readable by every user. SQLite gives the
    -wal and -shm files the database file's mode. A folder or file that exists is left as it is: an operator may have
    opened it to a group on purpose. An empty file is an empty database to SQLite."""
    try:
        database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        # A file that exists (FileExistsError) is the operator's, or another worker's created meanwhile. Anything else
        # (a volume not mounted yet) is an outage like any other: connecting says so, and is retried.
        pass


def _json_text(value: Any) -> str:
    """JSON columns (the criteria of a decision): text for what JSON cannot carry (a stray date or Decimal in a
    criterion must not fail the batch of audit records it is in), "?" for what a database refuses."""
    return json_codec.storable_json(value)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
    _wal_mode(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")  # negative: KiB, not pages
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


def alembic_config() -> Config:
    """Alembic configuration built in code: no alembic.ini is needed at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def error_summary(exc: BaseException, cause: str | None = None) -> str:
    """A database error for the log, without its message: PostgreSQL's message repeats the failing row ("Failing
    row contains ..."), which holds patient ids and criteria notes, and a connection error names the server. The
    classes, the code (PostgreSQL's SQLSTATE, SQLite's result code: `SQLITE_BUSY`, `SQLITE_FULL`), when it happened
    (`_phase`: while connecting, at commit or rollback, during a statement), and the cause in the service's words
    (`error_cause`) say what went wrong: "OperationalError / OperationalError" alone did not, a wrong password read as
    a network outage, and a connection lost at commit as one that could not be made. `cause`: the caller's words
    instead, who knows more of what was being done."""
    original = exc.orig if isinstance(exc, DBAPIError) else None
    parts = [type(exc).__name__] + ([type(original).__name__] if original is not None else [])
    code = _error_code(original)
    cause = cause or error_cause(exc)
    return " / ".join(parts) + (f" ({code})" if code else "") + _phase(exc) + (f": {cause}" if cause else "")


# Set on the errors SQLAlchemy raises with a connection in use (_note_connection_in_use). SQLAlchemy wraps the errors
# of connecting (refused, timed out, no such file) without a statement, but also those of a commit or a rollback: only
# this tells them apart (an SQLITE_FULL at commit is no file that could not be opened).
_CONNECTION_IN_USE = "cds_connection_in_use"


def _note_connection_in_use(context: ExceptionContext) -> None:
    """handle_error: SQLAlchemy names the Connection in use, except when the error is one of connecting (a new one,
    or one invalidated and connecting again)."""
    connection = context.connection
    if connection is not None and not connection.invalidated and context.sqlalchemy_exception is not None:
        setattr(context.sqlalchemy_exception, _CONNECTION_IN_USE, True)


def _connecting(exc: BaseException) -> bool:
    """An error of connecting: without a statement, and without a connection that was in use (an engine not made by
    create_db_engine says nothing of that, and its errors without a statement are taken for connecting, as they were).
    A connection SQLAlchemy found lost (`connection_invalidated`) had been made."""
    return (isinstance(exc, DBAPIError) and exc.statement is None and not exc.connection_invalidated
            and not getattr(exc, _CONNECTION_IN_USE, False))


def _phase(exc: BaseException) -> str:
    """When a database error happened, in the words error_summary puts after the code: nothing for an error of a
    statement on a connection that stays usable (the statement or its rows were refused)."""
    if not isinstance(exc, DBAPIError):
        return ""
    if exc.statement is not None:
        return " during a statement" if exc.connection_invalidated else ""
    return " while connecting" if _connecting(exc) else " at commit or rollback"


def _error_code(original: BaseException | None) -> str | None:
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate:
        return f"SQLSTATE {sqlstate}"
    name = getattr(original, "sqlite_errorname", None)  # sqlite3 errors since Python 3.11
    return name if isinstance(name, str) else None


# A connection the PostgreSQL server refused carries no SQLSTATE: libpq reports the server's error as text only
# (psycopg's `sqlstate` is None; its class is plain OperationalError). The cause is then read from libpq's words,
# which are never printed themselves (they name the server and the user). A server whose messages are in another
# language (lc_messages) is left at "while connecting".
_CONNECT_CAUSES = (
    (re.compile(r"password authentication failed"),  # SQLSTATE 28P01
     "password authentication failed: check the user and password of the database URL"),
    (re.compile(r'no pg_hba\.conf entry|role ".*" does not exist'),  # 28000
     "the server does not accept this user from this host: no such role, or no pg_hba.conf entry for it"),
    (re.compile(r"no password supplied"), "the server asks for a password, and the database URL has none"),
    (re.compile(r'database ".*" does not exist'), "the database named in the URL does not exist"),  # 3D000
    (re.compile(r"permission denied for database"),  # 42501
     "permission denied: the role may not connect to this database (CONNECT privilege)"),
    (re.compile(r"too many clients|too many connections"), "the server has no connection free"),  # 53300
    (re.compile(r"the database system is (starting up|shutting down|in recovery mode)"),  # 57P03
     "the server is starting up, shutting down or recovering"),
    (re.compile(r"Connection refused"), "connection refused: nothing listens at the URL's host and port"),
    (re.compile(r"timeout expired|timed out"), "no answer within the connect timeout"),
    (re.compile(r"failed to resolve host|could not translate host name|Name or service not known"),
     "the URL's host name does not resolve"),
    # TLS (the URL's sslmode, sslrootcert): what libpq says names files and hosts, so it is said in these words.
    (re.compile(r"server does not support SSL"), "the server does not offer SSL, which the URL's sslmode requires"),
    (re.compile(r"root certificate file .* does not exist"),
     "sslmode verify-ca or verify-full needs the server's CA certificate: give it as sslrootcert in the URL"),
    (re.compile(r"certificate verify failed"),
     "the server's certificate is not signed by the URL's sslrootcert (or it has expired)"),
    (re.compile(r"server certificate for .* does not match host name"),
     "the server's certificate does not name the URL's host (sslmode verify-full): use the name it carries"),
    # Another server's first bytes: read as the answer to libpq's SSLRequest, or (sslmode=disable, or a server that
    # speaks first) in place of the authentication request.
    (re.compile(r"invalid response to SSL negotiation|expected authentication request from server, but received"),
     "the URL's host and port answer, but not as a PostgreSQL server: check the port"),
)
# SQLite's result codes (sqlite3's sqlite_errorname) in the service's words.
_SQLITE_CAUSES = {
    "SQLITE_BUSY": "the SQLite file is locked by another process",
    "SQLITE_CANTOPEN": "the SQLite file cannot be opened: its folder is missing or not writable",
    "SQLITE_READONLY": "the SQLite file is read-only",
    "SQLITE_PERM": "the SQLite file may not be accessed (permissions)",
    "SQLITE_FULL": "the disk of the SQLite file is full",
    "SQLITE_IOERR": "the disk failed a read or a write of the SQLite file",
    "SQLITE_NOTADB": "the file is not an SQLite database",
    "SQLITE_CORRUPT": "the SQLite file is corrupt",
}


def error_cause(exc: BaseException) -> str | None:
    """What an operator should read in a database error, in the service's words, when the driver says it: a
    password refused, a database that does not exist, a permission, connection refused or timed out, a connection
    lost, an SQLite file locked or read-only. None when it does not: the classes and codes of error_summary are all
    there is."""
    if isinstance(exc, SchemaError):  # its message is the service's own, made of such summaries
        return str(exc)
    original = exc.orig if isinstance(exc, DBAPIError) else None
    own = getattr(original, "cds_cause", None)  # an error of the service's own making (db_postgres.NoAnswer)
    if isinstance(own, str):
        return own
    name = getattr(original, "sqlite_errorname", None)
    if isinstance(name, str):  # an extended code (SQLITE_READONLY_DBMOVED) has its primary code's cause
        return _SQLITE_CAUSES.get("_".join(name.split("_")[:2]))
    refused = _writes_refused_cause(exc)
    if refused is not None:
        return refused
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:  # SQLAlchemy's reading of the driver's error
        return "the connection was lost or closed"
    if _connecting(exc) and original is not None:
        return _connect_cause(str(original))
    return None


# The object a privilege is missing on, as PostgreSQL's message names it (a table of the audit trail, its schema or a
# sequence): nothing else of the message is printed, which may name a row or the user.
_PRIVILEGE_OBJECT = re.compile(r"permission denied for (table|schema|sequence|relation) (\"?[\w$.]+\"?)")


def _writes_refused_cause(exc: BaseException) -> str | None:
    """The cause of a database refusing every write (read-only, a privilege missing), in the service's words."""
    sqlstate = _sqlstate(exc)
    if sqlstate == _READ_ONLY_TRANSACTION:
        return READ_ONLY
    if sqlstate != _INSUFFICIENT_PRIVILEGE or not isinstance(exc, DBAPIError):
        return None
    diag = getattr(exc.orig, "diag", None)
    found = _PRIVILEGE_OBJECT.search(str(getattr(diag, "message_primary", None) or ""))
    where = f" for {found[1]} {found[2]}" if found else ""
    return f"permission denied{where}: the role lacks a privilege the audit trail needs (docs/configuration.md, " \
           "Database)"


# A connection option libpq or psycopg refused (config.py checks those it knows at start): its name, never its value.
_OPTION_UNKNOWN = re.compile(r'invalid connection option "(\w+)"')
_OPTION_VALUE = (re.compile(r'for connection option "(\w+)"'), re.compile(r'invalid "?(\w+)"? value'),
                 re.compile(r"bad value for (\w+)"))


def _connect_cause(text: str) -> str | None:
    unknown = _OPTION_UNKNOWN.search(text)
    if unknown:
        return f"the database URL's option {unknown[1]} is not a libpq connection option"
    value = next((found for words in _OPTION_VALUE if (found := words.search(text))), None)
    if value:
        return f"the database URL's option {value[1]} has a value libpq does not take"
    return next((cause for words, cause in _CONNECT_CAUSES if words.search(text)), None)


# libpq's connection parameters that hold a secret: they may stand in a URL's query, where SQLAlchemy prints them.
_SECRET_PARAMETERS = ("password", "sslpassword")


def printable_url(url: URL) -> str:
    """A database URL to show an operator (a log line, the CLI): the password hidden as SQLAlchemy hides it
    (`***`), and so is one given as a query parameter (`?password=...`, which libpq takes), which SQLAlchemy prints."""
    hidden = {key: "***" if key.lower() in _SECRET_PARAMETERS else value for key, value in url.query.items()}
    return url.set(query=hidden).render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes. On SQLite it takes the write lock at BEGIN (IMMEDIATE): a deferred transaction
    whose first statement both reads and writes (INSERT ... RETURNING) can fail at once with "database is locked"
    when another worker commits in between, without waiting the busy timeout. A connection found read-only is
    dropped."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield connection
        except DBAPIError as exc:
            # A session opened read-only (default_transaction_read_only, a standby) stays so when the database is
            # made writable again: the pool would keep handing it out, and the records would wait for ever.
            if _sqlstate(exc) == _READ_ONLY_TRANSACTION:
                connection.invalidate()
            raise


def largest_ids(connection: Connection, models: tuple[type[Base], ...]) -> list[int | None]:
    """For `insert_rows`: on SQLite, the largest id in each model's table (0 in an empty one), read in one query
    (one per batch of audit records, not one per table); Nones elsewhere, where the INSERT returns the ids.
    The ids stay the largest only under the write lock of the `write_transaction` they are read in."""
    if connection.dialect.name != "sqlite":
        return [None] * len(models)
    queries = ", ".join(f"({_sqlite_insert(connection.dialect, model).largest_id})" for model in models)
    return [largest or 0 for largest in connection.exec_driver_sql(f"SELECT {queries}").one()]


def insert_rows(connection: Connection, model: type[Base], rows: list[dict[str, Any]],
                ids_needed: bool = True, largest_id: int | None = None) -> list[int]:
    """Insert `rows` (every column but the integer primary key `id`) into `model`'s table, in a `write_transaction`.
    Returns their ids, in order (none unless `ids_needed`).

    PostgreSQL returns the ids from one batched INSERT ... RETURNING. SQLite cannot say which returned id is which
    row's, so SQLAlchemy would insert row by row, which took half the audit writer's CPU: here the ids are given
    instead, the ones SQLite would give (the largest id + 1, the next, ...), read under the write lock that
    write_transaction took at BEGIN IMMEDIATE (several workers write the same file), and the rows go through the
    driver's executemany (_SqliteInsert). The largest id is read here unless given (`largest_ids`, read in the same
    transaction before any of the table's rows were inserted)."""
    if connection.dialect.name != "sqlite":
        if not ids_needed:
            connection.execute(insert(model), rows)
            return []
        return list(connection.execute(_insert_returning_ids(model), rows).scalars())
    sqlite_insert = _sqlite_insert(connection.dialect, model)
    if not ids_needed:
        sqlite_insert.execute(connection, [None] * len(rows), rows)  # a null id: SQLite gives the next
        return []
    if largest_id is None:
        largest_id = connection.exec_driver_sql(sqlite_insert.largest_id).scalar() or 0
    first = largest_id + 1
    ids = list(range(first, first + len(rows)))
    sqlite_insert.execute(connection, ids, rows)
    return ids


def insert_new_rows(connection: Connection, model: type[Base], rows: list[dict[str, Any]], key: str) -> int:
    """Insert those of `rows` whose `key` (a column with a unique index) no row of the table holds yet, the others
    left out, in one INSERT ... ON CONFLICT (key) DO NOTHING: so also when another worker inserts the same at the
    same moment (PostgreSQL waits for its transaction, SQLite's write lock serializes them). Rows of one call with the
    same key are inserted once. Returns how many rows were inserted."""
    unique: dict[Any, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row[key], row)
    if not unique:
        return 0
    # The two databases the service supports (docs/audit.md §Database) both take ON CONFLICT, each its own way.
    statement: Insert
    if connection.dialect.name == "postgresql":
        statement = postgresql_dialect.insert(model).on_conflict_do_nothing(index_elements=[key])
    else:
        statement = sqlite_dialect.insert(model).on_conflict_do_nothing(index_elements=[key])
    inserted = connection.execute(statement.values(list(unique.values())).returning(model.__table__.c.id))
    return len(inserted.all())


@cache
def _insert_returning_ids(model: type[Base]) -> Insert:
    """Built once per table: building the statement anew took a quarter of the writer's CPU for a batch of one
    record (what a worker writes every 0.1 s at a few calls a second)."""
    return insert(model).returning(model.__table__.c.id, sort_by_parameter_order=True)


class _SqliteInsert:
    """The INSERT of every column of a model's table, its rows passed to the driver's executemany as tuples:
    SQLAlchemy's own executemany builds and converts a dict of parameters per row, a third of the audit writer's CPU.
    The statement and each column's conversion (a datetime as SQLite's text, a boolean as 0 or 1, ...) are
    SQLAlchemy's own, taken once per engine; the statements go to the driver as text, which spares SQLAlchemy's
    per-statement work (a cache key, a compiled-statement lookup): a batch of one record is the common case.

    A JSON column's value goes to the driver as the UTF-8 that orjson writes (json_codec.storable_json_utf8), and the
    statement casts it to TEXT: the text `_json_text` gives SQLAlchemy, stored without being decoded from orjson's
    bytes into a str for the driver to encode again (a decision's criteria are a few kB)."""

    def __init__(self, dialect: Dialect, model: type[Base]) -> None:
        if not isinstance(model.__table__, Table):
            raise ValueError(f"{model.__name__}: not a table _SqliteInsert can fill")
        columns = model.__table__.c
        json_columns = {column.key for column in columns if isinstance(column.type, JSON)}
        # storable_json_utf8 writes None as JSON's null, as SQLAlchemy's JSON type does unless none_as_null is set
        if any(isinstance(column.type, JSON) and column.type.none_as_null for column in columns):
            raise ValueError(f"{model.__name__}: a JSON column stores None as NULL, which _SqliteInsert does not")
        statement = insert(model).values({key: cast(bindparam(key, type_=LargeBinary), Text) for key in json_columns})
        compiled = statement.compile(dialect=dialect, column_keys=columns.keys())
        keys = list(compiled.positiontup or ())
        if keys[0] != "id" or len(keys) < 3:  # execute() puts the id first, and itemgetter of one key is no tuple
            raise ValueError(f"{model.__name__}: not a table _SqliteInsert can fill")
        self.statement = str(compiled)
        self.largest_id = str(select(func.max(columns.id)).compile(dialect=dialect))
        self._values = operator.itemgetter(*keys[1:])
        processors = [_json_bytearray if key in json_columns else _bind_processor(dialect, columns[key])
                      for key in keys]
        self._processors: list[tuple[int, Callable[[Any], Any]]] = [
            (index, process) for index, process in enumerate(processors) if process is not None
        ]

    def execute(self, connection: Connection, ids: list[int] | list[None], rows: list[dict[str, Any]]) -> None:
        connection.exec_driver_sql(self.statement, [self._parameters(row_id, row) for row_id, row in zip(ids, rows)])

    def _parameters(self, row_id: int | None, row: dict[str, Any]) -> tuple[Any, ...]:
        values = [row_id, *self._values(row)]
        for index, process in self._processors:
            values[index] = process(values[index])
        return tuple(values)


# SQLAlchemy's text of a naive datetime on SQLite (its default storage format, "2026-03-01 12:00:00.000000"), written
# by datetime's C isoformat: SQLAlchemy's processor formats a dict of the seven fields (~3,000 instructions a value).
_SQLITE_DATETIME = operator.methodcaller("isoformat", " ", "microseconds")
_A_DATETIME = datetime(2026, 3, 1, 12, 5, 7, 42)


def _bind_processor(dialect: Dialect, column: Column[Any]) -> Callable[[Any], Any] | None:
    """SQLAlchemy's conversion of a value of `column` for the driver, or the same conversion done faster."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if (isinstance(column.type, DateTime) and not column.nullable and process  # isoformat of None would fail
            and process(_A_DATETIME) == _SQLITE_DATETIME(_A_DATETIME)):  # the default storage format
        return _SQLITE_DATETIME  # the times stored are naive (db_models): isoformat adds no offset
    return process


def _json_bytearray(value: Any) -> bytearray:
    """A JSON column's UTF-8 (json_codec.storable_json_utf8) as a bytearray: sqlite3 binds a bytearray as it is, but
    looks up an adapter for bytes (below), which costs more than the copy."""
    return bytearray(json_codec.storable_json_utf8(value))


# sqlite3 binds an int, float, str or bytearray as it is, and looks up an adapter for any other value: for one it has
# none of, such as None, only after raising and clearing an AttributeError, about 3,000 instructions (an audit
# record's rows bind about seven Nones). Registered, None adapts to itself in C (an empty dict's get: None for any
# value); it is stored as NULL as before.
_NO_ADAPTERS: dict[None, None] = {}
sqlite3.register_adapter(type(None), _NO_ADAPTERS.get)


# By engine (an engine's JSON serializer is its dialect's): built at an engine's first write.
_SQLITE_INSERTS: weakref.WeakKeyDictionary[Dialect, dict[type[Base], _SqliteInsert]] = weakref.WeakKeyDictionary()


def _sqlite_insert(dialect: Dialect, model: type[Base]) -> _SqliteInsert:
    inserts = _SQLITE_INSERTS.setdefault(dialect, {})
    found = inserts.get(model)
    if found is None:
        found = inserts[model] = _SqliteInsert(dialect, model)
    return found


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the latest revision.

    Several gunicorn workers start at once: on PostgreSQL the upgrade runs in one transaction holding an advisory
    lock, so the others wait and then find nothing to do; on SQLite `BEGIN IMMEDIATE` takes the write lock first.
    """
    config = alembic_config()
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # No statement timeout here: a revision may rewrite a large table, and a worker waits on the lock while
            # another migrates. The connect timeout still bounds a server that is not there.
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_MIGRATION_LOCK})
        elif engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        try:
            before = _check_revision(connection, config)
            command.upgrade(config, "head")
        except DBAPIError as exc:
            if is_unavailable(exc) and _sqlstate(exc) != _INSUFFICIENT_PRIVILEGE:  # no CREATE: no release will do
                raise
            raise SchemaError(_upgrade_failure(exc)) from exc
    _log_migration(before)


def _log_migration(before: SchemaRevision) -> None:
    """Say in the log when the schema was created or moved (committed by then): after an upgrade the operator can
    tell when, and in which process, it happened. A worker finding it at this release's revision says nothing."""
    if before.stage == "none":
        log.info("audit schema created at revision %s", before.head)
    elif before.stage == "older":
        log.info("audit schema migrated from revision %s to %s", before.current, before.head)


@dataclass(frozen=True)
class SchemaRevision:
    """Where a database's audit schema stands against this release's migrations."""

    current: str | None  # None: no audit schema yet
    head: str  # this release's newest revision
    known: bool  # `current` is one of this release's revisions (or None): else a newer release migrated it

    @property
    def stage(self) -> str:
        """"none" (no schema yet), "head" (this release's), "older" (the service migrates it) or "newer" (a newer
        release migrated it: this one cannot read it)."""
        if self.current is None:
            return "none"
        if self.current == self.head:
            return "head"
        return "older" if self.known else "newer"


def schema_revision(connection: Connection, config: Config | None = None) -> SchemaRevision:
    """The audit schema's revision in the database `connection` reaches (for the start-up, `cds-service check
    --connect` and `cds-service audit`)."""
    current = MigrationContext.configure(connection).get_current_revision()
    scripts = ScriptDirectory.from_config(config or alembic_config())
    known = current is None or current in {script.revision for script in scripts.walk_revisions()}
    return SchemaRevision(current, str(scripts.get_current_head()), known)


def _check_revision(connection: Connection, config: Config) -> SchemaRevision:
    """Where the schema stands before migrating. A schema migrated by a newer release cannot be read by this one
    (alembic would only say it cannot locate the revision): a rollback of the service needs the database from before
    the upgrade."""
    revision = schema_revision(connection, config)
    if not revision.known:
        raise SchemaError(f"the audit database is at schema revision {revision.current}, which this release does not "
                          f"know (its newest is {revision.head}): a newer release migrated it; run that release, or "
                          "restore the database from before the upgrade")
    return revision


_UPGRADE_CAUSES = {
    _INSUFFICIENT_PRIVILEGE: "the database role needs CREATE on its schema (docs/configuration.md, Database)",
    "3F000": "no schema of the role's search_path exists",  # PostgreSQL's invalid_schema_name: nowhere to create
}


def _upgrade_failure(exc: DBAPIError) -> str:
    return f"cannot create or upgrade the audit schema: {error_summary(exc, _UPGRADE_CAUSES.get(_sqlstate(exc)))}"
