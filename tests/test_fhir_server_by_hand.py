"""`python -m tests.fhir_server`: the FHIR test server run by hand, for testing the service without a prefetch
(docs/prefetch.md §Testing against a FHIR server). Run as a person runs it: a process of its own on loopback."""
from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from tests.fhir_server import HANG_GUARD_SECONDS
from tests.test_examples import EXAMPLES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = EXAMPLES / "aspirus-adult-relapsed-refractory-cycle1.json"
SERVICE = "/cds-services/blinatumomab-coverage"
TOKEN = "by-hand-token"


def _request_printed(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The one line of JSON the command prints on stdout once it serves (a hang guard, not a speed claim)."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], HANG_GUARD_SECONDS)
    assert ready, "the command printed no request"
    request: dict[str, Any] = json.loads(process.stdout.readline())
    return request


def _summaries(base_url: str, body: dict[str, Any]) -> list[str]:
    response = requests.post(base_url + SERVICE, json=body, timeout=30)
    assert response.status_code == 200, response.text
    return [card["summary"] for card in response.json()["cards"]]


def test_the_server_run_by_hand_serves_an_examples_prefetch_for_the_request_it_prints(live_service: str) -> None:
    example = json.loads(EXAMPLE.read_text())
    process = subprocess.Popen([sys.executable, "-m", "tests.fhir_server", "--port", "0", "--token", TOKEN,
                                str(EXAMPLE)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        request = _request_printed(process)
        server = request["fhirServer"]
        assert server.startswith("http://127.0.0.1:")
        assert request == {**{k: v for k, v in example.items() if k != "prefetch"}, "fhirServer": server,
                           "fhirAuthorization": request["fhirAuthorization"]}
        assert request["fhirAuthorization"]["access_token"] == TOKEN
        patient = f"{server}/Patient/{example['context']['patientId']}"
        read = requests.get(patient, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        assert read.status_code == 200 and read.json() == example["prefetch"]["patient"]
        assert requests.get(patient, timeout=30).status_code == 401  # the token is required
        # Ready to post: the service reads the record from the server and answers as with the prefetch.
        assert _summaries(live_service, request) == _summaries(live_service, example)
        process.send_signal(signal.SIGINT)  # Ctrl-C
        _, logged = process.communicate(timeout=HANG_GUARD_SECONDS)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0 and "Traceback" not in logged
    assert f"fhirServer {server}: " in logged and f"GET {patient}" in logged
    assert '"GET /Coverage?patient=' in logged  # each request answered, logged for the person running it
