"""Prometheus metrics at GET /metrics (docs/audit.md §Metrics).

Each `Metrics` owns its registry, so several apps in one process (tests) do not share counters. Under gunicorn every
worker counts its own requests: a scrape sees one worker's numbers (see docs/audit.md for the caveat).
"""
from __future__ import annotations

from flask import Blueprint, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The service answers in milliseconds when prefetch is complete, up to the FHIR fetch budget (3 s) when it is not.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Request counts, a latency histogram and decision counts; the prometheus_client types are thread-safe."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "cds_requests", "HTTP requests answered, by endpoint and status", ["endpoint", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "cds_request_duration_seconds", "Time to answer an HTTP request, by endpoint", ["endpoint"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self._decisions = Counter(
            "cds_decisions", "Coverage decisions made, by policy and outcome", ["policy", "decision"],
            registry=self.registry,
        )

    def observe_request(self, endpoint: str, status: int, seconds: float) -> None:
        self._requests.labels(endpoint=endpoint, status=str(status)).inc()
        self._latency.labels(endpoint=endpoint).observe(seconds)

    def count_decision(self, policy: str, decision: str) -> None:
        self._decisions.labels(policy=policy, decision=decision).inc()

    def render(self) -> str:
        """Prometheus text exposition format 0.0.4."""
        return generate_latest(self.registry).decode("utf-8")


def metrics_blueprint(metrics: Metrics) -> Blueprint:
    blueprint = Blueprint("metrics", __name__)

    @blueprint.get("/metrics")
    def scrape() -> Response:
        return Response(metrics.render(), mimetype=None, content_type=CONTENT_TYPE)

    return blueprint
