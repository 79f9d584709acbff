"""Start-up checks of the configuration: a typo or an unusable value stops the service with a message naming it."""
from __future__ import annotations

import copy
import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

from cds_service.cli import main
from cds_service.config import ConfigError, Settings, parse_auth_config

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


def test_the_token_lifetime_limit_defaults_to_five_minutes() -> None:
    assert parse_auth_config(GOOD).max_token_lifetime_seconds == 300
    assert parse_auth_config(changed(("max_token_lifetime_seconds",), 3600)).max_token_lifetime_seconds == 3600


@pytest.mark.parametrize("value", [0, -60, 86_401, 300.5, "300", True, None])
def test_the_token_lifetime_limit_is_a_whole_number_of_seconds_up_to_a_day(value: Any) -> None:
    with pytest.raises(ConfigError, match="'max_token_lifetime_seconds' must be a whole number of seconds"):
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
    ("https://user:pw@ehr.example.org/fhir", "not an absolute http"),
    ("https://ehr.example.org/fhir/../admin", "not an absolute http"),
    ("https://ehr.example.org/fhir?_format=json", "query"),
    ("ftp://ehr.example.org/fhir", "not an absolute http"),
])
def test_a_fhir_server_that_could_never_match_or_would_leak_the_token_is_refused(entry: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_auth_config(changed(("clients", 0, "fhir_servers"), [entry]))
    assert EHR in str(raised.value) and repr(entry) in str(raised.value) and problem in str(raised.value)


@pytest.mark.parametrize("entry", ["http://127.0.0.1:8081/fhir", "http://localhost/fhir", "http://[::1]:9/fhir",
                                   "HTTPS://EHR.example.org:443/fhir/"])
def test_loopback_fhir_servers_may_use_http(entry: str) -> None:
    assert parse_auth_config(changed(("clients", 0, "fhir_servers"), [entry])).clients[0].fhir_servers == (entry,)


@pytest.mark.parametrize("url", ["ehr.example.org/jwks.json", "http://ehr.example.org/jwks.json", 42])
def test_a_jwks_url_is_an_absolute_https_url(url: Any) -> None:
    with pytest.raises(ConfigError, match="jwks_url"):
        parse_auth_config(changed(("clients", 0, "jwks_url"), url))


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


@pytest.mark.skipif(importlib.util.find_spec("MySQLdb") is not None, reason="the MySQL driver is installed here")
def test_a_database_driver_that_is_not_installed_is_named() -> None:
    with pytest.raises(ConfigError, match="CDS_DATABASE_URL: the driver of 'mysql\\+mysqldb' is not installed"):
        Settings.from_env({"CDS_DATABASE_URL": "mysql+mysqldb://cds:secret@db.internal/cds"})


@pytest.mark.parametrize("url", ["postgresql://cds:secret@127.0.0.1:1/cds", "postgres://cds@db.internal/cds",
                                 "postgresql+psycopg://cds@db.internal:5432/cds", "sqlite://"])
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


@pytest.mark.parametrize(("raw", "level"), [(None, "INFO"), ("", "INFO"), ("debug", "DEBUG"),
                                            (" Critical ", "CRITICAL")])
def test_the_documented_log_levels_are_accepted_in_any_case(raw: str | None, level: str) -> None:
    env = {} if raw is None else {"CDS_LOG_LEVEL": raw}
    assert Settings.from_env(env).log_level == level


@pytest.mark.parametrize("raw", ["NOTSET", "WARN", "fatal", "verbose", "10"])
def test_other_log_levels_stop_the_start_up_listing_the_accepted_ones(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"^CDS_LOG_LEVEL .* \(DEBUG, INFO, WARNING, ERROR, CRITICAL\)$"):
        Settings.from_env({"CDS_LOG_LEVEL": raw})
