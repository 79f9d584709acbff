"""`cds-service evaluate`: a request file evaluated as the service evaluates it in local mode."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from cds_service.cli_evaluate import _evaluate
from tests.fhir_server import FhirTestServer, fhir_server  # noqa: F401 (pytest fixture)

EXAMPLE = Path(__file__).parent.parent / "fhir_examples" / "aspirus-adult-maintenance.json"


def _evaluated_with_server(fhir_server_url: str) -> None:
    request = json.loads(EXAMPLE.read_text())
    del request["prefetch"]["coverage"]  # one key left for the server
    request["fhirServer"] = fhir_server_url
    _evaluate(json.dumps(request).encode(), date(2026, 3, 1), "http://127.0.0.1:8080")


def test_the_server_allowlist_of_local_mode_decides_what_is_fetched(fhir_server: FhirTestServer) -> None:
    # The command had its own test (any http(s) URL), which let through what auth.server_allowlist refuses.
    _evaluated_with_server(fhir_server.base_url.replace("http://", "http://user@"))
    assert fhir_server.requests == []
    _evaluated_with_server(fhir_server.base_url)
    assert fhir_server.requests != []
