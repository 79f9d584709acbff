"""service-contract.md §Errors, status by status, from the production server as README §Production runs it: gunicorn
with the configuration the service ships, JWT required (an inline key), over real HTTP. The other tests of these
statuses go through werkzeug's server; gunicorn reads the request itself (its body, its length, chunks), so the
answers an EHR meets in production are checked here too."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from tests.factories import medication_request
from tests.test_auth import AUD, BASE, EC_KEY, EHR, SERVICE, claims, ec_token, public_jwk
from tests.test_errors import sign_request
from tests.test_gunicorn import GUARD_SECONDS, ROOT, free_port

BODY_LIMIT = 4096  # CDS_MAX_BODY_BYTES: small, so a 413 needs no large body


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("gunicorn")
    auth = folder / "auth.json"
    auth.write_text(json.dumps({"public_base_url": BASE, "clients": [
        {"iss": EHR, "jwks": {"keys": [public_jwk(EC_KEY, "ec-1", "ES384")]}}]}))
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("CDS_") and name != "PROMETHEUS_MULTIPROC_DIR"}
    env |= {"CDS_AUTH_CONFIG": str(auth), "CDS_DATA_DIR": str(folder / "data"), "CDS_MAX_BODY_BYTES": str(BODY_LIMIT)}
    port = free_port()
    with (folder / "server.log").open("w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-c", "python:cds_service.gunicorn_config", "-w", "1",
             "--preload", "--no-control-socket", "-b", f"127.0.0.1:{port}", "cds_service.app:create_app()"],
            env=env, cwd=ROOT, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(process, url, folder / "server.log")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(GUARD_SECONDS)


def _wait_until_answering(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + GUARD_SECONDS
    while True:
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        try:
            if requests.get(url + "/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.1)


def _post(url: str, path: str = SERVICE, body: Any = None, *, token: bool = True,
          content_type: str = "application/json") -> requests.Response:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = "Bearer " + ec_token(claims(aud=BASE + path, tenant=None))
    data = json.dumps(sign_request() if body is None else body)
    return requests.post(url + path, data=data, headers=headers, timeout=GUARD_SECONDS)


def _issue(response: requests.Response, status: int) -> dict[str, Any]:
    """The OperationOutcome's issue of an error answer (every status but 401)."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/fhir+json"
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["severity"] == "error"
    issue: dict[str, Any] = outcome["issue"][0]
    return issue


def test_a_valid_call_is_answered(production: str) -> None:
    assert AUD == BASE + SERVICE
    assert _post(production).json() == {"cards": [], "systemActions": []}


def test_400_names_the_field(production: str) -> None:
    body = sign_request()
    del body["hookInstance"]
    issue = _issue(_post(production, body=body), 400)
    assert issue["expression"] == ["hookInstance"] and "hookInstance" in issue["diagnostics"]


def test_401_is_empty(production: str) -> None:
    response = _post(production, token=False)
    assert response.status_code == 401 and response.content == b""
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_404_for_an_unknown_service_id(production: str) -> None:
    issue = _issue(_post(production, "/cds-services/other-service"), 404)
    assert issue["diagnostics"] == 'No CDS service with id "other-service"'


def test_405_says_the_method_to_use(production: str) -> None:
    response = requests.get(production + SERVICE, timeout=GUARD_SECONDS)
    issue = _issue(response, 405)
    assert issue["diagnostics"] == f"Method GET is not allowed on {SERVICE}: use POST"
    assert "POST" in response.headers["Allow"].split(", ")


def test_412_when_no_patient_data_is_obtainable(production: str) -> None:
    """A blinatumomab order, no prefetch and no fhirServer: nothing to read the patient from."""
    body = sign_request()
    del body["prefetch"]
    body["context"]["draftOrders"]["entry"] = [{"resource": medication_request(status="draft", id="b1")}]
    issue = _issue(_post(production, body=body), 412)
    assert issue["expression"] == ["prefetch.patient"]


def test_413_names_the_limit_and_its_setting(production: str) -> None:
    body = {**sign_request(), "padding": "x" * BODY_LIMIT}
    issue = _issue(_post(production, body=body), 413)
    assert issue["diagnostics"] == (f"Request body is larger than the configured limit of {BODY_LIMIT} bytes "
                                    "(CDS_MAX_BODY_BYTES)")


def test_415_for_a_body_not_declared_json(production: str) -> None:
    issue = _issue(_post(production, content_type="text/plain"), 415)
    assert issue["diagnostics"] == 'Content-Type "text/plain" is not JSON; use application/json'
