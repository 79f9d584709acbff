"""A real FHIR server on loopback standing in for the EHR's, for integration tests.

    with FhirTestServer(page_size=2, token="secret") as server:
        server.add({"resourceType": "Coverage", "id": "c1", "beneficiary": {"reference": "Patient/p1"}})
        server.fault("/Observation", delay=2.0)
        server.fault("/Medication/m1", trickle=0.1)  # the body a byte at a time
        server.fault("/Condition", body=b'{"resourceType": "Bundle"}')  # these bytes, with status 200
        ... request with fhirServer=server.base_url ...
        assert server.paths() == [...]

Reads `GET /Type/id`; searches `GET /Type?patient=X[&status=a,b]` (matching the subject, patient or beneficiary
reference) answered with searchset Bundles of `page_size` entries linked by `next` (with `hapi_paging`, next links
are HAPI's: the base URL itself with a query, `{base}?_getpages=...&_getpagesoffset=N`). Test modules get a running
server from the `fhir_server` fixture: `from tests.fhir_server import fhir_server`.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

_OWNER_ELEMENTS = ("subject", "patient", "beneficiary")
# The page parameter of our own next links; other unknown parameters are ignored, as lenient servers do.
_PAGING = "_page"
# HAPI FHIR's paging parameters: its next links are `{base}?_getpages=<search id>&_getpagesoffset=<first index>`.
_HAPI_SEARCH = "_getpages"
_HAPI_OFFSET = "_getpagesoffset"


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or before) answering a path: wait `delay` seconds, then a status, broken JSON or the
    given `body` (status 200); send the body (with `trickle_headers`, the status line and headers too) a byte every
    `trickle` seconds."""

    status: int | None = None
    delay: float = 0.0
    invalid_json: bool = False
    body: bytes | None = None
    trickle: float = 0.0
    trickle_headers: bool = False


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    query: dict[str, list[str]]
    authorization: str | None


class FhirTestServer:
    def __init__(self, page_size: int = 50, token: str | None = None, hapi_paging: bool = False) -> None:
        self.page_size = page_size
        self.hapi_paging = hapi_paging
        self.token = token  # when set, requests without "Bearer <token>" get 401
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
              body: bytes | None = None, trickle: float = 0.0, trickle_headers: bool = False) -> None:
        """Inject a fault on a path ("/Coverage", "/Patient/p1"), whatever the query."""
        self._faults[path] = Fault(status, delay, invalid_json, body, trickle, trickle_headers)

    def fault_on(self, path: str) -> Fault:
        return self._faults.get(path, Fault())

    def paths(self) -> list[str]:
        """The paths requested so far, in order of arrival."""
        with self._lock:
            return [r.path for r in self.requests]

    def start(self) -> FhirTestServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True  # a handler still sleeping on a delay fault must not block stop()
        # A short poll interval keeps stop() (and so every test using the server) fast.
        threading.Thread(target=self._httpd.serve_forever, args=(0.02,), name="fhir-test-server", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> FhirTestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def answer(self, path: str, query: dict[str, list[str]], authorization: str | None) -> tuple[int, bytes]:
        """(status, body) for a GET, after recording it and applying any fault."""
        with self._lock:
            self.requests.append(ReceivedRequest(path, query, authorization))
        fault = self.fault_on(path)
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
            return 200, self._search_page(parts[0], query)
        if parts == [""] and _HAPI_SEARCH in query:  # a HAPI next link: the search's type travels as its id
            return 200, self._search_page(query[_HAPI_SEARCH][0], query)
        return 404, _outcome("not-supported", "unknown path")

    def _search_page(self, resource_type: str, query: dict[str, list[str]]) -> dict[str, Any]:
        matches = [r for (t, _), r in sorted(self._resources.items()) if t == resource_type and _matches(r, query)]
        start = _page_start(query, self.page_size)
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(matches),
            "entry": [{"resource": r, "search": {"mode": "match"}} for r in matches[start:start + self.page_size]],
            "link": [],
        }
        if start + self.page_size < len(matches):
            bundle["link"].append({"relation": "next", "url": self._next_url(resource_type, query, start)})
        return bundle

    def _next_url(self, resource_type: str, query: dict[str, list[str]], start: int) -> str:
        params = {k: v[0] for k, v in query.items() if k not in (_PAGING, _HAPI_SEARCH, _HAPI_OFFSET)}
        base = self.next_link_base or self.base_url
        if self.hapi_paging:
            hapi = {_HAPI_SEARCH: resource_type, _HAPI_OFFSET: str(start + self.page_size), "_bundletype": "searchset"}
            return f"{base}?{urlencode(hapi | params)}"
        return f"{base}/{resource_type}?{urlencode(params | {_PAGING: str(start // self.page_size + 1)})}"


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
    return statuses is None or resource.get("status") in statuses.split(",")


def _names_patient(owner: Any, patient_id: str) -> bool:
    reference = owner.get("reference") if isinstance(owner, dict) else None
    return isinstance(reference, str) and (reference == f"Patient/{patient_id}" or
                                           reference.endswith(f"/Patient/{patient_id}"))


def _outcome(code: str, text: str) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": text}]}


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def _head(status: int, length: int) -> bytes:
    """Status line and headers, as send_response and send_header write them (without Server and Date)."""
    return (f"HTTP/1.0 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/fhir+json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def _handler_for(server: FhirTestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            url = urlsplit(self.path)
            status, body = server.answer(url.path, parse_qs(url.query), self.headers.get("Authorization"))
            fault = server.fault_on(url.path)
            try:
                if fault.trickle_headers:
                    self._trickle(_head(status, len(body)) + body, fault.trickle)
                    return
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if fault.trickle:
                    self._trickle(body, fault.trickle)
                else:
                    self.wfile.write(body)
            except ConnectionError:
                pass  # the client gave up (its time budget): expected in timeout tests

        def _trickle(self, data: bytes, interval: float) -> None:
            for i in range(len(data)):
                self.wfile.write(data[i:i + 1])
                time.sleep(interval)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler


@pytest.fixture
def fhir_server() -> Iterator[FhirTestServer]:
    """A running FhirTestServer (page size 50, no token required), stopped after the test."""
    with FhirTestServer() as server:
        yield server
