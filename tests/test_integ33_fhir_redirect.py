"""A FHIR server answering with a redirect (a fhirServer given as http:// where the server moved to https://, or
without the path it answers at): not followed, since the token would go wherever it leads, and now said to be one.
"HTTP 301" alone, in the 412 and the log, did not tell the engineer why the read failed."""
from __future__ import annotations

import pytest

from tests.fhir_server import FhirTestServer, fhir_server  # noqa: F401  (fixture)
from tests.live_server import LiveClient
from tests.test_integ33_fhir_allowlist import without_patient

SERVICE = "/cds-services/blinatumomab-coverage"


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_named_as_one_in_the_412(client: LiveClient, fhir_server: FhirTestServer,  # noqa: F811
                                               status: int) -> None:
    body = without_patient(fhir_server)
    fhir_server.fault("/Patient/example-patient", status=status)
    response = client.post(SERVICE, json=body)
    assert response.status_code == 412
    assert response.get_json()["issue"][0]["diagnostics"].endswith(
        f"prefetch 'patient' missing and the FHIR server did not return it (HTTP {status} redirect, not followed)")


def test_another_status_is_said_as_before(client: LiveClient, fhir_server: FhirTestServer) -> None:  # noqa: F811
    body = without_patient(fhir_server)
    fhir_server.fault("/Patient/example-patient", status=404)
    response = client.post(SERVICE, json=body)
    assert response.get_json()["issue"][0]["diagnostics"].endswith("did not return it (HTTP 404)")
