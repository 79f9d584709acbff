"""A browser's preflight CORS refuses is logged: the browser then sends nothing, and the service's log said nothing,
so an EHR web client or the sandbox that "shows nothing" left the engineer no line to find."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.conftest import close_app, local_settings, make_app
from tests.live_server import serving

SERVICE = "/cds-services/blinatumomab-coverage"
ALLOWED = "https://ehr.example.org"


def _preflight(tmp_path: Path, origins: tuple[str, ...], origin: str, caplog: pytest.LogCaptureFixture,
               path: str = SERVICE) -> list[str]:
    """The app's WARNING lines about CORS for one preflight from `origin`, over HTTP."""
    app = make_app(local_settings(tmp_path, cors_origins=origins))
    try:
        with serving(app) as client, caplog.at_level(logging.INFO, logger="cds_service"):
            response = client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                                     "Access-Control-Request-Headers": "content-type"})
            assert response.status_code == 200
    finally:
        close_app(app)
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "CORS" in r.getMessage()]


def test_a_refused_origin_is_named_with_the_setting_to_change(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert _preflight(tmp_path, (ALLOWED,), "https://sandbox.cds-hooks.org", caplog) == [
        f'CORS preflight from origin "https://sandbox.cds-hooks.org" to {SERVICE} refused: not in CDS_CORS_ORIGINS']


def test_an_origin_that_is_no_url_is_quoted_and_cut(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    [warning] = _preflight(tmp_path, (ALLOWED,), "x" * 500, caplog)
    assert len(warning) < 300 and warning.endswith(f" to {SERVICE} refused: not in CDS_CORS_ORIGINS")


@pytest.mark.parametrize(("origins", "origin", "path"), [
    ((ALLOWED,), ALLOWED, SERVICE),  # allowed
    (("*",), "https://sandbox.cds-hooks.org", SERVICE),  # every origin
    ((ALLOWED,), "https://sandbox.cds-hooks.org", "/healthz"),  # no browser path: no CORS there at all
])
def test_nothing_is_said_of_an_origin_allowed_or_a_path_without_cors(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, origins: tuple[str, ...], origin: str, path: str) -> None:
    assert _preflight(tmp_path, origins, origin, caplog, path) == []
