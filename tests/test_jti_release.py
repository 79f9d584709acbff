"""A call refused with 503 does not use its JWT (service-contract.md §Security: a jti is used by a call accepted with
it). When the COMMIT of a token's jti went unanswered (the request's deadline, a connection cut), the row could be
stored though the call was refused, and the client's retry with the same token was refused as a replay. The request
that stored it releases its own row (audit_queries.use_jti, through the writer); a row another request stored stays.
So does a feedback call refused with 503 after its jti was stored (routes.observe), and a retry reaching the worker
before its writer wrote the release releases the row itself (audit_queries.use_jti)."""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, insert, inspect, make_url, text
from sqlalchemy.exc import OperationalError

from cds_service.audit import AuditStore
from cds_service.audit_rows import naive_utc
from cds_service.config import Settings
from cds_service.db import create_db_engine
from cds_service.db_models import UsedJti
from cds_service.db_schema import alembic_config, migrate
from cds_service.db_writes import write_transaction
from tests.db_outage import Outage, outage  # noqa: F401  (fixture)
from tests.test_audit import invocation
from tests.test_auth import (BASE, SERVICE, JwksServer, auth_config, call, claims, ec_token,  # noqa: F401
                             jwks_server)
from tests.test_db import database_url  # noqa: F401  (fixture)
from tests.test_outages import served

EXPIRES = datetime.now(timezone.utc) + timedelta(hours=1)


