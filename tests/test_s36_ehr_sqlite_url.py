"""An SQLite URL with two slashes (`sqlite://data/cds.db`) reads its first segment as a host, which SQLAlchemy's
SQLite driver ignores: the service opened `cds.db` in its working directory, and `cds-service check --connect` said
"no SQLite file yet: the service creates it at start". The start-up and the check now refuse it, naming the fix."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cds_service.config import ConfigError, Settings

FIX = "write sqlite:///relative/path/cds.db \\(three slashes\\) or sqlite:////absolute/path/cds.db \\(four\\)"


@pytest.mark.parametrize(("url", "host"), [
    ("sqlite://data/cds.db", "data"),
    ("sqlite://var/lib/cds/cds.db", "var"),
    ("sqlite://localhost/cds.db", "localhost"),
    ("sqlite+pysqlite://data/cds.db", "data"),
])
def test_an_sqlite_url_with_a_host_stops_the_start_up_naming_the_fix(url: str, host: str) -> None:
    with pytest.raises(ConfigError, match=f"^CDS_DATABASE_URL: an SQLite URL names no host, and '{host}' would be "
                                          f"left out of the file's path: {FIX}$"):
        Settings.from_env({"CDS_DATABASE_URL": url})


@pytest.mark.parametrize("slashes", ["///", "////"])
def test_an_sqlite_url_with_three_or_four_slashes_is_taken(tmp_path: Path, slashes: str) -> None:
    relative = os.path.relpath(tmp_path / "cds.db") if slashes == "///" else str(tmp_path / "cds.db").lstrip("/")
    url = f"sqlite:{slashes}{relative}"
    assert Settings.from_env({"CDS_DATABASE_URL": url}).database_url == url


def test_check_refuses_it_and_creates_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "CDS_DATABASE_URL": "sqlite://data/cds.db"}
    env.pop("CDS_AUTH_CONFIG", None)
    done = subprocess.run([sys.executable, "-m", "cds_service.cli", "check", "--connect"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("cds-service check: CDS_DATABASE_URL: an SQLite URL names no host, and 'data'")
    assert list(tmp_path.iterdir()) == []


def test_migrate_refuses_it_too(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "cds_service.cli", "migrate", "--database-url",
                           "sqlite://data/cds.db"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode != 0
    assert "--database-url: an SQLite URL names no host, and 'data'" in done.stderr
    assert list(tmp_path.iterdir()) == []
