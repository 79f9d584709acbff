"""Metrics: the exposition text parses, counts add up, histogram buckets are cumulative, /metrics over HTTP."""
from __future__ import annotations

import json
import os
import threading
from typing import Iterator

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from werkzeug.serving import make_server

from cds_service.audit_health import WriterStatus
from cds_service import metrics as metrics_module
from cds_service.metrics import LATENCY_BUCKETS, Metrics, metrics_blueprint, stop_publishing
from tests.test_errors import EXAMPLES

SERVICE = "/cds-services/<service_id>"
SERVICE_PATH = "/cds-services/blinatumomab-coverage"


def samples(text: str) -> list[Sample]:
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(text: str, name: str, **labels: str) -> float:
    [match] = [s.value for s in samples(text) if s.name == name and s.labels == labels]
    return match


def test_requests_and_decisions_are_counted_by_their_labels() -> None:
    metrics = Metrics()
    metrics.observe_request(SERVICE, 200, 0.004)
    metrics.observe_request(SERVICE, 200, 0.030)
    metrics.observe_request(SERVICE, 400, 0.001)
    metrics.count_decision("order-sign", "aspirus-magellan", "meets-criteria")
    metrics.count_decision("order-sign", "aspirus-magellan", "meets-criteria")
    metrics.count_decision("order-select", "aspirus-magellan", "meets-criteria")
    metrics.count_decision("order-sign", "florida-blue", "information-needed")
    metrics.count_decision("order-sign", "florida-blue", "information-needed", what_if=True)
    text = metrics.render()
    assert value(text, "cds_requests_total", endpoint=SERVICE, status="200") == 2
    assert value(text, "cds_requests_total", endpoint=SERVICE, status="400") == 1
    assert value(text, "cds_decisions_total", hook="order-sign", policy="aspirus-magellan",
                 decision="meets-criteria") == 2
    assert value(text, "cds_decisions_total", hook="order-select", policy="aspirus-magellan",
                 decision="meets-criteria") == 1
    assert value(text, "cds_decisions_total", hook="order-sign", policy="florida-blue",
                 decision="information-needed") == 1
    assert value(text, "cds_what_if_decisions_total", hook="order-sign", policy="florida-blue",
                 decision="information-needed") == 1
    assert value(text, "cds_request_duration_seconds_count", endpoint=SERVICE) == 3
    assert value(text, "cds_request_duration_seconds_sum", endpoint=SERVICE) == pytest.approx(0.035)


def test_latency_buckets_are_cumulative() -> None:
    metrics = Metrics()
    for seconds in (0.002, 0.007, 0.007, 0.2, 3.0, 60.0):
        metrics.observe_request(SERVICE, 200, seconds)
    buckets = {
        s.labels["le"]: s.value
        for s in samples(metrics.render())
        if s.name == "cds_request_duration_seconds_bucket"
    }
    assert list(buckets) == [str(bound) for bound in LATENCY_BUCKETS] + ["+Inf"]
    counts = list(buckets.values())
    assert counts == sorted(counts)  # cumulative: never decreasing
    assert (buckets["0.005"], buckets["0.01"], buckets["0.25"], buckets["5.0"], buckets["+Inf"]) == (1, 3, 4, 5, 6)


def test_counting_is_thread_safe() -> None:
    metrics = Metrics()

    def hammer() -> None:
        for _ in range(2000):
            metrics.observe_request(SERVICE, 200, 0.001)
            metrics.count_decision("order-sign", "florida-blue", "criteria-not-met")

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    text = metrics.render()
    assert value(text, "cds_requests_total", endpoint=SERVICE, status="200") == 8000
    assert value(text, "cds_decisions_total", hook="order-sign", policy="florida-blue",
                 decision="criteria-not-met") == 8000


def test_two_instances_do_not_share_counts() -> None:
    first, second = Metrics(), Metrics()
    first.count_decision("order-sign", "florida-blue", "meets-criteria")
    assert value(first.render(), "cds_decisions_total", hook="order-sign", policy="florida-blue",
                 decision="meets-criteria") == 1
    assert not [s for s in samples(second.render()) if s.name == "cds_decisions_total"]


