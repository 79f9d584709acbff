"""bounded_http.read_capped against a real loopback server: the cap holds with and without a Content-Length."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
import requests

from cds_service.bounded_http import TooLarge, read_capped, session_until

CAP = 100_000


class _Answer:
    """What the server sends: `size` bytes, declaring `declared` as the Content-Length (None: no header, the body
    ends with the connection)."""

    def __init__(self, size: int, declared: int | None) -> None:
        self.size, self.declared = size, declared


@pytest.fixture
def answer() -> Iterator[tuple[_Answer, str]]:
    current = _Answer(0, None)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # without Content-Length the close ends the body

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
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
