"""Prometheus metrics at GET /metrics (docs/audit.md §Metrics).

Each `Metrics` owns its registry, so several apps in one process (tests) do not share counters. Under gunicorn every
worker counts its own requests: a scrape sees one worker's numbers (see docs/audit.md for the caveat).
"""
from __future__ import annotations

from typing import Callable, Iterator

from flask import Blueprint, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from cds_service.audit_health import LOSS_REASONS, WriterStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The service answers in milliseconds when prefetch is complete, up to the FHIR fetch budget (3 s) when it is not.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Request counts, a latency histogram, decision counts, and the audit writer's state when given `audit` (read at
    each scrape); the prometheus_client types are thread-safe."""

    def __init__(self, audit: Callable[[], WriterStatus] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "cds_requests", "HTTP requests answered, by endpoint and status", ["endpoint", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "cds_request_duration_seconds", "Time to answer an HTTP request, by endpoint", ["endpoint"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        # By hook: an order-select preview and the order-sign of the same order are two answers, not two orders.
        # What-if calls (unsolicited-determ false) are counted apart: they ask, nobody orders.
        self._decisions = Counter(
            "cds_decisions", "Coverage decisions made, by hook, policy and outcome (what-if calls apart)",
            ["hook", "policy", "decision"], registry=self.registry,
        )
        self._what_if = Counter(
            "cds_what_if_decisions", "Coverage decisions of what-if calls (unsolicited-determ false)",
            ["hook", "policy", "decision"], registry=self.registry,
        )
        if audit is not None:
            self.registry.register(_AuditCollector(audit))
        # Each label set's counter and histogram, found once: prometheus_client's labels() checks and converts the
        # values and takes a lock at every call. The label values are bounded (routes, statuses, policies).
        self._request_children: dict[tuple[str, int], tuple[Counter, Histogram]] = {}
        self._decision_children: dict[tuple[str, str, str, bool], Counter] = {}

    def observe_request(self, endpoint: str, status: int, seconds: float) -> None:
        children = self._request_children.get((endpoint, status))
        if children is None:
            children = self._request_children[(endpoint, status)] = (
                self._requests.labels(endpoint=endpoint, status=str(status)), self._latency.labels(endpoint=endpoint)
            )
        requests, latency = children
        requests.inc()
        latency.observe(seconds)

    def count_decision(self, hook: str, policy: str, decision: str, what_if: bool = False) -> None:
        counter = self._decision_children.get((hook, policy, decision, what_if))
        if counter is None:
            family = self._what_if if what_if else self._decisions
            counter = self._decision_children[(hook, policy, decision, what_if)] = family.labels(
                hook=hook, policy=policy, decision=decision
            )
        counter.inc()

    def render(self) -> str:
        """Prometheus text exposition format 0.0.4."""
        return generate_latest(self.registry).decode("utf-8")


class _AuditCollector(Collector):
    """The audit writer's backlog, stall and losses, asked of the store at each scrape."""

    def __init__(self, status: Callable[[], WriterStatus]) -> None:
        self._status = status

    def collect(self) -> Iterator[Metric]:
        status = self._status()
        yield GaugeMetricFamily("cds_audit_backlog", "Audit records queued or being written", value=status.backlog)
        yield GaugeMetricFamily("cds_audit_stalled_seconds", "How long audit writes have been failing, or one hanging",
                                value=status.stalled_seconds)
        lost = CounterMetricFamily("cds_audit_records_lost", "Audit records given up, by reason", labels=["reason"])
        for reason in LOSS_REASONS:
            lost.add_metric([reason], status.lost.get(reason, 0))
        yield lost


def metrics_blueprint(metrics: Metrics) -> Blueprint:
    blueprint = Blueprint("metrics", __name__)

    @blueprint.get("/metrics")
    def scrape() -> Response:
        return Response(metrics.render(), mimetype=None, content_type=CONTENT_TYPE)

    return blueprint
