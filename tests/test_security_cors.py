"""CORS opens to other origins only the endpoints a browser client calls (app.BROWSER_PATHS). A security review found
/metrics, /healthz and /readyz answering `Access-Control-Allow-Origin: *` (the default, also with JWTs required, which
they do not ask for): any web page opened on a machine that reaches the service could read the decision counts by
policy and the audit database's state. Prometheus and the probes send no Origin, and are answered as before."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import close_app, local_settings, make_app
from tests.live_server import LiveClient, serving
from tests.test_cors import ENDPOINTS, SANDBOX, preflight

OPERATOR_ENDPOINTS = ["/metrics", "/healthz", "/readyz"]
PAGE = "https://any-page.example"


@pytest.fixture(scope="module", params=[("*",), (SANDBOX,)], ids=["every-origin", "listed-origin"])
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveClient]:
    application = make_app(local_settings(tmp_path_factory.mktemp("cors"), cors_origins=request.param))
    with serving(application) as live:
        yield live
    close_app(application)


@pytest.mark.parametrize("path", OPERATOR_ENDPOINTS)
def test_no_web_page_reads_the_operators_endpoints(client: LiveClient, path: str) -> None:
    for origin in (PAGE, SANDBOX):
        answer = client.get(path, headers={"Origin": origin})
        assert answer.status_code in (200, 503)  # /readyz: the database's state decides
        assert "Access-Control-Allow-Origin" not in answer.headers
        refused = preflight(client, path, origin, method="GET", private_network=True)
        assert "Access-Control-Allow-Origin" not in refused.headers
        assert "Access-Control-Allow-Private-Network" not in refused.headers


@pytest.mark.parametrize("path", ENDPOINTS)
def test_the_browser_endpoints_keep_their_cors(client: LiveClient, path: str) -> None:
    assert preflight(client, path).headers["Access-Control-Allow-Origin"] in ("*", SANDBOX)


def test_a_path_that_only_begins_like_a_browser_endpoint_gets_no_cors(client: LiveClient) -> None:
    answer = client.get("/cds-services-private", headers={"Origin": SANDBOX})
    assert answer.status_code == 404 and "Access-Control-Allow-Origin" not in answer.headers
