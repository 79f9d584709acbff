"""Database outages for tests: PostgreSQL behind a TCP proxy that can go down (connections refused, open ones cut)
or freeze (like a SIGSTOP'd server: the kernel accepts, nobody answers), and SQLite locked by another process's
BEGIN EXCLUSIVE, with a short busy timeout so the writer gives up on the lock in 0.2 s instead of 5.

`outage` (fixture, parametrized like `database_url`) yields an `Outage` for an empty database: `.url`, `.down()`,
`.up()`; `proxy` (fixture) yields a PostgresProxy, which can also `.freeze()` and `.mute()`.
"""
from __future__ import annotations

import select
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterator, Protocol

import pytest
from sqlalchemy import make_url

from cds_service import db_sqlite
from tests.test_db import POSTGRES_URL, _postgres_schema_url


class Outage(Protocol):
    url: str

    def down(self) -> None: ...

    def up(self) -> None: ...


class SqliteLock:
    """Another process holding BEGIN EXCLUSIVE: no other connection can write (nor switch a new file to WAL)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.url = f"sqlite:///{path}"
        self._path = path
        self._holder: sqlite3.Connection | None = None

    def down(self) -> None:
        self._holder = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        self._holder.execute("BEGIN EXCLUSIVE")

    def up(self) -> None:
        if self._holder is not None:
            self._holder.execute("ROLLBACK")
            self._holder.close()
            self._holder = None


class PostgresProxy:
    """Forwards 127.0.0.1:<port> to the PostgreSQL server of `url`."""

    def __init__(self, url: str) -> None:
        target = make_url(url)
        self._target = (target.host or "127.0.0.1", target.port or 5432)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = target.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)
        self._state = "up"
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def down(self) -> None:
        """Refuse new connections and cut the open ones, as a stopped server does."""
        self._state = "down"
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread: close alone would not, on Linux
        self._listener.close()
        self._cut()

    def freeze(self) -> None:
        """Accept, forward nothing: a server whose processes are stopped."""
        self._state = "frozen"

    def mute(self) -> None:
        """Forward what the clients send, drop what the server answers: a server doing the work, its answers lost."""
        self._state = "muted"

    def up(self) -> None:
        if self._state == "down":
            self._listener = socket.create_server(("127.0.0.1", self.port))
            threading.Thread(target=self._accept, daemon=True).start()
        elif self._state in ("frozen", "muted"):
            self._cut()  # what a frozen server was sent, or a muted one answered, is stale: clients reconnect
        self._state = "up"

    def close(self) -> None:
        self.down()

    def _cut(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self) -> None:
        listener = self._listener
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by down()
            server = socket.create_connection(self._target)
            with self._lock:
                self._sockets += [client, server]
            for source, sink, answers in ((client, server, False), (server, client, True)):
                threading.Thread(target=self._pump, args=(source, sink, answers), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        try:
            while True:
                if self._state == "frozen":
                    time.sleep(0.02)
                    continue
                readable, _, _ = select.select([source], [], [], 0.05)
                if not readable:
                    continue
                data = source.recv(65536)
                if not data or self._state == "frozen":
                    return
                if not (answers and self._state == "muted"):
                    sink.sendall(data)
        except (OSError, ValueError):  # cut by down() or up()
            return


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def outage(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Outage]:
    if request.param == "sqlite":
        monkeypatch.setattr(db_sqlite, "_SQLITE_BUSY_TIMEOUT_MS", 200)
        lock = SqliteLock(tmp_path / "data" / "audit.db")
        yield lock
        lock.up()
        return
    yield from _proxied_postgres()


@pytest.fixture
def proxy() -> Iterator[PostgresProxy]:
    """PostgreSQL only: an empty schema behind a PostgresProxy (for freezing, which SQLite has no equivalent of)."""
    yield from _proxied_postgres()


def _proxied_postgres() -> Iterator[PostgresProxy]:
    if not POSTGRES_URL:
        pytest.skip("CDS_TEST_POSTGRES_URL is not set")
    for url in _postgres_schema_url(POSTGRES_URL):
        forwarder = PostgresProxy(url)
        yield forwarder
        forwarder.close()
