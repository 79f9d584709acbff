"""A fhirServer the verified client may not be read from: the WARNING says what to compare and how to see the server
the EHR named (at DEBUG only, as the fetches' URLs), and the server is never contacted."""
from __future__ import annotations

import json
import logging

import pytest

from tests.fhir_server import FhirTestServer, fhir_server  # noqa: F401  (fixture)
from tests.live_server import LiveClient
from tests.test_auth import EHR, SERVICE, ec_token, jwks_server, secure, secure_app  # noqa: F401  (fixtures)
from tests.test_errors import EXAMPLES


def without_patient(server: FhirTestServer) -> dict[str, object]:
    """An example request whose prefetch lacks the Patient, naming `server` as its fhirServer."""
    body = json.loads((EXAMPLES / "aspirus-adult-maintenance.json").read_text())
    del body["prefetch"]["patient"]
    body["fhirServer"] = server.base_url
    return body


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_the_warning_says_what_to_compare_and_debug_names_the_server(
        secure: LiveClient, fhir_server: FhirTestServer,  # noqa: F811
        caplog: pytest.LogCaptureFixture, level: int) -> None:
    body = without_patient(fhir_server)
    with caplog.at_level(level, logger="cds_service"):
        response = secure.post(SERVICE, json=body, headers={"Authorization": f"Bearer {ec_token()}"})
    assert response.status_code == 412
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"hook {body['hookInstance']}: FHIR server not allowed for client {EHR}: nothing fetched (the fhirServer " \
           "sent is under none of the client's fhir_servers; CDS_LOG_LEVEL=DEBUG logs it)" in warnings
    named = [r.getMessage() for r in caplog.records if fhir_server.base_url in r.getMessage()]
    assert named == ([f"hook {body['hookInstance']}: fhirServer not allowed: {fhir_server.base_url}"]
                     if level == logging.DEBUG else [])
    assert fhir_server.requests == []
