"""What every answer's headers promise a browser or a proxy: never cached, read only as the type it declares
(`X-Content-Type-Options: nosniff`: a 404 quotes the client's path, a 400 its value), JSON where there is a body,
and an empty 401 without a media type (service-contract.md §Errors)."""
from __future__ import annotations

from typing import Iterator

from werkzeug.wrappers import Response

from tests.live_server import LiveClient
from tests.test_auth import jwks_server, secure, secure_app  # noqa: F401  (fixtures)

JSON_TYPES = ("application/json", "application/fhir+json")
SERVICE = "/cds-services/blinatumomab-coverage"


def answers(client: LiveClient) -> Iterator[tuple[str, Response]]:
    yield "discovery", client.get("/cds-services")
    yield "questionnaire", client.get("/fhir/Questionnaire/blinatumomab-coverage-attestation")
    yield "healthz", client.get("/healthz")
    yield "404", client.get("/<script>alert(1)</script>")
    yield "405", client.put("/cds-services")
    yield "415", client.post(SERVICE, data=b"{}", content_type="text/html")
    yield "401", client.post(SERVICE, json={})


def test_every_answer_is_uncached_and_never_sniffed(secure: LiveClient) -> None:  # noqa: F811
    for name, answer in answers(secure):
        headers = answer.headers
        assert headers["X-Content-Type-Options"] == "nosniff", name
        assert headers["Cache-Control"] == "no-store", name
        if answer.status_code == 401:
            assert answer.get_data() == b"" and "Content-Type" not in headers
        else:
            assert headers["Content-Type"].split(";")[0] in JSON_TYPES, name


def test_metrics_are_prometheus_text_and_never_sniffed(secure: LiveClient) -> None:  # noqa: F811
    answer = secure.get("/metrics")
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
