"""The service over real HTTP: the hook call, its audit record, health, the Questionnaire, metrics."""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any, Iterator

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from cds_service.db_models import Invocation
from cds_service.validation import hook_request
from tests.conftest import close_app, local_settings, make_app
from tests.live_server import serving
from tests.test_errors import EXAMPLES, select_request, sign_request

SERVICE = "/cds-services/blinatumomab-coverage"


def store(app: Flask) -> Any:
    return app.extensions["cds_service"].store


def test_an_example_request_is_answered_over_http(live_service: str, app: Flask) -> None:
    body = json.loads((EXAMPLES / "aspirus-adult-maintenance.json").read_text())
    response = requests.post(live_service + SERVICE, json=body, timeout=10)
    assert response.status_code == 200
    answer = response.json()
    assert isinstance(answer["cards"], list) and isinstance(answer["systemActions"], list)
    store(app).flush()
    [recorded] = store(app).show(body["hookInstance"])
    assert recorded.record.status == 200
    assert recorded.record.patient_id == body["context"]["patientId"]
    # What a pharmacist verifies later is kept with the outcome: the card's decision details and the Coverage.
    [outcome] = recorded.record.outcomes
    decision = answer["cards"][0]["extension"]["coverage-decision"]
    assert (outcome.authorization, outcome.missing) == (decision["authorization"], decision["missing"])
    assert outcome.coverage_reference == "Coverage/" + body["prefetch"]["coverage"]["entry"][0]["resource"]["id"]
    assert [c["note"] for c in outcome.criteria] == [c.get("note") for c in decision["criteria"]]
    assert outcome.card_topics == {c["uuid"]: c["source"]["topic"]["code"] for c in answer["cards"]}


def test_error_statuses_are_audited_too(live_service: str, app: Flask) -> None:
    body = sign_request()
    body["hookInstance"] = "audited-400"
    del body["context"]["patientId"]
    response = requests.post(live_service + SERVICE, json=body, timeout=10)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["context.patientId"]
    store(app).flush()
    [recorded] = store(app).show("audited-400")
    assert (recorded.record.status, recorded.record.hook, recorded.record.patient_id) == (400, "order-sign", None)


def test_fields_of_a_rejected_request_are_audited_within_their_columns(live_service: str, app: Flask) -> None:
    body = sign_request()
    body["hook"] = "h" * 150
    body["hookInstance"] = "i" * 300
    response = requests.post(live_service + SERVICE, json=body, timeout=10)
    assert response.status_code == 400
    store(app).flush()
    with store(app).engine.connect() as connection:
        rows = connection.execute(select(Invocation.hook, Invocation.hook_instance, Invocation.status)).all()
    assert rows == [("h" * 100, "i" * 200, 400)]


