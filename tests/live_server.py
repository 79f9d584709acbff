"""The app served by a real HTTP server on loopback, and a client for it with the small API the tests use from
Flask's test client, backed by `requests`.

    with serving(app) as client:  # werkzeug's threaded server on 127.0.0.1:<free port>, stopped on exit
        response = client.post("/cds-services/blinatumomab-coverage", json=body, headers={...})
        response.status_code, response.headers["Content-Type"], response.get_json(), response.data, response.text
        client.base_url  # for `requests` itself

Integration tests go through a real socket, the server's HTTP parsing and the WSGI environ it builds, as an EHR's
calls do (the team guide: "Integration tests use real HTTP servers on loopback"). A test that needs the app itself
(its store, its extensions) keeps a reference to the app it served.
"""
from __future__ import annotations

import json as jsonlib
import socket
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

import requests
from flask import Flask
from werkzeug.datastructures import Headers
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

# Every request through a LiveClient gives up after this long: a hang guard, so that a broken build fails its test
# instead of hanging the suite, not a speed claim.
REQUEST_GUARD_SECONDS = 60.0
_MISSING = object()


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request: tests read the app's own log (caplog) and must not find the server's in it."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class LiveClient:
    """What tests use of FlaskClient (get, post, options, open, ... with json, data, headers, content_type,
    query_string), sent with `requests` to `base_url`. Responses are werkzeug Responses built from what came back
    over the wire: status_code, headers, data, text, get_data(), get_json(), json, mimetype as with the test client."""

    def __init__(self, base_url: str, application: Flask | None = None) -> None:
        self.base_url = base_url
        self.application = application
        self._session = requests.Session()
        self._session.headers.clear()  # only what the test sends (the test client sends no Accept, no User-Agent)

    def open(self, path: str = "/", method: str = "GET", *, json: Any = _MISSING, data: Any = None,
             headers: Mapping[str, str] | list[tuple[str, str]] | None = None, content_type: str | None = None,
             query_string: Mapping[str, Any] | str | None = None, follow_redirects: bool = False) -> Response:
        sent = Headers(headers or {})
        if json is not _MISSING:
            # As the test client does: the app's own JSON provider, and application/json unless told otherwise.
            data = self.application.json.dumps(json) if self.application is not None else jsonlib.dumps(json)
            content_type = content_type or "application/json"
        if content_type is not None:
            sent["Content-Type"] = content_type
        if isinstance(data, str):
            data = data.encode()
        answer = self._session.request(method, self.base_url + path, data=data, headers=dict(sent.items()),
                                       params=query_string, allow_redirects=follow_redirects,
                                       timeout=REQUEST_GUARD_SECONDS)
        return _response(answer)

    def get(self, path: str = "/", **kwargs: Any) -> Response:
        return self.open(path, "GET", **kwargs)

    def post(self, path: str = "/", **kwargs: Any) -> Response:
        return self.open(path, "POST", **kwargs)

    def put(self, path: str = "/", **kwargs: Any) -> Response:
        return self.open(path, "PUT", **kwargs)

    def options(self, path: str = "/", **kwargs: Any) -> Response:
        return self.open(path, "OPTIONS", **kwargs)

    def close(self) -> None:
        self._session.close()


def _response(answer: requests.Response) -> Response:
    """A werkzeug Response holding what the server sent: its status, its headers as sent (repeated ones kept), and
    its body."""
    response = Response(answer.content, status=f"{answer.status_code} {answer.reason}")
    response.headers = Headers(list(answer.raw.headers.items()))
    return response


class LiveServer:
    """A werkzeug threaded server for `app` on 127.0.0.1:<free port>, accepting connections in a thread of its own
    (each connection is then served in a thread of its own too)."""

    def __init__(self, app: Flask) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._stopping = False
        self._thread = threading.Thread(target=self._accept, name="live-service", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        # handle_request waits for the next connection without polling: serve_forever's poll interval would make
        # every stop wait for the loop to notice, once per test.
        while not self._stopping:
            self._server.handle_request()

    def stop(self) -> None:
        self._stopping = True
        with socket.create_connection(("127.0.0.1", self._server.server_port)):
            pass  # wakes the accepting thread, which then sees _stopping
        self._thread.join(REQUEST_GUARD_SECONDS)  # a hang guard
        self._server.server_close()


@contextmanager
def serving(app: Flask) -> Iterator[LiveClient]:
    """`app` served over HTTP on loopback for the duration of the block, with a LiveClient for it."""
    server = LiveServer(app)
    client = LiveClient(server.base_url, app)
    try:
        yield client
    finally:
        client.close()
        server.stop()
