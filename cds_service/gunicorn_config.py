"""The gunicorn settings the service ships (README §Production), installed with the package:

    gunicorn -c python:cds_service.gunicorn_config -w 2 --preload ... 'cds_service.app:create_app()'

- gunicorn's own lines in the service's format (log_format.py): one time format in one log, where gunicorn's
  `[2026-03-01 18:05:02 -0600] [123] [INFO] ...` stood beside the service's `2026-03-01T18:05:02.123-06:00 INFO ...`;
- its access log, when asked for (`--access-logfile -`), without a time of its own and with the request id; no query
  string in either log (a query can carry a credential), nor a token gunicorn quotes from a header it cannot parse;
- prometheus_client's multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set (metrics.py): the folder emptied when
  gunicorn starts, a dead worker's live gauges removed, and only the workers publishing (not a --preload master).
- a WARNING at start when a sync worker's timeout is not above the longest hook call (the fetch budget and more), or
  the graceful timeout not above the audit writer's drain at exit.

Only gunicorn reads this module: its master imports it, so it loads nothing of the app (without --preload a worker
loads the app after the fork, and a HUP loads it anew). Every lowercase name here that is a gunicorn setting is one.
"""
from __future__ import annotations

import logging.handlers
import os
import re
import sys
from pathlib import Path
from typing import Any

from gunicorn import glogging
from prometheus_client import multiprocess

from cds_service.config_constants import (
    ANSWER_SECONDS, AUDIT_DRAIN_SECONDS, DEFAULT_FETCH_BUDGET_SECONDS, FETCH_BUDGET_VARIABLE, METRICS_DIR_VARIABLE,
    RESOLVE_GRACE_SECONDS, longest_call_seconds,
)
from cds_service.log_format import LINE_FORMAT, LogFormatter, without_query, without_tokens

# prometheus_client's names for its files ("<type>[_<gauge mode>]_<pid>.db", prometheus_client/values.py): a folder
# named by mistake (the SQLite audit trail's, whose cds.db was deleted at every start; /tmp) loses nothing else.
_METRIC_FILE = re.compile(r"(counter|histogram|summary|gauge_[a-z]+)_[0-9]+\.db")

# The time is the line's own (LogFormatter), so the access format has none (gunicorn's %(t)s). Ids and numbers: the
# peer, the method, path and protocol, the status, the bytes sent, the milliseconds taken, the request id the response
# carries (routes.observe), and the client's User-Agent. The path without its query string (%(U)s, not the request
# line %(r)s): a query can carry a credential (`?access_token=<JWT>`), and the log must never hold one.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s ms=%(M)s request_id=%({x-request-id}o)s "%(a)s"'

# A token of any shape in a header line gunicorn quotes: what follows "Bearer" (a JWT is found by its shape anywhere).
_BEARER = re.compile(r"(?<=bearer )[^\s'\"]+", re.IGNORECASE)


class _NoSecrets(logging.Filter):
    """gunicorn's warning for a request it cannot parse quotes its request line whole ("Invalid HTTP request line:
    'GET /cds-services?access_token=<JWT>'"), or what it took for the version (the tail of a query holding a space),
    or a header line without its colon ("Invalid HTTP Header: 'Authorization Bearer <JWT>'"); its error for a request
    it could parse quotes the target: the query is cut (log_format.without_query), as the access format leaves it
    out, and a token replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _BEARER.sub("<token>", without_tokens(without_query(message)))
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


class ServiceLogger(glogging.Logger):  # type: ignore[misc]  # gunicorn ships no type information
    """gunicorn's logger with the service's line format on the handlers it sets up (its error log, and its access log
    when one is asked for); a syslog handler keeps syslog's format. Its error log never holds a query string or a
    token."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.error_log.addFilter(_NoSecrets())
        formatter = LogFormatter(LINE_FORMAT)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not isinstance(handler, logging.handlers.SysLogHandler):
                    handler.setFormatter(formatter)


logger_class = ServiceLogger


def _check_timeout(server: Any) -> None:
    """A WARNING when a sync worker's timeout is not above the longest call: gunicorn kills a worker whose call
    outlasts it (a FHIR server slow to answer a call without prefetch), and the audit records that worker holds go
    with it. `--timeout 5` with a budget of 5 s was accepted silently. Threaded workers are not killed for a long call;
    0 turns the timeout off."""
    timeout = server.cfg.timeout
    if server.cfg.worker_class_str != "sync" or not timeout:
        return
    try:
        budget = float(os.environ.get(FETCH_BUDGET_VARIABLE) or DEFAULT_FETCH_BUDGET_SECONDS)
    except ValueError:
        return  # the app refuses it, naming it
    if timeout <= longest_call_seconds(budget):  # a call of exactly the timeout is killed too
        server.log.warning("the worker timeout (--timeout %g s) is not above the longest hook call: %s %g s reading "
                           "from the EHR's FHIR server, %g s more for references, %g s to answer; gunicorn would kill "
                           "a worker mid-call, and the audit records it holds: raise --timeout or lower %s", timeout,
                           FETCH_BUDGET_VARIABLE, budget, RESOLVE_GRACE_SECONDS, ANSWER_SECONDS, FETCH_BUDGET_VARIABLE)


def _check_graceful_timeout(server: Any) -> None:
    """A WARNING when gunicorn would kill a stopping worker before its audit writer has had its drain: through a
    database outage a worker holds the records of its calls, and a `--graceful-timeout 10` lost them at every stop or
    HUP, with nothing said (docs/audit.md §Stopping)."""
    graceful = server.cfg.graceful_timeout
    if graceful <= AUDIT_DRAIN_SECONDS:
        server.log.warning("the graceful timeout (--graceful-timeout %g s) is not above the audit writer's drain at "
                           "exit (%g s): gunicorn would kill a stopping worker before it wrote the audit records it "
                           "holds through a database outage: raise --graceful-timeout (30 s by default)", graceful,
                           AUDIT_DRAIN_SECONDS)


def on_starting(server: Any) -> None:
    """The metric files of a previous run would add its counts to this one's, and its workers' live gauges would
    never go: prometheus_client asks for the folder to be emptied before the processes start."""
    folder = os.environ.get(METRICS_DIR_VARIABLE)
    if folder and Path(folder).is_dir():  # not a folder: the app says so, and gunicorn stops
        for stale in Path(folder).glob("*.db"):
            if _METRIC_FILE.fullmatch(stale.name):
                stale.unlink(missing_ok=True)


def when_ready(server: Any) -> None:
    """In the master, before it forks the workers. With --preload it built the app, whose audit writer publishes its
    state to the metrics; the master answers no request, and its live gauges would never be removed (child_exit is
    for workers): it stops (metrics.stop_publishing). Without --preload the app is not in this process, and nothing
    of it is imported here. And a worker timeout too short for a call, or a graceful timeout too short for the audit
    writer's drain, is said."""
    _check_timeout(server)
    _check_graceful_timeout(server)
    metrics = sys.modules.get("cds_service.metrics")
    if metrics is not None:
        metrics.stop_publishing()


def child_exit(server: Any, worker: Any) -> None:
    """A worker gone (stopped, killed, replaced): its backlog and stall leave the sums; its counts stay counted."""
    if os.environ.get(METRICS_DIR_VARIABLE):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]  # untyped in prometheus_client
