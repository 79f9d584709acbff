"""Database errors in the service's terms: which are an outage (tried again later, a 503) and which the rows' own
(`is_unavailable`), and a summary for the log that says what went wrong without the driver's message, which may hold
a row's patient ids or name the server (`error_summary`, `error_cause`)."""
from __future__ import annotations

import re

from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout  # no connection free in the pool within its timeout

# PostgreSQL SQLSTATE class 54 (program limit exceeded) is raised as an OperationalError, but the row is at fault.
_CONTENT_SQLSTATE_CLASSES = ("54",)
INSUFFICIENT_PRIVILEGE = "42501"
READ_ONLY_TRANSACTION = "25006"
# SQLSTATEs psycopg raises as InternalError or ProgrammingError for a database that refuses every write for now,
# whatever the rows: a read-only transaction (a standby after a failover, default_transaction_read_only), a privilege
# revoked, a session the server broke off (in a failed transaction, or ended for idling in one). The same rows are
# taken once it is fixed: they are an outage, not a refusal of the records (which would then be dropped).
_WRITES_REFUSED = (READ_ONLY_TRANSACTION, INSUFFICIENT_PRIVILEGE, "25P02", "25P03")
READ_ONLY = ("the database is read-only: a standby (after a failover?), or default_transaction_read_only set for "
             "the role or the database")



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
    sqlstate = sqlstate_of(exc)
    if sqlstate in _WRITES_REFUSED:
        return True
    return isinstance(exc, OperationalError) and not sqlstate.startswith(_CONTENT_SQLSTATE_CLASSES)


def sqlstate_of(exc: BaseException) -> str:
    """PostgreSQL's SQLSTATE of a driver's error wrapped by SQLAlchemy; "" for any other error."""
    sqlstate = getattr(exc.orig, "sqlstate", None) if isinstance(exc, DBAPIError) else None
    return sqlstate if isinstance(sqlstate, str) else ""



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


# Set on the errors SQLAlchemy raises with a connection in use (note_connection_in_use). SQLAlchemy wraps the errors
# of connecting (refused, timed out, no such file) without a statement, but also those of a commit or a rollback: only
# this tells them apart (an SQLITE_FULL at commit is no file that could not be opened).
_CONNECTION_IN_USE = "cds_connection_in_use"


def note_connection_in_use(context: ExceptionContext) -> None:
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
    sqlstate = sqlstate_of(exc)
    if sqlstate == READ_ONLY_TRANSACTION:
        return READ_ONLY
    if sqlstate != INSUFFICIENT_PRIVILEGE or not isinstance(exc, DBAPIError):
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
