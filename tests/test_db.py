"""Engine creation and migrations, against SQLite and (with CDS_TEST_POSTGRES_URL) PostgreSQL.

The `database_url` fixture here is shared by the other audit test modules: `from tests.test_db import database_url`.
Each PostgreSQL test gets a schema of its own (via the connection's search_path), dropped afterwards.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, insert, inspect, make_url, select, text

from alembic import command

from cds_service.audit import AuditStore
from cds_service.config import ConfigError, Settings
from cds_service.db import create_db_engine
from cds_service.db_errors import SchemaError
from cds_service.db_models import Base, Invocation, OrderOutcomeRow
from cds_service.db_schema import alembic_config, migrate
from cds_service.db_writes import insert_rows, largest_ids, _SqliteInsert, write_transaction
from tests.conftest import close_app, make_app
from tests.live_server import serving

POSTGRES_URL = os.environ.get("CDS_TEST_POSTGRES_URL")
HOOK_CALL = Path(__file__).resolve().parent.parent / "fhir_examples" / "aspirus-adult-maintenance.json"
TABLES = {"invocation", "order_outcome", "issued_card", "feedback", "used_jti", "alembic_version"}


def _postgres_schema_url(base_url: str) -> Iterator[str]:
    schema = f"cds_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass(frozen=True)
class SchemaRole:
    """A role of the test's own, with a password (a server may ask roles other than the test's for one), and a fresh
    schema it was granted privileges on: `url` connects as the role there, `admin` as the test server's role."""

    name: str
    schema: str
    url: str
    admin: Engine

    def sql(self, statement: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(statement))


