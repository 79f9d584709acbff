"""The settings' names, defaults and time limits that gunicorn's master reads as the app does (gunicorn_config.py).

It imports nothing: the master imports gunicorn_config, which must load nothing of the app (without --preload a
worker loads the app after the fork, and a HUP loads it anew), so it cannot import config or prefetch. They and it
read these from here, and cannot drift apart.
"""
from __future__ import annotations

# prometheus_client's own variable: set, every process counts into files in that folder, and /metrics adds up those of
# all gunicorn workers (metrics.py). prometheus_client reads it when imported: it must be in gunicorn's environment.
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

FETCH_BUDGET_VARIABLE = "CDS_FETCH_BUDGET_SECONDS"
DEFAULT_FETCH_BUDGET_SECONDS = 3.0  # how long the FHIR server reads of one request may take
# Reference reads share the fetch budget; when the fetch spent it all, they get one short window more, together
# (prefetch.py).
RESOLVE_GRACE_SECONDS = 1.0
# After the reads: the evaluation, the cards and the answer, with room to spare (a realistic call takes milliseconds).
ANSWER_SECONDS = 1.0
# How long a stopping worker waits for its audit writer to write what it holds (audit_writer.DRAIN_SECONDS reads it):
# gunicorn's graceful_timeout must be above it, or the master kills the worker first.
AUDIT_DRAIN_SECONDS = 20.0


def longest_call_seconds(fetch_budget_seconds: float) -> float:
    """The longest a hook call may take: the fetch, the references' grace, the answer. gunicorn's sync worker timeout
    must be above it, or gunicorn kills a worker mid-call, with the audit records it holds."""
    return fetch_budget_seconds + RESOLVE_GRACE_SECONDS + ANSWER_SECONDS
