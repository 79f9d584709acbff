"""An SQLite audit database: the file an SQLite URL names, created for the service's user alone, and each connection's
settings (WAL mode, so that the background audit writer and the request threads of several gunicorn workers can read
while one writes; a lock waited for at most `_SQLITE_BUSY_TIMEOUT_MS`, docs/audit.md §Timeouts)."""
from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from sqlalchemy.engine import URL
from sqlalchemy.util import asbool

_SQLITE_BUSY_TIMEOUT_MS = 5_000  # a write transaction takes milliseconds: 5 s of waiting is another writer stuck
# The page cache of each connection, at most (KiB; SQLite's default is 2 MB). The audit trail only grows, and its
# indexes of random keys (hookInstance, card uuids) send each insert to pages a small cache has dropped: under load
# against a growing database (to 150 MB) the workers' CPU per request rose 5-6 % with the default and stayed level
# with 32 MB, their peak RSS unchanged (docs/performance.md).
_SQLITE_CACHE_KIB = 32_000


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



def create_file(url: URL) -> None:
    """The file `url` names, created private (`_create_private`) unless it is in memory or opened with mode=rw."""
    named = sqlite_file(url)
    # SQLite's mode=rw opens a file that exists, and creates none: nor does the service (a volume not mounted yet).
    if not named.in_memory and named.option("mode") != "rw":
        _create_private(Path(named.path))


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



def pragmas(dbapi_connection: Any, _record: Any) -> None:
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
