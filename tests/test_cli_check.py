"""`cds-service check`: the start-up checks and what the service would apply, without serving or a request."""
from __future__ import annotations

import argparse
import json
import logging
import tomllib
from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from cds_service import __version__, cli_check
from cds_service.cli import main
from cds_service.config import ConfigError, Settings
from tests.conftest import close_app, make_app
from tests.test_auth import EC_KEY, RSA_KEY, JwksServer, public_jwk


def test_it_lists_the_plans_the_value_sets_the_templates_and_the_mode(capsys: pytest.CaptureFixture[str],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_DATABASE_URL", "postgresql+psycopg://cds:secret@db.internal:5432/cds")
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "policy aspirus-magellan: Aspirus Health Plan, version 2023, file " in out
    assert "policy florida-blue: Florida Blue, version 09-J2000-26" in out and "never applied" not in out
    assert "value sets: digest " in out and "card templates: " in out
    assert "local mode: no JWT required" in out
    assert "audit database: postgresql+psycopg://cds:***@db.internal:5432/cds" in out and "secret" not in out


def test_a_bad_setting_is_named_and_exits_2(capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_FETCH_BUDGET_SECONDS", "0")
    assert main(["check"]) == 2
    assert capsys.readouterr().err.startswith("cds-service check: CDS_FETCH_BUDGET_SECONDS")


@pytest.mark.parametrize("url, said", [
    ("https://a b.org", "holds whitespace or a control character, which no URL may hold"),
    ("https://x:0", "has a port that is not a number from 1 to 65535"),
])
def test_a_public_base_url_that_is_no_url_fails_the_check(capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch, url: str, said: str) -> None:
    """The check passed it, and the Questionnaire canonical and the JWT audience the service then built were no URL."""
    monkeypatch.setenv("CDS_PUBLIC_BASE_URL", url)
    assert main(["check"]) == 2
    assert capsys.readouterr().err == f"cds-service check: CDS_PUBLIC_BASE_URL {url!r} {said}\n"


UNUSABLE_KEY = {"kty": "EC", "crv": "P-384", "kid": "k1", "x": "a", "y": "b"}  # x and y are no curve point


def auth_file(tmp_path: Path, keys: list[dict[str, Any]]) -> Path:
    config = {"require_jwt": True, "public_base_url": "https://cds.example.org",
              "clients": [{"iss": "https://inline.example.org", "jwks": {"keys": keys}}]}
    path = tmp_path / "auth.json"
    path.write_text(json.dumps(config))
    return path


def test_an_inline_jwk_set_without_a_usable_key_fails_the_check_as_it_fails_the_start(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The check passed this file ("JWT required") and the server then refused to start."""
    hmac = {"kty": "oct", "k": "c2VjcmV0", "kid": "shared"}  # a key PyJWT reads, for an algorithm we refuse
    monkeypatch.setenv("CDS_AUTH_CONFIG", str(auth_file(tmp_path, [UNUSABLE_KEY, hmac])))
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cds-service check: inline jwks of client https://inline.example.org: no usable key; "
                          'not usable: kid "k1" (Unable to construct key from JWK: ')
    assert 'kid "shared" (algorithm HS256 is not accepted)' in err and "cryptography" not in err
    with pytest.raises(ConfigError) as refused:
        make_app(Settings.from_env())
    assert f"cds-service check: {refused.value}\n" == err


def test_an_unusable_key_beside_a_usable_one_is_a_warning_naming_its_kid(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """The service starts (the usable key verifies tokens) and says which key it ignores, at the check and at start."""
    good = {**ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1()).public_key(), as_dict=True), "kid": "k2"}
    monkeypatch.setenv("CDS_AUTH_CONFIG", str(auth_file(tmp_path, [UNUSABLE_KEY, good])))
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))
    warning = ("inline jwks of client https://inline.example.org: keys not usable, ignored (tokens signed with them "
               'are refused): kid "k1" (Unable to construct key from JWK: ')
    with caplog.at_level(logging.WARNING, logger="cds_service"):
        assert main(["check"]) == 0
        assert "JWT required" in capsys.readouterr().out
        assert [r.getMessage() for r in caplog.records if r.getMessage().startswith(warning)]
        caplog.clear()
        close_app(make_app(Settings.from_env()))
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith(warning)]


def test_version_names_the_release(capsys: pytest.CaptureFixture[str]) -> None:
    """Which release a host runs, after an upgrade or before a rollback."""
    with pytest.raises(SystemExit) as exit_status:
        main(["--version"])
    assert exit_status.value.code == 0
    assert capsys.readouterr().out == f"cds-service {__version__}\n"


def test_the_version_named_is_the_one_released() -> None:
    """pyproject.toml's version is the release's (pip's, the wheel's): one bumped without the other, --version named
    the release before it, and an operator would roll back to the wrong one."""
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert __version__ == pyproject["project"]["version"]


def test_ctrl_c_ends_a_command_with_status_130_and_no_traceback(capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A long `audit prune` stopped with Ctrl-C printed Python's traceback."""
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_check, "run", interrupted)
    assert main(["check"]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_it_lists_the_clients_and_the_settings_in_effect(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """What an unset variable gave, and each EHR's keys, servers and tenants as the service read them."""
    config = {"require_jwt": True, "public_base_url": "https://cds.example.org", "clients": [
        {"iss": "https://ehr.example.org", "jwks_url": "https://ehr.example.org/jwks.json",
         "fhir_servers": ["https://ehr.example.org/fhir"], "tenants": ["site-a", "site-b"]},
        {"iss": "https://other.example.org", "jwks_url": "https://other.example.org/jwks.json"}]}
    (tmp_path / "auth.json").write_text(json.dumps(config))
    monkeypatch.setenv("CDS_AUTH_CONFIG", str(tmp_path / "auth.json"))
    monkeypatch.setenv("CDS_TIME_ZONE", "America/Chicago")
    monkeypatch.setenv("CDS_DATABASE_URL", "postgresql+psycopg://cds:secret@db.internal:5432/cds")
    assert main(["check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert ("client https://ehr.example.org: keys https://ehr.example.org/jwks.json; FHIR servers "
            "https://ehr.example.org/fhir; tenants site-a, site-b") in lines
    assert "client https://other.example.org: keys https://other.example.org/jwks.json; FHIR servers none; tenants " \
           "any" in lines
    assert ("CORS origins *; clinical date in America/Chicago; fetch budget 3 s; body limit 10485760 bytes; log level "
            "INFO; metrics of each process alone") in lines


@pytest.fixture
def key_server() -> Iterator[JwksServer]:
    server = JwksServer()
    rsa_without_alg = {name: value for name, value in public_jwk(RSA_KEY, "rsa-1", "RS384").items() if name != "alg"}
    server.keys = [public_jwk(EC_KEY, "ec-1", "ES384"), rsa_without_alg]
    yield server
    server.close()


def _with_key_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    config = {"public_base_url": "https://cds.example.org",
              "clients": [{"iss": "https://ehr.example.org", "jwks_url": url}]}
    (tmp_path / "auth.json").write_text(json.dumps(config))
    monkeypatch.setenv("CDS_AUTH_CONFIG", str(tmp_path / "auth.json"))
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path))


def test_connect_lists_the_keys_fetched_from_each_jwks_url(tmp_path: Path, key_server: JwksServer,
                                                           capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _with_key_url(tmp_path, monkeypatch, key_server.url)
    assert main(["check"]) == 0 and key_server.fetches == 0  # fetched with --connect only
    assert main(["check", "--connect"]) == 0
    assert (f'client https://ehr.example.org: JWK Set {key_server.url}: keys "ec-1" (EC for ES384), "rsa-1" (RSA)'
            in capsys.readouterr().out.splitlines())


@pytest.mark.parametrize(("answer", "said"), [
    ((404, {"Content-Length": "0"}, b""),
     "HTTP 404; the key host has no JWK Set for this machine at that URL: check the client's jwks_url"),
    ((200, {"Content-Length": "2"}, b"[]"),
     "not a JSON object; the URL answers with no JWK Set of public signing keys: check the client's jwks_url"),
])
def test_connect_fails_naming_a_jwks_url_whose_keys_cannot_be_had(
        tmp_path: Path, key_server: JwksServer, answer: tuple[int, dict[str, str], bytes], said: str,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every token of that client would get a 401, which the start-up cannot see: it fetches on the first token."""
    _with_key_url(tmp_path, monkeypatch, key_server.url)
    key_server.answer = answer
    assert main(["check", "--connect"]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"cds-service check: client https://ehr.example.org: JWK Set {key_server.url} " \
                           f"unavailable: {said}\n"
    assert "audit database: sqlite:" in captured.out  # the database is still said
