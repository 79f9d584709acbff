"""A database that answers but refuses every write (docs/audit.md §When the database is unavailable): read-only (a
failover onto a standby, `default_transaction_read_only`), a privilege revoked, an SQLite file that takes no writes.
That is an outage for the service, never a 500 and never a reason to drop the records: calls that need the database
get a 503, the records wait and are written once the database takes writes again, and /readyz says why. A record the
database refuses for itself (a constraint) is still given up alone (tests/test_audit.py)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from cds_service import audit_health
from cds_service.audit import AuditStore
from cds_service.config import Settings
from cds_service.db_errors import is_unavailable, READ_ONLY
from tests.live_server import LiveClient
from tests.test_audit import count_invocations, invocation
from tests.test_auth import BASE, JwksServer, auth_config, call, claims, ec_token, jwks_server  # noqa: F401
from tests.test_db import POSTGRES_URL, SchemaRole, schema_role
from tests.test_outages import eventually, hook_call, served

SERVICE = "/cds-services/blinatumomab-coverage"
FEEDBACK = SERVICE + "/feedback"
FEEDBACK_BODY = {"feedback": [{"card": "c1", "outcome": "accepted"}]}


def _error(sqlstate: str) -> DBAPIError:
    """psycopg's error for `sqlstate`, wrapped by SQLAlchemy as a statement's error is."""
    return DBAPIError.instance("INSERT ...", None, psycopg.errors.lookup(sqlstate)("refused"), psycopg.Error)


@pytest.mark.parametrize("sqlstate", ["25006", "42501", "25P02", "25P03", "57P01", "53100"])
def test_a_database_refusing_every_write_is_unavailable(sqlstate: str) -> None:
    assert is_unavailable(_error(sqlstate))


@pytest.mark.parametrize("sqlstate", ["23505", "23502", "22001", "54000", "42P01"])
def test_a_database_refusing_the_rows_themselves_is_not(sqlstate: str) -> None:
    """A constraint, a value too long, a row over a limit: the same rows would be refused again."""
    assert not is_unavailable(_error(sqlstate))


def fail_over(role: SchemaRole, read_only: bool) -> None:
    """The role's sessions read-only from now on (or writable again), as on a standby; with `read_only`, its open
    sessions ended, as a failover ends them. Sessions opened while read-only stay so."""
    setting = "SET default_transaction_read_only = on" if read_only else "RESET default_transaction_read_only"
    role.sql(f'ALTER ROLE "{role.name}" {setting}')
    if read_only:
        role.sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role.name}'")


@pytest.fixture
def role() -> Iterator[SchemaRole]:
    """A role owning the audit schema it creates, in a schema of its own."""
    if not POSTGRES_URL:
        pytest.skip("CDS_TEST_POSTGRES_URL is not set")
    with schema_role("USAGE, CREATE") as owner:
        yield owner


def readiness(client: LiveClient) -> tuple[int, dict[str, Any]]:
    response = client.get("/readyz")
    return response.status_code, response.get_json()


@pytest.mark.postgres
def test_a_read_only_database_is_a_503_and_the_records_wait_for_it(role: SchemaRole, tmp_path: Path,
                                                                   jwks_server: JwksServer) -> None:
    """Every signed call and feedback call answered 500 "Internal error", every record was dropped as refused, and
    /readyz said ok. Ended by a failover onto a writable server, whose sessions the pool had kept read-only."""
    config_file = tmp_path / "auth.json"
    config_file.write_text(json.dumps(auth_config(jwks_server.url)))
    settings = Settings.from_env({"CDS_AUTH_CONFIG": str(config_file), "CDS_DATABASE_URL": role.url})
    with served(settings) as (app, client):
        store: AuditStore = app.extensions["cds_service"].store
        assert call(client, ec_token()).status_code == 200
        fail_over(role, read_only=True)
        feedback_token = ec_token(claims(aud=BASE + FEEDBACK))
        feedback = client.post(FEEDBACK, json=FEEDBACK_BODY, headers={"Authorization": f"Bearer {feedback_token}"})
        for response in (call(client, ec_token()), feedback):
            assert response.status_code == 503
            assert response.headers["Retry-After"].isdigit()
            assert response.get_json()["issue"][0]["code"] == "transient"
        status, body = readiness(client)
        assert (status, body["database"], body["problems"][0]) == (503, "read-only", READ_ONLY)
        assert store.status().lost == {} and store.status().backlog >= 2  # the 503s' records wait
        fail_over(role, read_only=False)  # the pooled sessions were opened read-only
        eventually(lambda: readiness(client)[0] == 200, 20)
        assert store.flush(20)
        assert store.status().lost == {}
        rejected = store.rejected()
        assert sorted((row.hook, row.status) for row in rejected) == [("feedback", 503), ("order-sign", 503)]
        assert all(row.reason and "(SQLSTATE 25006): the database is read-only" in row.reason for row in rejected)
        assert call(client, ec_token()).status_code == 200


@pytest.mark.postgres
def test_the_health_checks_ping_asks_a_new_session_once_the_database_takes_writes(role: SchemaRole) -> None:
    store = AuditStore(role.url)
    try:
        fail_over(role, read_only=True)
        assert store.database_problem() == READ_ONLY
        fail_over(role, read_only=False)  # the session the ping had is still read-only
        assert store.database_problem() is None
    finally:
        store.close()


@pytest.mark.postgres
def test_a_privilege_revoked_keeps_the_records_until_it_is_granted_again(role: SchemaRole,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`REVOKE INSERT ON invocation`: the calls were answered, and every record was dropped as refused. Feedback,
    stored at once, answered 500."""
    monkeypatch.setattr(audit_health, "STALLED_SECONDS", 0.5)
    with served(Settings(database_url=role.url)) as (app, client):
        store: AuditStore = app.extensions["cds_service"].store
        assert hook_call(client, "before").status_code == 200 and store.flush(10)
        role.sql(f'REVOKE INSERT ON "{role.schema}".invocation, "{role.schema}".feedback FROM "{role.name}"')
        for index in range(3):
            assert hook_call(client, f"revoked-{index}").status_code == 200
        assert client.post(FEEDBACK, json=FEEDBACK_BODY).status_code == 503
        eventually(lambda: readiness(client)[0] == 503)
        [problem] = readiness(client)[1]["problems"]
        assert problem.startswith("audit writes failing or hanging for ")
        assert problem.endswith("ProgrammingError / InsufficientPrivilege (SQLSTATE 42501): permission denied for "
                                "table invocation: the role lacks a privilege the audit trail needs "
                                "(docs/configuration.md, Database)")
        assert (store.status().backlog, store.status().lost) == (4, {})
        role.sql(f'GRANT INSERT ON "{role.schema}".invocation, "{role.schema}".feedback TO "{role.name}"')
        assert store.flush(20)
        assert count_invocations(store) == 5 and store.status().lost == {}
        assert client.post(FEEDBACK, json=FEEDBACK_BODY).status_code == 200
        eventually(lambda: readiness(client)[0] == 200)


def _query_only(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA query_only = 1")  # SQLite refuses every write, as for a read-only file


def test_an_sqlite_file_taking_no_writes_keeps_the_records_and_says_why(tmp_path: Path) -> None:
    store = AuditStore(f"sqlite:///{tmp_path / 'cds.db'}")
    store.start()
    try:
        event.listen(store.engine, "connect", _query_only)
        store.engine.dispose()
        store.record_invocation(invocation("read-only"))
        eventually(lambda: store.status().stalled_cause is not None)
        assert store.status().stalled_cause == ("OperationalError / OperationalError (SQLITE_READONLY): the SQLite "
                                                "file is read-only")
        assert (store.status().backlog, store.status().lost) == (1, {})
        event.remove(store.engine, "connect", _query_only)
        store.engine.dispose()
        assert store.flush(10) and [d.record.hook_instance for d in store.show("read-only")] == ["read-only"]
    finally:
        store.close()
