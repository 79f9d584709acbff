"""`cds-service check` and a started server name the CA certificates the https fetches trust (README's settings table
lists REQUESTS_CA_BUNDLE among the settings; "the settings in effect, defaults included" left it out), as requests
picks them: REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE, else certifi's bundle."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from cds_service.app import create_app
from cds_service.cli import main
from tests.conftest import close_app

LEAD = "CAs trusted for https FHIR servers and JWK Set URLs: "


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "CDS_AUTH_CONFIG", "CDS_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path / "data"))


def _checked(capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["check"]) == 0
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith(LEAD)]


@pytest.mark.parametrize(("variables", "named"), [
    ({"REQUESTS_CA_BUNDLE": DEFAULT_CA_BUNDLE_PATH}, "REQUESTS_CA_BUNDLE"),
    ({"CURL_CA_BUNDLE": DEFAULT_CA_BUNDLE_PATH}, "CURL_CA_BUNDLE"),
    ({"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": DEFAULT_CA_BUNDLE_PATH}, "CURL_CA_BUNDLE"),  # requests skips ""
])
def test_check_names_the_bundle_a_variable_gives(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                                 variables: dict[str, str], named: str) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert _checked(capsys) == [f"{LEAD}{DEFAULT_CA_BUNDLE_PATH} ({named})"]


def test_check_names_certifis_bundle_when_no_variable_is_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert _checked(capsys) == [f"{LEAD}certifi's bundle {DEFAULT_CA_BUNDLE_PATH}"]


def test_a_started_server_says_it_in_its_configured_line(monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", DEFAULT_CA_BUNDLE_PATH)
    with caplog.at_level(logging.INFO, logger="cds_service"):
        app = create_app()
    close_app(app)
    [configured] = [r.getMessage() for r in caplog.records if " configured: " in r.getMessage()]
    assert f"; {LEAD}{DEFAULT_CA_BUNDLE_PATH} (REQUESTS_CA_BUNDLE); CORS origins *;" in configured