@contextmanager
def schema_role(privileges: str) -> Iterator[SchemaRole]:
    """A SchemaRole with `privileges` ("USAGE, CREATE") on its schema; the role, its objects and the schema dropped
    afterwards. Needs CDS_TEST_POSTGRES_URL."""
    assert POSTGRES_URL
    name, password = f"cds_test_{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    for url in _postgres_schema_url(POSTGRES_URL):  # one fresh schema, dropped when the loop ends
        schema = make_url(url).query["options"].split("=", 1)[1]
        as_role = make_url(url).set(username=name, password=password).render_as_string(hide_password=False)
        role = SchemaRole(name, schema, as_role, admin)
        role.sql(f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'")
        role.sql(f'GRANT {privileges} ON SCHEMA "{schema}" TO "{name}"')
        try:
            yield role
        finally:
            role.sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{name}'")
            role.sql(f'DROP OWNED BY "{name}"')
            role.sql(f'DROP ROLE "{name}"')
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: an SQLite file in a data directory not yet created, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'audit.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("CDS_TEST_POSTGRES_URL is not set")
    yield from _postgres_schema_url(POSTGRES_URL)


def test_sqlite_engine_creates_the_data_directory_and_uses_wal_and_a_larger_page_cache(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'new' / 'dir' / 'cds.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5_000
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -32_000  # KiB: 32 MB, not the 2 MB default
    assert (tmp_path / "new" / "dir" / "cds.db").exists()
    engine.dispose()


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which a file created without a mode of its own is readable by every user."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_a_new_data_directory_and_its_database_are_the_service_users_alone(tmp_path: Path, umask_022: None) -> None:
    """The audit trail holds PHI, and its folder, database, -wal and -shm files were created readable by every user
    (0755 and 0644)."""
    data = tmp_path / "data"
    application = make_app(Settings.from_env({"CDS_DATA_DIR": str(data)}))
    try:
        with serving(application) as client:
            assert client.post("/cds-services/blinatumomab-coverage", data=HOOK_CALL.read_bytes(),
                               content_type="application/json").status_code == 200
        application.extensions["cds_service"].store.flush()  # written: the -wal and -shm files are there while open
        files = [data / name for name in ("cds.db", "cds.db-wal", "cds.db-shm")]
        assert [(path.name, mode(path)) for path in [data, *files]] == [
            ("data", 0o700), ("cds.db", 0o600), ("cds.db-wal", 0o600), ("cds.db-shm", 0o600)]
    finally:
        close_app(application)


def test_an_existing_folder_and_database_keep_the_modes_the_operator_gave_them(tmp_path: Path,
                                                                               umask_022: None) -> None:
    """Opened to a group on purpose (a backup user's, say): only what the service creates is made private."""
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o750)
    database = data / "cds.db"
    database.touch()
    database.chmod(0o640)
    engine = create_db_engine(f"sqlite:///{database}")
    try:
        migrate(engine)  # writes the schema: the -wal and -shm files are there while the pool holds a connection
        modes = [mode(path) for path in (data, database, data / "cds.db-wal", data / "cds.db-shm")]
        assert modes == [0o750, 0o640, 0o640, 0o640]  # SQLite gives -wal and -shm the database file's mode
    finally:
        engine.dispose()


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    engine = create_db_engine("postgresql://user@127.0.0.1:1/nowhere")
    assert engine.dialect.driver == "psycopg"


def test_migrate_creates_the_schema_and_is_idempotent(database_url: str) -> None:
    engine = create_db_engine(database_url)
    migrate(engine)
    migrate(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["0015"]
    engine.dispose()


def test_migrate_says_in_the_log_when_it_moves_the_schema(
        database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """After an upgrade the log says whether, when and where the schema moved; a worker with nothing to do is
    silent."""
    engine = create_db_engine(database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0010")
    with caplog.at_level("INFO", logger="cds_service.db"):
        migrate(engine)
        migrate(engine)
    assert [record.getMessage() for record in caplog.records if record.name == "cds_service.db"] == [
        "audit schema migrated from revision 0010 to 0015"]
    engine.dispose()


def test_migrate_says_in_the_log_when_it_creates_the_schema(
        database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    engine = create_db_engine(database_url)
    with caplog.at_level("INFO", logger="cds_service.db"):
        migrate(engine)
    assert [record.getMessage() for record in caplog.records if record.name == "cds_service.db"] == [
        "audit schema created at revision 0015"]
    engine.dispose()


def _decided_at(engine: Engine, revision: str, hook_instance: str) -> Config:
    """The schema at `revision`, holding one call and its decision as that release wrote them; the Alembic config
    for further steps."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.execute(text(
            "INSERT INTO invocation (time, service_id, hook, hook_instance, status, latency_ms) "
            "VALUES ('2026-11-01 10:00:00', 'blinatumomab-coverage', 'order-sign', :hook_instance, 200, 5.0)"),
            {"hook_instance": hook_instance})
        connection.execute(text(
            "INSERT INTO order_outcome (invocation_id, order_id, decision, what_if, criteria) "
            "VALUES (1, 'MedicationRequest/o1', 'meets-criteria', false, '[]')"))
    return config


def _carded_at(engine: Engine, revision: str, hook_instance: str) -> Config:
    """`_decided_at`, with a card issued with the decision: "c1"."""
    config = _decided_at(engine, revision, hook_instance)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO issued_card (outcome_id, uuid, kind) VALUES (1, 'c1', 'card')"))
    return config


def test_an_older_trail_upgrades_with_its_rows(database_url: str) -> None:
    """Rows written before migration 0003 read back with the new outcome details empty."""
    engine = create_db_engine(database_url)
    _decided_at(engine, "0002", "hi-old")
    migrate(engine)
    engine.dispose()
    store = AuditStore(database_url)
    [detail] = store.show("hi-old")
    store.close()
    [outcome] = detail.record.outcomes
    assert (outcome.decision, outcome.missing, outcome.authorization, outcome.not_received) == (
        "meets-criteria", [], None, [])


def test_migration_0006_downgrades_keeping_every_row_and_upgrades_again(database_url: str) -> None:
    """On SQLite a batch-mode drop copies the table: dropping the copied `invocation` would empty `order_outcome`
    and `issued_card` through ON DELETE CASCADE, since the service's connections enforce foreign keys."""
    engine = create_db_engine(database_url)
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO invocation (time, service_id, hook, hook_instance, status, latency_ms, user_id) "
            "VALUES ('2026-11-01 10:00:00', 'blinatumomab-coverage', 'order-sign', 'hi-1', 200, 5.0, 'Practitioner/1')"
        ))
        connection.execute(text(
            "INSERT INTO order_outcome (invocation_id, order_id, what_if, criteria, policy_digest) "
            "VALUES (1, 'MedicationRequest/o1', false, '[]', '0123456789abcdef')"))
        connection.execute(text(
            "INSERT INTO issued_card (outcome_id, uuid, kind, summary) VALUES (1, 'c1', 'card', 'Meets criteria')"))
    config = alembic_config()
    for step, revision, has_columns in ((command.downgrade, "0005", False), (command.upgrade, "head", True)):
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)
        with engine.connect() as connection:
            counts = [connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                      for table in ("invocation", "order_outcome", "issued_card")]
            columns = {column["name"] for column in inspect(connection).get_columns("order_outcome")}
        assert counts == [1, 1, 1]
        assert ("policy_digest" in columns) is has_columns
    engine.dispose()


def test_migration_0007_keeps_older_decisions_without_indications_and_downgrades(database_url: str) -> None:
    """A decision recorded at 0006 reads back with no indications (null, not a guess); a downgrade drops the column
    and keeps every row, its issued cards included (SQLite's batch drop would have deleted them by cascade)."""
    engine = create_db_engine(database_url)
    config = _carded_at(engine, "0006", "hi-0006")
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT indications FROM order_outcome")).scalar() is None
    store = AuditStore(database_url)
    [detail] = store.show("hi-0006")
    store.close()
    assert [outcome.indications for outcome in detail.record.outcomes] == [[]]
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    with engine.connect() as connection:
        counts = [connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                  for table in ("invocation", "order_outcome", "issued_card")]
        columns = {column["name"] for column in inspect(connection).get_columns("order_outcome")}
    engine.dispose()
    assert counts == [1, 1, 1]
    assert "indications" not in columns and "policy_digest" in columns


def test_migration_0008_keeps_feedback_as_received_and_downgrades_working_out_card_known(database_url: str) -> None:
    """Feedback stored at 0007 keeps its rows; whether its card was issued is worked out when read, so a row flagged
    unknown because its call was written after it (another worker's queue) reads as on that call's card. The column
    stays, nullable and unwritten, so an older release's worker can still insert during a rolling upgrade. A
    downgrade works it out from the cards issued for the rows stored since, NOT NULL as 0007 had it."""
    engine = create_db_engine(database_url)
    config = _carded_at(engine, "0007", "hi-0007")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO feedback (received_at, service_id, card_uuid, card_known, outcome, accepted_suggestions) "
            "VALUES ('2026-11-01 10:00:00', 'blinatumomab-coverage', :card, false, 'accepted', '[]')"),
            [{"card": "c1"}, {"card": "never-issued"}])
    migrate(engine)
    with engine.begin() as connection:
        [column] = [c for c in inspect(connection).get_columns("feedback") if c["name"] == "card_known"]
        assert column["nullable"] is True  # kept, not written: an older release's worker still inserts it
        connection.execute(text(
            "INSERT INTO feedback (received_at, service_id, card_uuid, outcome, accepted_suggestions) "
            "VALUES ('2026-11-01 10:01:00', 'blinatumomab-coverage', 'c1', 'accepted', '[]')"))
    store = AuditStore(database_url)
    [detail] = store.show("hi-0007")
    store.close()
    assert [(entry.card_uuid, entry.outcome) for entry in detail.feedback] == [("c1", "accepted")] * 2
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")
    with engine.connect() as connection:
        known = list(connection.execute(text("SELECT card_uuid, card_known FROM feedback")))
        [column] = [c for c in inspect(connection).get_columns("feedback") if c["name"] == "card_known"]
        counts = [connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                  for table in ("invocation", "order_outcome", "issued_card", "feedback")]
    # As stored at 0007 (false, decided on arrival), and the row stored since worked out from the cards issued.
    assert sorted((card, bool(flag)) for card, flag in known) == [("c1", False), ("c1", True), ("never-issued", False)]
    assert column["nullable"] is False and counts == [1, 1, 1, 3]
    migrate(engine)
    engine.dispose()