def test_a_hook_instance_that_is_not_valid_unicode_is_a_400_still_audited(live_service: str, app: Flask) -> None:
    """An unpaired surrogate is no Unicode character (RFC 8259 §8.2): the body cannot be read (json_codec), so the
    refusal is audited without the id (it was answered, and audited as "?-...")."""
    body = json.dumps(sign_request()).replace('"hookInstance": "', '"hookInstance": "\\udc80-', 1)
    response = requests.post(live_service + SERVICE, data=body.encode(), timeout=10,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    store(app).flush()
    with store(app).engine.connect() as connection:
        rows = connection.execute(select(Invocation.hook_instance, Invocation.status)).all()
    assert rows == [("", 400)]


def test_an_unknown_service_id_of_any_length_is_audited_within_the_column(live_service: str, app: Flask) -> None:
    response = requests.post(f"{live_service}/cds-services/{'x' * 300}", json=sign_request(), timeout=10)
    assert response.status_code == 404
    store(app).flush()
    with store(app).engine.connect() as connection:
        rows = connection.execute(select(Invocation.service_id, Invocation.status)).all()
    assert [(service_id, status) for service_id, status in rows if status == 404] == [("x" * 200, 404)]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_and_readiness_report_the_database(live_service: str, path: str) -> None:
    response = requests.get(live_service + path, timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["problems"]) == ("ok", "ok", [])
    assert body["audit"] == {"alive": True, "schema_ready": True, "backlog": 0, "stalled_seconds": 0.0,
                             "last_error": None, "last_error_age_seconds": None, "lost": {}, "stalled_cause": None}


@pytest.fixture
def app_losing_its_database(tmp_path: Path) -> Iterator[Flask]:
    data_dir = tmp_path / "db"
    data_dir.mkdir()
    application = make_app(local_settings(data_dir))
    yield application
    close_app(application)


def test_an_unreachable_database_is_not_ready_yet_the_service_is_alive(app_losing_its_database: Flask,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    """/healthz is the liveness answer: it was 503 here, and a liveness probe restarted workers through a database
    outage, dropping the audit records they held. It still says what is wrong and why; /readyz is the 503. The log
    says it too, with the database's URL, which they do not (they answer anyone who reaches them)."""
    caplog.set_level(logging.WARNING, logger="cds_service.audit_health")
    with serving(app_losing_its_database) as client:
        assert client.get("/readyz").status_code == 200
        db_dir = Path(store(app_losing_its_database).engine.url.database).parent
        shutil.rmtree(db_dir)
        store(app_losing_its_database).engine.dispose()  # drop pooled connections to the deleted file
        ready, alive = client.get("/readyz"), client.get("/healthz")
    assert ready.status_code == 503
    assert alive.status_code == 200
    cause = ("OperationalError / OperationalError (SQLITE_CANTOPEN) while connecting: the SQLite file cannot be "
             "opened: its folder is missing or not writable")
    for response in (ready, alive):
        body = response.get_json()
        assert (body["status"], body["database"], body["problems"]) == ("error", "unreachable",
                                                                         [f"database unreachable: {cause}"])
        assert str(db_dir) not in response.get_data(as_text=True)
    [line] = [r.getMessage() for r in caplog.records if r.name == "cds_service.audit_health"]
    assert line == f"audit database sqlite:///{db_dir / 'cds.db'} not ready for pid {os.getpid()}: {cause}"


def test_the_attestation_questionnaire_is_served(live_service: str) -> None:
    response = requests.get(live_service + "/fhir/Questionnaire/blinatumomab-coverage-attestation", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    questionnaire = response.json()
    assert questionnaire["resourceType"] == "Questionnaire"
    assert questionnaire["url"].endswith("/Questionnaire/blinatumomab-coverage-attestation")


def test_metrics_count_requests_by_route(live_service: str) -> None:
    requests.get(live_service + "/cds-services", timeout=10)
    requests.post(live_service + "/cds-services/unknown", json=sign_request(), timeout=10)
    text = requests.get(live_service + "/metrics", timeout=10).text
    assert 'endpoint="/cds-services",status="200"' in text
    assert 'endpoint="/cds-services/<service_id>",status="404"' in text


def test_configuration_extension_keeps_known_settings_of_the_right_type() -> None:
    body = select_request()
    body["extension"] = {
        "davinci-crd.configuration": {
            "coverage-info": False, "max-cards": 2, "unsolicited-determ": False,
            "limits": "no", "off-guideline": 1, "max-cards-extra": True,
        }
    }
    request = hook_request(body, "blinatumomab-coverage", client_iss="https://ehr.example.org")
    assert request.configuration == {"coverage-info": False, "max-cards": 2, "unsolicited-determ": False}
    assert request.selections == ("MedicationRequest/ondansetron-order",)
    assert (request.hook, request.patient_id, request.user_id) == ("order-select", "p1", "Practitioner/1")
    assert request.client_iss == "https://ehr.example.org"


def test_cds_service_serve_logs_its_url_and_serves(tmp_path: Path) -> None:
    env = {**os.environ, "CDS_DATA_DIR": str(tmp_path)}
    env.pop("CDS_AUTH_CONFIG", None)
    env.pop("CDS_DATABASE_URL", None)
    command = [sys.executable, "-m", "cds_service.cli", "serve", "--port", "0"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        url = _served_url(process.stderr)
        assert requests.get(url, timeout=10).json()["services"][0]["id"] == "blinatumomab-coverage"
        assert (tmp_path / "cds.db").exists()
    finally:
        process.terminate()
        process.wait(10)


def _served_url(stderr: IO[str]) -> str:
    deadline = time.monotonic() + 30
    for line in stderr:
        found = re.search(r"serving (http://\S+)", line)
        if found:
            return found.group(1)
        assert time.monotonic() < deadline, "cds-service serve did not start"
    raise AssertionError("cds-service serve exited before serving")
