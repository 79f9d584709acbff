"""A real FHIR server on loopback standing in for the EHR's, for integration tests.

    with FhirTestServer(page_size=2, token="secret") as server:
        server.add({"resourceType": "Coverage", "id": "c1", "beneficiary": {"reference": "Patient/p1"}})
        server.fault("/Observation", delay=2.0)
        server.fault("/Medication/m1", trickle=0.1)  # the body a byte at a time
        server.fault("/Condition", body=b'{"resourceType": "Bundle"}')  # these bytes, with status 200
        release = threading.Event()
        server.fault("/Coverage", hold=release)  # no answer until the test sets release
        ... request with fhirServer=server.base_url ...
        assert server.paths() == [...]
        assert server.requests[0].exchange.wait() == "client hung up"  # what the server saw of the client

Reads `GET /Type/id`; searches `GET /Type?patient=X[&status=a,b][&category=c][&code=[system|]c,...]` (matching the
subject, patient or beneficiary reference; category and code as token searches, a comma list read as OR) answered
with searchset Bundles linked by `next` (with `hapi_paging`, next links are HAPI's: the base URL itself with a query,
`{base}?_getpages=...&_getpagesoffset=N`). A page holds `page_size` entries, or what `_count` asks up to
`max_page_size` (by default `page_size`: a server that pages at its own size whatever is asked); with
`refuse_count`, a search with `_count` is refused (400), as by a server strict about parameters it does not support.
With `narrowed_observations`, the server is Epic's: an Observation search without `category` or `code` is refused
(400).
Test modules get a running server from the `fhir_server` fixture: `from tests.fhir_server import fhir_server`.

By hand, for testing the service without a prefetch (docs/prefetch.md §Testing against a FHIR server):

    python -m tests.fhir_server [--port 8090] [--token TOKEN] fhir_examples/<example>.json > request.json

serves the example's prefetch resources, and prints on stdout the example as a request to post (without its prefetch,
with this server as its fhirServer); on stderr, the server's URL and each request it answers.

Each received request has an `exchange` telling how the server's side of it ended: "answered" (the whole answer
written) or "client hung up" (the client closed the connection first): a test proves that a client gave up on an
answer from what the server saw, not from a stopwatch.
"""
from __future__ import annotations

import argparse
import json
import select
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

