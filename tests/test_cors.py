"""CORS for browser clients such as the public CDS Hooks sandbox: preflights on every endpoint a browser calls,
configurable origins. The operator's endpoints (/metrics, /healthz, /readyz) have none: test_security_cors.py."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from werkzeug.wrappers import Response

from tests.conftest import close_app, local_settings, make_app
from tests.live_server import LiveClient, serving

SANDBOX = "https://sandbox.cds-hooks.org"
ENDPOINTS = [
    "/cds-services",
    "/cds-services/blinatumomab-coverage",
    "/cds-services/blinatumomab-coverage/feedback",
    "/fhir/Questionnaire/blinatumomab-coverage-attestation",
]



@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveClient]:
    """One app for the whole module (these tests leave nothing behind that another could see): a faster suite."""
    application = make_app(local_settings(tmp_path_factory.mktemp("cors")))
    with serving(application) as live:
        yield live
    close_app(application)


def preflight(client: LiveClient, path: str, origin: str = SANDBOX, method: str = "POST",
              private_network: bool = False) -> Response:
    headers = {"Origin": origin, "Access-Control-Request-Method": method,
               "Access-Control-Request-Headers": "authorization, content-type"}
    if private_network:  # Chrome's Private Network Access: a public page calling 127.0.0.1 or a private address
        headers["Access-Control-Request-Private-Network"] = "true"
    return client.options(path, headers=headers)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_preflight_allows_authorization_and_content_type_everywhere(client: LiveClient, path: str) -> None:
    response = preflight(client, path)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] in ("*", SANDBOX)
    allowed_headers = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_local_mode_allows_the_public_sandbox_to_reach_a_private_address(client: LiveClient, path: str) -> None:
    """The README's sandbox setup: https://sandbox.cds-hooks.org calling http://127.0.0.1:8080. Chrome refuses the
    call unless the preflight answers Access-Control-Allow-Private-Network: true (flask-cors's default is false)."""
    response = preflight(client, path, private_network=True)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Private-Network"] == "true"


@pytest.mark.parametrize("path", ENDPOINTS[1:3])  # the hook and feedback calls
def test_preflight_allows_the_request_id_a_client_sends(client: LiveClient, path: str) -> None:
    """README invites clients to send X-Request-ID; the preflight answered `content-type` alone, and the browser then
    refused to send the call."""
    asked = "authorization,content-type,x-request-id"
    response = client.options(path, headers={"Origin": SANDBOX, "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": asked})
    allowed = {header.strip() for header in response.headers["Access-Control-Allow-Headers"].lower().split(",")}
    assert allowed == {"authorization", "content-type", "x-request-id"}


def test_actual_responses_carry_the_allow_origin_header(client: LiveClient) -> None:
    response = client.get("/cds-services", headers={"Origin": SANDBOX})
    assert response.headers["Access-Control-Allow-Origin"] in ("*", SANDBOX)
    assert response.headers["Access-Control-Expose-Headers"] == "X-Request-ID"  # the id its call is logged under
    error = client.post("/cds-services/blinatumomab-coverage", data=b"nope", headers={"Origin": SANDBOX},
                        content_type="application/json")
    assert error.status_code == 400 and error.headers["Access-Control-Allow-Origin"] in ("*", SANDBOX)


@pytest.fixture
def restricted(tmp_path: Path) -> Iterator[LiveClient]:
    application = make_app(local_settings(tmp_path, cors_origins=("https://ehr.example.org",)))
    with serving(application) as live:
        yield live
    close_app(application)


def test_configured_origins_restrict_cors(restricted: LiveClient) -> None:
    allowed = preflight(restricted, "/cds-services/blinatumomab-coverage", origin="https://ehr.example.org")
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"
    refused = preflight(restricted, "/cds-services/blinatumomab-coverage", origin="https://elsewhere.example.org")
    assert "Access-Control-Allow-Origin" not in refused.headers


@pytest.mark.parametrize("origin", ["https://ehr.example.org", "https://elsewhere.example.org", None])
def test_every_response_varies_on_origin_when_origins_are_listed(restricted: LiveClient, origin: str | None) -> None:
    """Whether a response allows its caller depends on Origin: a cache holding a refused origin's answer (or one
    without Origin) would serve it to the allowed origin, whose browser then refuses it. Once, never twice."""
    headers = {"Origin": origin} if origin else {}
    for response in (restricted.get("/cds-services", headers=headers),
                     restricted.post("/cds-services/blinatumomab-coverage", data=b"nope", headers=headers,
                                     content_type="application/json"),
                     preflight(restricted, "/cds-services", origin=origin or "https://other.example.org")):
        assert response.headers.getlist("Vary") == ["Origin"]


def test_private_network_access_is_allowed_only_to_an_allowed_origin(restricted: LiveClient) -> None:
    path = "/cds-services/blinatumomab-coverage"
    allowed = preflight(restricted, path, origin="https://ehr.example.org", private_network=True)
    assert allowed.headers["Access-Control-Allow-Private-Network"] == "true"
    refused = preflight(restricted, path, origin="https://elsewhere.example.org", private_network=True)
    assert "Access-Control-Allow-Private-Network" not in refused.headers


@pytest.mark.parametrize(("configured", "allowed", "refused"), [
    ("http://[::1]:8080", ["http://[::1]:8080"], ["http://1:8080", "http://::8080", "http://[::1]:80801"]),
    ("https://ehr.example.org", ["https://EHR.example.org"], ["https://ehr.example.org.evil.test",
                                                              "https://ehrxexample.org"]),
])
def test_configured_origins_match_as_a_whole(tmp_path: Path, configured: str, allowed: list[str],
                                             refused: list[str]) -> None:
    """An origin is allowed only as configured (its case aside): an IPv6 origin's brackets are no regular expression,
    and a longer origin that starts like a configured one is another site."""
    application = make_app(local_settings(tmp_path, cors_origins=(configured,)))
    try:
        with serving(application) as live:
            for origin in allowed:
                assert preflight(live, "/cds-services", origin=origin).headers["Access-Control-Allow-Origin"] == origin
            for origin in refused:
                assert "Access-Control-Allow-Origin" not in preflight(live, "/cds-services", origin=origin).headers
    finally:
        close_app(application)
