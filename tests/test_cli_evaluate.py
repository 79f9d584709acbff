"""`cds-service evaluate`: the settings of the service (one place: Settings.from_env and the start-up checks), and
configuration errors said as such, in one line."""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cds_service import cli_evaluate
from cds_service.cli import main
from cds_service.config import VARIABLES
from cds_service.config_constants import DEFAULT_FETCH_BUDGET_SECONDS
from cds_service.evaluation import EvaluationContext
from cds_service.exceptions import ClientError
from tests.fhir_server import FhirTestServer, fhir_server  # noqa: F401 (pytest fixture)

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
INFO_NEEDED = str(EXAMPLES / "aspirus-consolidation-mrd-missing.json")  # its card links to the Questionnaire


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _evaluate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["evaluate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_links_follow_cds_public_base_url(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_PUBLIC_BASE_URL", "https://cds.example.org/")
    code, out, _ = _evaluate(capsys, INFO_NEEDED, "--json")
    assert code == 0 and "https://cds.example.org/fhir/Questionnaire/" in out and "127.0.0.1:8080" not in out
    code, out, _ = _evaluate(capsys, INFO_NEEDED, "--json", "--base-url", "https://other.example.org")
    assert code == 0 and "https://other.example.org/fhir/Questionnaire/" in out and "cds.example.org" not in out


def test_the_fetch_budget_and_the_clinical_date_are_the_services(capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    used: dict[str, Any] = {}
    real_loader, real_evaluate = cli_evaluate.RecordLoader, cli_evaluate.evaluate

    def loader(request: Any, allow: Any, budget: float) -> Any:
        used["budget"] = budget
        return real_loader(request, allow, budget)

    def evaluate(request: Any, load: Any, context: Any) -> Any:
        used["today"] = context.today
        return real_evaluate(request, load, context)

    monkeypatch.setattr(cli_evaluate, "RecordLoader", loader)
    monkeypatch.setattr(cli_evaluate, "evaluate", evaluate)
    monkeypatch.setenv("CDS_FETCH_BUDGET_SECONDS", "7.5")
    monkeypatch.setenv("CDS_TIME_ZONE", "Pacific/Kiritimati")
    assert _evaluate(capsys, INFO_NEEDED)[0] == 0
    assert used == {"budget": 7.5, "today": datetime.now(ZoneInfo("Pacific/Kiritimati")).date()}
    assert _evaluate(capsys, INFO_NEEDED, "--today", "2026-03-01")[0] == 0
    assert used["today"] == date(2026, 3, 1)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("CDS_FETCH_BUDGET_SECONDS", "abc", "CDS_FETCH_BUDGET_SECONDS must be a number of seconds from 0.1 to 20, got "
                                        "'abc'"),
    ("CDS_CARDS_DIR", "/nonexistent", "CDS_CARDS_DIR /nonexistent is not a directory"),
    ("CDS_PUBLIC_BASE_URL", "cds.example.org", "CDS_PUBLIC_BASE_URL 'cds.example.org' is not an absolute http(s) URL"),
])
def test_a_configuration_error_is_said_as_such_in_one_line(capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                                           message: str) -> None:
    """A missing cards folder printed a traceback, then "cannot read <file>: None"."""
    monkeypatch.setenv(name, value)
    code, out, err = _evaluate(capsys, INFO_NEEDED)
    assert (code, out) == (2, "")
    assert err.startswith(f"cds-service evaluate: {message}") and len(err.splitlines()) == 1, err


def test_a_request_file_that_cannot_be_read_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = _evaluate(capsys, str(tmp_path / "missing.json"))
    assert (code, err) == (2, f"cannot read {tmp_path / 'missing.json'}: No such file or directory\n")


def test_a_base_url_option_is_checked_as_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["evaluate", INFO_NEEDED, "--base-url", "https://user:pw@cds.example.org"])
    err = capsys.readouterr().err
    assert raised.value.code == 2 and "--base-url must not carry credentials" in err and "pw@" not in err
    assert json.loads(_evaluate(capsys, INFO_NEEDED, "--json", "--base-url", "http://127.0.0.1:9000/")[1])["cards"]


def _evaluated_with_server(fhir_server_url: str) -> None:
    request = json.loads((EXAMPLES / "aspirus-adult-maintenance.json").read_text())
    del request["prefetch"]["coverage"]  # one key left for the server
    request["fhirServer"] = fhir_server_url
    context = EvaluationContext(today=date(2026, 3, 1), base_url="http://127.0.0.1:8080")
    cli_evaluate._evaluate(json.dumps(request).encode(), context, DEFAULT_FETCH_BUDGET_SECONDS)


def test_the_server_allowlist_of_local_mode_decides_what_is_fetched(fhir_server: FhirTestServer) -> None:
    # The command had its own test (any http(s) URL), which let through what urls.server_allowlist refuses. A URL the
    # allowlist could never allow is now refused with the request, as the service refuses it (a 400).
    with pytest.raises(ClientError) as raised:
        _evaluated_with_server(fhir_server.base_url.replace("http://", "http://user@"))
    assert (raised.value.status, raised.value.expression) == (400, "fhirServer")
    assert fhir_server.requests == []
    _evaluated_with_server(fhir_server.base_url)
    assert fhir_server.requests != []
