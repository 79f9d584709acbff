"""One log line per hook and feedback call, and per request refused (routes.observe): ids and numbers only, with the
caller's address and a request id that the response carries too (X-Request-ID). A 200 used to write nothing, and a
401 did not say who called."""
from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from flask import Flask

from cds_service.cli_audit import format_detail
from tests.live_server import LiveClient
from tests.test_auth import EHR, call, ec_token, jwks_server, secure, secure_app  # noqa: F401  (fixtures)
from tests.test_errors import EXAMPLES

SERVICE = "/cds-services/blinatumomab-coverage"
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "cds_service.routes"]


def example(name: str = "aspirus-adult-maintenance") -> dict[str, Any]:
    return dict(json.loads((EXAMPLES / f"{name}.json").read_text()))


def test_an_answered_hook_call_is_one_line_of_ids_and_numbers(client: LiveClient,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    body = example()
    with caplog.at_level(logging.INFO, logger="cds_service"):
        response = client.post(SERVICE, json=body)
    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]
    assert GENERATED_ID.fullmatch(request_id)
    [line] = lines(caplog)
    cards = len(response.get_json()["cards"])
    assert line.levelno == logging.INFO
    assert re.fullmatch(rf'200 on POST {SERVICE}, hookInstance "{body["hookInstance"]}": ok; hook=order-sign '
                        rf"orders=1 cards={cards} ms=\d+\.\d remote=127\.0\.0\.1 request_id={request_id}",
                        line.getMessage()), line.getMessage()
    # Never clinical content: no patient id, no name, no card text.
    patient = body["prefetch"]["patient"]
    for clinical in (patient["id"], patient["name"][0]["family"], response.get_json()["cards"][0]["summary"]):
        assert clinical not in caplog.text


@pytest.mark.parametrize("sent, echoed", [("req-7f3a.42:b/9+c=", True), ("0af7651916cd43dd8448eb211c80319c", True),
                                          ("x" * 129, False), ("two words", False), ('a"b;c', False),
                                          ("", False)])
def test_a_clients_request_id_is_echoed_when_it_is_a_plain_token(client: LiveClient, caplog: pytest.LogCaptureFixture,
                                                                 sent: str, echoed: bool) -> None:
    with caplog.at_level(logging.INFO, logger="cds_service"):
        response = client.post(SERVICE, json=example(), headers={"X-Request-ID": sent})
    request_id = response.headers["X-Request-ID"]
    assert (request_id == sent) is echoed and (echoed or GENERATED_ID.fullmatch(request_id))
    [line] = lines(caplog)
    assert line.getMessage().endswith(f" request_id={request_id}")


@pytest.mark.parametrize("sent", [None, "req-7f3a.42:b/9+c="])
def test_the_audit_record_keeps_the_request_id_and_show_finds_the_call_by_it(app: Flask, client: LiveClient,
                                                                              sent: str | None) -> None:
    """A log line, or a proxy's, leads to the decision: the record had no id in common with the line but the
    hookInstance, which an EHR may send again and a proxy never logs."""
    body = example()
    answered = client.post(SERVICE, json=body, headers={"X-Request-ID": sent} if sent else {})
    refused = client.post(SERVICE, json={**body, "hook": "order-dispatch", "hookInstance": "refused-call"})
    store = app.extensions["cds_service"].store
    store.flush()
    for response, hook_instance in ((answered, body["hookInstance"]), (refused, "refused-call")):
        request_id = response.headers["X-Request-ID"]
        assert request_id == sent if sent and response is answered else GENERATED_ID.fullmatch(request_id)
        [detail] = store.show(request_id)
        assert (detail.record.hook_instance, detail.record.request_id) == (hook_instance, request_id)
        assert f"request id    {request_id}" in format_detail(detail).splitlines()


def test_every_response_carries_a_request_id_and_a_success_elsewhere_logs_nothing(
        client: LiveClient, caplog: pytest.LogCaptureFixture) -> None:
    """Probes and scrapes come every few seconds: a line each would bury the calls (gunicorn's access log has them)."""
    with caplog.at_level(logging.INFO, logger="cds_service"):
        answers = [client.get(path) for path in ("/cds-services", "/healthz", "/metrics")]
    assert all(GENERATED_ID.fullmatch(answer.headers["X-Request-ID"]) for answer in answers)
    assert lines(caplog) == []


