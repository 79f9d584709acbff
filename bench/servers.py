"""Starting gunicorn on 127.0.0.1, waiting until it answers, reading its processes' peak memory, stopping it."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from bench.workload import SERVICE_PATH

REPO = Path(__file__).resolve().parent.parent
# The README's production settings (`gunicorn -c python:cds_service.gunicorn_config -w 2 --preload
# --no-control-socket`, sync workers by default, PROMETHEUS_MULTIPROC_DIR set: bench/comparison.py); both apps get
# exactly these.
GUNICORN_SETTINGS = ("--config", "python:cds_service.gunicorn_config", "--workers", "2", "--worker-class", "sync",
                     "--preload", "--no-control-socket", "--log-level", "warning")
START_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Server:
    name: str
    url: str  # the service endpoint
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str, body: bytes) -> bool:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _wait_ready(server: Server, body: bytes, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        if _answers(server.url, body):
            return
        time.sleep(0.2)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    raise RuntimeError(f"{server.name}: no 200 answer within {START_TIMEOUT_SECONDS:.0f} s; server log:\n{tail}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # graceful: gunicorn stops its workers
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def gunicorn(name: str, app_spec: str, env: dict[str, str], body: bytes, log: Path) -> Iterator[Server]:
    """Runs `app_spec` (e.g. "cds_service.app:create_app()") until the block ends; ready when `body` gets a 200.

    The server's output goes to `log`, so request logs do not drown the results.
    """
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", *GUNICORN_SETTINGS, "--bind", f"127.0.0.1:{port}", app_spec]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **env}, stdout=output,
                                   stderr=subprocess.STDOUT)
    server = Server(name, f"http://127.0.0.1:{port}{SERVICE_PATH}", process)
    try:
        _wait_ready(server, body, log)
        yield server
    finally:
        _stop(process)


def worker_pids(master_pid: int) -> list[int]:
    """Children of the gunicorn master (its workers), from /proc."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU the process (all its threads) has used so far, from /proc/<pid>/stat."""
    # Fields after the command name, which is in parentheses and may contain spaces: utime and stime are 14 and 15.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
