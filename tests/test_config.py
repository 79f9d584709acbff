"""Start-up checks of the configuration: a typo or an unusable value stops the service with a message naming it."""
from __future__ import annotations

import copy
import importlib.util
import json
import logging
import os
import re
import socket
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import make_url

from cds_service import routes
from cds_service.app import APP_LOAD_ERROR, create_app
from cds_service.cli import main
from cds_service.config import MAX_BODY_BYTES_CAP, VARIABLES, ConfigError, Settings, parse_auth_config
from cds_service.evaluation import Evaluation
from cds_service.log_format import LogFormatter
from tests.conftest import close_app, make_app

ROOT = Path(__file__).resolve().parents[1]
EHR = "https://ehr.example.org"
GOOD: dict[str, Any] = {
    "require_jwt": True,
    "public_base_url": "https://cds.example.org",
    "clients": [{"iss": EHR, "jwks_url": f"{EHR}/jwks.json", "fhir_servers": [f"{EHR}/fhir/r4"],
                 "tenants": ["hospital-a"]}],
}


def changed(path: tuple[str | int, ...], value: Any = None, *, rename: str | None = None) -> dict[str, Any]:
    """GOOD with the key at `path` set to `value`, or renamed to `rename` (a typo)."""
    config = copy.deepcopy(GOOD)
    parent: Any = config
    for step in path[:-1]:
        parent = parent[step]
    if rename is not None:
        parent[rename] = parent.pop(path[-1])
    else:
        parent[path[-1]] = value
    return config


def test_the_documented_example_is_accepted() -> None:
    config = parse_auth_config(GOOD)
    assert config.public_base_url == "https://cds.example.org"
    assert config.clients[0].fhir_servers == (f"{EHR}/fhir/r4",) and config.clients[0].tenants == ("hospital-a",)


@pytest.mark.parametrize("path, typo, suggestion", [
    (("clients", 0, "tenants"), "tenant", "'tenants'"),  # would drop the tenant restriction
    (("public_base_url",), "public_base_uri", "'public_base_url'"),  # every JWT would fail the audience check
    (("clients",), "client", "'clients'"),  # no client: every call 401
    (("clients", 0, "fhir_servers"), "fhir_server", "'fhir_servers'"),
])
def test_a_misspelt_key_is_named_with_the_key_meant(path: tuple[str | int, ...], typo: str, suggestion: str) -> None:
    with pytest.raises(ConfigError, match=f"unknown key '{typo}'.*did you mean {suggestion}"):
        parse_auth_config(changed(path, rename=typo))


