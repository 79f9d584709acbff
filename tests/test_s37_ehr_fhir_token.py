"""A FHIR server refusing a call that sent no access token: the EHR engineer is told no token was sent, not sent
hunting an expired or revoked one (CDS Hooks 2.0 lets a request name a fhirServer without fhirAuthorization)."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.fhir_server import FhirTestServer
from tests.live_server import LiveClient

SERVICE = "/cds-services/blinatumomab-coverage"
EXAMPLES = Path(__file__).resolve().parent.parent / "fhir_examples"
NO_TOKEN = "the request has no fhirAuthorization, so no access token was sent with the reads"


def _without_patient(server: FhirTestServer, hook_instance: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EXAMPLES / "aspirus-adult-maintenance.json").read_text())
    del body["prefetch"]["patient"]
    body["hookInstance"] = hook_instance
    body["fhirServer"] = server.base_url
    return body


@pytest.mark.parametrize("status", [401, 403])
def test_a_412_says_no_token_was_sent_when_the_request_has_no_fhir_authorization(
        client: LiveClient, caplog: pytest.LogCaptureFixture, status: int) -> None:
    with FhirTestServer() as server:
        server.fault("/Patient/example-patient", status=status)
        with caplog.at_level(logging.INFO, logger="cds_service"):
            response = client.post(SERVICE, json=_without_patient(server, f"no-token-{status}"))
    assert response.status_code == 412
    [issue] = response.get_json()["issue"]
    assert issue["diagnostics"].endswith(f"prefetch 'patient' missing and the FHIR server answered {status}: {NO_TOKEN}")
    assert "expired" not in issue["diagnostics"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [f"hook no-token-{status}: FHIR server answered {status}: what it refused is not received "
                        "(the request has no fhirAuthorization: no access token was sent)"]


def test_a_412_still_blames_the_token_when_one_was_sent(client: LiveClient) -> None:
    with FhirTestServer(token="the-right-token") as server:
        body = _without_patient(server, "stale-token")
        body["fhirAuthorization"] = {"access_token": "a-stale-token", "token_type": "Bearer"}
        response = client.post(SERVICE, json=body)
    assert response.status_code == 412
    assert response.get_json()["issue"][0]["diagnostics"].endswith(
        "the FHIR server answered 401: it refused fhirAuthorization's access token (expired, revoked, or without the "
        "scope to read it)")