@pytest.fixture
def metrics_server() -> Iterator[tuple[str, Metrics]]:
    metrics = Metrics()
    app = Flask(__name__)
    app.register_blueprint(metrics_blueprint(metrics))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", metrics
    server.shutdown()
    thread.join(5)


def test_metrics_endpoint_serves_the_text_format(metrics_server: tuple[str, Metrics]) -> None:
    base_url, metrics = metrics_server
    metrics.count_decision("order-sign", "aspirus-magellan", "criteria-not-met")
    response = requests.get(f"{base_url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert value(response.text, "cds_decisions_total", hook="order-sign", policy="aspirus-magellan",
                 decision="criteria-not-met") == 1


def test_one_order_previewed_asked_about_and_signed_is_one_decision_by_hook(client: FlaskClient) -> None:
    """order-select previews and what-if calls were counted as decisions: three for one signed order."""
    for example in ("order-select-aspirus", "what-if-unsolicited-determ-false", "aspirus-adult-maintenance"):
        assert client.post(SERVICE_PATH, json=json.loads((EXAMPLES / f"{example}.json").read_text())).status_code == 200
    text = client.get("/metrics").get_data(as_text=True)
    decided = {(s.labels["hook"], s.labels["policy"]): s.value for s in samples(text) if s.name == "cds_decisions_total"}
    assert decided == {("order-select", "aspirus-magellan"): 1, ("order-sign", "aspirus-magellan"): 1}
    [what_if] = [s for s in samples(text) if s.name == "cds_what_if_decisions_total"]
    assert (what_if.labels["hook"], what_if.value) == ("order-sign", 1)


def _post(client: FlaskClient, example: str, **configuration: object) -> dict:
    body = json.loads((EXAMPLES / f"{example}.json").read_text())
    if configuration:
        body.setdefault("extension", {}).setdefault("davinci-crd.configuration", {}).update(configuration)
    response = client.post(SERVICE_PATH, json=body)
    assert response.status_code == 200
    return dict(response.get_json())


def _decided(client: FlaskClient, name: str = "cds_decisions_total") -> dict[str, float]:
    """hook -> decisions counted (every example here is an Aspirus meets-criteria)."""
    text = client.get("/metrics").get_data(as_text=True)
    return {s.labels["hook"]: s.value for s in samples(text) if s.name == name}


@pytest.mark.parametrize(("example", "hook"), [("aspirus-adult-maintenance", "order-sign"),
                                               ("order-select-aspirus", "order-select")])
def test_a_decision_withheld_by_coverage_info_false_is_not_counted(client: FlaskClient, example: str,
                                                                   hook: str) -> None:
    """With coverage-info false the EHR gets no decision card and no coverage-information action: no determination
    was handed out (audit.md), so none is counted."""
    withheld = _post(client, example, **{"coverage-info": False})
    assert not withheld["systemActions"] and not any("coverage-decision" in c.get("extension", {})
                                                     for c in withheld["cards"])
    assert _decided(client) == {}
    _post(client, example)
    assert _decided(client) == {hook: 1}


def test_a_what_if_decision_withheld_is_not_counted_either(client: FlaskClient) -> None:
    _post(client, "what-if-unsolicited-determ-false", **{"coverage-info": False})
    assert _decided(client, "cds_what_if_decisions_total") == {}


def test_max_cards_counts_what_reached_the_ehr(client: FlaskClient) -> None:
    """max-cards 0 drops every card: an order-sign still hands out its coverage-information action, an order-select
    preview hands out nothing."""
    signed = _post(client, "aspirus-adult-maintenance", **{"max-cards": 0})
    previewed = _post(client, "order-select-aspirus", **{"max-cards": 0})
    assert (signed["cards"], len(signed["systemActions"]), previewed) == ([], 1, {"cards": [], "systemActions": []})
    assert _decided(client) == {"order-sign": 1}


