"""Prometheus metrics at GET /metrics (docs/audit.md §Metrics).

Each `Metrics` owns its registry, so several apps in one process (tests) do not share counters. Under gunicorn every
worker counts in its own process: with PROMETHEUS_MULTIPROC_DIR set (prometheus_client's multiprocess mode, README
§Production), each worker's counts go to files in that folder and a scrape adds up every worker's, whichever worker
answers it; without it, a scrape sees the answering worker's numbers alone.
"""
from __future__ import annotations

import os
import threading
from typing import Callable

from flask import Blueprint, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client import multiprocess
from prometheus_client.multiprocess import MultiProcessCollector

from cds_service.audit_health import LOSS_REASONS, WriterStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The service answers in milliseconds when prefetch is complete, up to the FHIR fetch budget (3 s) when it is not.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# Held while the audit writer's state is written into the metrics, and across a fork: with gunicorn --preload the
# master builds the app, and its audit writer publishes until gunicorn is ready to fork the workers (stop_publishing);
# a worker forked while it held prometheus_client's lock of the metric files would wait on that lock for ever.
_PUBLISHING = threading.Lock()
_stopped = False  # stop_publishing was called in this process: gunicorn's master


def _after_fork_in_child() -> None:
    global _stopped
    _stopped = False  # a worker publishes, though its master stopped
    _PUBLISHING.release()


os.register_at_fork(before=_PUBLISHING.acquire, after_in_parent=_PUBLISHING.release,
                    after_in_child=_after_fork_in_child)


def stop_publishing() -> None:
    """For gunicorn's master, once --preload has built the app in it (gunicorn_config.when_ready): it answers no
    request, so only its workers publish. Its live gauges are removed too: prometheus_client's child_exit hook removes
    a dead worker's, never the master's, whose backlog and stall would stay in the livesum and livemax sums as long as
    gunicorn runs (the shipped on_starting, which runs after --preload, deletes the master's files; a folder emptied
    by a start-up script, as prometheus_client advises, keeps them)."""
    global _stopped
    with _PUBLISHING:
        _stopped = True
        if writes_metric_files():
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # untyped


def writes_metric_files() -> bool:
    """Whether this process's metrics go to PROMETHEUS_MULTIPROC_DIR's files. prometheus_client decides once, when it
    is first imported: a variable set later (gunicorn's `-e` or `raw_env`, applied after its master has imported the
    shipped configuration, and with it prometheus_client) leaves every metric in memory, and a scrape of the folder
    would answer an empty page."""
    return values.ValueClass is not values.MutexValue


class Metrics:
    """Request counts, a latency histogram, decision counts, and the audit writer's state when given `audit` (asked at
    each scrape, and, in multiprocess mode, published by the writer: `publish_audit`); the prometheus_client types
    are thread-safe. `multiprocess_dir`: PROMETHEUS_MULTIPROC_DIR (config.Settings.metrics_dir)."""

    def __init__(self, audit: Callable[[], WriterStatus] | None = None, multiprocess_dir: str | None = None) -> None:
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
        self._audit = audit
        # Across workers (multiprocess mode) the backlog of the live ones adds up, the longest stall is the one to see,
        # and records lost stay counted after their worker is gone (a counter); a dead worker's backlog and stall go
        # with it (gunicorn_config.child_exit).
        self._backlog = Gauge("cds_audit_backlog", "Audit records queued or being written",
                              multiprocess_mode="livesum", registry=self.registry)
        self._stalled = Gauge("cds_audit_stalled_seconds", "How long audit writes have been failing, or one hanging",
                              multiprocess_mode="livemax", registry=self.registry)
        lost = Counter("cds_audit_records_lost", "Audit records given up, by reason", ["reason"],
                       registry=self.registry)
        self._lost = {reason: lost.labels(reason=reason) for reason in LOSS_REASONS}
        self._lost_published = (os.getpid(), dict.fromkeys(LOSS_REASONS, 0))
        # What a scrape renders: this registry, or, in multiprocess mode, every process's files.
        self._exposed = self.registry
        if multiprocess_dir is not None:
            self._exposed = CollectorRegistry()
            MultiProcessCollector(self._exposed, path=multiprocess_dir)  # type: ignore[no-untyped-call]  # untyped
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

    def publish_audit(self, status: WriterStatus) -> None:
        """The audit writer's state into the metrics: at each scrape (this process's, fresh), and in multiprocess mode
        by the writer as it runs, for the scrapes another worker answers. Not after stop_publishing."""
        with _PUBLISHING:
            if _stopped:
                return
            self._backlog.set(status.backlog)
            self._stalled.set(status.stalled_seconds)
            # The writer counts its losses since it started; the counter takes what was not published yet. A forked
            # worker starts both anew (prometheus_client gives it files of its own).
            pid, published = self._lost_published
            if pid != os.getpid():
                self._lost_published = pid, published = os.getpid(), dict.fromkeys(LOSS_REASONS, 0)
            for reason, counter in self._lost.items():
                more = status.lost.get(reason, 0) - published[reason]
                if more > 0:
                    counter.inc(more)
                    published[reason] += more

    def render(self) -> str:
        """Prometheus text exposition format 0.0.4."""
        if self._audit is not None:
            self.publish_audit(self._audit())
        return generate_latest(self._exposed).decode("utf-8")


def metrics_blueprint(metrics: Metrics) -> Blueprint:
    blueprint = Blueprint("metrics", __name__)

    @blueprint.get("/metrics")
    def scrape() -> Response:
        return Response(metrics.render(), mimetype=None, content_type=CONTENT_TYPE)

    return blueprint