def test_an_unknown_key_with_no_close_match_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'colour' \(known: iss, jwks_url"):
        parse_auth_config(changed(("clients", 0, "colour"), "blue"))


@pytest.mark.parametrize("clients", [[], None])
def test_required_jwts_need_a_client(clients: Any) -> None:
    config = changed(("clients",), clients)
    if clients is None:
        del config["clients"]
    with pytest.raises(ConfigError, match="'clients'"):
        parse_auth_config(config)


def test_without_required_jwts_no_client_is_allowed() -> None:
    assert parse_auth_config({"require_jwt": False}).clients == ()


def test_the_contracts_defaults_body_limit_10_mb_fetch_budget_3_s() -> None:
    """The README and service-contract.md state them: written out here, not read back from the constants."""
    settings = Settings.from_env({})
    assert (settings.max_body_bytes, settings.fetch_budget_seconds) == (10 * 1024 * 1024, 3.0)


def test_the_token_lifetime_limit_defaults_to_five_minutes() -> None:
    assert parse_auth_config(GOOD).max_token_lifetime_seconds == 300
    assert parse_auth_config(changed(("max_token_lifetime_seconds",), 3600)).max_token_lifetime_seconds == 3600


@pytest.mark.parametrize("value", [0, -60, 86_401, 300.5, "300", True, None])
def test_the_token_lifetime_limit_is_a_whole_number_of_seconds_up_to_a_day(value: Any) -> None:
    with pytest.raises(ConfigError, match="^auth configuration max_token_lifetime_seconds: must be (a whole number|at "
                                          "least 1|at most 86400)"):
        parse_auth_config(changed(("max_token_lifetime_seconds",), value))


def test_a_misspelt_token_lifetime_key_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown key 'max_token_lifetime'.*did you mean 'max_token_lifetime_sec"):
        parse_auth_config(changed(("max_token_lifetime",), 3600))


def test_require_jwt_is_a_boolean() -> None:
    with pytest.raises(ConfigError, match="require_jwt"):
        parse_auth_config(changed(("require_jwt",), "false"))  # a string "false" must not mean true


@pytest.mark.parametrize("entry, problem", [
    ("ehr.example.org/fhir/r4", "not an absolute http"),
    ("http://ehr.example.org/fhir/r4", "https"),
    ("https://ehr.example.org/fhir/../admin", "not an absolute http"),
    ("https://ehr.example.org/fhir?_format=json", "query"),
    ("ftp://ehr.example.org/fhir", "not an absolute http"),
    ("https://169.254.10.1/fhir", "link-local or cloud metadata host"),
    ("https://metadata.google.internal/fhir", "link-local or cloud metadata host"),
    ("https://ehr example.org/fhir", "whitespace"),
    ("https://ehr.example.org:0/fhir", "port"),
])
def test_a_fhir_server_that_could_never_match_or_would_leak_the_token_is_refused(entry: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_auth_config(changed(("clients", 0, "fhir_servers"), [entry]))
    assert EHR in str(raised.value) and repr(entry) in str(raised.value) and problem in str(raised.value)


def test_a_url_with_credentials_is_refused_without_repeating_them() -> None:
    for config in (changed(("clients", 0, "fhir_servers"), ["https://user:pw@ehr.example.org/fhir"]),
                   changed(("public_base_url",), "https://user:pw@cds.example.org")):
        with pytest.raises(ConfigError, match=r"must not carry credentials \(user:password@\)$") as raised:
            parse_auth_config(config)
        assert "pw" not in str(raised.value)


@pytest.mark.parametrize("entry", ["http://127.0.0.1:8081/fhir", "http://localhost/fhir", "http://[::1]:9/fhir",
                                   "HTTPS://EHR.example.org:443/fhir/"])
def test_loopback_fhir_servers_may_use_http(entry: str) -> None:
    assert parse_auth_config(changed(("clients", 0, "fhir_servers"), [entry])).clients[0].fhir_servers == (entry,)


@pytest.mark.parametrize("url", ["ehr.example.org/jwks.json", "http://ehr.example.org/jwks.json", 42])
def test_a_jwks_url_is_an_absolute_https_url(url: Any) -> None:
    with pytest.raises(ConfigError, match="jwks_url"):
        parse_auth_config(changed(("clients", 0, "jwks_url"), url))


@pytest.mark.parametrize("url", ["https://169.254.169.254/latest/meta-data/jwks", "https://metadata.google.internal/k",
                                 "https://[fd00:ec2::254]/jwks.json", "https://[fe80::1]/jwks.json"])
def test_a_jwks_url_at_a_metadata_or_link_local_host_is_refused_as_a_fhir_server_is(url: str) -> None:
    """The service fetches a JWK Set URL as it fetches a FHIR server: at a cloud metadata host, the instance's
    credentials would answer."""
    with pytest.raises(ConfigError) as refused:
        parse_auth_config(changed(("clients", 0, "jwks_url"), url))
    assert str(refused.value) == (f"auth configuration clients[0] (iss {EHR}) jwks_url {url!r} is a link-local or "
                                  "cloud metadata host, never fetched from")


def test_a_loopback_jwks_url_may_use_http() -> None:
    config = parse_auth_config(changed(("clients", 0, "jwks_url"), "http://127.0.0.1:9000/jwks.json"))
    assert config.clients[0].jwks_url == "http://127.0.0.1:9000/jwks.json"


@pytest.mark.parametrize("url", ["cds.example.org", "https://cds.example.org/?x=1", 7])
def test_public_base_url_is_an_absolute_http_url(url: Any) -> None:
    with pytest.raises(ConfigError, match="public_base_url"):
        parse_auth_config(changed(("public_base_url",), url))


def test_an_issuer_is_configured_once() -> None:
    """Two entries for one issuer would verify its tokens with one entry's keys and check the other's tenants."""
    config = copy.deepcopy(GOOD)
    config["clients"].append({**config["clients"][0], "tenants": ["hospital-b"]})
    with pytest.raises(ConfigError, match=f"clients\\[1\\].*{EHR}.*more than once"):
        parse_auth_config(config)


def test_an_empty_tenant_list_is_refused() -> None:
    """Documented as "the JWT's tenant must be one of them": an empty list would silently allow every tenant."""
    with pytest.raises(ConfigError, match="tenants"):
        parse_auth_config(changed(("clients", 0, "tenants"), []))


# --- the database and the data directory ------------------------------------------------------------------------

@pytest.mark.parametrize("url, named", [
    ("postgresql+psycopg://cds:secret@db.internal:54x2/cds", "port"),
    ("db.internal:5432/cds secret", "not a database URL"),
    ("postgres+psycopg2://cds:secret@db.internal/cds", "no database 'postgres+psycopg2'"),  # no such dialect
])
def test_a_malformed_database_url_is_named_without_its_password(url: str, named: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"CDS_DATABASE_URL": url})
    message = str(raised.value)
    assert message.startswith("CDS_DATABASE_URL") and named in message and "secret" not in message


@pytest.mark.parametrize("url", ["postgresql+psycopg://cds:se@cret@db.internal:5432/cds",
                                 "postgresql://cds:se@cr/et@db.internal/cds",
                                 "postgresql://cds:se@cr:et@db.internal:5432/cds"])
def test_a_password_with_an_unencoded_at_sign_is_refused_without_its_pieces(url: str) -> None:
    """The rest of the password after its '@' was taken for the host or database: printed in every log line naming
    the database (a connection that could not succeed)."""
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"CDS_DATABASE_URL": url})
    assert str(raised.value) == ("CDS_DATABASE_URL: the database URL holds an '@' after its user and password: "
                                 "write an '@' of the password or user percent-encoded, as %40")