def answer_lost_once(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """The next COMMIT on `engine` is made, and its answer lost: the driver raises as for a connection cut then."""
    dialect, original, lost = engine.dialect, engine.dialect.do_commit, [0]

    def commit(dbapi_connection: Any) -> None:
        original(dbapi_connection)
        if not lost[0]:
            lost[0] += 1
            raise dialect.loaded_dbapi.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(dialect, "do_commit", commit)
    return lambda: lost[0]


def accepted_once(store: AuditStore, jti: str, expires: datetime = EXPIRES) -> None:
    """Once the writer has done the releases asked for, `jti` is accepted, and then refused as a replay."""
    assert store.flush(20)
    assert store.use_jti(jti, expires) is True
    assert store.use_jti(jti, expires) is False


def test_a_jti_whose_commit_went_unanswered_is_accepted_once_on_the_retry(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = AuditStore(database_url)
    store.start()
    try:
        assert store.use_jti("first", EXPIRES) is True  # the purge of expired ids done: the next COMMIT is the jti's
        lost = answer_lost_once(store.engine, monkeypatch)
        with pytest.raises(OperationalError):
            store.use_jti("retried", EXPIRES)
        assert lost() == 1
        accepted_once(store, "retried")
    finally:
        store.close()


def test_a_release_leaves_the_row_another_request_stored(database_url: str) -> None:
    """The COMMIT of the refused call never arrived, and the retry stored the jti before the release was done: the
    release deletes nothing, so a third call with the token is still a replay."""
    store = AuditStore(database_url)
    store.start()
    try:
        assert store.use_jti("retried", EXPIRES) is True
        store._writer.release_jti("retried", "0" * 32, EXPIRES)  # the refused call's attempt, which stored nothing
        assert store.flush(20)
        assert store.use_jti("retried", EXPIRES) is False
    finally:
        store.close()


def test_the_retry_of_a_signed_call_refused_at_its_jtis_commit_is_answered(
        tmp_path: Path, jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    config_file = tmp_path / "auth.json"
    config_file.write_text(json.dumps(auth_config(jwks_server.url)))
    settings = Settings.from_env({"CDS_AUTH_CONFIG": str(config_file),
                                  "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/a.db"})
    with served(settings) as (app, client):
        store: AuditStore = app.extensions["cds_service"].store
        assert call(client, ec_token()).status_code == 200
        assert store.flush(20)  # the writer idle: the COMMIT whose answer is lost is the jti's, not the call's record
        token = ec_token(claims())
        answer_lost_once(store.engine, monkeypatch)
        refused = call(client, token)
        assert refused.status_code == 503 and refused.headers["Retry-After"].isdigit()
        assert store.flush(20)
        assert call(client, token).status_code == 200
        assert call(client, token).status_code == 401


def test_the_retry_of_feedback_refused_with_503_after_its_jti_was_stored_is_answered(
        outage: Outage, tmp_path: Path, jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The token held and its jti was stored, then the database went away before the feedback was: 503. The retry
    with the same token was refused as a replay (401), and the feedback never stored; now it is stored, once."""
    config_file = tmp_path / "auth.json"
    config_file.write_text(json.dumps(auth_config(jwks_server.url)))
    settings = Settings.from_env({"CDS_AUTH_CONFIG": str(config_file), "CDS_DATABASE_URL": outage.url})
    feedback = SERVICE + "/feedback"
    token = ec_token(claims(aud=BASE + feedback))

    def post_feedback() -> Any:
        return client.post(feedback, json={"feedback": [{"card": "c1", "outcome": "accepted"}]},
                           headers={"Authorization": f"Bearer {token}"})

    try:
        with served(settings) as (app, client):
            store: AuditStore = app.extensions["cds_service"].store
            use_jti = store.use_jti

            def stored_then_down(*args: Any) -> bool:
                used = use_jti(*args)
                outage.down()
                return used

            monkeypatch.setattr(store, "use_jti", stored_then_down)
            assert post_feedback().status_code == 503
            monkeypatch.setattr(store, "use_jti", use_jti)
            outage.up()
            assert store.flush(20)
            assert post_feedback().status_code == 200
            assert post_feedback().status_code == 401
            with store.engine.connect() as connection:
                assert connection.execute(text("SELECT count(*) FROM feedback")).scalar() == 1
    finally:
        outage.up()


def test_a_retry_before_the_release_is_written_releases_the_row_itself(database_url: str) -> None:
    """The release waits for the writer's next round (longer through an outage): a retry reaching this worker first
    was refused as a replay. It deletes the refused call's row and stores its own; a third call is a replay, and the
    writer's release, done later, deletes nothing. A release asked for another attempt's row opens nothing."""
    store = AuditStore(database_url)
    migrate(store.engine)  # no writer runs yet: the releases stay queued
    try:
        assert store.use_jti("retried", EXPIRES, "a" * 32) is True
        store.release_jti("retried", "a" * 32, EXPIRES)
        assert store.use_jti("taken", EXPIRES, "b" * 32) is True
        store.release_jti("taken", "a" * 32, EXPIRES)
        assert store.use_jti("retried", EXPIRES) is True
        assert store.use_jti("retried", EXPIRES) is False
        assert store.use_jti("taken", EXPIRES) is False
        store.start()
        assert store.flush(20)
        assert store.use_jti("retried", EXPIRES) is False
    finally:
        store.close()


def test_a_retry_racing_the_writers_release_is_answered(database_url: str,  # noqa: F811
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The retry found the refused call's row (a replay, at first sight) and its release queued; the writer deleted
    the row before the retry could: the retry was refused as a replay (401) though no call was accepted with it."""
    store = AuditStore(database_url)
    migrate(store.engine)  # no writer thread: its round is run by hand below
    writer = store._writer
    pending = writer.release_pending

    def released_meanwhile(jti: str) -> str | None:
        refused = pending(jti)
        assert writer._release_jtis()  # the writer's round, between the retry's INSERT and its DELETE
        return refused

    try:
        assert store.use_jti("raced", EXPIRES, "a" * 32) is True
        store.release_jti("raced", "a" * 32, EXPIRES)
        monkeypatch.setattr(writer, "release_pending", released_meanwhile)
        assert store.use_jti("raced", EXPIRES, "b" * 32) is True
        assert store.use_jti("raced", EXPIRES) is False
    finally:
        store.close()


def test_migration_0012_keeps_the_used_ids_stored_before_and_downgrades(database_url: str) -> None:
    """An id stored at 0011 has no attempt: still used after the upgrade, and released by no request (a release names
    its own attempt). A downgrade drops the column and keeps every row, ids stored since included."""
    engine = create_db_engine(database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0011")
        connection.execute(text("INSERT INTO used_jti (jti, expires_at) VALUES ('before', :expires)"),
                           {"expires": naive_utc(EXPIRES)})
    store = AuditStore(database_url)
    store.start()  # migrates
    try:
        store._writer.release_jti("before", "0" * 32, EXPIRES)
        assert store.flush(20)
        assert store.use_jti("before", EXPIRES) is False
        assert store.use_jti("since", EXPIRES) is True
    finally:
        store.close()
    with engine.connect() as connection:
        assert dict(connection.execute(text("SELECT jti, attempt IS NULL FROM used_jti")).all()) == {
            "before": True, "since": False}
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0011")
        table = inspect(connection)
        assert {column["name"] for column in table.get_columns("used_jti")} == {"jti", "expires_at"}
        assert "ix_used_jti_expires_at" in {index["name"] for index in table.get_indexes("used_jti")}
        assert connection.execute(text("SELECT jti FROM used_jti ORDER BY jti")).scalars().all() == ["before", "since"]
    migrate(engine)
    engine.dispose()


def test_a_release_waiting_out_an_outage_is_written_at_the_stop(outage: Outage) -> None:  # noqa: F811
    """The database answers again only once the worker is stopping: close() keeps trying the release, as it does the
    records, where the writer ended with it undone and the token stayed refused."""
    store = AuditStore(outage.url)
    store.start()
    try:
        assert store.use_jti("retried", EXPIRES) is True
        with store.engine.connect() as connection:
            attempt = connection.execute(text("SELECT attempt FROM used_jti")).scalar_one()
        outage.down()
        store._writer.release_jti("retried", attempt, EXPIRES)
        assert not store.flush(0.5)  # tried, and waiting
        threading.Timer(0.5, outage.up).start()
    finally:
        store.close(20)
    with create_db_engine(outage.url).connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM used_jti")).scalar() == 0


def test_a_release_waits_for_the_commit_still_under_way(database_url: str) -> None:
    """The COMMIT whose answer was lost may still be under way on the server (PostgreSQL waiting for a synchronous
    standby to confirm it), its row not yet seen by other transactions: the release deleted nothing, the row was
    committed after it, and the retry was refused as a replay. The release waits for that transaction to end."""
    store, other = AuditStore(database_url), create_db_engine(database_url)
    store.start()
    try:
        with write_transaction(other) as connection:  # the refused call's transaction, its COMMIT not yet made
            connection.execute(insert(UsedJti).values(jti="retried", expires_at=naive_utc(EXPIRES), attempt="a" * 32))
            store._writer.release_jti("retried", "a" * 32, EXPIRES)
            store.flush(1)  # the writer's round, which waits for this transaction
        accepted_once(store, "retried")
    finally:
        store.close()
        other.dispose()


@contextmanager
def left_open(database_url: str, jti: str, expires: datetime) -> Iterator[tuple[AuditStore, Connection]]:
    """PostgreSQL: a started store, and a transaction of another engine's that stored `jti` and is not ended (the
    refused call's), rolled back at the end."""
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("SQLite's write lock, held by the open transaction, holds up every write")
    store, other = AuditStore(database_url), create_db_engine(database_url)
    store.start()
    try:
        with other.connect() as connection:
            connection.execute(insert(UsedJti).values(jti=jti, expires_at=naive_utc(expires), attempt="a" * 32))
            yield store, connection
            connection.rollback()
    finally:
        store.close()
        other.dispose()


def test_a_release_waiting_for_a_transaction_left_open_holds_up_no_records(database_url: str) -> None:
    """PostgreSQL: the refused call's COMMIT never came, and the server holds its transaction open until it finds the
    connection gone (hours, for one a firewall dropped). The release waits for it a short while each round, and the
    records are written meanwhile, where its INSERT waited out statement_timeout each round and none was."""
    with left_open(database_url, "retried", EXPIRES) as (store, transaction):
        store._writer.release_jti("retried", "a" * 32, EXPIRES)
        store.record_invocation(invocation("hi-meanwhile"))
        assert not store.flush(1)  # the release waits
        assert [row.hook_instance for row in store.recent()] == ["hi-meanwhile"]
        transaction.rollback()
        accepted_once(store, "retried")


def test_a_release_waiting_for_a_transaction_left_open_ends_with_its_token(database_url: str) -> None:
    """An expired token is refused whatever its row, which the purge deletes: its release waits no more."""
    expired = datetime.now(timezone.utc) - timedelta(seconds=1)
    with left_open(database_url, "expired", expired) as (store, _):
        store._writer.release_jti("expired", "a" * 32, expired)
        assert store.flush(5)