def test_the_audit_writer_is_measured(client: FlaskClient) -> None:
    text = client.get("/metrics").get_data(as_text=True)
    assert value(text, "cds_audit_backlog") == 0
    assert value(text, "cds_audit_stalled_seconds") == 0
    assert {s.labels["reason"]: s.value for s in samples(text) if s.name == "cds_audit_records_lost_total"} == {
        "queue-full": 0, "refused": 0, "unwritten": 0}


def test_a_method_a_route_does_not_allow_is_counted_under_that_route(client: FlaskClient) -> None:
    """A 405 is a client calling an existing endpoint the wrong way: counted as "unmatched" it hid which endpoint."""
    assert client.get(SERVICE_PATH).status_code == 405
    assert client.put("/cds-services").status_code == 405
    assert client.get("/no/such/endpoint").status_code == 404
    text = client.get("/metrics").get_data(as_text=True)
    assert value(text, "cds_requests_total", endpoint=SERVICE, status="405") == 1
    assert value(text, "cds_requests_total", endpoint="/cds-services", status="405") == 1
    assert value(text, "cds_requests_total", endpoint="unmatched", status="404") == 1


def test_a_cors_preflight_is_not_counted_as_a_call(client: FlaskClient) -> None:
    """A browser client's preflight before each hook call was counted as a 200 of the service's route, as a call: the
    hook calls of a browser EHR counted twice, and its latency histogram held the preflights' microseconds."""
    preflight = {"Origin": "https://sandbox.cds-hooks.org", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    assert client.options(SERVICE_PATH, headers=preflight).status_code == 200
    assert client.options("/cds-services", headers=preflight).status_code == 200
    assert client.post(SERVICE_PATH, data=b"nope", content_type="application/json").status_code == 400
    text = client.get("/metrics").get_data(as_text=True)
    assert [(s.labels, s.value) for s in samples(text) if s.name == "cds_requests_total"] == [
        ({"endpoint": SERVICE, "status": "400"}, 1)]
    assert value(text, "cds_request_duration_seconds_count", endpoint=SERVICE) == 1
    assert not [s for s in samples(text) if s.name == "cds_request_duration_seconds_count"
                and s.labels["endpoint"] == "/cds-services"]


def test_records_lost_are_counted_once_however_often_the_writer_reports() -> None:
    """The writer reports what it lost since it started (audit_writer); the counter adds only what is new."""
    metrics = Metrics()
    for lost in ({"queue-full": 3}, {"queue-full": 3}, {"queue-full": 5, "refused": 1}):
        metrics.publish_audit(WriterStatus(alive=True, schema_ready=True, backlog=2, stalled_seconds=1.5,
                                           last_error=None, last_error_age_seconds=None, lost=lost))
    text = metrics.render()
    assert {s.labels["reason"]: s.value for s in samples(text) if s.name == "cds_audit_records_lost_total"} == {
        "queue-full": 5, "refused": 1, "unwritten": 0}
    assert (value(text, "cds_audit_backlog"), value(text, "cds_audit_stalled_seconds")) == (2, 1.5)


def test_a_preloading_masters_writer_stops_publishing_and_its_workers_publish(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """gunicorn's master (--preload) stops at when_ready (gunicorn_config); a process forked after that is a worker."""
    monkeypatch.setattr(metrics_module, "_stopped", False)
    metrics = Metrics()

    def publish(backlog: int) -> None:
        metrics.publish_audit(WriterStatus(alive=True, schema_ready=True, backlog=backlog, stalled_seconds=0.0,
                                           last_error=None, last_error_age_seconds=None, lost={"refused": backlog}))

    publish(2)
    stop_publishing()
    publish(5)
    text = generate_latest(metrics.registry).decode()  # not render(), which publishes
    assert value(text, "cds_audit_backlog") == 2 and value(text, "cds_audit_records_lost_total", reason="refused") == 2
    child = os.fork()
    if child == 0:  # the worker: publishes, though its master stopped
        publish(7)
        os._exit(0 if value(generate_latest(metrics.registry).decode(), "cds_audit_backlog") == 7 else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
