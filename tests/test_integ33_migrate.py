"""`cds-service migrate`: the audit schema created or upgraded as a step of its own, without serving. Before it, a
deployment whose service role may not change the schema was told to start the service once with the owning role,
and an upgrade's migration was seen only in the first worker's log."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cds_service.cli import main
from cds_service.db import create_db_engine
from cds_service.db_schema import schema_revision
from tests.test_db import POSTGRES_URL, _postgres_schema_url, schema_role


@pytest.fixture(autouse=True)
def _no_database_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CDS_DATABASE_URL", "CDS_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


def _revision(url: str) -> str | None:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            return schema_revision(connection).current
    finally:
        engine.dispose()


def test_it_creates_the_schema_then_finds_nothing_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path / "data"))  # as the service reads it: created if missing
    database = tmp_path / "data" / "cds.db"
    assert main(["migrate"]) == 0
    head = _revision(f"sqlite:///{database}")
    assert head is not None
    assert capsys.readouterr().out == f"audit database sqlite:///{database}: schema created at revision {head}\n"
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out == (f"audit database sqlite:///{database}: schema already at revision {head}, this "
                                       "release's: nothing to do\n")


def test_a_schema_a_newer_release_migrated_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cds.db'}"
    assert main(["migrate", "--database-url", url]) == 0
    with sqlite3.connect(tmp_path / "cds.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    capsys.readouterr()
    assert main(["migrate", "--database-url", url]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"cds-service migrate: audit database {url}: the audit database is at schema "
                                   "revision 9999, which this release does not know")


@pytest.mark.parametrize(("url", "said"), [
    ("postgresql://cds:secret@127.0.0.1:1/cds",
     "cds-service migrate: audit database postgresql://cds:***@127.0.0.1:1/cds cannot be used: OperationalError / "
     "OperationalError while connecting: connection refused: nothing listens at the URL's host and port\n"),
    ("mysql://cds:secret@db.internal/cds", "cds-service migrate: --database-url: the audit database is PostgreSQL or "
                                           "SQLite, not mysql; expected e.g. postgresql+psycopg://user:password@host:"
                                           "5432/cds or sqlite:///path/cds.db\n"),
])
def test_a_database_it_cannot_use_is_said_in_one_line_without_the_password(
        url: str, said: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--database-url", url]) == 2
    assert capsys.readouterr().err == said


@pytest.mark.postgres
def test_postgresql_with_the_owning_role_and_a_role_without_create(capsys: pytest.CaptureFixture[str]) -> None:
    """The owning role migrates; a role without CREATE on its schema is told so (the service's role, by mistake)."""
    if not POSTGRES_URL:
        pytest.skip("CDS_TEST_POSTGRES_URL is not set")
    for url in _postgres_schema_url(POSTGRES_URL):
        assert main(["migrate", "--database-url", url]) == 0
        assert " schema created at revision " in capsys.readouterr().out
        assert _revision(url) is not None
    with schema_role("USAGE") as role:
        assert main(["migrate", "--database-url", role.url]) == 2
        assert "(SQLSTATE 42501): the database role needs CREATE on its schema" in capsys.readouterr().err
