"""Every way a signed hook or feedback call is answered 503 leaves its token usable by the client's retry, over HTTP,
on SQLite and PostgreSQL (docs/audit.md §Timeouts: a jti is used by a call accepted with it): the database away at the
replay check, the jti's COMMIT made and its answer lost (by the driver, or by a muted server the request's deadline
gave up on), the retry reaching the worker before its writer wrote the release, and for feedback the items not
stored, or stored with the answer lost. Each retry is answered, and the call after it is a replay (401)."""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import Engine, text

from cds_service import audit
from cds_service.audit import AuditStore
from cds_service.config import Settings
from tests.db_outage import Outage, PostgresProxy, outage, proxy  # noqa: F401  (fixtures)
from tests.live_server import LiveClient
from tests.test_auth import BASE, SERVICE, JwksServer, auth_config, claims, ec_token, jwks_server  # noqa: F401
from tests.test_db import database_url  # noqa: F401  (fixture)
from tests.test_errors import sign_request
from tests.test_outages import served

FEEDBACK = SERVICE + "/feedback"
# How many COMMITs a call makes before it is answered: the jti's, then (feedback) the items'.
JTI_COMMIT, FEEDBACK_COMMIT = 1, 2


@contextmanager
def signed_service(tmp_path: Path, jwks_url: str, database_url: str) -> Iterator[tuple[Flask, LiveClient, AuditStore]]:
    """The service requiring JWTs, served over HTTP, after one accepted call: the purge of expired ids is done and
    the writer idle, so that the next COMMITs on the store's engine are the next call's."""
    config_file = tmp_path / "auth.json"
    config_file.write_text(json.dumps(auth_config(jwks_url)))
    settings = Settings.from_env({"CDS_AUTH_CONFIG": str(config_file), "CDS_DATABASE_URL": database_url})
    with served(settings) as (app, client):
        store: AuditStore = app.extensions["cds_service"].store
        assert send(client, "hook", ec_token()).status_code == 200
        assert store.flush(20)
        yield app, client, store


def send(client: LiveClient, kind: str, token: str) -> Any:
    """A hook call (order-sign) or a feedback call with `token`."""
    headers = {"Authorization": f"Bearer {token}"}
    if kind == "hook":
        return client.post(SERVICE, json=sign_request(), headers=headers)
    return client.post(FEEDBACK, json={"feedback": [{"card": "c1", "outcome": "accepted"}]}, headers=headers)


def token_for(kind: str) -> str:
    return ec_token(claims(aud=BASE + (SERVICE if kind == "hook" else FEEDBACK)))


def at_commit(engine: Engine, monkeypatch: pytest.MonkeyPatch, nth: int,
              before: Callable[[], None] = lambda: None, after: Callable[[], None] = lambda: None) -> list[int]:
    """Around the `nth` COMMIT from now on `engine`: `before` runs before it is sent, `after` once it is made (it may
    raise, as a driver does whose connection was cut). Returns the count of COMMITs seen."""
    original, seen = engine.dialect.do_commit, [0]

    def commit(dbapi_connection: Any) -> None:
        seen[0] += 1
        if seen[0] == nth:
            before()
        original(dbapi_connection)
        if seen[0] == nth:
            after()

    monkeypatch.setattr(engine.dialect, "do_commit", commit)
    return seen


def answer_lost(engine: Engine) -> Callable[[], None]:
    def lose() -> None:
        raise engine.dialect.loaded_dbapi.OperationalError("server closed the connection unexpectedly")
    return lose


def assert_retry_answered_once(client: LiveClient, store: AuditStore, kind: str, token: str) -> None:
    assert store.flush(20)
    assert send(client, kind, token).status_code == 200
    assert send(client, kind, token).status_code == 401


def feedback_rows(store: AuditStore) -> int:
    with store.engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM feedback")).scalar_one()


