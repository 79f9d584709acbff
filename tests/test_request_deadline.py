"""A PostgreSQL server that does not answer (docs/audit.md §Timeouts): frozen (SIGSTOP: its kernel accepts and
acknowledges, nobody answers; tests/db_outage.PostgresProxy.freeze) or cut off by the network. The request path's
waits (the JWT replay check, the prior approval, feedback) end at their deadline, so the call gets its 503 instead of
hanging until gunicorn kills the worker; connections carry TCP keepalives and a user timeout for the network's case."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import pytest
from sqlalchemy import event, make_url, text
from sqlalchemy.exc import OperationalError

from cds_service import audit
from cds_service.audit import AuditStore
from cds_service.audit_rows import FeedbackEntry
from cds_service.config import Settings
from cds_service.db import create_db_engine, current_deadline, deadline
from cds_service.db_errors import error_summary, is_unavailable
from cds_service.db_postgres import TCP_SETTINGS
from tests.db_outage import PostgresProxy, proxy  # noqa: F401  (fixture)
from tests.test_auth import JwksServer, auth_config, call, ec_token, jwks_server  # noqa: F401  (fixture)
from tests.test_db import POSTGRES_URL, _postgres_schema_url
from tests.test_jti_release import accepted_once
from tests.test_outages import ends_within_guard, served

NO_ANSWER = "no answer within the request's 1 s: the database is frozen, overloaded or cut off"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("CDS_TEST_POSTGRES_URL is not set")
    yield from _postgres_schema_url(POSTGRES_URL)


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "REQUEST_WAIT_SECONDS", 1.0)


def test_a_deadline_inside_another_ends_no_later_than_it() -> None:
    assert current_deadline() is None
    with deadline(1.0):
        outer = current_deadline()
        with deadline(60.0):
            assert current_deadline() == outer
        with deadline(0.5):
            inner = current_deadline()
            assert inner is not None and outer is not None and inner[0] < outer[0] and inner[1] == 0.5
        assert current_deadline() == outer
    assert current_deadline() is None


@pytest.mark.postgres
def test_postgresql_connections_have_tcp_keepalives_and_a_user_timeout(postgres_url: str) -> None:
    """A server the network cut off: libpq's keepalives and tcp_user_timeout end the wait. A URL's own values win."""
    for url, idle in ((postgres_url, TCP_SETTINGS["keepalives_idle"]),
                      (make_url(postgres_url).update_query_dict({"keepalives_idle": "7"})
                       .render_as_string(hide_password=False), "7")):
        engine = create_db_engine(url)
        with engine.connect() as connection:
            parameters = connection.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
        engine.dispose()
        assert {key: parameters[key] for key in TCP_SETTINGS} == {**TCP_SETTINGS, "keepalives_idle": idle}


@pytest.mark.postgres
def test_a_signed_call_gets_a_503_from_a_frozen_database_not_a_hung_worker(
        proxy: PostgresProxy, tmp_path: Path, jwks_server: JwksServer, short_deadline: None) -> None:
    """Both gunicorn workers hung in the JWT replay check until gunicorn's timeout killed them: the clients' connections
    were reset, and the calls left no audit record. The server stays frozen until the answer is in: it can only come
    from the deadline (the client's own timeout is a hang guard)."""
    config_file = tmp_path / "auth.json"
    config_file.write_text(json.dumps(auth_config(jwks_server.url)))
    settings = Settings.from_env({"CDS_AUTH_CONFIG": str(config_file), "CDS_DATABASE_URL": proxy.url})
    with served(settings) as (app, client):
        store: AuditStore = app.extensions["cds_service"].store
        assert call(client, ec_token()).status_code == 200  # the pool now holds a connection the freeze will hold
        proxy.freeze()
        # A pooled connection, whose ping gives up at the deadline; then, with none left in the pool, a new one, whose
        # connect timeout (2 s: libpq takes no less) ends it.
        for _ in range(2):
            response = call(client, ec_token())
            assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
        assert client.get("/healthz").status_code == 200
        proxy.up()
        assert call(client, ec_token()).status_code == 200
        assert store.flush(20)
        reasons = [row.reason or "" for row in store.rejected()]
        assert len(reasons) == 2 and any(NO_ANSWER in reason for reason in reasons), reasons
        assert all(NO_ANSWER in reason or "while connecting: no answer within the connect timeout" in reason
                   for reason in reasons), reasons
        assert store.status().lost == {}


def _prior_approval(store: AuditStore) -> None:
    store.prior_approval("p1", None, None, "florida-blue", (), date(2026, 12, 1))


def _feedback(store: AuditStore) -> None:
    entry = FeedbackEntry(card_uuid="c1", outcome="accepted",
                          outcome_timestamp=datetime(2026, 11, 20, tzinfo=timezone.utc))
    store.record_feedback("blinatumomab-coverage", [entry])


def _jti(store: AuditStore) -> None:
    store.use_jti("a-jti", datetime.now(timezone.utc) + timedelta(minutes=5))


@pytest.mark.postgres
@pytest.mark.parametrize("ask", [_prior_approval, _feedback, _jti])
def test_the_request_paths_reads_and_writes_give_up_on_a_frozen_database(
        proxy: PostgresProxy, short_deadline: None, ask: Callable[[AuditStore], None]) -> None:
    store = AuditStore(proxy.url)
    store.start()
    raised: list[Exception] = []

    def asked() -> None:
        try:
            ask(store)
        except OperationalError as exc:
            raised.append(exc)

    try:
        asked()
        assert raised == []
        proxy.freeze()
        assert ends_within_guard(asked), "the request waited on a frozen database"
        [error] = raised
        assert is_unavailable(error) and error_summary(error).endswith(NO_ANSWER)
    finally:
        proxy.up()
        store.close()


@pytest.mark.postgres
def test_a_deadline_cuts_a_slow_statement_and_waits_outside_one_are_not_cut(postgres_url: str) -> None:
    """The audit writer's waits and the listings of `cds-service audit` have no deadline: a slow answer is an
    answer. The connection cut is dropped: the next one is new."""
    engine = create_db_engine(postgres_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT pg_sleep(1.5), 1")).one()[1] == 1
            first = connection.connection.dbapi_connection
        with deadline(0.5), pytest.raises(OperationalError) as raised, engine.connect() as connection:
            connection.execute(text("SELECT pg_sleep(3)"))
        assert error_summary(raised.value).endswith("no answer within the request's 0.5 s: the database is frozen, "
                                                    "overloaded or cut off")
        with engine.connect() as connection:
            assert connection.connection.dbapi_connection is not first
            assert connection.execute(text("SELECT 2")).scalar() == 2
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_jti_whose_commit_the_deadline_cut_is_released_for_the_retry(proxy: PostgresProxy,
                                                                       short_deadline: None) -> None:
    """The server made the COMMIT, its answer did not come before the deadline: the call got its 503, and the
    client's retry with the same token was refused as a replay. The row is released (tests/test_jti_release.py)."""
    store = AuditStore(proxy.url)
    store.start()
    expires = datetime.now(timezone.utc) + timedelta(minutes=5)
    try:
        assert store.use_jti("first", expires) is True  # the purge of expired ids done: the next COMMIT is the jti's
        event.listen(store.engine, "commit", lambda _connection: proxy.mute(), once=True)
        with pytest.raises(OperationalError) as raised:
            store.use_jti("retried", expires)
        assert error_summary(raised.value).endswith(NO_ANSWER)
        proxy.up()
        accepted_once(store, "retried", expires)
    finally:
        proxy.up()
        store.close()