def test_a_percent_encoded_at_sign_in_the_password_is_taken() -> None:
    url = "postgresql+psycopg://cds:se%40cr%2Fet@db.internal:5432/cds"
    assert Settings.from_env({"CDS_DATABASE_URL": url}).database_url == url
    assert make_url(url).password == "se@cr/et"


@pytest.mark.skipif(importlib.util.find_spec("pg8000") is not None, reason="the pg8000 driver is installed here")
def test_a_database_driver_that_is_not_installed_is_named() -> None:
    with pytest.raises(ConfigError, match="CDS_DATABASE_URL: the driver of 'postgresql\\+pg8000' is not installed"):
        Settings.from_env({"CDS_DATABASE_URL": "postgresql+pg8000://cds:secret@db.internal/cds"})


@pytest.mark.parametrize("url", ["postgresql://cds:secret@127.0.0.1:1/cds", "postgres://cds@db.internal/cds",
                                 "postgresql+psycopg://cds@db.internal:5432/cds"])
def test_a_database_that_is_not_reachable_is_no_configuration_error(url: str) -> None:
    """Checked without connecting: a database down at start-up is an outage, which the service rides out."""
    assert Settings.from_env({"CDS_DATABASE_URL": url}).database_url == url


def test_a_data_directory_below_a_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "file").touch()
    with pytest.raises(ConfigError, match=f"CDS_DATA_DIR {tmp_path / 'file' / 'x'}: {tmp_path / 'file'} is not a"):
        Settings.from_env({"CDS_DATA_DIR": str(tmp_path / "file" / "x")})
    with pytest.raises(ConfigError, match="CDS_DATABASE_URL"):
        Settings.from_env({"CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'file' / 'cds.db'}"})


def test_a_data_directory_that_cannot_be_written_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ro").mkdir(mode=0o500)
    if os.geteuid() == 0:  # root may write anywhere: the operating system's answer for another user, then
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path / "ro" and real_access(path, mode))
    with pytest.raises(ConfigError, match="CDS_DATA_DIR .*cannot write"):
        Settings.from_env({"CDS_DATA_DIR": str(tmp_path / "ro" / "data")})


