"""An SQLite URI filename as CDS_DATABASE_URL (`sqlite:///file:/path/cds.db?uri=true`,
https://www.sqlite.org/uri.html): its file is the one checked at start (config._sqlite_path), created for the service's
user alone (db_sqlite._create_private) and looked for by `cds-service audit` and `check --connect`, where the URI was taken
for a plain path (a folder `file:` in the working directory, the real file never checked nor found); the parameters
that leave the audit trail unwritable, or its workers unlocked, stop the start."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import make_url, text

from cds_service.audit import AuditStore
from cds_service.cli import main
from cds_service.config import ConfigError, Settings
from cds_service.db import create_db_engine
from cds_service.db_sqlite import sqlite_file
from tests.test_database_errors import audit, check


def refused_to_this_user(monkeypatch: pytest.MonkeyPatch, refused: Path) -> None:
    """`refused` cannot be written: made read-only, and for root (who may write anywhere) os.access says so too."""
    refused.chmod(0o400)
    if os.geteuid() == 0:
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != refused and real_access(path, mode))


@pytest.mark.parametrize("form", ["file:{}", "file://{}", "file://localhost{}"])
def test_the_file_of_an_sqlite_uri_is_the_one_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       form: str) -> None:
    (tmp_path / "a b").mkdir()
    database = tmp_path / "a b" / "cds.db"
    database.touch()
    refused_to_this_user(monkeypatch, database)
    monkeypatch.chdir(tmp_path)
    url = "sqlite:///" + form.format(quote(str(database))) + "?uri=true"
    with pytest.raises(ConfigError, match=f"^CDS_DATABASE_URL: the SQLite file {database} is read-only for this user$"):
        Settings.from_env({"CDS_DATABASE_URL": url})
    assert not (tmp_path / "file:").exists()


def test_a_relative_sqlite_uri_is_read_from_the_working_directory(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cds.db").touch()
    refused_to_this_user(monkeypatch, tmp_path / "cds.db")
    with pytest.raises(ConfigError, match=f"the SQLite file {tmp_path / 'cds.db'} is read-only"):
        Settings.from_env({"CDS_DATABASE_URL": "sqlite:///file:cds.db?uri=true"})


def test_without_uri_true_a_file_name_is_a_path_as_sqlite_reads_it() -> None:
    """SQLAlchemy hands SQLite a URI only with uri=true: without it `file:x` is a file of that name."""
    assert sqlite_file(make_url("sqlite:///file:cds.db?mode=ro")).path == "file:cds.db"


@pytest.mark.parametrize(("query", "said"), [
    ("mode=ro&uri=true", r"opens the file read-only \(mode=ro\)"),
    ("uri=true&immutable=1", r"says the file never changes \(immutable\)"),
    ("uri=true&nolock=YES", r"turns SQLite's locks off \(nolock\)"),
    ("uri=true&immutable=2", r"says the file never changes \(immutable\)"),  # SQLite: a number not 0 is true
    ("uri=true&nolock=01", r"turns SQLite's locks off \(nolock\)"),
    ("uri=true&immutable=Extra", r"says the file never changes \(immutable\)"),  # SQLite's word, as "on"
    ("uri=true&mode=readonly", "SQLite knows no mode 'readonly'"),
])
def test_an_sqlite_uri_leaving_the_trail_unwritable_stops_the_start(tmp_path: Path, query: str, said: str) -> None:
    with pytest.raises(ConfigError, match=f"^CDS_DATABASE_URL: .*{said}"):
        Settings.from_env({"CDS_DATABASE_URL": f"sqlite:///file:{tmp_path}/cds.db?{query}"})


def test_an_sqlite_uri_naming_another_host_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^CDS_DATABASE_URL: an SQLite URI names a file of this machine"):
        Settings.from_env({"CDS_DATABASE_URL": f"sqlite:///file://db.internal{tmp_path}/cds.db?uri=true"})


@pytest.mark.parametrize("query", ["uri=true", "uri=true&mode=rwc&immutable=0&cache=private"])
def test_an_sqlite_uri_is_created_for_the_service_alone_and_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  query: str) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///file:{tmp_path}/data/cds.db?{query}"
    assert Settings.from_env({"CDS_DATABASE_URL": url}).database_url == url
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
    finally:
        engine.dispose()
    assert (tmp_path / "data" / "cds.db").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
    assert not (tmp_path / "file:").exists()


def test_mode_rw_creates_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's mode=rw opens a file that exists: a volume not mounted yet is an outage, not a new empty trail."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///file:{tmp_path}/data/cds.db?uri=true&mode=rw"
    Settings.from_env({"CDS_DATABASE_URL": url})
    create_db_engine(url).dispose()
    assert list(tmp_path.iterdir()) == []


def test_check_says_mode_rw_of_a_missing_file_is_no_trail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check --connect` said "the service creates it at start" of the file mode=rw never creates: every audit
    write of the service would then fail."""
    url = f"sqlite:///file:{tmp_path}/cds.db?uri=true&mode=rw"
    code, _, err = check(capsys, url)
    assert code == 2
    assert err.rstrip().endswith("cannot be used: no SQLite file, and mode=rw opens only one that exists: every audit "
                                 "write fails until it is there")
    assert list(tmp_path.iterdir()) == []


def test_the_cli_finds_the_file_of_an_sqlite_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`audit` said "No audit database" of a file that was there (and, once the file: folder existed, read another
    one); `check --connect` said of it "no SQLite file yet". Neither creates one."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///file:{tmp_path}/cds.db?uri=true"
    assert audit(capsys, url)[0] == 2
    code, out, _ = check(capsys, url)
    assert code == 0 and out.rstrip().endswith("no SQLite file yet: the service creates it at start")
    assert list(tmp_path.iterdir()) == []
    store = AuditStore(url)
    store.start()
    store.close()
    assert audit(capsys, url) == (0, "")
    code, out, _ = check(capsys, url)
    assert code == 0 and "no SQLite file yet" not in out
    assert main(["audit", "--database-url", url, "--rejected"]) == 0
