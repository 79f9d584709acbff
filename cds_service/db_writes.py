"""The audit trail's writes: a writing transaction, and batched INSERTs (the audit writer's rows; feedback items
stored once), each done the fastest way its database allows."""
from __future__ import annotations

import operator
import sqlite3
import weakref
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any, Callable, Iterator

from sqlalchemy import (JSON, Column, Connection, DateTime, Engine, Insert, LargeBinary, Table, Text, bindparam, cast,
                        func, insert, select)
from sqlalchemy.dialects import postgresql as postgresql_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from cds_service import json_codec
from cds_service.db_errors import READ_ONLY_TRANSACTION, sqlstate_of
from cds_service.db_models import Base

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
            if sqlstate_of(exc) == READ_ONLY_TRANSACTION:
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
    statement casts it to TEXT: the text `db._json_text` gives SQLAlchemy, stored without being decoded from orjson's
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