@pytest.mark.parametrize("file_name", ["cds.db", "cds.db-wal"])
def test_an_sqlite_file_that_cannot_be_written_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        file_name: str) -> None:
    """The folder writable, the file not: the service answered while every audit record failed and was lost."""
    for name in ("cds.db", "cds.db-wal"):
        (tmp_path / name).touch(mode=0o400 if name == file_name else 0o600)
    if os.geteuid() == 0:  # root may write anywhere: the operating system's answer for another user, then
        real_access = os.access
        refused = tmp_path / file_name
        monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != refused and real_access(path, mode))
    with pytest.raises(ConfigError, match=f"^CDS_DATA_DIR: the SQLite file {tmp_path / file_name} is read-only for "
                                          "this user$"):
        Settings.from_env({"CDS_DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="^CDS_DATABASE_URL: the SQLite file .* is read-only"):
        Settings.from_env({"CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'cds.db'}"})


def test_a_writable_sqlite_file_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "cds.db").touch(mode=0o600)
    assert Settings.from_env({"CDS_DATA_DIR": str(tmp_path)}).database_url == f"sqlite:///{tmp_path / 'cds.db'}"


def test_a_new_data_directory_is_accepted_and_left_to_the_database_to_create(tmp_path: Path) -> None:
    settings = Settings.from_env({"CDS_DATA_DIR": str(tmp_path / "new" / "data")})
    assert settings.database_url == f"sqlite:///{tmp_path / 'new' / 'data' / 'cds.db'}"
    assert not (tmp_path / "new").exists()


def test_serve_exits_with_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDS_AUTH_CONFIG", raising=False)
    monkeypatch.setenv("CDS_DATABASE_URL", "postgresql+psycopg://cds:secret@db.internal:port/cds")
    with pytest.raises(SystemExit) as raised:
        main(["serve", "--port", "0"])
    message = str(raised.value.code)
    assert message.startswith("cds-service serve: CDS_DATABASE_URL") and "\n" not in message
    assert "secret" not in message


@pytest.mark.parametrize(("raw", "level"), [(None, "INFO"), ("debug", "DEBUG"), (" Critical ", "CRITICAL")])
def test_the_documented_log_levels_are_accepted_in_any_case(raw: str | None, level: str) -> None:
    env = {} if raw is None else {"CDS_LOG_LEVEL": raw}
    assert Settings.from_env(env).log_level == level


@pytest.mark.parametrize("raw", ["NOTSET", "WARN", "fatal", "verbose", "10"])
def test_other_log_levels_stop_the_start_up_listing_the_accepted_ones(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"^CDS_LOG_LEVEL .* \(DEBUG, INFO, WARNING, ERROR, CRITICAL\)$"):
        Settings.from_env({"CDS_LOG_LEVEL": raw})


def test_the_metrics_folder_is_read_when_it_is_one_the_service_can_write_in(tmp_path: Path) -> None:
    """PROMETHEUS_MULTIPROC_DIR: prometheus_client takes it set to anything (empty too) for multiprocess mode, and
    wrote its files wherever it led, or failed at the first metric."""
    assert Settings.from_env({}).metrics_dir is None
    assert Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}).metrics_dir == str(tmp_path)
    (tmp_path / "file").write_text("")
    for raw in ("", " ", str(tmp_path / "missing"), str(tmp_path / "file")):
        with pytest.raises(ConfigError, match=f"^PROMETHEUS_MULTIPROC_DIR {re.escape(repr(raw))} is not a directory"):
            Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": raw})


def test_a_metrics_folder_that_is_the_audit_databases_is_refused(tmp_path: Path) -> None:
    """gunicorn's on_starting emptied the folder of its *.db files, the audit trail's cds.db with them, and the
    scrape read cds.db as metrics (a 500)."""
    refused = f"^PROMETHEUS_MULTIPROC_DIR {re.escape(repr(str(tmp_path)))} is the audit database's folder: give the " \
              "metrics a folder of their own$"
    with pytest.raises(ConfigError, match=refused):
        Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "CDS_DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match=refused):
        Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
                           "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'sub' / '..' / 'audit.db'}"})
    (tmp_path / "data").mkdir()
    apart = Settings.from_env({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "CDS_DATA_DIR": str(tmp_path / "data")})
    assert apart.metrics_dir == str(tmp_path)


# --- set but empty ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["", "  "])
@pytest.mark.parametrize("name", VARIABLES)
def test_a_variable_set_but_empty_stops_the_start_up(name: str, value: str) -> None:
    """What a deploy template with a missing secret gives: read as unset, CDS_AUTH_CONFIG would run without
    authentication, CDS_DATABASE_URL would write the audit trail to ./data, CDS_POLICY_DIR would drop the
    operator's policy versions."""
    with pytest.raises(ConfigError, match=f"^{name} is set but empty: give it a value, or unset it for its default$"):
        Settings.from_env({name: value})


