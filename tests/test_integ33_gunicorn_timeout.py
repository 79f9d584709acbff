"""gunicorn's worker timeout against the longest hook call (the fetch budget, the references' grace, the answer): a
sync worker killed mid-call loses the call and the audit records it holds, and `--timeout 5` with a 5 s budget was
accepted silently. The WARNING comes from gunicorn's master, in the service's log format."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.test_gunicorn import GUARD_SECONDS, LINE, ROOT, free_port

WARNING = "the worker timeout (--timeout {timeout} s) is not above the longest hook call: CDS_FETCH_BUDGET_SECONDS " \
          "{budget} s reading from the EHR's FHIR server, 1 s more for references, 1 s to answer; gunicorn would " \
          "kill a worker mid-call, and the audit records it holds: raise --timeout or lower CDS_FETCH_BUDGET_SECONDS"


def _started_log(tmp_path: Path, budget: str | None, *options: str) -> str:
    """gunicorn's stderr up to its first answer, then stopped."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("CDS_") and name != "PROMETHEUS_MULTIPROC_DIR"}
    env["CDS_DATA_DIR"] = str(tmp_path / "data")
    if budget is not None:
        env["CDS_FETCH_BUDGET_SECONDS"] = budget
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-c", "python:cds_service.gunicorn_config", "-w", "1",
             "--preload", "--no-control-socket", *options, "-b", f"127.0.0.1:{port}", "cds_service.app:create_app()"],
            env=env, cwd=ROOT, stderr=err)
    try:
        deadline = time.monotonic() + GUARD_SECONDS
        while not _answers(port):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(GUARD_SECONDS)
    return log.read_text()


def _answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


@pytest.mark.parametrize(("budget", "options", "timeout", "shown"), [
    ("5", ("--timeout", "5"), "5", "5"),
    (None, ("--timeout", "4"), "4", "3"),  # the default budget
])
def test_a_timeout_a_call_may_outlast_is_a_warning(tmp_path: Path, budget: str | None, options: tuple[str, ...],
                                                   timeout: str, shown: str) -> None:
    log = _started_log(tmp_path, budget, *options)
    [line] = [line for line in log.splitlines() if "the worker timeout" in line]
    assert LINE.match(line) and line.endswith(WARNING.format(timeout=timeout, budget=shown))


@pytest.mark.parametrize("options", [(), ("--timeout", "6"), ("--timeout", "0"),
                                     ("--timeout", "2", "--worker-class", "gthread", "--threads", "2")],
                         ids=["default-30", "above", "off", "threaded"])
def test_no_warning_when_no_call_can_outlast_it(tmp_path: Path, options: tuple[str, ...]) -> None:
    """30 s, 6 s against 3 + 1 + 1; 0 turns it off; a threaded worker is not killed for a long call."""
    assert "the worker timeout" not in _started_log(tmp_path, None, *options)
