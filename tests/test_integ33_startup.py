"""What a started service says it applies (the mode, the clients, the plans, the audit database, the settings in
effect), and each client's JWK Set fetched once at start: a key host this machine cannot reach is a WARNING at
start, not a 401 found at the first call. gunicorn's `create_app()` and `cds-service serve` alike."""
from __future__ import annotations

import json
import logging
import os
import re
import socket
from pathlib import Path
from typing import Any

import pytest
import requests

from cds_service import __version__
from cds_service.app import create_app
from cds_service.cli import main
from tests.conftest import close_app
from tests.live_server import serving
from tests.test_auth import (  # noqa: F401  (jwks_server: a fixture)
    EC_KEY, EHR, JwksServer, call, ec_token, jwks_server, public_jwk,
)
from tests.test_cli_serve import _Served

DOWN = "https://down.example.org"


def _closed_port_url() -> str:
    """A loopback URL nothing listens at: the port of a socket bound, then closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/jwks.json"


def _auth_file(tmp_path: Path, clients: list[dict[str, Any]], base: str = "https://cds.example.org") -> str:
    path = tmp_path / "auth.json"
    path.write_text(json.dumps({"public_base_url": base, "clients": clients}))
    return str(path)


def _messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "cds_service.startup_report" and r.levelno == level]


def test_gunicorns_app_logs_what_it_applies_and_each_clients_keys(
        tmp_path: Path, jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        caplog: pytest.LogCaptureFixture) -> None:
    """The journal of a gunicorn start said only gunicorn's own lines: which clients, plans and database the service
    ran with could be learnt only by running `cds-service check` with the same environment."""
    down = _closed_port_url()
    monkeypatch.setenv("CDS_AUTH_CONFIG", _auth_file(tmp_path, [
        {"iss": EHR, "jwks_url": jwks_server.url, "fhir_servers": ["https://ehr.example.org/fhir"]},
        {"iss": DOWN, "jwks_url": down, "tenants": ["site-a"]}]))
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CDS_TIME_ZONE", "America/Chicago")
    with caplog.at_level(logging.INFO, logger="cds_service"):
        app = create_app()
    close_app(app)
    [configured] = [m for m in _messages(caplog, logging.INFO) if " configured: " in m]
    assert configured.startswith(f"cds-service {__version__} configured: JWT required (CDS_AUTH_CONFIG); public base "
                                 "URL https://cds.example.org; plans aspirus-magellan (Aspirus Health Plan, version "
                                 "2023), florida-blue (Florida Blue, version 09-J2000-26")
    assert f"audit database sqlite:///{tmp_path.resolve()}/cds.db;" in configured
    assert configured.endswith("CORS origins *; clinical date in America/Chicago; fetch budget 3 s; body limit "
                               "10485760 bytes; log level INFO; metrics of each process alone")
    infos = _messages(caplog, logging.INFO)
    assert f"client {EHR}: keys {jwks_server.url}; FHIR servers https://ehr.example.org/fhir; tenants any" in infos
    assert f"client {DOWN}: keys {down}; FHIR servers none; tenants site-a" in infos
    assert f'client {EHR}: JWK Set {jwks_server.url}: keys "ec-1" (EC for ES384)' in infos
    assert _messages(caplog, logging.WARNING) == [
        f"client {DOWN}: JWK Set {down} unavailable: ConnectionError; nothing answers at its host and port from "
        "this machine: check the client's jwks_url, and a firewall or proxy (HTTPS_PROXY, NO_PROXY) on the way: every "
        "token of this client is refused (401) until it answers; tried again at its next token, at most every 30 s"]
    assert jwks_server.fetches == 1


def test_a_key_host_down_at_start_does_not_hold_back_its_first_token(
        tmp_path: Path, jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        caplog: pytest.LogCaptureFixture) -> None:
    """The start's fetch is a check only: a failed one does not make the client's first token wait 30 s for the
    next attempt (the verifier's own cache tries at once), and the service starts whatever it found."""
    jwks_server.answer = (503, {"Content-Length": "0"}, b"")
    monkeypatch.setenv("CDS_AUTH_CONFIG", _auth_file(tmp_path, [{"iss": EHR, "jwks_url": jwks_server.url}]))
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))
    with caplog.at_level(logging.INFO, logger="cds_service"):
        app = create_app()
    try:
        assert _messages(caplog, logging.WARNING) == [
            f"client {EHR}: JWK Set {jwks_server.url} unavailable: HTTP 503; the key host is failing at that URL: its "
            "owner must fix it: every token of this client is refused (401) until it answers; tried again at its "
            "next token, at most every 30 s"]
        jwks_server.answer = None  # the key host is back
        with serving(app) as client:
            assert call(client, ec_token()).status_code == 200
        assert jwks_server.fetches == 2
    finally:
        close_app(app)


