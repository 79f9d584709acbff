"""The operator's files named by the environment, as the start-up and `cds-service check` read them: an auth file
that cannot be read or is no JSON is named with what to do, and a policy or value-set folder holding none of the
files read from it is a warning, where the shipped files alone applied, silently."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

import certifi
import pytest

from cds_service.cli import main
from cds_service.config import ConfigError, Settings
from cds_service.startup_checks import check_files
from tests.operator_valuesets import operator_codes


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path / "data"))
    for name in ("CDS_AUTH_CONFIG", "CDS_POLICY_DIR", "CDS_VALUESET_DIR", "CDS_CARDS_DIR"):
        monkeypatch.delenv(name, raising=False)


def _refusal(monkeypatch: pytest.MonkeyPatch, path: Path) -> str:
    monkeypatch.setenv("CDS_AUTH_CONFIG", str(path))
    with pytest.raises(ConfigError) as refused:
        Settings.from_env()
    return str(refused.value)


def test_an_auth_file_that_is_not_there_is_named_with_what_to_do(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Python's own words came out: `[Errno 2] No such file or directory: '...'`, the path twice, no fix."""
    missing = tmp_path / "auth.json"
    assert _refusal(monkeypatch, missing) == (
        f"CDS_AUTH_CONFIG {missing}: cannot read it (No such file or directory): name the auth configuration file, "
        "readable by the service's user")
    assert _refusal(monkeypatch, tmp_path) == (
        f"CDS_AUTH_CONFIG {tmp_path}: cannot read it (Is a directory): name the auth configuration file, readable by "
        "the service's user")


def test_an_auth_file_that_is_no_json_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "auth.json"
    path.write_text('{"clients": [\n')
    assert _refusal(monkeypatch, path) == f"CDS_AUTH_CONFIG {path} is not valid JSON: Expecting value: line 2 " \
                                          "column 1 (char 14)"
    path.write_bytes(b'{"clients": "\xff"}')  # Latin-1, say: the codec's message named neither the file nor the fix
    assert _refusal(monkeypatch, path) == f"CDS_AUTH_CONFIG {path} is not UTF-8 text: save the auth configuration " \
                                          "as UTF-8 JSON"


def test_the_check_says_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "auth.json"
    path.write_text("clients: []")  # YAML
    monkeypatch.setenv("CDS_AUTH_CONFIG", str(path))
    assert main(["check"]) == 2
    assert capsys.readouterr().err.startswith(f"cds-service check: CDS_AUTH_CONFIG {path} is not valid JSON: ")


@pytest.mark.parametrize(("variable", "files", "said"), [
    ("CDS_POLICY_DIR", [], "holds no policy file (*.toml; it is empty): the shipped policy files alone apply"),
    ("CDS_POLICY_DIR", ["plan.TOML", "plan.toml.txt"],
     "holds no policy file (*.toml; it holds plan.TOML, plan.toml.txt): the shipped policy files alone apply"),
    ("CDS_VALUESET_DIR", ["payers.yaml"],
     "holds no value set file (*.json; it holds payers.yaml): the shipped value set files alone apply"),
])
def test_an_operators_folder_without_any_file_read_from_it_is_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, variable: str,
        files: list[str], said: str) -> None:
    """An empty ConfigMap mount, or files saved under another suffix: the service started on the shipped policies and
    value sets, as if the variable were unset, and said nothing."""
    folder = tmp_path / "operator"
    folder.mkdir()
    for name in files:
        (folder / name).write_text("")
    monkeypatch.setenv(variable, str(folder))
    with caplog.at_level(logging.WARNING, logger="cds_service"):
        check_files()
    assert _warnings(caplog) == [f"{variable}={folder} {said}"]


def test_many_files_are_named_by_the_first_five(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    for number in range(7):
        (tmp_path / f"plan-{number}.yaml").write_text("")
    monkeypatch.setenv("CDS_VALUESET_DIR", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="cds_service"):
        check_files()
    [warning] = _warnings(caplog)
    assert "(*.json; it holds plan-0.yaml, plan-1.yaml, plan-2.yaml, plan-3.yaml, plan-4.yaml, ...)" in warning


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "cds_service.startup_checks"]


@pytest.fixture
def operator_vaccine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from operator_codes(tmp_path, monkeypatch, "vaccines-live",
                              [{"system": "http://hl7.org/fhir/sid/cvx", "code": "999", "display": "A live vaccine"}])


def test_a_folder_with_a_file_read_from_it_is_taken_silently(tmp_path: Path, operator_vaccine: None,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "README.md").write_text("our value sets")  # beside them, ignored as before
    with caplog.at_level(logging.WARNING, logger="cds_service"):
        check_files()
    assert not _warnings(caplog)


@pytest.mark.parametrize(("url", "dialect"), [("mysql+mysqldb://cds:secret@db.internal/cds", "mysql"),
                                              ("mssql+pyodbc://cds:secret@db.internal/cds", "mssql"),
                                              ("oracle://cds:secret@db.internal/cds", "oracle")])
def test_a_database_other_than_postgresql_or_sqlite_is_refused_as_such(
        url: str, dialect: str, capsys: pytest.CaptureFixture[str]) -> None:
    """"the driver of 'mysql+mysqldb' is not installed" sent the operator to install it, for a database whose
    statements the audit writer does not write (ON CONFLICT as PostgreSQL and SQLite say it)."""
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"CDS_DATABASE_URL": url})
    said = (f"the audit database is PostgreSQL or SQLite, not {dialect}; expected e.g. "
            "postgresql+psycopg://user:password@host:5432/cds or sqlite:///path/cds.db")
    assert str(refused.value) == f"CDS_DATABASE_URL: {said}"
    assert main(["audit", "--database-url", url]) == 2
    assert capsys.readouterr().err == f"--database-url: {said}\n"


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_ca_bundle_that_is_not_there_is_refused_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           variable: str) -> None:
    """requests raised OSError before connecting, for every https FHIR server and JWK Set URL."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.setenv(variable, str(tmp_path / "ca.pem"))
    with pytest.raises(ConfigError, match=f"^{variable} '.*ca.pem' does not exist: every https call"):
        Settings.from_env()


def test_a_ca_bundle_without_a_certificate_is_refused_and_a_real_one_taken(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "ca.pem"
    empty.write_text("not a certificate\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(empty))
    with pytest.raises(ConfigError, match="^REQUESTS_CA_BUNDLE '.*ca.pem' holds no CA certificate TLS can use"):
        Settings.from_env()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    assert Settings.from_env().database_url
