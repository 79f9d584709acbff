"""A JWT never reaches a log line, wherever a client put it, nor the audit trail's fields quoting the request path (its
service id and reason; a hookInstance holding one is kept as a marker: tests/test_audit_masked_ids.py): found by a
security review sending a token in the request path (`POST /cds-services/<JWT>`, a service URL template filled in
wrong), which the service's log line, gunicorn's access log and the audit record's service id and reason then held
whole. The query string was already left out (gunicorn_config, cli_serve); the path is the client's, and is redacted
instead."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from cds_service.db_models import Invocation
from cds_service.log_format import LINE_FORMAT, LogFormatter, without_tokens
from tests.live_server import LiveClient
from tests.test_auth import ec_token, jwks_server, secure, secure_app  # noqa: F401  (fixtures)
from tests.test_gunicorn import Gunicorn

# A signed JWT's shape (header.payload.signature), and one cut after its payload (a column's length).
JWT = "eyJhbGciOiJFUzM4NCJ9.eyJpc3MiOiJodHRwczovL2Voci5leGFtcGxlLm9yZyJ9.c2lnbmF0dXJlLXNlY3JldA"
CUT = JWT.rsplit(".", 1)[0]


@pytest.mark.parametrize("text, redacted", [
    (f"404 on POST /cds-services/{JWT}: x", "404 on POST /cds-services/<token>: x"),
    (f"expects aud https://cds.example.org/{CUT}", "expects aud https://cds.example.org/<token>"),
    (f"'Authorization Bearer {JWT}'", "'Authorization Bearer <token>'"),
    ("no bearer token; kid \"eyJhbGciOiJFUzM4NCJ9\"", "no bearer token; kid \"eyJhbGciOiJFUzM4NCJ9\""),  # no JWT
    (f"/cds-services/Bearer%20{JWT} and x_{CUT}", "/cds-services/Bearer%20<token> and x_<token>"),  # within a word
    (f"a.{JWT}.b {JWT}", "a.<token> <token>"),
])
def test_tokens_are_redacted_from_text(text: str, redacted: str) -> None:
    assert without_tokens(text) == redacted


@pytest.mark.parametrize("run", ["eyJ", "eyJ-", "xeyJ"])
def test_redaction_is_linear_in_a_hostile_message(run: str) -> None:
    """A megabyte of "eyJ" with no dot (a path or a header value is the client's): the former pattern tried each
    "eyJ" to the run's end, hours for this one (2 s for 64 KB); a JWT after it is still found."""
    hostile = run * ((1 << 20) // len(run))
    assert without_tokens(f"/{hostile} {JWT}") == f"/{hostile} <token>"
    kept = run.removesuffix("eyJ-").removesuffix("eyJ")  # a dot ends the run: it reads as a JWT cut short
    assert without_tokens(f"/{hostile}.") == f"/{kept}<token>"


def test_the_log_format_redacts_a_token_in_any_message() -> None:
    record = logging.LogRecord("cds_service.routes", logging.INFO, __file__, 0, "404 on POST %s", (f"/{JWT}",), None)
    line = LogFormatter(LINE_FORMAT).format(record)
    assert line.endswith("404 on POST /<token>") and "eyJ" not in line


def test_a_token_in_the_path_is_not_stored_in_the_audit_trail(secure_app: Flask,  # noqa: F811
                                                                secure: LiveClient) -> None:  # noqa: F811
    answer = secure.post(f"/cds-services/{JWT}", json={}, headers={"Authorization": f"Bearer {ec_token()}"})
    assert answer.status_code == 401  # a signed token whose aud is the service's URL, not this path
    store = secure_app.extensions["cds_service"].store
    assert store.flush(10.0)
    with store.engine.connect() as connection:
        [row] = connection.execute(select(Invocation.service_id, Invocation.reason)).all()
    assert "eyJpc3Mi" not in row.service_id + row.reason, row
    assert row.service_id.endswith("<token>") and "expects aud http" in row.reason


def test_gunicorn_logs_no_token_sent_in_the_path(tmp_path: Path) -> None:
    (tmp_path / "metrics").mkdir()
    server = Gunicorn(tmp_path, tmp_path / "metrics")
    try:
        for path in (f"/cds-services/{JWT}", f"/{JWT}"):
            answer = requests.post(server.url + path, json={}, timeout=10)
            assert answer.status_code == 404
    finally:
        server.stop()
    logged = server.stdout.read_text() + server.stderr.read_text()
    assert "POST /cds-services/<token>" in logged and "eyJpc3Mi" not in logged
