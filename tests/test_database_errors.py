"""A database that will not let the service in is said as such, never as a network outage, and never with its
password: at start-up (the log, /readyz), by `cds-service check --connect` and by `cds-service audit`. PostgreSQL
refusals (a wrong password, a database that does not exist, a role without CONNECT) need a server that asks roles
other than the test's own for their password (.ci/run's pg_hba.conf); nothing listening and SQLite's cases need none."""
from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import uuid
from pathlib import Path
from typing import Any, Iterator

import psycopg
import pytest
from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from cds_service.audit import AuditStore
from cds_service.audit_health import DatabasePing
from cds_service.cli import main
from cds_service.config import ConfigError, Settings
from cds_service.db import create_db_engine, printable_url
from cds_service.db_errors import error_summary, SchemaError
from tests.conftest import close_app, make_app
from tests.live_server import serving
from tests.test_db import POSTGRES_URL, schema_role

SECRET = "s3cret-" + uuid.uuid4().hex[:8]
WRONG = "wr0ng-" + uuid.uuid4().hex[:8]
REFUSED = "password authentication failed: check the user and password of the database URL"


def check(capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, str, str]:
    """`cds-service check --connect` against `url` (CDS_DATABASE_URL): its status, stdout and stderr."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CDS_DATABASE_URL", url)
        env.delenv("CDS_AUTH_CONFIG", raising=False)
        code = main(["check", "--connect"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def audit(capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, str]:
    code = main(["audit", "--database-url", url])
    return code, capsys.readouterr().err


@pytest.fixture
def role() -> Iterator[str]:
    """A role of its own, with the password SECRET, on the test server: CDS_TEST_POSTGRES_URL as that role."""
    if not POSTGRES_URL:
        pytest.skip("CDS_TEST_POSTGRES_URL is not set")
    name = f"cds_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{SECRET}'"))
    url = make_url(POSTGRES_URL).set(username=name, password=SECRET)
    try:
        wrong = create_engine(url.set(password=WRONG))
        try:
            wrong.connect().close()
            pytest.skip("the test server lets a role in with any password (trust in pg_hba.conf; .ci/run's asks)")
        except OperationalError:
            pass
        finally:
            wrong.dispose()
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP OWNED BY "{name}"'))
            connection.execute(text(f'DROP ROLE "{name}"'))
        admin.dispose()


def with_password(url: str, password: str) -> str:
    return make_url(url).set(password=password).render_as_string(hide_password=False)


@pytest.mark.postgres
def test_a_wrong_password_is_said_by_check_and_audit_without_the_password(
        role: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`check` exited 0 without connecting, and `audit` printed "OperationalError" alone."""
    wrong = with_password(role, WRONG)
    code, out, err = check(capsys, wrong)
    assert code == 2 and err.startswith(f"cds-service check: audit database {printable_url(make_url(wrong))} cannot "
                                        "be used: OperationalError / OperationalError while connecting: " + REFUSED)
    code, err = audit(capsys, wrong)
    assert code == 2 and err.endswith(f"OperationalError / OperationalError while connecting: {REFUSED}\n")
    assert WRONG not in out + err and ":***@" in err
    code, out, err = check(capsys, role)  # the right password connects (PostgreSQL 15: no CREATE on public, said)
    assert "connected; " in out + err and REFUSED not in out + err