@pytest.mark.parametrize(("name", "meant"), [("CDS_AUTH_CONFIGURATION", "CDS_AUTH_CONFIG"),
                                             ("CDS_DATABSE_URL", "CDS_DATABASE_URL"),
                                             ("CDS_DB_URL", "CDS_DATABASE_URL"), ("CDS_TIMEZONE", "CDS_TIME_ZONE")])
def test_a_misspelt_variable_stops_the_start_up_naming_the_one_meant(name: str, meant: str) -> None:
    """The variable meant is unset meanwhile: a misspelt CDS_AUTH_CONFIG would run without authentication."""
    with pytest.raises(ConfigError, match=f"^{name} is not a variable of this service: did you mean {meant}[ ?]"):
        Settings.from_env({name: "x"})


def test_other_programs_cds_variables_are_left_alone() -> None:
    assert Settings.from_env({"CDS_TEST_POSTGRES_URL": "postgresql://x", "CDS_HOME": "/opt/cds"}).local_mode


def test_every_variable_the_service_reads_is_checked_and_documented() -> None:
    code = "".join(path.read_text(encoding="utf-8") for path in (ROOT / "cds_service").rglob("*.py"))
    read = set(re.findall(r'"(CDS_[A-Z_]+)"', code))
    tables = [set(re.findall(r"^\| `(CDS_[A-Z_]+)`", (ROOT / name).read_text(encoding="utf-8"), re.MULTILINE))
              for name in ("README.md", "docs/configuration.md")]
    assert read == set(VARIABLES) == tables[0] == tables[1]


def test_local_mode_only_when_the_auth_configuration_is_unset() -> None:
    assert Settings.from_env({}).local_mode
    with pytest.raises(ConfigError, match="^CDS_AUTH_CONFIG is set but empty"):
        Settings.from_env({"CDS_AUTH_CONFIG": ""})


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:cds?mode=memory&uri=true",
                                 "sqlite:///file::memory:?cache=shared&uri=true",
                                 "sqlite:///file:%3Amemory%3A?uri=true", "sqlite:///file:?uri=true",
                                 "sqlite:///file:/cds?vfs=memdb&uri=true"])
def test_an_in_memory_database_is_refused(tmp_path: Path, url: str) -> None:
    """Each worker (each thread, even) would get a database of its own: a JWT used at one would be accepted again
    at another. Local mode accepted one: the audit writer's thread wrote to a database without the schema, and every
    record was lost at the stop."""
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps(GOOD))
    for env in ({"CDS_AUTH_CONFIG": str(auth), "CDS_DATABASE_URL": url}, {"CDS_DATABASE_URL": url}):
        with pytest.raises(ConfigError, match="^CDS_DATABASE_URL: an in-memory SQLite database is one per process "
                                              r"\(and per thread\): the audit records would be lost"):
            Settings.from_env(env)


# --- numbers ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "1e9", "20.5", "0", "-1", "abc", "3s", "1e-300", "0.09",
                                 "2e1", "1_0", "\u0663", "\u0661.\u0665", "9" * 400])
def test_the_fetch_budget_is_a_number_of_seconds_from_a_tenth_to_twenty(raw: str) -> None:
    """nan failed every fetch, inf overflowed, and a budget past gunicorn's 30 s timeout got workers killed; 1e-300
    fetched nothing, quietly; float() also read Arabic-Indic digits (\u0663, 3)."""
    with pytest.raises(ConfigError, match=f"^CDS_FETCH_BUDGET_SECONDS must be a number of seconds from 0.1 to 20, "
                                          f"got {re.escape(repr(raw))}$"):
        Settings.from_env({"CDS_FETCH_BUDGET_SECONDS": raw})


@pytest.mark.parametrize(("raw", "seconds"), [("20", 20.0), ("0.5", 0.5), (" 3 ", 3.0), ("0.1", 0.1), (".25", 0.25),
                                              ("3.", 3.0)])
def test_a_fetch_budget_in_range_is_accepted(raw: str, seconds: float) -> None:
    assert Settings.from_env({"CDS_FETCH_BUDGET_SECONDS": raw}).fetch_budget_seconds == seconds