_OWNER_ELEMENTS = ("subject", "patient", "beneficiary")
# The page parameter of our own next links; other unknown parameters are ignored, as lenient servers do.
_PAGING = "_page"
_COUNT = "_count"
# The token search parameters the server honours, on any resource type: a resource's CodeableConcept (or list of
# them) under the same name.
_TOKEN_PARAMETERS = ("category", "code")
# HAPI FHIR's paging parameters: its next links are `{base}?_getpages=<search id>&_getpagesoffset=<first index>`.
_HAPI_SEARCH = "_getpages"
_HAPI_OFFSET = "_getpagesoffset"
# How long a held answer (`hold`, `barrier`) waits for its release before it is sent anyway: a hang guard, so that a
# broken client fails its test instead of hanging the suite, not a speed claim.
HANG_GUARD_SECONDS = 30.0


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or before) answering a path: wait `delay` seconds, then a status, broken JSON or the
    given `body` (status 200); send the body (with `trickle_headers`, the status line and headers too) a byte every
    `trickle` seconds. With `hold`, nothing is sent until the test sets the event (or the client hangs up); with
    `barrier`, until as many requests as it has parties are waiting at it: all of them in flight at once."""

    status: int | None = None
    delay: float = 0.0
    invalid_json: bool = False
    body: bytes | None = None
    trickle: float = 0.0
    trickle_headers: bool = False
    hold: threading.Event | None = None
    barrier: threading.Barrier | None = None


class Exchange:
    """How the server's side of one request ended: "answered" (the whole answer was written) or "client hung up" (the
    client closed the connection before that)."""

    ANSWERED = "answered"
    CLIENT_HUNG_UP = "client hung up"

    def __init__(self) -> None:
        self.outcome: str | None = None
        self._ended = threading.Event()

    def end(self, outcome: str) -> None:
        if not self._ended.is_set():
            self.outcome = outcome
            self._ended.set()

    def wait(self, timeout: float = HANG_GUARD_SECONDS) -> str | None:
        """The outcome once the exchange has ended; None if it has not within `timeout` (a hang guard)."""
        self._ended.wait(timeout)
        return self.outcome


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    query: dict[str, list[str]]
    authorization: str | None
    exchange: Exchange = field(default_factory=Exchange, compare=False, repr=False)


class FhirTestServer:
    def __init__(self, page_size: int = 50, token: str | None = None, hapi_paging: bool = False,
                 max_page_size: int | None = None, narrowed_observations: bool = False,
                 refuse_count: bool = False, verbose: bool = False) -> None:
        self.page_size = page_size  # entries a page when the search does not ask (`_count`)
        self.max_page_size = page_size if max_page_size is None else max_page_size  # the most `_count` is granted
        self.refuse_count = refuse_count  # when set, a search with `_count` is refused (400)
        self.narrowed_observations = narrowed_observations  # when set, Observation searches need a category or code
        self.hapi_paging = hapi_paging
        self.token = token  # when set, requests without "Bearer <token>" get 401
        self.verbose = verbose  # when set, each request is logged on stderr (http.server's line): run by hand
        self.next_link_base: str | None = None  # when set, next links point there (a hostile server)
        self.requests: list[ReceivedRequest] = []
        self._resources: dict[tuple[str, str], dict[str, Any]] = {}
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("FhirTestServer not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def add(self, *resources: dict[str, Any]) -> None:
        with self._lock:
            for resource in resources:
                self._resources[(resource["resourceType"], resource["id"])] = resource

    def fault(self, path: str, status: int | None = None, delay: float = 0.0, invalid_json: bool = False,
              body: bytes | None = None, trickle: float = 0.0, trickle_headers: bool = False,
              hold: threading.Event | None = None, barrier: threading.Barrier | None = None) -> None:
        """Inject a fault on a path ("/Coverage", "/Patient/p1"), whatever the query; or on the requests of a path
        with one parameter ("/Observation?category=vital-signs"), which comes before a fault on the path alone."""
        self._faults[path] = Fault(status, delay, invalid_json, body, trickle, trickle_headers, hold, barrier)

    def fault_on(self, path: str, query: dict[str, list[str]]) -> Fault:
        for name, values in query.items():
            for value in values:
                if f"{path}?{name}={value}" in self._faults:
                    return self._faults[f"{path}?{name}={value}"]
        return self._faults.get(path, Fault())

    def paths(self) -> list[str]:
        """The paths requested so far, in order of arrival."""
        with self._lock:
            return [r.path for r in self.requests]

    def start(self, port: int = 0) -> FhirTestServer:
        """Serve on 127.0.0.1, on `port` (0: one the system picks, free)."""
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._httpd.daemon_threads = True  # a handler still sleeping on a delay fault must not block stop()
        # A short poll interval keeps stop() (and so every test using the server) fast.
        threading.Thread(target=self._httpd.serve_forever, args=(0.02,), name="fhir-test-server", daemon=True).start()
        return self

    def stop(self) -> None:
        for fault in list(self._faults.values()):  # no handler thread left waiting for a release
            if fault.hold is not None:
                fault.hold.set()
            if fault.barrier is not None:
                fault.barrier.abort()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> FhirTestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def receive(self, path: str, query: dict[str, list[str]], authorization: str | None) -> ReceivedRequest:
        received = ReceivedRequest(path, query, authorization)
        with self._lock:
            self.requests.append(received)
        return received

    def answer(self, path: str, query: dict[str, list[str]], authorization: str | None) -> tuple[int, bytes]:
        """(status, body) for a GET, applying any fault but holds (the handler does those)."""
        fault = self.fault_on(path, query)
        time.sleep(fault.delay)
        if self.token is not None and authorization != f"Bearer {self.token}":
            return 401, _json(_outcome("login", "missing or wrong bearer token"))
        if fault.status is not None:
            return fault.status, _json(_outcome("exception", "injected fault"))
        if fault.invalid_json:
            return 200, b'{"resourceType": "Bundle", "entry": ['
        if fault.body is not None:
            return 200, fault.body
        status, body = self._resolve(path, query)
        return status, _json(body)

    def _resolve(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if len(parts) == 2:
            resource = self._resources.get((parts[0], parts[1]))
            return (200, resource) if resource else (404, _outcome("not-found", f"{path} not found"))
        if len(parts) == 1 and parts[0]:
            if self.refuse_count and _COUNT in query:  # as a server answers a parameter it does not support
                return 400, _outcome("not-supported", "_count is not supported", severity="fatal")
            if self.narrowed_observations and parts[0] == "Observation" and not set(_TOKEN_PARAMETERS) & set(query):
                # as Epic refuses it (an OperationOutcome of severity fatal, code "required")
                return 400, _outcome("required", "a category or a code is required", severity="fatal")
            return 200, self._search_page(parts[0], query)
        if parts == [""] and _HAPI_SEARCH in query:  # a HAPI next link: the search's type travels as its id
            return 200, self._search_page(query[_HAPI_SEARCH][0], query)
        return 404, _outcome("not-supported", "unknown path")

    def _search_page(self, resource_type: str, query: dict[str, list[str]]) -> dict[str, Any]:
        matches = [r for (t, _), r in sorted(self._resources.items()) if t == resource_type and _matches(r, query)]
        size = self._page_size(query)
        start = _page_start(query, size)
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(matches),
            "entry": [{"resource": r, "search": {"mode": "match"}} for r in matches[start:start + size]],
            "link": [],
        }
        if start + size < len(matches):
            bundle["link"].append({"relation": "next", "url": self._next_url(resource_type, query, start, size)})
        return bundle

    def _page_size(self, query: dict[str, list[str]]) -> int:
        """What `_count` asks, up to the most this server grants; its own page size when nothing usable is asked.
        (Our next links carry the search's `_count`, so every page of a search has the same size.)"""
        asked = query.get(_COUNT, [""])[0]
        return min(int(asked), self.max_page_size) if asked.isdigit() and int(asked) > 0 else self.page_size

    def _next_url(self, resource_type: str, query: dict[str, list[str]], start: int, size: int) -> str:
        params = {k: v[0] for k, v in query.items() if k not in (_PAGING, _HAPI_SEARCH, _HAPI_OFFSET)}
        base = self.next_link_base or self.base_url
        if self.hapi_paging:
            hapi = {_HAPI_SEARCH: resource_type, _HAPI_OFFSET: str(start + size), "_bundletype": "searchset"}
            return f"{base}?{urlencode(hapi | params)}"
        return f"{base}/{resource_type}?{urlencode(params | {_PAGING: str(start // size + 1)})}"


def _page_start(query: dict[str, list[str]], page_size: int) -> int:
    """The index of a page's first match: from our `_page` number, or HAPI's offset."""
    if _HAPI_OFFSET in query:
        offset = query[_HAPI_OFFSET][0]
        return int(offset) if offset.isdigit() else 0
    page = query.get(_PAGING, ["0"])[0]
    return int(page) * page_size if page.isdigit() else 0


def _matches(resource: dict[str, Any], query: dict[str, list[str]]) -> bool:
    patient = query.get("patient", [None])[0]
    if patient is not None and not any(_names_patient(resource.get(e), patient) for e in _OWNER_ELEMENTS):
        return False
    statuses = query.get("status", [None])[0]
    if statuses is not None and resource.get("status") not in statuses.split(","):
        return False
    return all(_has_token(resource.get(name), query[name][0]) for name in _TOKEN_PARAMETERS if name in query)


def _has_token(concepts: Any, wanted: str) -> bool:
    """Whether a CodeableConcept (or one of a list of them) has a coding of one of the tokens of a comma list, each
    `code` (any system) or `system|code`. A resource without the element matches none."""
    codings = [coding for concept in (concepts if isinstance(concepts, list) else [concepts])
               if isinstance(concept, dict) for coding in concept.get("coding") or () if isinstance(coding, dict)]
    for token in wanted.split(","):
        system, _, code = token.rpartition("|")
        if any(c.get("code") == code and (not system or c.get("system") == system) for c in codings):
            return True
    return False


def _names_patient(owner: Any, patient_id: str) -> bool:
    reference = owner.get("reference") if isinstance(owner, dict) else None
    return isinstance(reference, str) and (reference == f"Patient/{patient_id}" or
                                           reference.endswith(f"/Patient/{patient_id}"))


def _outcome(code: str, text: str, severity: str = "error") -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": code, "diagnostics": text}]}


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def _head(status: int, length: int) -> bytes:
    """Status line and headers, as send_response and send_header write them (without Server and Date)."""
    return (f"HTTP/1.0 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/fhir+json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def _client_hung_up(connection: socket.socket) -> bool:
    """Whether the client has closed (or shut down) its end: the connection reads as ended, without waiting."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _wait_for_release(fault: Fault, connection: socket.socket) -> bool:
    """Waits while the fault holds the answer; False if the client hung up meanwhile. A hold ends when its event is
    set, a barrier when all its parties have arrived (or it is broken), either after HANG_GUARD_SECONDS at most."""
    if fault.barrier is not None:
        try:
            fault.barrier.wait(HANG_GUARD_SECONDS)
        except threading.BrokenBarrierError:
            pass  # the test sees it: barrier.broken
    if fault.hold is not None:
        give_up = time.monotonic() + HANG_GUARD_SECONDS
        while not fault.hold.wait(0.01):
            if _client_hung_up(connection):
                return False
            if time.monotonic() > give_up:
                break
    return not _client_hung_up(connection)


def _handler_for(server: FhirTestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            url = urlsplit(self.path)
            received = server.receive(url.path, parse_qs(url.query), self.headers.get("Authorization"))
            fault = server.fault_on(url.path, parse_qs(url.query))
            if not _wait_for_release(fault, self.connection):
                received.exchange.end(Exchange.CLIENT_HUNG_UP)
                return
            status, body = server.answer(url.path, parse_qs(url.query), self.headers.get("Authorization"))
            try:
                if fault.trickle_headers:
                    self._trickle(_head(status, len(body)) + body, fault.trickle)
                else:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/fhir+json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if fault.trickle:
                        self._trickle(body, fault.trickle)
                    else:
                        self.wfile.write(body)
                self.wfile.flush()
            except ConnectionError:
                received.exchange.end(Exchange.CLIENT_HUNG_UP)  # the client gave up (its time budget)
                return
            received.exchange.end(Exchange.ANSWERED)

        def _trickle(self, data: bytes, interval: float) -> None:
            for i in range(len(data)):
                if _client_hung_up(self.connection):
                    raise ConnectionResetError("the client hung up")
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
                time.sleep(interval)

        def log_message(self, format: str, *args: Any) -> None:
            if server.verbose:  # run by hand: what the service asked for; in tests, quiet
                super().log_message(format, *args)

    return Handler


@pytest.fixture
def fhir_server() -> Iterator[FhirTestServer]:
    """A running FhirTestServer (page size 50, no token required), stopped after the test."""
    with FhirTestServer() as server:
        yield server


def prefetched_resources(prefetch: dict[str, Any]) -> list[dict[str, Any]]:
    """Every resource of an example's prefetch, for the FHIR server to hold: the record, nothing more."""
    resources = [prefetch["patient"]]
    for key, value in prefetch.items():
        if key != "patient" and value is not None:
            resources += [entry["resource"] for entry in value.get("entry", [])]
    return resources


def without_prefetch(body: dict[str, Any], base_url: str, token: str | None) -> dict[str, Any]:
    """The request with no prefetch, to be read from the server at `base_url`, with the bearer token if one."""
    withheld = {k: v for k, v in body.items() if k != "prefetch"}
    withheld["fhirServer"] = base_url
    if token is not None:
        withheld["fhirAuthorization"] = {"access_token": token, "token_type": "Bearer", "expires_in": 300,
                                         "scope": "patient/*.read", "subject": "blinatumomab-coverage"}
    return withheld


def main(argv: list[str] | None = None) -> int:
    """Serve an example's prefetch resources until interrupted; print the example as a request without them."""
    parser = argparse.ArgumentParser(prog="python -m tests.fhir_server", description=main.__doc__)
    parser.add_argument("example", type=Path, help="a hook request with a prefetch (fhir_examples/*.json)")
    parser.add_argument("--port", type=int, default=8090, help="port on 127.0.0.1 (0: any free one); default 8090")
    parser.add_argument("--token", help="a bearer token the server requires, sent in the request's fhirAuthorization")
    args = parser.parse_args(argv)
    body = json.loads(args.example.read_text("utf-8"))
    resources = prefetched_resources(body["prefetch"])
    server = FhirTestServer(token=args.token, verbose=True)
    server.add(*resources)
    server.start(args.port)
    # stdout holds the request alone (one line of JSON, for `> request.json`); what a person reads goes to stderr.
    print(json.dumps(without_prefetch(body, server.base_url, args.token)), flush=True)
    patient = f"{server.base_url}/Patient/{body['context']['patientId']}"
    print(f"fhirServer {server.base_url}: {len(resources)} resources of {args.example.name} (the patient: GET "
          f"{patient}). The request to post, without its prefetch, is on stdout. Ctrl-C stops.",
          file=sys.stderr, flush=True)
    # Ctrl-C stops it even when started with SIGINT ignored (from a background job of a non-interactive shell, which
    # Python then leaves ignored: the by-hand test hung so).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