@pytest.mark.postgres
def test_a_wrong_password_at_start_is_logged_as_such_and_readiness_is_refused(
        role: str, caplog: pytest.LogCaptureFixture) -> None:
    """gunicorn booted, logged `OperationalError ... retried until it answers`, and /healthz said "unreachable": a
    password refused read as a network outage. It still boots (the password may be fixed on the server's side), and
    logs which database refused it and why; /healthz stays 200 (liveness), /readyz is the 503. Both say the cause in
    the service's words, never the password, the user or the server (they answer anyone who reaches them); the log
    names the database, each time a health check's ping fails."""
    wrong = with_password(role, WRONG)
    with caplog.at_level(logging.INFO, logger="cds_service"):
        app = make_app(Settings(database_url=wrong))
    try:
        where = printable_url(make_url(wrong).set(query={}))
        [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert line == (f"audit database unavailable: creating or migrating the audit schema of {where} at start "
                        f"failed (OperationalError / OperationalError while connecting: {REFUSED}); 0 records wait in "
                        f"the memory of pid {os.getpid()}, retried until it answers")
        with serving(app) as client, caplog.at_level(logging.INFO, logger="cds_service"):
            assert client.get("/healthz").status_code == 200
            ready = client.get("/readyz")
        assert ready.status_code == 503
        cause = f"OperationalError / OperationalError while connecting: {REFUSED}"
        assert ready.get_json()["problems"] == [f"database unreachable: {cause}",
                                                f"audit schema not created yet: {cause}"]
        assert ready.get_json()["audit"]["last_error"] == "unavailable"
        assert make_url(role).username not in ready.get_data(as_text=True)
        [ping] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "not ready" in r.msg]
        assert ping == f"audit database {where} not ready for pid {os.getpid()}: OperationalError / OperationalError " \
            "while connecting: " \
            + REFUSED
    finally:
        close_app(app)
    assert WRONG not in caplog.text + ready.get_data(as_text=True)