@pytest.mark.parametrize("raw", ["1e9", "10.5", "0", "-5", "ten", str(MAX_BODY_BYTES_CAP + 1), "nan", "1e3", "+100",
                                 "1_000", "\u0661\u0660\u0660", "0x10", "9" * 5000])
def test_the_body_limit_is_a_whole_number_of_bytes_up_to_the_cap(raw: str) -> None:
    """int() read Arabic-Indic digits (\u0661\u0660\u0660, 100) and 1_000; 5,000 digits were its ValueError."""
    with pytest.raises(ConfigError, match=f"^CDS_MAX_BODY_BYTES must be a whole number of bytes from 1 to "
                                          f"{MAX_BODY_BYTES_CAP}, got {re.escape(repr(raw))}$"):
        Settings.from_env({"CDS_MAX_BODY_BYTES": raw})


def test_a_body_limit_in_range_is_accepted() -> None:
    assert Settings.from_env({"CDS_MAX_BODY_BYTES": "1"}).max_body_bytes == 1
    assert Settings.from_env({"CDS_MAX_BODY_BYTES": " 100 "}).max_body_bytes == 100
    assert Settings.from_env({"CDS_MAX_BODY_BYTES": str(MAX_BODY_BYTES_CAP)}).max_body_bytes == MAX_BODY_BYTES_CAP


# --- the public base URL and the CORS origins -------------------------------------------------------------------

@pytest.mark.parametrize(("url", "problem"), [
    ("cds.example.org?q=1", "is not an absolute http(s) URL"),
    ("not a url", "is not an absolute http(s) URL"),
    ("ftp://x", "is not an absolute http(s) URL"),
    ("https://cds.example.org/?q=1", "has a query or fragment"),
    ("https://cds.example.org/#top", "has a query or fragment"),
    ("https://cds.example.org/?", "has a query or fragment"),
    ("https://cds.example.org#", "has a query or fragment"),
    ("https://a b.org", "holds whitespace or a control character, which no URL may hold"),
    ("https://cds ex.org", "holds whitespace or a control character"),
    ("https://cds.example.org/cds hooks", "holds whitespace or a control character"),
    (" https://cds.example.org", "holds whitespace or a control character"),  # urlsplit drops it, the aud keeps it
    ("https://cds.example.org\n", "holds whitespace or a control character"),
    ("https://cds.example.org/\u00a0", "holds whitespace or a control character"),
    ("https://x:0", "has a port that is not a number from 1 to 65535"),
    ("https://x:65536", "has a port that is not a number from 1 to 65535"),
    ("https://x:8o8o", "has a port that is not a number from 1 to 65535"),
    ("https:///cds", "names no host"),
    ("https://:443", "names no host"),
])
def test_cds_public_base_url_is_checked_as_the_auth_files_public_base_url(url: str, problem: str) -> None:
    """It ends up in card links, the CRD questionnaire canonical and the JWT audience."""
    with pytest.raises(ConfigError, match=f"^CDS_PUBLIC_BASE_URL {re.escape(repr(url))} {re.escape(problem)}"):
        Settings.from_env({"CDS_PUBLIC_BASE_URL": url})
    with pytest.raises(ConfigError, match=f"^auth configuration 'public_base_url' {re.escape(repr(url))}"):
        parse_auth_config(changed(("public_base_url",), url))


@pytest.mark.parametrize(("url", "meant"), [
    ("https://cds.example.org/cds-services", "https://cds.example.org"),
    ("https://cds.example.org/cds-services/", "https://cds.example.org"),
    ("https://host.example.org/cds/cds-services/blinatumomab-coverage", "https://host.example.org/cds"),
])
def test_a_public_base_url_holding_the_services_path_is_refused_naming_the_url_meant(url: str, meant: str) -> None:
    """The discovery URL an EHR was given, copied as the base: every JWT audience (.../cds-services/cds-services/...)
    failed with a 401."""
    said = f"{re.escape(repr(url))} holds /cds-services, which the service adds itself .*: use " \
           f"{re.escape(repr(meant))}$"
    with pytest.raises(ConfigError, match=f"^CDS_PUBLIC_BASE_URL {said}"):
        Settings.from_env({"CDS_PUBLIC_BASE_URL": url})
    with pytest.raises(ConfigError, match=f"^auth configuration 'public_base_url' {said}"):
        parse_auth_config(changed(("public_base_url",), url))


