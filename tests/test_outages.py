"""The audit database going away and coming back (docs/audit.md §When the database is unavailable): a worker still
boots and answers, queued records wait and are all written on recovery, the queue is bounded, /readyz says what is
wrong, and nothing hangs on a database that does not answer. SQLite (a lock held by another process) and PostgreSQL
(behind a proxy that goes down or freezes)."""
from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from cds_service import audit_health
from cds_service.audit import AuditStore
from cds_service.cli import main
from cds_service.config import Settings
from cds_service.db import create_db_engine
from tests.conftest import close_app, make_app
from tests.live_server import LiveClient, serving
from tests.db_outage import Outage, PostgresProxy, outage, proxy  # noqa: F401  (fixtures)
from tests.test_audit import EXAMPLE, count_invocations, invocation
from tests.test_auth import EHR, JwksServer, auth_config, call, ec_token, jwks_server  # noqa: F401  (fixture)
from tests.test_errors import sign_request

SERVICE = "/cds-services/blinatumomab-coverage"
# How long a test waits for something that must not hang (a close, a connect, an answer): a hang guard, so that a
# broken build fails instead of hanging the suite, not a speed claim.
HANG_GUARD_SECONDS = 30.0


def eventually(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Polls until `condition` holds; `seconds` is a hang guard, not a speed claim."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within %.0f s" % seconds
        time.sleep(0.05)


@contextmanager
def served(settings: Settings) -> Iterator[tuple[Flask, LiveClient]]:
    """The app for `settings` (booted whatever the database's state), served over HTTP on loopback."""
    app = make_app(settings)
    try:
        with serving(app) as client:
            yield app, client
    finally:
        close_app(app)


def hook_call(client: LiveClient, hook_instance: str) -> Any:
    body = json.loads(EXAMPLE.read_text())
    body["hookInstance"] = hook_instance
    return client.post(SERVICE, json=body)


def health(client: LiveClient) -> tuple[int, dict[str, Any]]:
    """The readiness answer (/readyz); /healthz, the liveness answer, is 200 whatever the database's state."""
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    return response.status_code, response.get_json()


def ends_within_guard(action: Callable[[], None]) -> bool:
    """Runs `action` in a thread; whether it ended before HANG_GUARD_SECONDS (else it is left running, a daemon)."""
    thread = threading.Thread(target=action, daemon=True)
    thread.start()
    thread.join(HANG_GUARD_SECONDS)
    return not thread.is_alive()


@pytest.fixture
def started(outage: Outage) -> Iterator[AuditStore]:
    store = AuditStore(outage.url)
    store.start()
    yield store
    outage.up()
    store.close()


def test_a_worker_boots_while_the_database_is_down_and_catches_up(outage: Outage) -> None:
    """A gunicorn worker (re)started during an outage used to exit at boot, and its master with it."""
    outage.down()
    with served(Settings(database_url=outage.url)) as (app, client):
        status, body = health(client)
        assert status == 503
        assert any("schema" in problem for problem in body["problems"])
        assert hook_call(client, "during-outage").status_code == 200  # the hook still answers; its record waits
        outage.up()
        eventually(lambda: health(client)[0] == 200)
        store: AuditStore = app.extensions["cds_service"].store
        store.flush()
        assert [d.record.status for d in store.show("during-outage")] == [200]


def test_records_wait_for_the_database_however_long_it_is_away(started: AuditStore, outage: Outage) -> None:
    """Three attempts 0.2 s and 0.4 s apart, then the batch was discarded: a 3 s outage lost nearly everything."""
    outage.down()
    for index in range(50):
        started.record_invocation(invocation(f"hi-{index}"))
        time.sleep(0.02)
    time.sleep(1.0)
    assert started.status().backlog == 50
    outage.up()
    assert started.flush(timeout=15)
    assert count_invocations(started) == 50
    assert started.status().lost == {}


def test_a_full_queue_loses_its_oldest_records_and_says_so(outage: Outage, caplog: pytest.LogCaptureFixture) -> None:
    store = AuditStore(outage.url, max_queued=5)
    store.start()
    try:
        outage.down()
        for index in range(8):
            store.record_invocation(invocation(f"hi-{index}"))
        assert f"audit records lost in pid {os.getpid()} (audit queue full at 5 records)" in caplog.text
        assert "hookInstance hi-0" in caplog.text
        assert store.status().lost == {"queue-full": 3}
        outage.up()
        assert store.flush(timeout=15)
        assert sorted(d.record.hook_instance for i in range(8) for d in store.show(f"hi-{i}")) == [
            f"hi-{i}" for i in range(3, 8)]
    finally:
        store.close()


def test_not_ready_while_audit_writes_fail(outage: Outage, monkeypatch: pytest.MonkeyPatch) -> None:
    """A locked SQLite file is still readable: the database answered the ping while every write failed."""
    monkeypatch.setattr(audit_health, "STALLED_SECONDS", 0.5)
    with served(Settings(database_url=outage.url)) as (_, client):
        assert health(client)[0] == 200
        outage.down()
        hook_call(client, "unwritten")
        eventually(lambda: any(p.startswith("audit writes failing or hanging for")
                               for p in health(client)[1]["problems"]))
        status, body = health(client)
        assert (status, body["status"]) == (503, "error")
        assert body["audit"]["backlog"] == 1 and body["audit"]["alive"] is True
        assert body["audit"]["last_error"] == "unavailable"  # the cause is the log's (OutageLog)
        outage.up()
        eventually(lambda: health(client)[0] == 200)
        assert health(client)[1]["audit"]["backlog"] == 0


def _writer_lines(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "cds_service.audit_health" and r.levelno == level]


def test_an_outage_is_logged_once_with_what_failed_and_once_when_it_ends(started: AuditStore, outage: Outage,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    """Each retry logged a WARNING "audit database unavailable (OperationalError / OperationalError)": every 5 s per
    worker, saying nothing of what failed. Now the first failure says it, at ERROR; the retries go to DEBUG (within
    the minute between reports), and the end is one INFO."""
    caplog.set_level(logging.DEBUG, logger="cds_service")
    outage.down()
    started.record_invocation(invocation("during-outage"))
    eventually(lambda: len(_writer_lines(caplog, logging.DEBUG)) >= 3)  # three attempts failed
    outage.up()
    assert started.flush(timeout=15)
    [first] = _writer_lines(caplog, logging.ERROR)
    assert first.startswith("audit database unavailable: writing 1 audit record failed (OperationalError / ")
    assert first.endswith(f"; 1 record waits in the memory of pid {os.getpid()}, retried until it answers")
    assert re.search(r"\((SQLITE_BUSY|SQLSTATE \w+)\)|while connecting", first), first
    assert _writer_lines(caplog, logging.WARNING) == []
    [recovered] = _writer_lines(caplog, logging.INFO)
    attempts = int(re.fullmatch(rf"audit database answers again after [\d.]+ s and (\d+) failed attempts? of pid "
                                rf"{os.getpid()}", recovered).group(1))
    assert attempts >= 3


def test_a_long_outage_is_reported_with_the_attempts_failed_since_the_last_report(
        started: AuditStore, outage: Outage, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_health, "OUTAGE_REPORT_SECONDS", 0.0)  # every retry is past the minute
    outage.down()
    started.record_invocation(invocation("during-outage"))
    eventually(lambda: len(_writer_lines(caplog, logging.WARNING)) >= 2)
    outage.up()
    assert started.flush(timeout=15)
    assert len(_writer_lines(caplog, logging.ERROR)) == 1
    for line in _writer_lines(caplog, logging.WARNING):
        assert re.fullmatch(r"audit database still unavailable after \d+ s: 1 more attempt failed, the last writing "
                            r"1 audit record failed \(OperationalError / .*\); 1 record waits in the memory of pid "
                            rf"{os.getpid()}", line), line


def test_the_health_checks_pings_are_logged_once_per_cause_and_when_they_answer_again(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """/healthz and /readyz no longer say why the database does not answer: the log does, without a line for every
    probe (every 5 s per worker), nor one whenever /healthz's and /readyz's deadlines alternate on a frozen server."""
    caplog.set_level(logging.INFO, logger="cds_service")
    pings = audit_health.PingLog("postgresql+psycopg://cds:***@db/cds")
    for cause in (None, "refused", "refused", audit_health.NO_ANSWER, audit_health.NO_ANSWER, None, None):
        pings.seen(cause)
    monkeypatch.setattr(audit_health, "OUTAGE_REPORT_SECONDS", 0.0)  # every ping is past the minute
    for _ in range(2):
        pings.seen("refused")
    where, pid = "postgresql+psycopg://cds:***@db/cds", os.getpid()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", f"audit database {where} not ready for pid {pid}: refused"),
        ("WARNING", f"audit database {where} not ready for pid {pid}: {audit_health.NO_ANSWER}"),
        ("INFO", f"audit database {where} answers the health checks of pid {pid} again"),
        ("WARNING", f"audit database {where} not ready for pid {pid}: refused"),
        ("WARNING", f"audit database {where} not ready for pid {pid}: refused")]


def test_a_cause_that_lasts_is_logged_again_with_the_pings_failed_since(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.INFO, logger="cds_service")
    pings = audit_health.PingLog("sqlite:///audit.db")
    for _ in range(3):
        pings.seen("locked")
    monkeypatch.setattr(audit_health, "OUTAGE_REPORT_SECONDS", 0.0)
    pings.seen("locked")
    assert [r.getMessage() for r in caplog.records] == [
        f"audit database sqlite:///audit.db not ready for pid {os.getpid()}: locked",
        f"audit database sqlite:///audit.db not ready for pid {os.getpid()}: locked (2 more pings failed)"]


def test_closing_during_an_outage_is_bounded_and_names_what_is_lost(started: AuditStore, outage: Outage,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    """The database stays down until the test is over: close(timeout=0.5) returns all the same, having said which
    record it gives up."""
    published: list[audit_health.WriterStatus] = []  # what /metrics is told (metrics.Metrics.publish_audit)
    started.report_status(published.append)
    outage.down()
    started.record_invocation(invocation("never-written"))
    assert ends_within_guard(lambda: started.close(timeout=0.5)), "close waited for the database"
    assert "1 record unwritten" in caplog.text and "never-written" in caplog.text
    assert started.status().lost == published[-1].lost == {"unwritten": 1}


def test_records_lost_without_a_hook_instance_are_counted_not_listed_as_blanks(
        started: AuditStore, outage: Outage, caplog: pytest.LogCaptureFixture) -> None:
    """A call refused before its body was read has no hookInstance: the loss said "hookInstance , , , ,"."""
    outage.down()
    for hook_instance in ("", "known-one", "", ""):
        started.record_invocation(invocation(hook_instance))
    started.close(timeout=0.5)
    assert f"audit writer of pid {os.getpid()} did not finish within 0.5 s: 4 records unwritten, lost: hookInstance " \
        "known-one; 3 without a hookInstance" in caplog.text


def test_audit_database_outage_is_a_503_for_feedback(outage: Outage) -> None:
    """The EHR is told the feedback was not stored; the trail records the refusal once the database is back."""
    try:
        with served(Settings(database_url=outage.url)) as (app, client):
            store: AuditStore = app.extensions["cds_service"].store
            outage.down()
            response = client.post(SERVICE + "/feedback", json={"feedback": [{"card": "c1", "outcome": "accepted"}]})
            assert response.status_code == 503
            assert response.headers["Retry-After"].isdigit()
            assert response.get_json()["issue"][0]["code"] == "transient"
            outage.up()
            assert store.flush(10)
            [row] = store.rejected()
            assert (row.hook, row.status) == ("feedback", 503)
            assert row.reason.startswith("audit database unavailable")
    finally:
        outage.up()


def test_audit_database_outage_is_a_503_for_a_signed_hook_call(outage: Outage, tmp_path: Path,
                                                               jwks_server: JwksServer) -> None:
    """The jti replay check cannot be made without the database: 503 and Retry-After, never a 500. (An in-memory
    jti list would let a token replayed to another worker or replica through: the contract forbids it.)"""
    config_file = tmp_path / "auth.json"
    config_file.write_text(json.dumps(auth_config(jwks_server.url)))
    try:
        with served(Settings.from_env({"CDS_AUTH_CONFIG": str(config_file), "CDS_DATABASE_URL": outage.url})) \
                as (_, client):
            assert call(client, ec_token()).status_code == 200
            outage.down()
            response = call(client, ec_token())
            assert response.status_code == 503
            assert response.headers["Retry-After"].isdigit()
            assert response.get_json()["resourceType"] == "OperationOutcome"
            outage.up()
            assert call(client, ec_token()).status_code == 200
    finally:
        outage.up()


def test_a_signed_hook_call_refused_by_an_outage_is_audited_with_its_ids_and_listed(
        outage: Outage, tmp_path: Path, jwks_server: JwksServer, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    """Authentication runs before the body is read: the 503's record had no hook, hookInstance or patient, and
    `audit --rejected` listed 4xx only. The token held, so its client is known, and the body is read for the ids
    (its log line names the hookInstance too)."""
    config_file = tmp_path / "auth.json"
    config_file.write_text(json.dumps(auth_config(jwks_server.url)))
    app = make_app(Settings.from_env({"CDS_AUTH_CONFIG": str(config_file), "CDS_DATABASE_URL": outage.url}))
    store = app.extensions["cds_service"].store
    try:
        assert call(app.test_client(), ec_token()).status_code == 200
        outage.down()
        with caplog.at_level(logging.INFO, logger="cds_service"):
            assert call(app.test_client(), ec_token()).status_code == 503
        outage.up()
        assert store.flush(10)
        [row] = store.rejected()
        body = sign_request()
        assert f"503 on POST {SERVICE}, hookInstance {json.dumps(body['hookInstance'])}: audit database unavailable" \
            in caplog.text
        assert (row.status, row.hook, row.hook_instance, row.patient_id, row.client_iss, row.tenant) == (
            503, "order-sign", body["hookInstance"], "p1", EHR, "tenant-a")
        assert row.reason.startswith("audit database unavailable")
    finally:
        outage.up()
        close_app(app)
    assert main(["audit", "--database-url", outage.url, "--rejected", "--format", "jsonl"]) == 0
    assert [json.loads(line)["status"] for line in capsys.readouterr().out.splitlines()] == [503]


# --- a database that does not answer at all (PostgreSQL only: SQLite is a file) ---------------------------------

@pytest.mark.postgres
def test_postgresql_connections_have_a_connect_and_a_statement_timeout(proxy: PostgresProxy) -> None:
    """A frozen server accepts the connection and never answers (the test keeps it frozen): only the connect timeout
    can end the attempt."""
    engine = create_db_engine(proxy.url)
    with engine.connect() as connection:
        assert connection.execute(text("SHOW statement_timeout")).scalar() == "5s"
        assert connection.execute(text("SHOW search_path")).scalar().startswith("cds_test_")  # the URL's options kept
    engine.dispose()
    proxy.freeze()
    raised: list[Exception] = []

    def connect() -> None:
        try:
            engine.connect().close()
        except OperationalError as exc:
            raised.append(exc)

    assert ends_within_guard(connect), "connecting to a frozen server did not time out"
    [error] = raised
    assert "timeout" in str(error)


@pytest.mark.postgres
def test_not_ready_while_the_database_is_frozen(proxy: PostgresProxy, caplog: pytest.LogCaptureFixture) -> None:
    """A SIGSTOP'd server used to hold /healthz (then also the readiness answer) until gunicorn killed the worker (and
    its queued records). The server stays frozen until the answers are in: they can only come from the ping giving
    up. (The client's request timeout is a hang guard.)"""
    with served(Settings(database_url=proxy.url)) as (_, client):
        assert health(client)[0] == 200  # a pooled connection now exists: the frozen server holds it
        caplog.set_level(logging.INFO, logger="cds_service.audit_health")
        proxy.freeze()
        for _ in range(2):  # the second asks while the first probe still hangs
            status, body = health(client)
            assert (status, body["database"]) == (503, "unreachable")
        # The liveness answer waits on the hanging probe for less than a liveness probe's 1 s default.
        alive = client.get("/healthz").get_json()
        assert alive["problems"] == [f"database unreachable: {audit_health.NO_ANSWER}"]
        proxy.up()
        eventually(lambda: health(client)[0] == 200, 15)
    # Said once though /healthz (0.5 s) and /readyz (2 s) gave up at different deadlines, and once when it answered.
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "cds_service.audit_health"]
    assert [message for _, message in lines if message.endswith(audit_health.NO_ANSWER)] == [lines[0][1]]
    assert lines[0][0] == "WARNING" and lines[-1][0] == "INFO"
    assert lines[-1][1].endswith(f"answers the health checks of pid {os.getpid()} again")