@pytest.mark.postgres
def test_a_database_that_does_not_exist_is_said(role: str, capsys: pytest.CaptureFixture[str]) -> None:
    missing = make_url(role).set(database=f"cds_missing_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
    code, _, err = check(capsys, missing)
    assert code == 2 and err.endswith("while connecting: the database named in the URL does not exist\n")
    assert SECRET not in err


@pytest.mark.postgres
def test_a_role_that_may_not_connect_is_said(role: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert POSTGRES_URL
    database = f"cds_closed_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
        connection.execute(text(f'REVOKE CONNECT ON DATABASE "{database}" FROM PUBLIC'))
    try:
        code, _, err = check(capsys, make_url(role).set(database=database).render_as_string(hide_password=False))
        assert code == 2 and err.endswith(
            "while connecting: permission denied: the role may not connect to this database (CONNECT privilege)\n")
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{database}"'))
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("privileges, said", [
    ("USAGE", 'connected; the role may not create tables in schema "{schema}" (CREATE privilege): the service could '
              "not create the audit schema (docs/configuration.md, Database)"),
    ("USAGE, CREATE", "connected; no audit schema yet: the service creates it at start"),
])
def test_check_says_whether_the_role_may_create_the_schema(privileges: str, said: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """PostgreSQL 15 no longer grants CREATE on public: check --connect passed a role the start-up then refused."""
    if not POSTGRES_URL:
        pytest.skip("CDS_TEST_POSTGRES_URL is not set")
    with schema_role(privileges) as role:
        code, out, err = check(capsys, role.url)
        assert code == (2 if privileges == "USAGE" else 0)
        assert (err or out).rstrip("\n").endswith(said.format(schema=role.schema))


@pytest.mark.postgres
def test_a_search_path_naming_no_schema_is_said_by_check_and_at_start(capsys: pytest.CaptureFixture[str]) -> None:
    if not POSTGRES_URL:
        pytest.skip("CDS_TEST_POSTGRES_URL is not set")
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path=cds_none_{uuid.uuid4().hex[:8]}"})
    rendered = url.render_as_string(hide_password=False)
    code, _, err = check(capsys, rendered)
    assert code == 2 and err.endswith("connected; no schema of the role's search_path exists: the service would have "
                                      "nowhere to create the audit schema\n")
    with pytest.raises(ConfigError, match="InvalidSchemaName \\(SQLSTATE 3F000\\): no schema of the role's "
                                          "search_path exists"):
        make_app(Settings(database_url=rendered))


def test_nothing_listening_is_said_as_a_refused_connection(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql+psycopg://cds:{SECRET}@127.0.0.1:1/cds"
    code, _, err = check(capsys, url)
    assert code == 2 and err == ("cds-service check: audit database postgresql+psycopg://cds:***@127.0.0.1:1/cds "
                                 "cannot be used: OperationalError / OperationalError while connecting: connection "
                                 "refused: nothing listens at the URL's host and port\n")
    code, err = audit(capsys, url)
    assert code == 2 and err.endswith("connection refused: nothing listens at the URL's host and port\n")
    assert SECRET not in err


@pytest.mark.parametrize("options", ["", "?sslmode=disable"])  # libpq's SSLRequest answered, or its StartupMessage
def test_a_port_answered_by_another_server_is_said(capsys: pytest.CaptureFixture[str], options: str) -> None:
    """An HTTP server at the URL's port (the service's own 8080, say): libpq's words named none of it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        answer = threading.Thread(target=_answer_as_http, args=(listener,), daemon=True)
        answer.start()
        code, _, err = check(capsys, f"postgresql+psycopg://cds:{SECRET}@127.0.0.1:{listener.getsockname()[1]}/cds"
                                f"{options}")
        answer.join(5)
    assert code == 2 and err.endswith("while connecting: the URL's host and port answer, but not as a PostgreSQL "
                                      "server: check the port\n")


def _answer_as_http(listener: socket.socket) -> None:
    connection, _ = listener.accept()
    with connection:
        connection.recv(64)  # libpq's SSLRequest
        connection.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")


@pytest.mark.parametrize("libpq_says, said", [
    ("server does not support SSL, but SSL was required",
     "the server does not offer SSL, which the URL's sslmode requires"),
    ('root certificate file "/home/cds/.postgresql/root.crt" does not exist\nEither provide the file, use the '
     "system's trusted roots with sslrootcert=system, or change sslmode to disable server certificate verification.",
     "sslmode verify-ca or verify-full needs the server's CA certificate: give it as sslrootcert in the URL"),
    ("SSL error: certificate verify failed",
     "the server's certificate is not signed by the URL's sslrootcert (or it has expired)"),
    ('server certificate for "db.internal" does not match host name "10.0.0.5"',
     "the server's certificate does not name the URL's host (sslmode verify-full): use the name it carries"),
])
def test_tls_refusals_are_said_without_libpqs_words(libpq_says: str, said: str) -> None:
    """libpq's own words name files, hosts and users, so they are never printed: each is said in the service's."""
    error = OperationalError(None, None, psycopg.OperationalError(
        f'connection failed: connection to server at "10.0.0.5", port 5432 failed: {libpq_says}'))
    assert error_summary(error) == f"OperationalError / OperationalError while connecting: {said}"


def test_a_file_that_is_no_sqlite_database_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cds.db").write_bytes(b"not a database, " * 100)
    code, _, err = check(capsys, f"sqlite:///{tmp_path / 'cds.db'}")
    assert code == 2 and err.endswith("DatabaseError / DatabaseError (SQLITE_NOTADB) while connecting: the file is not "
                                      "an SQLite database\n"), err


def test_check_without_connect_does_not_connect_and_says_so(capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_DATABASE_URL", f"postgresql+psycopg://cds:{SECRET}@127.0.0.1:1/cds")
    assert main(["check"]) == 0
    assert "audit database: postgresql+psycopg://cds:***@127.0.0.1:1/cds (not connected: --connect tries it)" in \
        capsys.readouterr().out


def test_check_creates_no_sqlite_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = check(capsys, f"sqlite:///{tmp_path / 'cds.db'}")
    assert code == 0 and out.rstrip().endswith(": no SQLite file yet: the service creates it at start")
    assert not (tmp_path / "cds.db").exists()


@pytest.mark.parametrize("url, shown", [
    (f"postgresql+psycopg://cds:{SECRET}@db.internal:5432/cds", "postgresql+psycopg://cds:***@db.internal:5432/cds"),
    # libpq takes a password as a query parameter too, where SQLAlchemy's rendering printed it
    (f"postgresql+psycopg://cds@db.internal/cds?password={SECRET}&sslmode=require",
     "postgresql+psycopg://cds@db.internal/cds?password=***&sslmode=require"),
    (f"postgresql://cds@db.internal/cds?sslpassword={SECRET}", "postgresql://cds@db.internal/cds?sslpassword=***"),
])
def test_a_printed_database_url_never_holds_a_password(url: str, shown: str) -> None:
    assert printable_url(make_url(url)) == shown


def test_the_commands_hide_a_password_given_as_a_query_parameter(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql+psycopg://cds@127.0.0.1:1/cds?password={SECRET}"
    for code, err in (check(capsys, url)[::2], audit(capsys, url)):
        assert code == 2 and "127.0.0.1:1/cds?password=***" in err and SECRET not in err


def test_a_ping_ended_by_an_error_of_no_database_class_is_a_problem(tmp_path: Path) -> None:
    """A probe that ends otherwise than with SELECT 1's answer (a connection factory raising OSError) is not ready:
    the answer defaulted to healthy when only SQLAlchemy's errors were caught."""
    def refuse() -> Any:
        raise OSError("no route to the database")

    ping = DatabasePing(create_engine(f"sqlite:///{tmp_path / 'x.db'}", creator=refuse))
    assert ping.problem() == "OSError"
    assert DatabasePing(create_engine(f"sqlite:///{tmp_path / 'y.db'}")).problem() is None


LOST = "the connection was lost or closed"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """The service's engine on an SQLite file with a table whose foreign key is checked at commit."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'data' / 'cds.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        connection.exec_driver_sql("CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE "
                                   "INITIALLY DEFERRED)")
    yield engine
    engine.dispose()


def _close_under(connection: Connection) -> None:
    """Closes the driver's connection under SQLAlchemy's, as a server ending it would."""
    driver = connection.connection.dbapi_connection
    assert driver is not None
    driver.close()


def test_a_connection_closed_before_its_commit_is_lost_at_commit_not_while_connecting(engine: Engine) -> None:
    """The audit writer's batch commit on a connection the server had closed read "... while connecting", as if the
    database could not be reached at all. The driver's connection closed under the transaction is that case."""
    with pytest.raises(ProgrammingError) as raised:
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO parent VALUES (1)")
            _close_under(connection)
    assert error_summary(raised.value) == f"ProgrammingError / ProgrammingError at commit or rollback: {LOST}"


def test_a_connection_closed_before_a_statement_is_lost_during_a_statement(engine: Engine) -> None:
    with pytest.raises(ProgrammingError) as raised:
        with engine.begin() as connection:
            _close_under(connection)
            connection.exec_driver_sql("INSERT INTO parent VALUES (1)")
    assert error_summary(raised.value) == f"ProgrammingError / ProgrammingError during a statement: {LOST}"


def test_a_commit_refused_on_a_connection_that_stays_usable_is_at_commit(engine: Engine) -> None:
    """Refused without a statement, but not while connecting: a foreign key SQLite checks at commit."""
    with pytest.raises(IntegrityError) as raised:
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO child VALUES (1)")
    assert error_summary(raised.value) == ("IntegrityError / IntegrityError (SQLITE_CONSTRAINT_FOREIGNKEY) at commit "
                                           "or rollback")


def test_connecting_again_after_a_connection_was_lost_is_while_connecting(engine: Engine, tmp_path: Path) -> None:
    """A connection in use, invalidated, that cannot connect again at its next transaction: connecting failed."""
    with engine.connect() as connection:
        connection.invalidate()
        shutil.rmtree(tmp_path / "data")
        with pytest.raises(OperationalError) as raised:
            connection.begin()
    assert error_summary(raised.value) == ("OperationalError / OperationalError (SQLITE_CANTOPEN) while connecting: "
                                           "the SQLite file cannot be opened: its folder is missing or not writable")


def test_a_postgresql_connection_lost_at_commit_is_said_as_lost() -> None:
    """What SQLAlchemy raises when psycopg's commit finds the server gone (the connection broken: invalidated). The
    libpq text is not read as a cause of connecting ("timeout expired" in it is no connect timeout)."""
    lost = psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly (timeout "
                                    "expired)")
    assert error_summary(OperationalError(None, None, lost, connection_invalidated=True)) == \
        f"OperationalError / OperationalError at commit or rollback: {LOST}"
    assert error_summary(OperationalError("INSERT INTO invocation ...", None, lost, connection_invalidated=True)) == \
        f"OperationalError / OperationalError during a statement: {LOST}"


@pytest.mark.postgres
def test_a_postgresql_connection_ended_by_the_server_before_commit_is_lost_at_commit() -> None:
    """The server ends the connection (pg_terminate_backend, as on a restart or an idle timeout) while a transaction
    is open: the commit fails, at commit, the connection lost."""
    if not POSTGRES_URL:
        pytest.skip("CDS_TEST_POSTGRES_URL is not set")
    engine = create_db_engine(POSTGRES_URL)
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with pytest.raises(DBAPIError) as raised:
            with engine.begin() as connection:
                pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
                with admin.connect() as other:
                    other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert error_summary(raised.value) == ("OperationalError / AdminShutdown (SQLSTATE 57P01) at commit or "
                                               f"rollback: {LOST}")
    finally:
        engine.dispose()
        admin.dispose()


# --- options of the URL that libpq would refuse (it checks them only when connecting) ------------------------------

@pytest.mark.parametrize("query, said", [
    ("sslmode=bogus", 'option sslmode is "bogus"; libpq takes one of disable, allow, prefer, require, verify-ca, '
                      "verify-full"),
    ("connect_timeout=abc", 'option connect_timeout is "abc"; libpq takes a whole number'),
    ("keepalives_idle=1.5", 'option keepalives_idle is "1.5"; libpq takes a whole number'),
    ("keepalives=%D9%A1", 'option keepalives is "١"; libpq takes a whole number'),  # an Arabic-Indic digit one
    ("sslmode=require&sslmode=disable", "option sslmode is given more than once"),
    ("sslmod=require", 'option "sslmod" is not a libpq connection option'),
])
def test_an_option_libpq_would_refuse_stops_the_start_up_and_fails_the_checks(
        query: str, said: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`?sslmode=bogus` passed `cds-service check`, gunicorn booted, and /readyz said "OperationalError while
    connecting" for ever, while the records waited in memory, to be lost at the stop."""
    url = f"postgresql+psycopg://cds:{SECRET}@127.0.0.1:1/cds?{query}"
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"CDS_DATABASE_URL": url})
    assert str(raised.value) == f"CDS_DATABASE_URL: the database URL's {said}"
    monkeypatch.setenv("CDS_DATABASE_URL", url)
    monkeypatch.delenv("CDS_AUTH_CONFIG", raising=False)
    assert main(["check"]) == 2
    assert capsys.readouterr().err == f"cds-service check: CDS_DATABASE_URL: the database URL's {said}\n"
    code, err = audit(capsys, url)
    assert code == 2 and f"--database-url: the database URL's {said}" in err
    assert SECRET not in str(raised.value) + err


def test_options_libpq_takes_pass_the_checks() -> None:
    url = ("postgresql://cds@db.internal/cds?sslmode=verify-full&connect_timeout=10&application_name=cds"
           "&keepalives_idle=%2060%20&target_session_attrs=read-write&options=-csearch_path%3Dcds&sslsni=true"
           "&sslcompression=yes")  # libpq reads these two as on when "1", and connects with any value
    assert Settings.from_env({"CDS_DATABASE_URL": url}).database_url == url


def test_a_value_refused_when_connecting_is_said_by_its_option_never_its_value(
        capsys: pytest.CaptureFixture[str]) -> None:
    """What the start-up cannot check (a TLS version libpq does not know) is refused when connecting: the check, the
    log and /readyz name the option, and not its value, which for another option could be a secret (the URL printed
    by the check and the log hides a password)."""
    url = f"postgresql+psycopg://cds:{SECRET}@127.0.0.1:1/cds?ssl_min_protocol_version=TLSv9"
    said = "OperationalError / OperationalError while connecting: the database URL's option ssl_min_protocol_version " \
           "has a value libpq does not take"
    code, _, err = check(capsys, url)
    assert code == 2 and err.endswith(f"cannot be used: {said}\n")
    store = AuditStore(url)
    try:
        assert store.database_problem() == said
    finally:
        store.close()


def test_a_schema_error_is_summarized_with_its_own_words() -> None:
    """/readyz said "audit schema not created yet: SchemaError" for a database a newer release migrated: its message
    is the service's own (a revision, or a summary of the database's error), so it is said whole."""
    said = "the audit database is at schema revision 0099, which this release does not know"
    assert error_summary(SchemaError(said)) == f"SchemaError: {said}"