@pytest.mark.parametrize("url", ["https://cds.example.org/cds-services-proxy",
                                 "https://cds.example.org/my-cds-services"])
def test_a_public_base_url_with_a_segment_only_like_the_services_path_is_taken(url: str) -> None:
    assert Settings.from_env({"CDS_PUBLIC_BASE_URL": url}).public_base_url == url


@pytest.mark.parametrize("url", ["https://cds.example.org:1", "https://cds.example.org:65535/cds",
                                 "http://[::1]:8080", "https://cds.example.org:/"])
def test_a_public_base_url_with_a_port_from_1_to_65535_or_none_is_taken(url: str) -> None:
    assert Settings.from_env({"CDS_PUBLIC_BASE_URL": url}).public_base_url == url.rstrip("/")


def test_cds_public_base_url_with_credentials_is_refused_without_repeating_them() -> None:
    with pytest.raises(ConfigError, match=r"^CDS_PUBLIC_BASE_URL must not carry credentials") as raised:
        Settings.from_env({"CDS_PUBLIC_BASE_URL": "https://user:pw@cds.example.org"})
    assert "pw" not in str(raised.value)


@pytest.mark.parametrize(("url", "base"), [("https://cds.example.org/", "https://cds.example.org"),
                                           ("http://10.0.0.5:8080/cds/", "http://10.0.0.5:8080/cds")])
def test_the_public_base_url_loses_its_trailing_slash(url: str, base: str) -> None:
    assert Settings.from_env({"CDS_PUBLIC_BASE_URL": url}).public_base_url == base
    assert parse_auth_config(changed(("public_base_url",), url)).public_base_url == base


@pytest.mark.parametrize("raw", ["ehr2.example.org", "https://ehr.example.org/app", "null", "https://*.example.org",
                                 "https://ehr.example.org:99999", "https://ehr.example.org?x", "ftp://ehr.example.org"])
def test_a_cors_entry_that_is_no_origin_is_named(raw: str) -> None:
    """Such an entry matches no browser's Origin (or, with *, is read by flask-cors as a regular expression)."""
    with pytest.raises(ConfigError, match=f"^CDS_CORS_ORIGINS {re.escape(repr(raw))} is not an origin: "
                                          r"scheme://host\[:port\] with no path"):
        Settings.from_env({"CDS_CORS_ORIGINS": f"https://ok.example.org, {raw}"})


@pytest.mark.parametrize(("raw", "problem"), [(",", "',' lists no origin"), (" , ,", "' , ,' lists no origin"),
                                              ("*, https://ehr.example.org", ": \\* allows every origin")])
def test_a_cors_list_without_origins_or_with_star_among_others_is_refused(raw: str, problem: str) -> None:
    """An empty list used to mean every origin."""
    with pytest.raises(ConfigError, match=f"^CDS_CORS_ORIGINS {problem}" if problem.startswith("'") else
                       f"^CDS_CORS_ORIGINS{problem}"):
        Settings.from_env({"CDS_CORS_ORIGINS": raw})


def test_cors_origins_are_read_as_browsers_send_them(tmp_path: Path) -> None:
    """A trailing slash or a default port would match no browser's Origin header: both are dropped."""
    raw = "https://ehr.example.org/, https://other.example.org:443, http://127.0.0.1:3000"
    settings = Settings.from_env({"CDS_CORS_ORIGINS": raw, "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'cds.db'}"})
    assert settings.cors_origins == ("https://ehr.example.org", "https://other.example.org", "http://127.0.0.1:3000")
    app = make_app(settings)
    try:
        answer = app.test_client().options("/cds-services", headers={"Origin": "https://ehr.example.org",
                                                                    "Access-Control-Request-Method": "GET"})
    finally:
        close_app(app)
    assert answer.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"


# --- the clinical time zone ---------------------------------------------------------------------------------------

def test_the_clinical_date_follows_cds_time_zone() -> None:
    """UTC+14 and UTC-12 are 26 hours apart: their dates differ at every moment."""
    east = Settings.from_env({"CDS_TIME_ZONE": "Pacific/Kiritimati"}).today()
    west = Settings.from_env({"CDS_TIME_ZONE": "Etc/GMT+12"}).today()
    assert 1 <= (east - west).days <= 2


