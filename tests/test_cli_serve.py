"""`cds-service serve`: the public base URL (card links, the Questionnaire canonical, the JWT audience) follows the
address served unless configured, and a wildcard address is replaced by one a client can call, with a warning."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask

from cds_service import cli_serve
from cds_service.cli import main
from cds_service.config import Settings
from tests.conftest import close_app, make_app

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
    questionnaire = apps[-1].test_client().get(QUESTIONNAIRE).get_json()
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
