"""One rule for "the JWT audience comes from no setting", decided in startup_report and said alike by a started
server (gunicorn's `create_app()`, `cds-service serve`) and `cds-service check`: a JWT-mode service whose public base
URL neither CDS_PUBLIC_BASE_URL nor the auth file's public_base_url names. The app warned instead whenever the URL
equalled the local default, set so on purpose or not, and on every app built (tests, benchmarks) as well."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from cds_service import cli_serve
from cds_service.app import create_app
from cds_service.config import LOCAL_BASE_URL, VARIABLES, Settings
from tests.conftest import close_app, make_app
from tests.test_auth import RSA_KEY, public_jwk
from tests.test_s36_ehr_check_audience import CLIENT, WARNING, check

PUBLIC = "https://cds.example.org"
# Keys inline: a start fetches a client's jwks_url, which no test host answers.
INLINE_CLIENT = {"iss": "https://ehr.example.org", "jwks": {"keys": [public_jwk(RSA_KEY, "rsa-1", "RS384")]}}


def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, auth: dict[str, Any] | None,
                 **variables: str) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path / "data"))
    if auth is not None:
        (tmp_path / "auth.json").write_text(json.dumps(auth))
        monkeypatch.setenv("CDS_AUTH_CONFIG", str(tmp_path / "auth.json"))
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def _audience_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.levelno == logging.WARNING and "JWT audience" in record.getMessage()]


@pytest.mark.parametrize(("auth", "variables", "warned"), [
    ({"clients": [INLINE_CLIENT]}, {}, True),  # no setting: the local default
    ({"clients": [INLINE_CLIENT]}, {"CDS_PUBLIC_BASE_URL": PUBLIC}, False),
    ({"public_base_url": PUBLIC, "clients": [INLINE_CLIENT]}, {}, False),
    # The loopback default set on purpose (an EHR sandbox on this machine) is the operator's choice: not warned of.
    ({"clients": [INLINE_CLIENT]}, {"CDS_PUBLIC_BASE_URL": LOCAL_BASE_URL}, False),
    ({"public_base_url": LOCAL_BASE_URL, "clients": [INLINE_CLIENT]}, {}, False),
    (None, {}, False),  # local mode: no token is verified, so no audience either
])
def test_a_started_server_warns_when_no_setting_names_the_public_url(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        auth: dict[str, Any] | None, variables: dict[str, str], warned: bool) -> None:
    _environment(monkeypatch, tmp_path, auth, **variables)
    with caplog.at_level(logging.WARNING, logger="cds_service"):
        app = create_app()  # as gunicorn's `cds_service.app:create_app()` builds it
    close_app(app)
    assert _audience_warnings(caplog) == ([WARNING] if warned else [])
    assert [record.name for record in caplog.records if "JWT audience" in record.getMessage()] == \
        (["cds_service.startup_report"] if warned else [])


def test_an_app_built_from_settings_says_nothing_of_the_audience(tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    """A test's or a benchmark's app, which serves no EHR: the start-up report is the server's."""
    settings = Settings.from_env({"CDS_DATA_DIR": str(tmp_path), "CDS_AUTH_CONFIG": _auth_file(tmp_path)})
    with caplog.at_level(logging.WARNING, logger="cds_service"):
        close_app(make_app(settings))
    assert _audience_warnings(caplog) == []


def test_serve_warns_with_the_address_it_serves_when_no_setting_names_the_url(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """`cds-service serve` uses the address served, which is no setting: an EHR calling through a proxy signs for
    another URL."""
    _environment(monkeypatch, tmp_path, {"clients": [INLINE_CLIENT]})
    with caplog.at_level(logging.WARNING, logger="cds_service"):
        close_app(cli_serve._app("127.0.0.1", 8123))
    assert _audience_warnings(caplog) == [WARNING.replace(LOCAL_BASE_URL, "http://127.0.0.1:8123")]


def test_check_does_not_warn_of_the_loopback_default_set_on_purpose(tmp_path: Path) -> None:
    done = check(tmp_path, {"clients": [CLIENT]}, CDS_PUBLIC_BASE_URL=LOCAL_BASE_URL)
    assert done.returncode == 0, done.stderr
    assert "JWT audience" not in done.stderr
    assert f"JWT required (CDS_AUTH_CONFIG); public base URL {LOCAL_BASE_URL}" in done.stdout.splitlines()


def _auth_file(tmp_path: Path) -> str:
    (tmp_path / "auth.json").write_text(json.dumps({"clients": [INLINE_CLIENT]}))
    return str(tmp_path / "auth.json")
