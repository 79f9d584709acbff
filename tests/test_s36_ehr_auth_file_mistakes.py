"""Mistakes in the auth file that the start-up and the check took in silence, or named without the fix.

A wildcard in a URL (`"fhir_servers": ["https://*.example.org"]`) was accepted as a host named `*.example.org`,
which no fhirServer can be: the check passed, and every fetch for that client was refused ("fhirServer is not
allowed for this client"), its data counted as not received."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cds_service.config import ConfigError, Settings, parse_auth_config

CLIENT = {"iss": "https://ehr.example.org", "jwks_url": "https://ehr.example.org/jwks.json"}
SAID = "names a wildcard host, which no URL matches: list each URL in full"


def config(**client: Any) -> dict[str, Any]:
    return {"public_base_url": "https://cds.example.org", "clients": [{**CLIENT, **client}]}


@pytest.mark.parametrize(("data", "where", "url"), [
    (config(fhir_servers=["https://*.example.org/fhir"]), "clients[0] (iss https://ehr.example.org) fhir_servers entry",
     "https://*.example.org/fhir"),
    (config(fhir_servers=["http://*:8090"]), "clients[0] (iss https://ehr.example.org) fhir_servers entry",
     "http://*:8090"),
    (config(jwks_url="https://*.example.org/jwks.json"), "clients[0] (iss https://ehr.example.org) jwks_url",
     "https://*.example.org/jwks.json"),
    ({**config(), "public_base_url": "https://*.example.org"}, "'public_base_url'", "https://*.example.org"),
])
def test_a_wildcard_host_is_refused_naming_the_setting(data: dict[str, Any], where: str, url: str) -> None:
    with pytest.raises(ConfigError, match=f"^{re.escape(f'auth configuration {where} {url!r} {SAID}')}$"):
        parse_auth_config(data)


def test_the_full_urls_are_taken() -> None:
    auth = parse_auth_config(config(fhir_servers=["https://a.example.org/fhir", "https://b.example.org/fhir"]))
    assert auth.clients[0].fhir_servers == ("https://a.example.org/fhir", "https://b.example.org/fhir")


def test_a_jwk_set_named_instead_of_the_auth_file_is_said_so() -> None:
    """An engineer given the EHR's JWK Set file pointed CDS_AUTH_CONFIG at it: "unknown key 'keys'" said what, not
    why."""
    with pytest.raises(ConfigError, match="^auth configuration: this is a JWK Set \\(its 'keys'\\), not the auth "
                                          "configuration: name the file of trusted clients, and give the set as a "
                                          "client's jwks \\(or its URL as jwks_url\\)$"):
        parse_auth_config({"keys": [{"kty": "EC", "crv": "P-384", "x": "a", "y": "b", "kid": "k1"}]})


def test_an_auth_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """Windows editors save UTF-8 with a BOM; the start-up refused the file as not JSON ("Unexpected UTF-8 BOM")."""
    path = tmp_path / "auth.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(config()).encode())
    settings = Settings.from_env({"CDS_AUTH_CONFIG": str(path), "CDS_DATA_DIR": str(tmp_path)})
    assert settings.auth is not None and settings.auth.clients[0].iss == CLIENT["iss"]