def test_migration_0009_keeps_older_calls_and_their_own_clients_feedback_and_downgrades(database_url: str) -> None:
    """A call recorded at 0008 reads back with no request id (null: it was never kept) and is found as before. Its
    client's feedback stored then takes the call's tenant, and is still shown with it; another client's is not. A
    downgrade drops the columns and the index and keeps every row."""
    engine = create_db_engine(database_url)
    config = _carded_at(engine, "0008", "hi-0008")
    with engine.begin() as connection:
        connection.execute(text("UPDATE invocation SET client_iss = 'https://a.example', tenant = 'site-a'"))
        connection.execute(text(
            "INSERT INTO feedback (received_at, service_id, card_uuid, outcome, accepted_suggestions, client_iss) "
            "VALUES ('2026-11-01 10:00:00', 'blinatumomab-coverage', :card, 'overridden', '[]', :client)"),
            [{"card": "c1", "client": "https://a.example"}, {"card": "c1", "client": "https://b.example"},
             {"card": "c1", "client": None}, {"card": "never-issued", "client": "https://a.example"}])
    migrate(engine)
    with engine.connect() as connection:
        tenants = list(connection.execute(text("SELECT tenant FROM feedback ORDER BY id")).scalars())
    store = AuditStore(database_url)
    [detail] = store.show("hi-0008")
    store.close()
    assert detail.record.request_id is None
    assert tenants == ["site-a", None, None, None]
    assert [(entry.client_iss, entry.tenant) for entry in detail.feedback] == [("https://a.example", "site-a")]
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
    with engine.connect() as connection:
        columns = {column["name"] for column in inspect(connection).get_columns("invocation")}
        feedback_columns = {column["name"] for column in inspect(connection).get_columns("feedback")}
        indexes = {index["name"] for index in inspect(connection).get_indexes("invocation")}
        counts = [connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                  for table in ("invocation", "order_outcome", "issued_card", "feedback")]
    migrate(engine)
    engine.dispose()
    assert "request_id" not in columns and "ix_invocation_request_id" not in indexes and "user_id" in columns
    assert "tenant" not in feedback_columns and "client_iss" in feedback_columns
    assert counts == [1, 1, 1, 4]