@pytest.mark.parametrize("kind", ["hook", "feedback"])
def test_the_retry_after_a_503_at_the_replay_check_is_answered(
        outage: Outage, tmp_path: Path, jwks_server: JwksServer, kind: str) -> None:  # noqa: F811
    """The database away when the jti is checked: nothing stored, and the retry is answered once it is back."""
    try:
        with signed_service(tmp_path, jwks_server.url, outage.url) as (_, client, store):
            token = token_for(kind)
            outage.down()
            assert send(client, kind, token).status_code == 503
            outage.up()
            assert_retry_answered_once(client, store, kind, token)
    finally:
        outage.up()


@pytest.mark.parametrize("kind", ["hook", "feedback"])
def test_the_retry_after_a_503_at_the_jtis_commit_is_answered(
        database_url: str, tmp_path: Path, jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        kind: str) -> None:
    with signed_service(tmp_path, jwks_server.url, database_url) as (_, client, store):
        token = token_for(kind)
        seen = at_commit(store.engine, monkeypatch, JTI_COMMIT, after=answer_lost(store.engine))
        assert send(client, kind, token).status_code == 503
        assert seen[0] >= JTI_COMMIT
        assert_retry_answered_once(client, store, kind, token)


@pytest.mark.parametrize("kind", ["hook", "feedback"])
def test_a_retry_before_the_release_is_written_is_answered(
        database_url: str, tmp_path: Path, jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        kind: str) -> None:
    """The writer holds the release back (its next round, an outage): the retry reaching this worker releases the row
    itself; the writer's release, written later, leaves the retry's row."""
    with signed_service(tmp_path, jwks_server.url, database_url) as (_, client, store):
        token = token_for(kind)
        writer = store._writer
        monkeypatch.setattr(writer, "_release_jtis", lambda: True)  # the releases stay queued
        at_commit(store.engine, monkeypatch, JTI_COMMIT, after=answer_lost(store.engine))
        assert send(client, kind, token).status_code == 503
        assert send(client, kind, token).status_code == 200
        assert send(client, kind, token).status_code == 401
        monkeypatch.undo()
        assert store.flush(20)
        assert send(client, kind, token).status_code == 401


def test_the_retry_of_feedback_whose_commit_answer_was_lost_is_answered_and_stores_nothing_again(
        database_url: str, tmp_path: Path, jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    with signed_service(tmp_path, jwks_server.url, database_url) as (_, client, store):
        token = token_for("feedback")
        at_commit(store.engine, monkeypatch, FEEDBACK_COMMIT, after=answer_lost(store.engine))
        assert send(client, "feedback", token).status_code == 503
        assert_retry_answered_once(client, store, "feedback", token)
        assert feedback_rows(store) == 1


def test_the_retry_of_feedback_refused_after_its_jti_was_stored_is_answered(
        outage: Outage, tmp_path: Path, jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The database went away between the jti's COMMIT and the items'."""
    try:
        with signed_service(tmp_path, jwks_server.url, outage.url) as (_, client, store):
            token = token_for("feedback")
            at_commit(store.engine, monkeypatch, JTI_COMMIT, after=outage.down)
            assert send(client, "feedback", token).status_code == 503
            outage.up()
            assert_retry_answered_once(client, store, "feedback", token)
            assert feedback_rows(store) == 1
    finally:
        outage.up()


@pytest.mark.postgres
@pytest.mark.parametrize("kind, nth", [("hook", JTI_COMMIT), ("feedback", JTI_COMMIT), ("feedback", FEEDBACK_COMMIT)])
def test_the_retry_after_a_commit_cut_at_the_deadline_is_answered(
        proxy: PostgresProxy, tmp_path: Path, jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        kind: str, nth: int) -> None:
    """The server makes the COMMIT and its answer never comes (a muted server): the request's deadline gives up on
    it, closes the connection and answers 503, as the driver's lost answer above does."""
    monkeypatch.setattr(audit, "REQUEST_WAIT_SECONDS", 1.0)
    with signed_service(tmp_path, jwks_server.url, proxy.url) as (_, client, store):
        token = token_for(kind)
        at_commit(store.engine, monkeypatch, nth, before=proxy.mute)
        assert send(client, kind, token).status_code == 503
        proxy.up()
        assert_retry_answered_once(client, store, kind, token)
        if kind == "feedback":
            assert feedback_rows(store) == 1
