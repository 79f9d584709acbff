"""`cds-service serve`: the public base URL (card links, the Questionnaire canonical, the JWT audience) follows the
address served unless configured, and a wildcard address is replaced by one a client can call, with a warning; a stop
signal during the exit drain of the audit queue does not cut it short."""
from __future__ import annotations

import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests
from flask import Flask

from cds_service import cli_serve
from cds_service.cli import main
from cds_service.config import Settings
from tests.conftest import close_app, make_app
from tests.db_outage import SqliteLock
from tests.live_server import serving
from tests.test_pipeline import example

QUESTIONNAIRE = "/fhir/Questionnaire/blinatumomab-coverage-attestation"


class _Server:
    """Stands in for werkzeug's server: serving stops at once, as after Ctrl-C."""

    server_port = 9000

    def serve_forever(self) -> None:
        raise KeyboardInterrupt

    def server_close(self) -> None:
        pass


@pytest.fixture
def apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Flask]]:
    """The apps `serve` built; nothing listens, and the test process keeps its SIGTERM handler."""
    for name in ("CDS_AUTH_CONFIG", "CDS_PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CDS_DATABASE_URL", f"sqlite:///{tmp_path / 'cds.db'}")
    built: list[Flask] = []

    def create_app(settings: Settings) -> Flask:
        built.append(make_app(settings))
        return built[-1]

    monkeypatch.setattr(cli_serve, "create_app", create_app)
    monkeypatch.setattr(cli_serve, "make_server", lambda *args, **kwargs: _Server())
    monkeypatch.setattr(cli_serve.signal, "signal", lambda *args: None)
    yield built
    for app in built:
        close_app(app)


def _serve(apps: list[Flask], host: str) -> str:
    """The public base URL of the app `serve --host host --port 9000` built."""
    assert main(["serve", "--host", host, "--port", "9000"]) == 0
    return str(apps[-1].extensions["cds_service"].settings.public_base_url)


@pytest.mark.parametrize(("host", "url"), [("0.0.0.0", "http://127.0.0.1:9000"), ("::", "http://[::1]:9000")])
def test_a_wildcard_address_links_to_loopback_and_warns(apps: list[Flask], caplog: pytest.LogCaptureFixture,
                                                        host: str, url: str) -> None:
    with caplog.at_level(logging.WARNING, logger="cds_service"):
        assert _serve(apps, host) == url
    with serving(apps[-1]) as client:
        questionnaire = client.get(QUESTIONNAIRE).get_json()
    assert questionnaire["url"] == url + QUESTIONNAIRE
    warnings = [r.getMessage() for r in caplog.records if r.name == "cds_service.cli_serve"]
    assert len(warnings) == 1 and "every interface" in warnings[0] and "set CDS_PUBLIC_BASE_URL" in warnings[0]