def test_migration_0010_keeps_older_suggestions_without_created_orders_and_downgrades(database_url: str) -> None:
    """A suggestion recorded at 0009 reads back creating nothing (null: it was never kept); one recorded since keeps
    the orders its create actions make. A downgrade drops the column and keeps every row."""
    engine = create_db_engine(database_url)
    config = _carded_at(engine, "0009", "hi-0009")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO issued_card (outcome_id, uuid, kind, card_uuid, label) "
            "VALUES (1, 's1', 'suggestion', 'c1', 'Split into 2 orders, one per cycle')"))
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT creates FROM issued_card WHERE uuid = 's1'")).scalar() is None
    store = AuditStore(database_url)
    [detail] = store.show("hi-0009")
    [outcome] = detail.record.outcomes
    assert (outcome.suggestion_uuids, outcome.suggestion_creates) == (["s1"], {})
    store.record_invocation(replace(detail.record, hook_instance="hi-0010", outcomes=[replace(
        outcome, suggestion_creates={"s1": ["MedicationRequest/new-1"]})]))
    store.flush()
    [since] = store.show("hi-0010")
    store.close()
    assert since.record.outcomes[0].suggestion_creates == {"s1": ["MedicationRequest/new-1"]}
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")
    with engine.connect() as connection:
        columns = {column["name"] for column in inspect(connection).get_columns("issued_card")}
        counts = [connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                  for table in ("invocation", "order_outcome", "issued_card")]
    migrate(engine)
    engine.dispose()
    assert "creates" not in columns and "label" in columns
    assert counts == [2, 2, 4]


