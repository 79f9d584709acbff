"""The gunicorn configuration reads the settings' names, defaults and time limits from config_constants, as config
and prefetch do (no copies to drift), loads nothing of the app, and warns when a sync worker's timeout is not above
the longest hook call, a call of exactly the timeout included (docs/configuration.md: "not above")."""
from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest

from cds_service import config, config_constants, gunicorn_config, prefetch


class _Log:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str, *args: Any) -> None:
        self.warnings.append(message % args)


def _warnings(timeout: int, worker_class: str = "sync") -> list[str]:
    server = SimpleNamespace(cfg=SimpleNamespace(timeout=timeout, worker_class_str=worker_class), log=_Log())
    gunicorn_config._check_timeout(server)
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


def test_the_limits_are_the_ones_the_app_uses() -> None:
    assert config.DEFAULT_FETCH_BUDGET_SECONDS is config_constants.DEFAULT_FETCH_BUDGET_SECONDS
    assert config.METRICS_DIR_VARIABLE == "PROMETHEUS_MULTIPROC_DIR" == gunicorn_config.METRICS_DIR_VARIABLE
    assert prefetch.RESOLVE_GRACE_SECONDS is config_constants.RESOLVE_GRACE_SECONDS
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