def test_local_mode_says_so_and_fetches_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("CDS_AUTH_CONFIG", raising=False)
    monkeypatch.delenv("CDS_PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("CDS_DATABASE_URL", "postgresql+psycopg://cds:secret@127.0.0.1:1/cds")
    with caplog.at_level(logging.INFO, logger="cds_service"):
        app = create_app()
    close_app(app)
    [configured] = _messages(caplog, logging.INFO)
    assert configured.startswith(f"cds-service {__version__} configured: local mode: no JWT required (no "
                                 "CDS_AUTH_CONFIG); public base URL http://127.0.0.1:8080; plans ")
    assert "audit database postgresql+psycopg://cds:***@127.0.0.1:1/cds;" in configured
    assert "secret" not in configured
    assert not _messages(caplog, logging.WARNING)


def test_cds_service_serve_logs_the_same_before_serving(tmp_path: Path, jwks_server: JwksServer) -> None:  # noqa: F811
    """`make run` with CDS_AUTH_CONFIG: the configuration and the keys found, then the address served."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CDS_")}
    env |= {"CDS_AUTH_CONFIG": _auth_file(tmp_path, [{"iss": EHR, "jwks_url": jwks_server.url}]),
            "CDS_DATA_DIR": str(tmp_path), "CDS_LOG_LEVEL": "INFO"}
    served = _Served(env)
    try:
        assert "configured: JWT required (CDS_AUTH_CONFIG); public base URL https://cds.example.org" \
            in served.wait_for("configured: ")
        assert f'client {EHR}: JWK Set {jwks_server.url}: keys "ec-1" (EC for ES384)' in served.wait_for("JWK Set")
        match = re.search(r"serving (\S+)/cds-services", served.wait_for("serving "))
        assert match is not None
        assert requests.get(f"{match.group(1)}/cds-services", timeout=20).status_code == 200
    finally:
        served.stop()



@pytest.mark.parametrize("own, warned", [("https://cds-new.example.org", True), ("https://cds.example.org/", False)])
def test_a_public_base_url_variable_the_auth_file_overrides_is_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str], own: str, warned: bool) -> None:
    """The service moved, CDS_PUBLIC_BASE_URL was changed and the auth file's public_base_url was not: every token
    was refused for its audience, and nothing said the variable went unused. The same URL, slash or not, says
    nothing."""
    monkeypatch.setenv("CDS_AUTH_CONFIG", _auth_file(tmp_path, [{"iss": EHR, "jwks": {"keys": [
        public_jwk(EC_KEY, "ec-1", "ES384")]}}]))
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CDS_PUBLIC_BASE_URL", own)
    warning = (f"CDS_PUBLIC_BASE_URL {own} is not used: the auth configuration's public_base_url "
               "https://cds.example.org wins (the JWT audience, card links): make them agree, or unset one")
    _warned_at_start_and_by_check(caplog, [warning] if warned else [])
    assert "public base URL https://cds.example.org\n" in capsys.readouterr().out


def _warned_at_start_and_by_check(caplog: pytest.LogCaptureFixture, warnings: list[str]) -> None:
    """`warnings`, and no other, logged by a start of the app and again by `cds-service check`."""
    with caplog.at_level(logging.INFO, logger="cds_service"):
        close_app(create_app())
        assert _messages(caplog, logging.WARNING) == warnings
        caplog.clear()
        assert main(["check"]) == 0
    assert _messages(caplog, logging.WARNING) == warnings


def test_an_auth_file_with_require_jwt_false_is_said_to_answer_calls_without_a_token(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The start said nothing of it, and `cds-service check` said "JWT required": yet any caller without a token was
    answered."""
    path = tmp_path / "auth.json"
    path.write_text(json.dumps({"require_jwt": False, "public_base_url": "https://cds.example.org", "clients": [
        {"iss": EHR, "jwks": {"keys": [public_jwk(EC_KEY, "ec-1", "ES384")]}}]}))
    monkeypatch.setenv("CDS_AUTH_CONFIG", str(path))
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))
    with caplog.at_level(logging.INFO, logger="cds_service"):
        app = create_app()
    try:
        with serving(app) as client:
            assert call(client, None).status_code == 200
    finally:
        close_app(app)
    assert [r.getMessage() for r in caplog.records if r.name == "cds_service.app" and r.levelno == logging.WARNING] \
        == ["require_jwt is false in CDS_AUTH_CONFIG: a call without a JWT is answered, from any caller (no FHIR "
            "server is read for it); presented tokens are verified. Set it to true once every EHR sends one"]
    mode = "JWT optional (CDS_AUTH_CONFIG with require_jwt false: a call without one is answered); public base URL " \
           "https://cds.example.org"
    assert [m for m in _messages(caplog, logging.INFO) if f"configured: {mode};" in m]
    assert main(["check"]) == 0
    assert f"\n{mode}\n" in capsys.readouterr().out


@pytest.mark.parametrize(("base", "warned"), [("http://cds.example.org", True), ("http://10.0.0.7:8080", True),
                                              ("https://cds.example.org", False), ("http://127.0.0.1:8080", False),
                                              ("http://localhost:9000", False)])
def test_a_plain_http_public_url_off_loopback_is_a_warning_in_jwt_mode(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, base: str,
        warned: bool) -> None:
    """EHRs would send their JWTs and the record unencrypted: accepted silently before."""
    monkeypatch.setenv("CDS_AUTH_CONFIG", _auth_file(tmp_path, [{"iss": EHR, "jwks": {"keys": [
        public_jwk(EC_KEY, "ec-1", "ES384")]}}], base=base))
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))
    warning = (f"the public base URL {base} is plain http: EHRs would send their JWTs and the patient's record "
               "unencrypted (CDS Hooks requires TLS); serve it behind a TLS reverse proxy and set public_base_url to "
               "the https URL they call")
    _warned_at_start_and_by_check(caplog, [warning] if warned else [])


def test_local_mode_on_plain_http_is_not_warned_of_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """Its own warning says not to expose it at all."""
    monkeypatch.delenv("CDS_AUTH_CONFIG", raising=False)
    monkeypatch.setenv("CDS_PUBLIC_BASE_URL", "http://cds.example.org")
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))
    with caplog.at_level(logging.INFO, logger="cds_service"):
        close_app(create_app())
    assert _messages(caplog, logging.WARNING) == []
