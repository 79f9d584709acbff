"""The production server as the README runs it: gunicorn with the configuration the service ships
(cds_service.gunicorn_config), two workers on 127.0.0.1. Its metrics add up across the workers (prometheus_client's
multiprocess mode), whichever worker a scrape reaches, also after a worker died; its own log lines and its access log
read like the service's."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from cds_service.gunicorn_config import on_starting
from tests.db_outage import SqliteLock
from tests.test_audit import EXAMPLE
from tests.test_metrics import value

ROOT = Path(__file__).resolve().parents[1]
DISCOVERY = "/cds-services"
# The service's line: its time with milliseconds and UTC offset, the level, the logger (log_format.py).
LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")
# A hang guard for the server's start and stop, not a speed claim.
GUARD_SECONDS = 60.0


def free_port() -> int:
    """A port of 18300-18399 that nothing listens on."""
    for port in range(18300, 18400):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port in 18300-18399")


class Gunicorn:
    """`gunicorn -c python:cds_service.gunicorn_config -w 2 --preload` with an access log, in local mode on SQLite, its
    metrics in `metrics_dir`; stdout (the access log) and stderr (its log and the service's) kept in files."""

    def __init__(self, tmp_path: Path, metrics_dir: Path, config: str = "python:cds_service.gunicorn_config") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.metrics_dir = metrics_dir
        self.database = tmp_path / "data" / "cds.db"
        self.stdout, self.stderr = tmp_path / "access.log", tmp_path / "server.log"
        env = {name: value for name, value in os.environ.items() if not name.startswith("CDS_")}
        env |= {"CDS_DATA_DIR": str(tmp_path / "data"), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        gunicorn = Path(sys.executable).with_name("gunicorn")
        with self.stdout.open("w") as out, self.stderr.open("w") as err:
            self.process = subprocess.Popen(
                [str(gunicorn), "-c", config, "-w", "2", "--preload",
                 "--no-control-socket", "--access-logfile", "-", "-b", f"127.0.0.1:{self.port}",
                 "cds_service.app:create_app()"], env=env, cwd=ROOT, stdout=out, stderr=err)
        deadline = time.monotonic() + GUARD_SECONDS
        while len(self.workers()) < 2 or not self._answers():
            assert self.process.poll() is None and time.monotonic() < deadline, self.stderr.read_text()
            time.sleep(0.1)

    def _answers(self) -> bool:
        try:
            return requests.get(self.url + "/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(GUARD_SECONDS)
        finally:
            self.process.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Gunicorn]:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    # A previous run's file: its counts must not be added to this run's (the configuration empties the folder).
    stale = MmapedDict(str(metrics_dir / "counter_999999.db"))
    stale.write_value(mmap_key("cds_requests", "cds_requests_total", ["endpoint", "status"], [DISCOVERY, "200"],
                               "HTTP requests answered, by endpoint and status"), 1000.0, 0.0)
    stale.close()
    running = Gunicorn(tmp_path, metrics_dir)
    yield running
    running.stop()


def scraped(server: Gunicorn, name: str, **labels: str) -> float:
    return value(requests.get(server.url + "/metrics", timeout=10).text, name, **labels)


def discovered(server: Gunicorn) -> float:
    return value(requests.get(server.url + "/metrics", timeout=10).text, "cds_requests_total", endpoint=DISCOVERY,
                 status="200")


def counted_by(server: Gunicorn, pid: int, file: str = "counter", sample: str = "cds_requests_total",
               label: str = f'"{DISCOVERY}"') -> float:
    """What worker `pid` wrote of a metric (by default its count of discovery calls), read from its own file."""
    path = server.metrics_dir / f"{file}_{pid}.db"
    if not path.exists():
        return 0.0
    return sum(value for key, value, _, _ in MmapedDict.read_all_values_from_file(str(path))
               if f'"{sample}"' in key and label in key)


def eventually(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + GUARD_SECONDS  # a hang guard, not a speed claim
    while not condition():
        assert time.monotonic() < deadline, "not within the guard"
        time.sleep(0.2)


def test_metrics_add_up_across_workers_in_every_scrape(server: Gunicorn) -> None:
    """Each worker kept its own counters, and consecutive scrapes disagreed as they reached one worker or the other."""
    sent = 0
    workers = server.workers()
    with ThreadPoolExecutor(8) as pool:
        for _ in range(20):  # until both workers have answered some: concurrent calls spread over the two
            statuses = list(pool.map(lambda _: requests.get(server.url + DISCOVERY, timeout=10).status_code,
                                     range(24)))
            assert statuses == [200] * 24
            sent += 24
            if all(counted_by(server, pid) for pid in workers):
                break
    assert all(counted_by(server, pid) for pid in workers), "one worker answered every call"
    assert sum(counted_by(server, pid) for pid in workers) == sent
    assert [discovered(server) for _ in range(6)] == [sent] * 6  # whichever worker answers the scrape
    scraped = requests.get(server.url + "/metrics", timeout=10).text
    assert value(scraped, "cds_audit_backlog") == 0 and value(scraped, "cds_audit_stalled_seconds") == 0
    assert value(scraped, "cds_audit_records_lost_total", reason="queue-full") == 0

    # A worker that dies (here killed) is replaced: its counts stay in the sums, its live gauges leave them.
    dead = workers[0]
    os.kill(dead, signal.SIGKILL)
    deadline = time.monotonic() + GUARD_SECONDS
    while dead in server.workers() or len(server.workers()) < 2:
        assert time.monotonic() < deadline, "the killed worker was not replaced"
        time.sleep(0.1)
    assert [discovered(server) for _ in range(6)] == [sent] * 6
    assert not list(server.metrics_dir.glob(f"gauge_live*_{dead}.db"))
    assert (server.metrics_dir / f"counter_{dead}.db").exists()


def test_gunicorns_start_removes_only_the_metric_files_of_the_folder(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder named by mistake (the SQLite audit trail's, /tmp) lost every *.db file: cds.db at every start."""
    kept = ["cds.db", "cds.db-wal", "other.db", "counter_x.db", "notes.txt"]
    removed = ["counter_12.db", "histogram_3.db", "summary_4.db", "gauge_livesum_5.db", "gauge_all_6.db"]
    for name in kept + removed:
        (tmp_path / name).write_text("")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    on_starting(None)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(kept)


def test_the_preloading_master_publishes_no_metrics(tmp_path: Path) -> None:
    """--preload builds the app in the master, whose audit writer published its backlog and stall as a worker's:
    live gauges that no child_exit removes, added to the workers' for as long as gunicorn ran. The shipped on_starting,
    which runs after --preload, happened to delete the master's files; a folder emptied by a start-up script (as
    prometheus_client advises) under a configuration of one's own kept them. when_ready stops the master publishing."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    config = tmp_path / "gunicorn_conf.py"  # the shipped hooks but on_starting: the folder is emptied before the start
    config.write_text("from cds_service.gunicorn_config import access_log_format, child_exit, logger_class, "
                      "when_ready  # noqa: F401\n")
    server = Gunicorn(tmp_path, metrics_dir, str(config))
    try:
        assert requests.get(server.url + DISCOVERY, timeout=10).status_code == 200
        assert scraped(server, "cds_audit_backlog") == 0
        workers, master = server.workers(), server.process.pid
        expected = {f"gauge_{mode}_{pid}.db" for mode in ("livesum", "livemax") for pid in workers}
        gauges = lambda: {path.name for path in metrics_dir.glob("gauge_*.db")}  # noqa: E731
        eventually(lambda: gauges() == expected)  # each worker's writer publishes within 0.1 s of its start
        assert not [name for name in gauges() if name.endswith(f"_{master}.db")]
        # What the master wrote before it stopped, while it built the app: its losses, none.
        assert counted_by(server, master, sample="cds_audit_records_lost_total", label="") == 0
    finally:
        server.stop()


def test_the_audit_backlog_of_every_worker_is_in_every_scrape(server: Gunicorn) -> None:
    """The backlog was asked of the answering worker's writer at the scrape: each worker's writer now publishes its
    own (every 0.1 s; while the database fails it, at each attempt), and a scrape adds up the live workers'."""
    lock = SqliteLock(server.database)
    lock.down()  # another process holds the write lock: every worker's records wait
    sent, workers = 0, server.workers()
    waiting = lambda pid: counted_by(server, pid, "gauge_livesum", "cds_audit_backlog", "")  # noqa: E731
    try:
        with ThreadPoolExecutor(4) as pool:
            for _ in range(10):  # until both workers hold records
                answered = list(pool.map(lambda _: requests.post(server.url + "/cds-services/blinatumomab-coverage",
                                                                 data=EXAMPLE.read_bytes(), timeout=30,
                                                                 headers={"Content-Type": "application/json"}),
                                         range(8)))
                assert [answer.status_code for answer in answered] == [200] * 8
                sent += 8
                eventually(lambda: sum(map(waiting, workers)) == sent)  # published by the writers as they retry
                if all(map(waiting, workers)):
                    break
        assert all(map(waiting, workers)), "one worker answered every call"
        assert [scraped(server, "cds_audit_backlog") for _ in range(6)] == [sent] * 6
        assert scraped(server, "cds_audit_stalled_seconds") > 0
    finally:
        lock.up()
    eventually(lambda: scraped(server, "cds_audit_backlog") == 0)


def test_gunicorn_and_the_service_log_in_one_format(server: Gunicorn) -> None:
    """gunicorn wrote `[2026-11-23 08:22:31 +0000] [123] [INFO] ...` beside the service's ISO times; its access log
    (asked for with --access-logfile) carried a time of its own and no request id."""
    answer = requests.get(server.url + DISCOVERY, timeout=10, headers={"X-Request-ID": "probe-7"})
    assert answer.headers["X-Request-ID"] == "probe-7"
    server.stop()
    logged = [line for line in server.stderr.read_text().splitlines() if line.strip()]
    assert [line for line in logged if not LINE.match(line)] == []
    assert any(" INFO gunicorn.error: Booting worker with pid: " in line for line in logged)
    accessed = server.stdout.read_text().splitlines()
    [line] = [line for line in accessed if "request_id=probe-7" in line]
    assert LINE.match(line) and re.search(r' INFO gunicorn\.access: 127\.0\.0\.1 "GET /cds-services HTTP/1\.1" 200 '
                                          r'\d+ ms=\d+ request_id=probe-7 "python-requests/', line), line


def test_a_metrics_folder_given_with_gunicorns_e_stops_the_start(tmp_path: Path) -> None:
    """`-e PROMETHEUS_MULTIPROC_DIR=...` is applied after gunicorn's master has imported the shipped configuration and
    prometheus_client with it, which then keeps the metrics in memory: the scrapes would read an empty folder. The
    start stops, saying so, instead of serving empty metrics."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("CDS_") and name != "PROMETHEUS_MULTIPROC_DIR"}
    env["CDS_DATA_DIR"] = str(tmp_path / "data")
    finished = subprocess.run(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "python:cds_service.gunicorn_config", "-w", "1",
         "--preload", "--no-control-socket", "-e", f"PROMETHEUS_MULTIPROC_DIR={metrics_dir}",
         "-b", f"127.0.0.1:{free_port()}", "cds_service.app:create_app()"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=GUARD_SECONDS)
    assert finished.returncode != 0
    assert "PROMETHEUS_MULTIPROC_DIR was set after prometheus_client was imported" in finished.stderr


def test_the_access_log_leaves_out_the_query_string(server: Gunicorn) -> None:
    """The access format logged the request line (%(r)s), query and all: a token sent as `?access_token=<JWT>` was
    written to the log."""
    answer = requests.get(server.url + DISCOVERY, params={"access_token": "secret-1"}, timeout=10,
                          headers={"X-Request-ID": "probe-8"})
    assert answer.status_code == 200
    server.stop()
    [line] = [line for line in server.stdout.read_text().splitlines() if "request_id=probe-8" in line]
    assert ' INFO gunicorn.access: 127.0.0.1 "GET /cds-services HTTP/1.1" 200 ' in line, line
    assert "secret-1" not in server.stdout.read_text() + server.stderr.read_text()


def test_a_header_line_gunicorn_cannot_parse_is_logged_without_its_token(server: Gunicorn) -> None:
    """gunicorn quotes a header line without a colon whole: a client's `Authorization Bearer <JWT>` with it."""
    jwt_like = "eyJhbGciOiJFUzM4NCJ9.eyJpc3MiOiJzZWNyZXQifQ.c2lnbmF0dXJl"
    for header in (f"Authorization Bearer {jwt_like}", f"X-Token {jwt_like}", "Authorization bearer opaque-secret-4"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
            connection.sendall(f"GET /cds-services HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n".encode())
            assert connection.recv(100).startswith(b"HTTP/1.1 400")
    server.stop()
    logged = server.stderr.read_text()
    assert "Invalid HTTP Header: 'Authorization Bearer <token>'" in logged
    assert "Invalid HTTP Header: 'X-Token <token>'" in logged
    assert "eyJ" not in logged and "opaque-secret" not in logged


def test_a_request_line_gunicorn_cannot_parse_is_logged_without_its_query(server: Gunicorn) -> None:
    """gunicorn's warning for an invalid request line quoted it whole, a token sent in its query with it; the query's
    part after a space or a quote was left (test_log_queries.py has every shape)."""
    for line in (b"GET /cds-services?access_token=secret-2", b"GET  /cds-services?access_token=secret-3 HTTP/1.1",
                 b"GET /cds-services?access_token=secret-4 secret-5 HTTP/1.1", b"GET /x?a=\x01'secret-6 HTTP/1.1"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
            connection.sendall(line + b"\r\nHost: x\r\n\r\n")
            assert connection.recv(100).startswith(b"HTTP/1.1 400")
    server.stop()
    logged = server.stderr.read_text()
    assert "Invalid HTTP request line: 'GET /cds-services'" in logged
    assert "secret-" not in logged + server.stdout.read_text()
