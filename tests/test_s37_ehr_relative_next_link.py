"""A search Bundle's `next` link written relative to the page (`/Observation?...&_offset=10`, as Canvas Medical's
FHIR API pages, or `Observation?...` under the base) is followed: it was taken for a link leaving the server base, and
every key with a second page was "not received" on such a server. A relative link still cannot lead the token away
from the server's base: it is resolved first, then checked as an absolute one."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tests.fhir_server import FhirTestServer
from tests.live_server import LiveClient

SERVICE = "/cds-services/blinatumomab-coverage"
EXAMPLE = Path(__file__).resolve().parent.parent / "fhir_examples" / "aspirus-adult-maintenance.json"
SECOND_PAGE = "/Observation?_page=2"


def _example() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return body


def _page(resources: list[dict[str, Any]], total: int, next_url: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total,
                              "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources]}
    if next_url is not None:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def _observations() -> list[dict[str, Any]]:
    return [entry["resource"] for entry in _example()["prefetch"]["observations"]["entry"]]


def _decision(client: LiveClient, body: dict[str, Any]) -> str:
    response = client.post(SERVICE, json=body)
    assert response.status_code == 200
    [card] = response.get_json()["cards"]
    decision: str = card["extension"]["coverage-decision"]["decision"]
    return decision


def _serve_second_page(server: FhirTestServer) -> list[dict[str, Any]]:
    """The Observations after the first, served as the page a next link names; the first, for the first page."""
    first, *rest = _observations()
    server.fault(SECOND_PAGE, body=json.dumps(_page(rest, total=1 + len(rest))).encode())
    return [first]


# Relative to the server root, or a query alone: read against the fetched page's own URL (its path kept).
@pytest.mark.parametrize("next_url", ["/Observation?patient=example-patient&_page=2",
                                      "?patient=example-patient&_page=2"])
def test_a_fetched_search_follows_a_relative_next_link(client: LiveClient, next_url: str) -> None:
    body = _example()
    del body["prefetch"]["observations"]
    with FhirTestServer() as server:
        first = _serve_second_page(server)
        page = _page(first, total=len(_observations()), next_url=next_url)
        server.fault("/Observation?_count=200", body=json.dumps(page).encode())
        body["fhirServer"] = server.base_url
        assert _decision(client, body) == "meets-criteria"
        assert server.paths() == ["/Observation", "/Observation"]


def _with_prefetched_first_page(client: LiveClient, next_url: str) -> tuple[str, list[str]]:
    """The decision when the prefetch holds the first page of the Observations with `next_url`, and the paths the
    FHIR server was asked for."""
    body = _example()
    with FhirTestServer() as server:
        first = _serve_second_page(server)
        body["prefetch"]["observations"] = _page(first, total=len(_observations()), next_url=next_url)
        body["fhirServer"] = server.base_url
        return _decision(client, body), server.paths()


def test_a_prefetched_first_page_follows_a_next_link_relative_to_the_base(client: LiveClient) -> None:
    assert _with_prefetched_first_page(client, "Observation?patient=example-patient&_page=2") == (
        "meets-criteria", ["/Observation"])


def test_a_relative_next_link_naming_another_host_is_not_followed(client: LiveClient) -> None:
    assert _with_prefetched_first_page(client, "//127.0.0.2:9/Observation?_page=2") == ("information-needed", [])


@pytest.mark.parametrize("next_url", ["", "\x00", " ", "http://["])
def test_a_next_link_that_is_no_url_leaves_the_key_not_received_without_a_fault(
        client: LiveClient, caplog: pytest.LogCaptureFixture, next_url: str) -> None:
    """Resolved as it was, "" or a control character named the page itself (fetched again), and "http://[" raised in
    the fetch thread: a fault logged at ERROR."""
    with caplog.at_level(logging.INFO, logger="cds_service"):
        assert _with_prefetched_first_page(client, next_url) == ("information-needed", [])
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "observations (prefetch a first page only; FHIR server: read failed (next link is not a URL))" in caplog.text
