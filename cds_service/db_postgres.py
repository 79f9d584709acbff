"""PostgreSQL's side of the audit database, through psycopg 3 (installed with the `postgres` extra, so imported for a
PostgreSQL URL only): the URL's options checked without connecting, the client settings added to the URL, and
connections whose waits end at the deadline a request set (db.deadline).

Every wait is bounded (docs/audit.md §Timeouts). libpq bounds connecting (`connect_timeout`) and, with TCP keepalives
and `tcp_user_timeout`, a server the network cut off. A server that is frozen (SIGSTOP, a hung VM) is another matter:
its kernel still accepts connections and acknowledges what is sent, so no TCP setting ends the wait, and its
`statement_timeout` is its own to enforce. On a request thread the deadline ends it: the wait gives up, and the
connection, half way through a statement, is closed, so that the request is answered 503 rather than killed by
gunicorn's timeout with its worker.
"""
from __future__ import annotations

import re
import time
from typing import Any, Sequence

import psycopg
from psycopg.abc import RV, PQGen
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL, Dialect

from cds_service.db import current_deadline
from cds_service.printable import json_value

PG_CONNECT_TIMEOUT_SECONDS = 2  # libpq's minimum; a URL's own connect_timeout wins
PG_STATEMENT_TIMEOUT_MS = 5_000  # a URL's own `options=-c statement_timeout=...` wins
# A pooled connection idle for 30 s is probed every 10 s, and given up after 3 probes unanswered; data unacknowledged
# for 30 s ends the connection. A server cut off by the network (a partition, a host gone) is found in about a minute
# on an idle connection, in 30 s on one waiting for an answer. A URL's own values win.
TCP_SETTINGS = {"keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10", "keepalives_count": "3",
                "tcp_user_timeout": "30000"}


def with_client_settings(url: URL) -> URL:
    """The URL with a connect timeout, a statement timeout and the TCP settings, unless it sets them itself (`options`
    already there, such as a search_path, is kept: the URL's settings come after ours, and the last one wins)."""
    query = {**TCP_SETTINGS, "connect_timeout": str(PG_CONNECT_TIMEOUT_SECONDS), **url.query}
    options = url.query.get("options")
    own = options if isinstance(options, str) else " ".join(options or ())
    query["options"] = f"-c statement_timeout={PG_STATEMENT_TIMEOUT_MS} {own}".strip()
    return url.set(query=query)


# The options libpq reads as one of some words or as a whole number: it checks their values only when connecting, and
# a URL it then refuses leaves a service running with no audit trail (config.py checks them at start instead).
_CHOICES = {
    "sslmode": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    "gssencmode": ("disable", "prefer", "require"),
    "channel_binding": ("disable", "prefer", "require"),
    "sslcertmode": ("disable", "allow", "require"),
    "sslnegotiation": ("postgres", "direct"),
    "target_session_attrs": ("any", "read-write", "read-only", "primary", "standby", "prefer-standby"),
    "load_balance_hosts": ("disable", "random"),
}
# Not sslsni or sslcompression: libpq reads those as on when "1", whatever else they say ("true" connects).
_INTEGERS = ("connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
             "tcp_user_timeout")
_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")  # ASCII digits: `\d` takes any script's, which libpq refuses


def option_problem(url: URL) -> str | None:
    """Why libpq would refuse the options of the URL's query when connecting, found without connecting: an option
    it does not know (its list of options, PQconndefaults), or a value of one it reads as a word or a number. A
    value is quoted only for those: another option's may be a secret."""
    known = {option.keyword.decode() for option in psycopg.pq.Conninfo.get_defaults()}
    for name, value in url.query.items():
        if name not in known:
            return f"the database URL's option {json_value(name)} is not a libpq connection option"
        problem = _value_problem(name, (value,) if isinstance(value, str) else value)
        if problem:
            return f"the database URL's option {name} {problem}"
    return None


def _value_problem(name: str, values: Sequence[str]) -> str | None:
    if name not in _CHOICES and name not in _INTEGERS:
        return None
    if len(values) != 1:
        return "is given more than once"
    if name in _CHOICES and values[0] not in _CHOICES[name]:
        return f"is {json_value(values[0])}; libpq takes one of {', '.join(_CHOICES[name])}"
    if name in _INTEGERS and not _INTEGER.fullmatch(values[0]):
        return f"is {json_value(values[0])}; libpq takes a whole number"
    return None


def create_problem(connection: Connection) -> str | None:
    """Why the role could not create the audit schema in its current schema (CREATE on it), asked without changing
    anything: `cds-service check --connect` passed a role that the start-up then refused. (Whether a migration
    would pass cannot be told so: a revision may need the ownership of one table only.)"""
    schema, may_create = connection.execute(
        text("SELECT current_schema(), has_schema_privilege(current_schema(), 'CREATE')")).one()
    if schema is None:
        return "no schema of the role's search_path exists: the service would have nowhere to create the audit schema"
    if not may_create:
        return (f"the role may not create tables in schema {json_value(schema)} (CREATE privilege): the service could "
                "not create the audit schema (docs/configuration.md, Database)")
    return None


class NoAnswer(psycopg.OperationalError):
    """The database did not answer before the request's deadline (db.deadline). `cds_cause` is what db.error_cause
    says of it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:g} s")
        self.cds_cause = f"no answer within the request's {seconds:g} s: the database is frozen, overloaded or cut off"


class _BoundedConnection(psycopg.Connection[Any]):
    """A psycopg connection whose waits for the server end at the deadline of the thread's request, if it set one.
    Every exchange with the server waits here: SQLAlchemy's ping of a pooled connection, a statement, a commit."""

    def wait(self, gen: PQGen[RV], interval: float = 0.1, timeout: float | None = None) -> RV:
        bound = current_deadline()
        if bound is None:
            return super().wait(gen, interval, timeout)
        ends, seconds = bound
        left = max(ends - time.monotonic(), 0.0)
        try:
            return super().wait(gen, interval, left if timeout is None else min(timeout, left))
        except psycopg.OperationalError:
            if time.monotonic() < ends:
                raise
            self.pgconn.finish()  # a statement half answered: the connection is of no more use (SQLAlchemy drops it)
            raise NoAnswer(seconds) from None


def connect(_dialect: Dialect, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> psycopg.Connection[Any]:
    """SQLAlchemy's `do_connect`: a _BoundedConnection. Once the deadline has passed, none is made: SQLAlchemy
    connects again after a ping that gave up, which would wait the connect timeout on a frozen server."""
    bound = current_deadline()
    if bound is not None and time.monotonic() >= bound[0]:
        raise NoAnswer(bound[1])
    return _BoundedConnection.connect(*cargs, **cparams)