def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_db_engine(database_url)
    migrate(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_a_schema_migrated_by_a_newer_release_stops_the_start_up_with_one_line(database_url: str) -> None:
    """A rollback of the service on the upgraded database: alembic only said it could not locate the revision, in a
    traceback."""
    engine = create_db_engine(database_url)
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(SchemaError, match="^the audit database is at schema revision 0099, which this release does "
                                          "not know \\(its newest is 0015\\): a newer release migrated it"):
        migrate(engine)
    engine.dispose()
    with pytest.raises(ConfigError, match="^the audit database is at schema revision 0099.*restore the database from "
                                          "before the upgrade$"):
        make_app(Settings(database_url=database_url))


@pytest.mark.postgres
def test_a_role_that_cannot_create_the_schema_stops_the_start_up_naming_the_privilege() -> None:
    """A role with CONNECT only (PostgreSQL 15 no longer grants CREATE on `public` to everyone)."""
    if not POSTGRES_URL:
        pytest.skip("CDS_TEST_POSTGRES_URL is not set")
    with schema_role("USAGE") as role:
        with pytest.raises(ConfigError, match="^cannot create or upgrade the audit schema: ProgrammingError / "
                                              "InsufficientPrivilege \\(SQLSTATE 42501\\): the database role needs "
                                              "CREATE on its schema"):
            make_app(Settings(database_url=role.url))


def test_workers_starting_at_once_migrate_without_errors(database_url: str) -> None:
    """Like several gunicorn workers booting together on an empty database: separate processes."""
    code = ("import sys; from cds_service.db import create_db_engine; from cds_service.db_schema import migrate; "
            "migrate(create_db_engine(sys.argv[1]))")
    workers = [subprocess.Popen([sys.executable, "-c", code, database_url], stderr=subprocess.PIPE) for _ in range(3)]
    errors = [worker.communicate(timeout=60)[1].decode() for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0], errors
    engine = create_db_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine.dispose()


def test_a_sqlite_write_transaction_holds_the_write_lock_from_its_start(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    migrate(engine)
    other = sqlite3.connect(tmp_path / "audit.db", timeout=0, isolation_level=None)
    with write_transaction(engine):
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")  # no statement has run yet, and the lock is already taken
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()
    engine.dispose()


def test_insert_rows_stores_what_an_insert_of_sqlalchemy_would_with_the_ids_the_database_would_give(
        database_url: str) -> None:
    """On SQLite insert_rows gives the ids itself and bypasses SQLAlchemy's parameter handling (db_writes._SqliteInsert):
    each column must still be stored as SQLAlchemy stores it (a datetime's text, JSON through the engine's
    serializer, a boolean), and the ids must follow the largest one, as the database's own would: read by
    insert_rows, or given to it (largest_ids, one query for several tables)."""
    engine = create_db_engine(database_url)
    migrate(engine)
    invocation = {"time": datetime(2026, 3, 1, 12, 0, 0), "service_id": "s", "hook": "order-sign",
                  "hook_instance": "h", "client_iss": None, "tenant": "t", "patient_id": "p", "user_id": None,
                  "encounter_id": None, "request_id": "r", "status": 200, "latency_ms": 3.5, "reason": None}
    outcome = {"order_id": "o", "policy": None, "policy_version": "1", "decision": "d", "indication": None,
               "request_type": "initial", "cycle": 2, "coverage_assertion_id": None, "what_if": True,
               "criteria": [{"id": "c", "note": "≥ 18 – \ud800", "on": date(2026, 1, 2), "n": Decimal("1.5")}],
               "indications": [{"id": "i", "status": "not-met", "not_met": ["i.c"], "unknown": []}],
               "missing": None, "authorization": {"start": "2026-03-01"}, "not_received": [],
               "coverage_reference": None, "policy_digest": None, "policy_source": "shipped",
               "valueset_digest": None, "no_plan_reason": None, "covered": None, "pa_needed": None}
    with write_transaction(engine) as connection:
        first = connection.execute(insert(Invocation).returning(Invocation.id), invocation).scalar_one()
        largest = largest_ids(connection, (Invocation, OrderOutcomeRow))
        assert largest == ([first, 0] if connection.dialect.name == "sqlite" else [None, None])  # PostgreSQL: RETURNING
        ids = insert_rows(connection, Invocation, [invocation, {**invocation, "time": datetime(2026, 3, 1, 12, 0, 1)}],
                          largest_id=largest[0])
        assert ids == [first + 1, first + 2]
        connection.execute(insert(OrderOutcomeRow), {**outcome, "invocation_id": first})
        insert_rows(connection, OrderOutcomeRow, [{**outcome, "invocation_id": ids[0]}])
        stored = {name: connection.execute(text(f"SELECT * FROM {name} ORDER BY id")).all()
                  for name in ("invocation", "order_outcome")}
        assert connection.execute(select(Invocation.id).order_by(Invocation.id)).scalars().all() == [first, *ids]
    by_sqlalchemy, *by_insert_rows = stored["invocation"]
    assert by_insert_rows[0][1:] == by_sqlalchemy[1:]
    by_sqlalchemy, by_insert_rows = stored["order_outcome"]
    assert by_insert_rows[2:] == by_sqlalchemy[2:]  # all but the id and the invocation's
    engine.dispose()


@pytest.mark.parametrize("moment", [datetime(2026, 3, 1, 12, 0, 0), datetime(2026, 12, 31, 23, 59, 59, 999_999),
                                    datetime(999, 1, 2, 3, 4, 5, 6), datetime(1, 1, 1)])
def test_insert_rows_writes_a_datetime_as_the_text_of_sqlalchemy_on_sqlite(moment: datetime) -> None:
    """db_writes._SqliteInsert writes a time by datetime.isoformat, not SQLAlchemy's processor: the same text."""
    dialect = create_engine("sqlite://").dialect
    by_sqlalchemy = Invocation.__table__.c.time.type.dialect_impl(dialect).bind_processor(dialect)
    by_insert_rows = dict(_SqliteInsert(dialect, Invocation)._processors)[1]  # the time follows the id
    assert by_insert_rows(moment) == by_sqlalchemy(moment)
