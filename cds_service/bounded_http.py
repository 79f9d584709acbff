"""HTTP fetches bounded as a whole: a requests session whose connections are shut down when a deadline passes.

A socket timeout bounds each wait for bytes, not a whole response: a server sending a byte now and then would hold
the fetch, and the worker thread doing it, far past any budget (and past gunicorn's timeout, which kills the worker).
The FHIR client (fhir_client.py) and the JWK Set fetch (jwks.py) both go through `session_until`, and read bodies
with `read_capped`. Its connections also refuse a link-local or cloud metadata address, whatever name led there
(except through a proxy, which resolves the name itself), and its requests carry no credentials of the server's own
(~/.netrc).
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from cds_service.urls import internal_address

log = logging.getLogger(__name__)

_CHUNK_BYTES = 64 * 1024


class _Watchdog:
    """Shuts down the connections of one fetch when its deadline passes, wherever a read is under way: in the
    headers, the body, or compressed data that decodes to nothing. Connections made in a thread while its watchdog
    is active register with it."""

    _active = threading.local()

    def __init__(self, deadline: float) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._expired = False
        self._closed = False
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> None:
        _Watchdog._active.current = self
        self._timer.start()

    def __exit__(self, *exc_info: object) -> None:
        _Watchdog._active.current = None
        self._timer.cancel()
        with self._lock:  # waits for an _expire under way: no shutdown after the session has closed the sockets
            self._closed = True

    @classmethod
    def register(cls, sock: socket.socket) -> None:
        watchdog: _Watchdog | None = getattr(cls._active, "current", None)
        if watchdog is None:
            return
        with watchdog._lock:
            if watchdog._expired:
                _shut_down(sock)
            else:
                watchdog._sockets.append(sock)

    def _expire(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._expired = True
            for sock in self._sockets:
                _shut_down(sock)


def _shut_down(sock: socket.socket) -> None:
    """Ends any read under way on the socket in another thread (it sees end of file)."""
    try:
        # The plain socket's method even for TLS: SSLSocket.shutdown would also drop its SSL object under the reader.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def _admitted(connection: HTTPConnection, sock: socket.socket) -> socket.socket:
    """A TCP connection just made, before a byte goes on it (a TLS handshake included): refused if it reached a
    link-local or cloud metadata address (the instance's credentials; urls.internal_address), which a URL's host
    name can lead to (its DNS answer is anybody's, and may change between a check and the connection: DNS
    rebinding); else watched."""
    address = str(sock.getpeername()[0])
    if internal_address(address):
        sock.close()
        log.warning("connection to %s closed unused: it reached %s, a link-local or cloud metadata address",
                    connection.host, address)
        raise NewConnectionError(connection, f"{connection.host} is at a link-local or cloud metadata address")
    _Watchdog.register(sock)
    return sock


# Checked in _new_conn, which both classes' connect() call for the bare TCP socket: after connect(), an HTTPS
# connection had already sent its TLS ClientHello (the host's name in it) to the address it then refused.
class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _admitted(self, super()._new_conn())


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _admitted(self, super()._new_conn())


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    """Connects through the watched connection classes. (Through a proxy set in the environment, connections are not
    watched: their reads are bounded by the socket timeout and the checks between body chunks only.)"""

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


@contextmanager
def session_until(deadline: float) -> Iterator[requests.Session]:
    """A session whose connections are shut down at `deadline` (on the `time.monotonic()` clock), for the thread
    that enters it."""
    with requests.Session() as session, _Watchdog(deadline):
        session.auth = _as_given
        adapter = _WatchedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        yield session


def _as_given(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """The session's authentication: none but the request's own headers. A session without one reads ~/.netrc for
    every host it calls (requests' trust_env), and its login for the host, or its `default` login for any host,
    replaced the EHR's bearer token: the server's own password went to the FHIR server, or, in local mode, to any."""
    return request


class TooLarge(Exception):
    """A body past its cap, by its Content-Length or by the bytes that arrived."""


def read_capped(response: requests.Response, max_bytes: int, on_chunk: Callable[[int], None] = lambda size: None,
                declared_cap: int | None = None) -> bytes:
    """The (decompressed) body of a streamed response, given up with TooLarge as soon as it grows past `max_bytes`,
    or before a byte is read when its Content-Length is over `declared_cap` (default `max_bytes`). `on_chunk` gets
    each chunk's size as it arrives (a byte budget to spend, a deadline to check) and may raise to stop the read."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > (max_bytes if declared_cap is None else declared_cap):
        raise TooLarge
    body = bytearray()
    for chunk in response.iter_content(_CHUNK_BYTES):
        body.extend(chunk)
        on_chunk(len(chunk))
        if len(body) > max_bytes:
            raise TooLarge
    return bytes(body)