def test_a_refused_request_is_one_line_with_the_reason(client: LiveClient, caplog: pytest.LogCaptureFixture) -> None:
    body = example()
    body["hook"] = "order-dispatch"
    with caplog.at_level(logging.INFO, logger="cds_service"):
        refused = client.post(SERVICE, json=body)
        stray = client.get("/favicon.ico")
    assert (refused.status_code, stray.status_code) == (400, 404)
    [call_line, stray_line] = [record.getMessage() for record in lines(caplog)]
    assert call_line.startswith(f'400 on POST {SERVICE}, hookInstance "{body["hookInstance"]}": invalid at hook; '
                                'hook="order-dispatch" ms=')
    assert stray_line.startswith("404 on GET /favicon.ico: No such endpoint: GET /favicon.ico; ms=")
    assert "orders=" not in call_line and " remote=127.0.0.1 " in stray_line


def test_a_feedback_call_is_one_line_with_its_items(client: LiveClient, caplog: pytest.LogCaptureFixture) -> None:
    feedback = {"feedback": [{"card": "c1", "outcome": "accepted"}, {"card": "c2", "outcome": "accepted"}]}
    with caplog.at_level(logging.INFO, logger="cds_service"):
        assert client.post(SERVICE + "/feedback", json=feedback).status_code == 200
    [line] = lines(caplog)
    assert re.fullmatch(rf"200 on POST {SERVICE}/feedback: ok; items=2 ms=\d+\.\d remote=127\.0\.0\.1 "
                        r"request_id=[0-9a-f]{32}", line.getMessage()), line.getMessage()


def test_a_signed_call_names_its_client_and_a_401_its_caller_without_the_token(
        secure: LiveClient, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    token = ec_token()
    with caplog.at_level(logging.INFO, logger="cds_service"):
        assert call(secure, token).status_code == 200
        assert call(secure, token).status_code == 401  # its jti replayed
        assert call(secure, None).status_code == 401
    answered, replayed, anonymous = lines(caplog)
    assert answered.levelno == logging.INFO and f" iss={EHR} " in answered.getMessage()
    assert replayed.levelno == anonymous.levelno == logging.WARNING
    # The signature held: its client is named (the body of a 401 is not read, so no hookInstance)
    assert replayed.getMessage().startswith(f"401 on POST {SERVICE}: jti reused by {EHR}; iss={EHR} ms=")
    assert re.fullmatch(rf"401 on POST {SERVICE}: .+; ms=\d+\.\d remote=127\.0\.0\.1 request_id=[0-9a-f]{{32}}",
                        anonymous.getMessage()), anonymous.getMessage()
    assert token not in caplog.text and token.split(".")[2] not in caplog.text


def test_the_line_of_a_call_leaves_out_the_query_string(secure: LiveClient,  # noqa: F811
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """A token sent in the query (`?access_token=<JWT>`, which the service does not read) is not logged: the line
    names the path alone."""
    token = ec_token()
    with caplog.at_level(logging.INFO, logger="cds_service"):
        response = secure.post(SERVICE, json=example(), query_string={"access_token": token})
    assert response.status_code == 401
    [line] = lines(caplog)
    assert line.getMessage().startswith(f"401 on POST {SERVICE}: no bearer token; "), line.getMessage()
    assert token.split(".")[2] not in caplog.text and "access_token" not in caplog.text


def test_no_response_may_be_cached(client: LiveClient) -> None:
    """Cards and OperationOutcomes name a patient's care: a proxy or browser cache must not keep them."""
    answers = [client.post(SERVICE, json=example()), client.post(SERVICE, json={"hook": "order-sign"}),
               *(client.get(path) for path in ("/cds-services", "/healthz", "/nowhere"))]
    assert [answer.status_code for answer in answers] == [200, 400, 200, 200, 404]
    assert {answer.headers.get("Cache-Control") for answer in answers} == {"no-store"}
