"""The gunicorn configuration reads the settings' names, defaults and time limits from config_constants, as config
and prefetch do (no copies to drift), loads nothing of the app, and warns when a sync worker's timeout is not above
the longest hook call, a call of exactly the timeout included (docs/configuration.md: "not above"), or when the
graceful timeout is not above the audit writer's drain at exit."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cds_service import audit_writer, config, config_constants, gunicorn_config, prefetch
from tests.test_gunicorn import LINE
from tests.test_integ33_gunicorn_timeout import _started_log


class _Log:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str, *args: Any) -> None:
        self.warnings.append(message % args)


def _warnings(timeout: int, worker_class: str = "sync", graceful_timeout: int = 30) -> list[str]:
    cfg = SimpleNamespace(timeout=timeout, worker_class_str=worker_class, graceful_timeout=graceful_timeout)
    server = SimpleNamespace(cfg=cfg, log=_Log())
    # What when_ready checks; not when_ready itself, which would stop this process's metrics (metrics.stop_publishing).
    gunicorn_config._check_timeout(server)
    gunicorn_config._check_graceful_timeout(server)
    return server.log.warnings


@pytest.mark.parametrize(("budget", "timeout", "warned"), [
    (None, 5, True),  # 3 s + 1 s + 1 s: a call of exactly the timeout is killed
    (None, 6, False),
    ("5", 7, True),
    ("5", 8, False),
    ("0.5", 2, True),
    ("0.5", 3, False),
])
def test_a_timeout_not_above_the_longest_call_is_a_warning(monkeypatch: pytest.MonkeyPatch, budget: str | None,
                                                           timeout: int, warned: bool) -> None:
    if budget is None:
        monkeypatch.delenv("CDS_FETCH_BUDGET_SECONDS", raising=False)
    else:
        monkeypatch.setenv("CDS_FETCH_BUDGET_SECONDS", budget)
    warnings = _warnings(timeout)
    assert bool(warnings) is warned
    if warned:
        assert f"--timeout {timeout} s" in warnings[0] and "raise --timeout or lower CDS_FETCH_BUDGET_SECONDS" \
            in warnings[0]


@pytest.mark.parametrize(("timeout", "worker_class", "budget"), [
    (1, "gthread", None),  # a threaded worker is not killed for a long call
    (0, "sync", None),  # 0 turns the timeout off
    (1, "sync", "three"),  # the app refuses it, naming it
])
def test_no_warning_where_no_call_is_killed_or_the_budget_is_refused(monkeypatch: pytest.MonkeyPatch, timeout: int,
                                                                     worker_class: str, budget: str | None) -> None:
    monkeypatch.delenv("CDS_FETCH_BUDGET_SECONDS", raising=False)
    if budget is not None:
        monkeypatch.setenv("CDS_FETCH_BUDGET_SECONDS", budget)
    assert _warnings(timeout, worker_class) == []


@pytest.mark.parametrize(("graceful_timeout", "warned"), [(20, True), (5, True), (21, False), (30, False)])
def test_a_graceful_timeout_not_above_the_audit_drain_is_a_warning(graceful_timeout: int, warned: bool) -> None:
    warnings = _warnings(30, graceful_timeout=graceful_timeout)
    assert bool(warnings) is warned
    if warned:
        assert warnings == [f"the graceful timeout (--graceful-timeout {graceful_timeout} s) is not above the audit "
                            "writer's drain at exit (20 s): gunicorn would kill a stopping worker before it wrote the "
                            "audit records it holds through a database outage: raise --graceful-timeout (30 s by "
                            "default)"]


def test_gunicorn_says_a_graceful_timeout_too_short(tmp_path: Path) -> None:
    """From gunicorn's master, in the service's format, once; the default (30 s) says nothing (the other tests)."""
    [line] = [line for line in _started_log(tmp_path, None, "--graceful-timeout", "10").splitlines()
              if "graceful timeout" in line]
    assert LINE.match(line) and "WARNING gunicorn.error: the graceful timeout (--graceful-timeout 10 s)" in line


def test_the_limits_are_the_ones_the_app_uses() -> None:
    assert config_constants.METRICS_DIR_VARIABLE == "PROMETHEUS_MULTIPROC_DIR"
    assert prefetch.RESOLVE_GRACE_SECONDS is config_constants.RESOLVE_GRACE_SECONDS
    assert audit_writer.DRAIN_SECONDS is config_constants.AUDIT_DRAIN_SECONDS
    assert config_constants.FETCH_BUDGET_VARIABLE in config.VARIABLES
    assert config.Settings.from_env({}).fetch_budget_seconds == config_constants.DEFAULT_FETCH_BUDGET_SECONDS
    assert config_constants.longest_call_seconds(3) == 5
    # The largest budget accepted still ends before gunicorn's default timeout (30 s).
    assert config_constants.longest_call_seconds(config.MAX_FETCH_BUDGET_SECONDS) < 30


def test_gunicorns_master_loads_nothing_of_the_app() -> None:
    """Without --preload the master imports the configuration alone: config (SQLAlchemy, jsonschema) or prefetch in
    it would load the app's stack into a process that answers no request, before the fork."""
    code = "import json, sys; import cds_service.gunicorn_config; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                           check=True).stdout))
    assert "cds_service.config_constants" in loaded
    assert loaded & {"cds_service.config", "cds_service.prefetch", "cds_service.app", "flask", "sqlalchemy"} == set()
