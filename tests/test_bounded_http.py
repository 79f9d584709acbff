"""bounded_http against a real loopback server: read_capped's cap holds with and without a Content-Length; the
sessions send no credentials of their own and refuse a connection that reached an internal address."""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
import requests

from cds_service import bounded_http
from cds_service.bounded_http import TooLarge, read_capped, session_until
from cds_service.urls import internal_address

CAP = 100_000


class _Answer:
    """What the server sends: `size` bytes, declaring `declared` as the Content-Length (None: no header, the body
    ends with the connection)."""

    def __init__(self, size: int, declared: int | None) -> None:
        self.size, self.declared = size, declared
        self.authorizations: list[str | None] = []  # the Authorization header of each request received


@pytest.fixture
def answer() -> Iterator[tuple[_Answer, str]]:
    current = _Answer(0, None)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # without Content-Length the close ends the body

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            current.authorizations.append(self.headers.get("Authorization"))
            self.send_response(200)
            if current.declared is not None:
                self.send_header("Content-Length", str(current.declared))
            self.end_headers()
            for start in range(0, current.size, 16_384):
                try:
                    self.wfile.write(b"x" * min(16_384, current.size - start))
                except OSError:
                    return  # the client hung up

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield current, f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def _read(url: str, **kwargs: Any) -> bytes:
    with session_until(time.monotonic() + 30) as session, session.get(url, stream=True, timeout=30) as response:
        return read_capped(response, CAP, **kwargs)


@pytest.mark.parametrize("declared", [True, False])
def test_a_body_within_the_cap_is_read_whole(answer: tuple[_Answer, str], declared: bool) -> None:
    sent, url = answer
    sent.size = CAP
    sent.declared = CAP if declared else None
    sizes: list[int] = []
    assert _read(url, on_chunk=sizes.append) == b"x" * CAP
    assert sum(sizes) == CAP


def test_an_undeclared_body_past_the_cap_is_given_up_as_it_arrives(answer: tuple[_Answer, str]) -> None:
    sent, url = answer
    sent.size, sent.declared = 50 * CAP, None
    sizes: list[int] = []
    with pytest.raises(TooLarge):
        _read(url, on_chunk=sizes.append)
    assert CAP < sum(sizes) < 2 * CAP  # stopped at the first chunk past the cap, not at the end of the body


@pytest.mark.parametrize("declared_cap", [None, CAP // 2])
def test_a_declared_length_over_the_cap_is_refused_before_the_body(answer: tuple[_Answer, str],
                                                                    declared_cap: int | None) -> None:
    sent, url = answer
    over = (declared_cap or CAP) + 1
    sent.size, sent.declared = over, over
    sizes: list[int] = []
    with pytest.raises(TooLarge):
        _read(url, on_chunk=sizes.append, declared_cap=declared_cap)
    assert sizes == []


def test_on_chunk_stops_the_read_with_its_own_error(answer: tuple[_Answer, str]) -> None:
    sent, url = answer
    sent.size, sent.declared = CAP, None

    def spend(size: int) -> None:
        raise requests.ConnectionError("budget spent")

    with pytest.raises(requests.ConnectionError, match="budget spent"):
        _read(url, on_chunk=spend)


@pytest.mark.parametrize("address", ["169.254.169.254", "169.254.0.1", "fe80::1", "fe80::1%eth0", "fd00:ec2::254",
                                     "::ffff:169.254.169.254", "fd20:ce::254", "100.100.100.200",
                                     "::ffff:100.100.100.200"])
def test_link_local_and_metadata_addresses_are_internal(address: str) -> None:
    assert internal_address(address)


# A hospital's own servers: private, loopback, carrier-grade NAT (a VPN's, Tailscale's) and unique local addresses.
@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.5", "172.16.0.9", "192.168.1.1", "8.8.8.8",
                                     "2001:db8::1", "100.64.0.1", "100.100.100.100", "fd12:3456::1", "::ffff:10.1.2.3"])
def test_other_addresses_are_not_internal(address: str) -> None:
    assert not internal_address(address)


def test_a_connection_that_reached_an_internal_address_is_closed_before_any_request(
        answer: tuple[_Answer, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A name whose DNS answer is a metadata address (rebinding, or a name made for it) passes every check of the
    URL: the connection itself refuses it. Loopback stands in for the internal address, reached by name."""
    sent, url = answer
    sent.size = 10
    monkeypatch.setattr(bounded_http, "internal_address", lambda address: address in ("127.0.0.1", "::1"))
    with pytest.raises(requests.ConnectionError, match="link-local or cloud metadata"):
        _read(url.replace("127.0.0.1", "localhost"))
    assert sent.authorizations == []  # nothing was sent on it


def test_a_session_sends_no_netrc_login(answer: tuple[_Answer, str], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """requests reads ~/.netrc for a session without authentication: its login would go to every host fetched from
    (the JWK Set's, the FHIR server's)."""
    netrc = tmp_path / ".netrc"
    netrc.write_text("default login service password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    sent, url = answer
    sent.size = 10
    assert _read(url) == b"x" * 10
    assert sent.authorizations == [None]


def test_an_https_connection_to_an_internal_address_sends_not_even_its_tls_hello(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused once connect() had run, an HTTPS connection had already sent its TLS ClientHello (the host's name in
    it) there: the bare TCP connection is refused, before any byte."""
    received: list[bytes] = []
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(5)

        def accept() -> None:
            connection, _ = server.accept()
            with connection:
                connection.settimeout(2)
                try:
                    received.append(connection.recv(1024))  # b"" once the client closed without sending
                except OSError:
                    received.append(b"(no close)")

        thread = threading.Thread(target=accept)
        thread.start()
        monkeypatch.setattr(bounded_http, "internal_address", lambda address: address in ("127.0.0.1", "::1"))
        with pytest.raises(requests.ConnectionError, match="link-local or cloud metadata"):
            with session_until(time.monotonic() + 5) as session:
                session.get(f"https://127.0.0.1:{server.getsockname()[1]}/", timeout=5)
        thread.join()
    assert received == [b""]