def test_a_hook_call_is_evaluated_on_the_date_of_cds_time_zone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the server's own zone: one of these two dates differs from it at every moment."""
    dates: list[date] = []
    monkeypatch.setattr(routes, "evaluate", lambda hook, load, context: dates.append(context.today) or Evaluation())
    body = json.loads((ROOT / "fhir_examples" / "aspirus-adult-maintenance.json").read_text(encoding="utf-8"))
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12"):
        app = make_app(Settings.from_env({"CDS_TIME_ZONE": zone, "CDS_DATA_DIR": str(tmp_path)}))
        try:
            assert app.test_client().post("/cds-services/blinatumomab-coverage", json=body).status_code == 200
        finally:
            close_app(app)
        assert dates[-1] == datetime.now(ZoneInfo(zone)).date()


def test_log_times_carry_their_utc_offset() -> None:
    """Logs are read beside the audit trail (UTC) and the clinical dates (CDS_TIME_ZONE)."""
    record = logging.LogRecord("cds_service.x", logging.INFO, __file__, 1, "hello", None, None)
    line = LogFormatter("%(asctime)s %(message)s").format(record)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d hello", line), line
    assert datetime.fromisoformat(line.split()[0]).timestamp() == pytest.approx(record.created, abs=0.001)


def test_a_log_message_is_one_line_whatever_the_client_sent() -> None:
    """A path with %0a decoded to a newline forged a log line; a traceback still has its lines."""
    forged = "404 on GET /x\n2026-11-23T00:00:00.000+00:00 WARNING cds_service: jti reused\x1b[2J"
    record = logging.LogRecord("cds_service.x", logging.INFO, __file__, 1, "%s", (forged,), None)
    line = LogFormatter("%(levelname)s %(message)s").format(record)
    assert line == "INFO 404 on GET /x\\n2026-11-23T00:00:00.000+00:00 WARNING cds_service: jti reused\\x1b[2J"
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord("cds_service.x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    lines = LogFormatter("%(message)s").format(failed).splitlines()
    assert lines[:2] == ["failed", "Traceback (most recent call last):"]


@pytest.mark.parametrize("raw", ["Mars/Olympus_Mons", "America", "../etc/localtime", "/etc/localtime", "+02:00"])
def test_a_time_zone_that_is_not_an_iana_name_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match=f"^CDS_TIME_ZONE {re.escape(repr(raw))} is not an IANA time zone name"):
        Settings.from_env({"CDS_TIME_ZONE": raw})


# --- start-up failures and warnings -------------------------------------------------------------------------------

def test_create_app_from_the_environment_logs_a_configuration_error_in_one_line_and_exits(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """gunicorn's `create_app()`: exit status 4 (gunicorn's APP_LOAD_ERROR) stops its arbiter."""
    monkeypatch.setenv("CDS_FETCH_BUDGET_SECONDS", "nan")
    with caplog.at_level(logging.ERROR, logger="cds_service"), pytest.raises(SystemExit) as raised:
        create_app()
    assert raised.value.code == APP_LOAD_ERROR == 4
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", "not starting: CDS_FETCH_BUDGET_SECONDS must be a number of seconds from 0.1 to 20, got 'nan'")]


def test_gunicorn_stops_on_a_configuration_error_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {name: value for name, value in os.environ.items() if name not in VARIABLES}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    result = subprocess.run([str(gunicorn), "-w", "1", "-b", f"127.0.0.1:{port}", "cds_service.app:create_app()"],
                            env={**environment, "CDS_DATA_DIR": str(tmp_path), "CDS_CORS_ORIGINS": "ehr.example.org"},
                            capture_output=True, text=True, timeout=120)
    ours = [line for line in result.stderr.splitlines() if "cds_service" in line]
    assert result.returncode == 4 and "Traceback" not in result.stderr, result.stderr
    # The time carries its UTC offset, so that it can be read beside the audit trail (UTC) and the EHR's logs.
    assert len(ours) == 1 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d ERROR "
                                           r"cds_service\.app: not starting: CDS_CORS_ORIGINS 'ehr\.example\.org' "
                                           r"is not an origin: .*", ours[0]), ours