def test_a_configured_public_base_url_wins_without_a_warning(apps: list[Flask], caplog: pytest.LogCaptureFixture,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_PUBLIC_BASE_URL", "https://cds.example.org/")
    with caplog.at_level(logging.WARNING, logger="cds_service"):
        assert _serve(apps, "0.0.0.0") == "https://cds.example.org"
    assert not [r for r in caplog.records if r.name == "cds_service.cli_serve"]


@pytest.mark.parametrize(("host", "url"), [("10.1.2.3", "http://10.1.2.3:9000"), ("::1", "http://[::1]:9000"),
                                           ("cds.internal", "http://cds.internal:9000")])
def test_a_specific_address_is_the_public_base_url(apps: list[Flask], caplog: pytest.LogCaptureFixture,
                                                   host: str, url: str) -> None:
    with caplog.at_level(logging.WARNING, logger="cds_service"):
        assert _serve(apps, host) == url
    assert not [r for r in caplog.records if r.name == "cds_service.cli_serve"]


# `cds-service serve --port 0`, with the exit drain and SQLite's busy timeout shortened so that a locked database is
# given up on in seconds (the defaults: 20 s and 5 s).
_SERVE = ("import sys; from cds_service import audit_writer, db_sqlite; audit_writer.DRAIN_SECONDS = 2.0; "
          "db_sqlite._SQLITE_BUSY_TIMEOUT_MS = 200; from cds_service.cli import main; "
          "sys.exit(main(['serve', '--port', '0']))")


class _Served:
    """`cds-service serve` in a subprocess; its log (stderr) read as it comes."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _SERVE], env=env, stderr=subprocess.PIPE, text=True)
        self.log: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, text: str, seconds: float = 20.0) -> str:
        """The first line from now on holding `text`; fails after `seconds`, or if the log ends first."""
        deadline = time.monotonic() + seconds
        while True:
            line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, f"{text!r} never logged:\n{''.join(self.log)}"
            self.log.append(line)
            if text in line:
                return line

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_a_second_stop_signal_does_not_cut_the_exit_drain_short(tmp_path: Path, stop: signal.Signals) -> None:
    """A second SIGTERM (or Ctrl-C) raised SystemExit inside the drain: the queued records were lost, unlogged."""
    lock = SqliteLock(tmp_path / "data" / "cds.db")
    env = {name: value for name, value in os.environ.items() if name not in ("CDS_AUTH_CONFIG", "CDS_PUBLIC_BASE_URL")}
    served = _Served({**env, "CDS_DATABASE_URL": lock.url, "CDS_LOG_LEVEL": "INFO"})
    try:
        match = re.search(r"serving (\S+)/cds-services", served.wait_for("serving "))
        assert match is not None
        lock.down()  # from now on the audit record cannot be written
        body = example("aspirus-adult-relapsed-refractory-cycle1") | {"hookInstance": "queued-at-exit"}
        assert requests.post(match.group(1) + "/cds-services/blinatumomab-coverage", json=body, timeout=20).ok
        served.process.send_signal(stop)
        served.wait_for("writing 1 queued audit record of pid ")
        served.process.send_signal(stop)
        served.wait_for(f"{stop.name} ignored")
        served.wait_for("1 record unwritten, lost: hookInstance queued-at-exit")
        assert served.process.wait(20) == 0
    finally:
        lock.up()
        served.stop()


def test_port_0_links_to_the_port_bound(apps: list[Flask]) -> None:
    """The card links and the JWT audience pointed at 8080 while the log named the port picked."""
    assert main(["serve", "--port", "0"]) == 0
    assert apps[-1].extensions["cds_service"].settings.public_base_url == f"http://127.0.0.1:{_Server.server_port}"


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_a_port_out_of_range_is_refused(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["serve", "--port", port])
    assert raised.value.code == 2 and f"{port!r} is not a port (0 to 65535)" in capsys.readouterr().err


def test_a_port_that_cannot_be_listened_on_is_named_with_the_settings_that_change_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    """werkzeug's line alone ("Permission denied", "Name or service not known") named neither the address nor the
    option."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as raised:
            main(["serve", "--port", str(port)])
    assert raised.value.code == (f"cds-service serve: cannot listen on 127.0.0.1 port {port} (--host, --port; make "
                                 "run: HOST, PORT): see the line above")
    assert "Address already in use" in capsys.readouterr().err


def test_a_public_base_url_set_but_empty_is_not_replaced_by_the_address_served(
        apps: list[Flask], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_PUBLIC_BASE_URL", "")
    with pytest.raises(SystemExit, match="^cds-service serve: CDS_PUBLIC_BASE_URL is set but empty"):
        main(["serve", "--port", "9000"])


def test_the_request_lines_carry_no_terminal_colours(tmp_path: Path) -> None:
    """werkzeug coloured the request of a 4xx for a terminal, and the log format escaped the codes into the line:
    `"\\x1b[33mGET /no/such/page HTTP/1.1\\x1b[0m" 404`."""
    env = {name: value for name, value in os.environ.items() if name not in ("CDS_AUTH_CONFIG", "CDS_PUBLIC_BASE_URL")}
    served = _Served({**env, "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'cds.db'}", "CDS_LOG_LEVEL": "INFO"})
    try:
        match = re.search(r"serving (\S+)/cds-services", served.wait_for("serving "))
        assert match is not None
        for path, status in (("/no/such/page", 404), ("/cds-services", 200)):
            assert requests.get(match.group(1) + path, timeout=20).status_code == status
            line = served.wait_for(f'"GET {path} HTTP/1.1" {status}')
            assert " INFO werkzeug: 127.0.0.1 " in line and "\x1b" not in line and "x1b" not in line, line
    finally:
        served.stop()


def test_the_request_line_leaves_out_the_query_string(tmp_path: Path) -> None:
    """A token sent in the query (`?access_token=<JWT>`) was written to the log with the request line; so was one in
    a malformed request line, answered 400 before its path was parsed, and the part of a query after a space."""
    env = {name: value for name, value in os.environ.items() if name not in ("CDS_AUTH_CONFIG", "CDS_PUBLIC_BASE_URL")}
    served = _Served({**env, "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'cds.db'}", "CDS_LOG_LEVEL": "INFO"})
    try:
        match = re.search(r"serving (\S+)/cds-services", served.wait_for("serving "))
        assert match is not None
        answer = requests.get(match.group(1) + "/cds-services", params={"access_token": "secret-1"}, timeout=20)
        assert answer.status_code == 200
        served.wait_for('"GET /cds-services HTTP/1.1" 200')
        host, port = match.group(1).removeprefix("http://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=20) as connection:
            connection.sendall(b"GET /cds-services?access_token=secret-2 secret-3 HTTP/1.1\r\n\r\n")
            assert b" 400 " in connection.recv(4096)
        served.wait_for("Bad request syntax ('GET /cds-services HTTP/1.1')")
        served.wait_for('"GET /cds-services HTTP/1.1" 400')
    finally:
        served.stop()
    assert "secret-" not in "".join(served.log)
