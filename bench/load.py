"""HTTP load against 127.0.0.1: wrk (Debian package `wrk`) when installed, else a small threaded Python client."""
from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.stats import percentile

CONNECTIONS = 16
WRK_THREADS = 2  # one per core: more would only steal CPU from the server under test
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
# Each request is for another patient: the body's patient id gets a unique suffix, so the audit trail grows as with
# real traffic (many patients) rather than piling thousands of decisions on one patient, which would slow the
# service's per-patient audit queries in a way no EHR would. The body file keeps large requests out of the script.
# The body is cut at the patient id once, at start: a gsub over the whole body on every request cost wrk ~0.8 ms of
# CPU a request, taken from the two cores the server under test runs on.
_WRK_SCRIPT = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local file = io.open("{body}", "rb")
local template = file:read("*a")
file:close()
local pieces, from = {{}}, 1
while true do
  local first, last = template:find("{patient}", from, true)
  if not first then break end
  pieces[#pieces + 1] = template:sub(from, first - 1)
  from = last + 1
end
pieces[#pieces + 1] = template:sub(from)
local threads, sent = 0, 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
function request()
  sent = sent + 1
  return wrk.format(nil, nil, nil, table.concat(pieces, "{patient}-" .. thread_number .. "-" .. sent))
end
"""


@dataclass(frozen=True)
class LoadResult:
    tool: str
    requests: int
    errors: int  # non-2xx answers and socket errors
    requests_per_s: float
    p50_ms: float
    p99_ms: float


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS_MS[unit]


def parse_wrk(output: str) -> LoadResult:
    """Reads `wrk --latency` output."""
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return LoadResult(
        tool="wrk",
        requests=int(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        errors=(int(non_2xx.group(1)) if non_2xx else 0)
        + (sum(int(n) for n in socket_errors.groups()) if socket_errors else 0),
        requests_per_s=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),  # type: ignore[union-attr]
    )


def _run_wrk(url: str, body: bytes, seconds: float, patient_id: str) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        body_path = Path(folder, "body.json")
        body_path.write_bytes(body)
        script = Path(folder, "post.lua")
        script.write_text(_WRK_SCRIPT.format(body=body_path, patient=patient_id))
        command = ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--timeout", "10s",
                   "--latency", "-s", str(script), url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=False)
    if done.returncode != 0:  # say why, rather than a bare traceback (seen once, not reproduced)
        raise RuntimeError(f"wrk exited with {done.returncode}: {(done.stderr or done.stdout).strip()[-500:]}")
    return parse_wrk(done.stdout)


def _client_loop(url: str, body: bytes, patient_id: str, deadline: float, durations: list[float],
                 errors: list[int]) -> None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    while time.perf_counter() < deadline:
        unique = body.replace(patient_id.encode(), f"{patient_id}-{threading.get_ident()}-{len(durations)}".encode())
        began = time.perf_counter()
        try:
            connection.request("POST", parts.path, unique, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
            if response.getheader("Connection", "").lower() == "close":
                connection.close()  # gunicorn sync workers close after each answer; reconnect next time
        except (OSError, http.client.HTTPException):
            ok = False
            connection.close()
        durations.append(time.perf_counter() - began)
        if not ok:
            errors.append(1)


def _run_python(url: str, body: bytes, seconds: float, patient_id: str) -> LoadResult:
    durations: list[float] = []
    errors: list[int] = []
    began = time.perf_counter()
    deadline = began + seconds
    threads = [threading.Thread(target=_client_loop, args=(url, body, patient_id, deadline, durations, errors))
               for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 30)
    elapsed = time.perf_counter() - began
    return LoadResult("python", len(durations), len(errors), len(durations) / elapsed,
                      percentile(durations, 0.5) * 1000, percentile(durations, 0.99) * 1000)


def run_load(url: str, body: bytes, seconds: float, patient_id: str) -> LoadResult:
    """`CONNECTIONS` concurrent connections posting `body` to `url` for `seconds`, each request with `patient_id`
    replaced by a unique id."""
    if shutil.which("wrk"):
        return _run_wrk(url, body, seconds, patient_id)
    return _run_python(url, body, seconds, patient_id)
