"""A data folder where nothing can be created stops the start-up (docs/configuration.md, CDS_DATA_DIR). os.access
asks only the permission bits, and for root says yes to any folder of a writable mount: as root, CDS_DATA_DIR=/proc/x
started a service whose audit trail could never be created, logged at ERROR, /readyz answering 503. The start-up now
makes and removes an empty folder there."""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from cds_service.config import ConfigError, Settings

PROC = Path("/proc")
needs_proc = pytest.mark.skipif(not (PROC / "self").is_dir(), reason="no /proc file system here")


@needs_proc
@pytest.mark.parametrize("data_dir", ["/proc/x", "/proc/cds/data", "/proc"])
def test_a_data_directory_in_proc_stops_the_start_up_naming_it(data_dir: str) -> None:
    # Root is told by the folder it could not make; another user, by the permission bits.
    said = "nothing can be created in /proc \\(No such file or directory\\): give a folder of a writable file system" \
        if os.geteuid() == 0 else "cannot write in /proc"
    with pytest.raises(ConfigError, match=f"^CDS_DATA_DIR {data_dir}: {said}$"):
        Settings.from_env({"CDS_DATA_DIR": data_dir})
    with pytest.raises(ConfigError, match=f"^CDS_DATABASE_URL {data_dir}: {said}$"):
        Settings.from_env({"CDS_DATABASE_URL": f"sqlite:///{data_dir}/cds.db"})


def refusing(code: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Making a folder fails with `code`, as it would where the permission bits say yes and the system says no;
    the folders it was asked to make in."""
    asked: list[str] = []

    def mkdtemp(*_args: Any, dir: str, **_kwargs: Any) -> str:  # noqa: A002  (tempfile's own name)
        asked.append(str(dir))
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    return asked


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR])
def test_a_folder_the_system_refuses_to_create_in_stops_the_start_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    asked = refusing(code, monkeypatch)
    with pytest.raises(ConfigError, match=f"^CDS_DATA_DIR {tmp_path / 'data'}: nothing can be created in {tmp_path} "
                                          f"\\({os.strerror(code)}\\)"):
        Settings.from_env({"CDS_DATA_DIR": str(tmp_path / "data")})
    assert asked == [str(tmp_path)]  # the nearest folder that exists


@pytest.mark.parametrize("code", [errno.EIO, errno.ESTALE, errno.ETIMEDOUT])
def test_a_folder_failing_for_now_is_left_to_the_start_as_an_outage(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    """A network file system away for now: the service starts, and rides the outage out (docs/audit.md)."""
    refusing(code, monkeypatch)
    assert Settings.from_env({"CDS_DATA_DIR": str(tmp_path)}).database_url == f"sqlite:///{tmp_path / 'cds.db'}"


@pytest.mark.parametrize("existing", [True, False])
def test_the_check_leaves_nothing_behind(tmp_path: Path, existing: bool) -> None:
    data = tmp_path / "data"
    if existing:
        data.mkdir()
        (data / "cds.db").touch(mode=0o600)
    before = sorted(tmp_path.rglob("*"))
    Settings.from_env({"CDS_DATA_DIR": str(data)})
    assert sorted(tmp_path.rglob("*")) == before
