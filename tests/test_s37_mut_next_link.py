"""Mutation guards (session 37) for relative next links (fhir_client `_resolved`): a prefetched first page's link
is read against the server base as a folder (its path kept: `https://ehr.example.org/fhir/` + `Observation?...`),
and a fetched page's link against that page's own URL (test_s37_ehr_relative_next_link: a query alone names the
page's path)."""
from __future__ import annotations

import json

from tests.fhir_server import FhirTestServer
from tests.live_server import LiveClient
from tests.test_s37_ehr_relative_next_link import _decision, _example, _observations, _page


def test_a_prefetched_page_under_a_base_with_a_path_follows_its_relative_link(client: LiveClient) -> None:
    body = _example()
    with FhirTestServer() as server:
        first, *rest = _observations()
        server.fault("/fhir/Observation", body=json.dumps(_page(rest, total=1 + len(rest))).encode())
        body["prefetch"]["observations"] = _page([first], total=1 + len(rest),
                                                 next_url="Observation?patient=example-patient&_page=2")
        body["fhirServer"] = f"{server.base_url}/fhir"
        assert _decision(client, body) == "meets-criteria"
        assert server.paths() == ["/fhir/Observation"]

