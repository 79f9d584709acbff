"""The Makefile's refusal of an interpreter that cannot run the service, before it makes a virtual environment."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _make(tmp_path: Path, python: str, *goals: str) -> subprocess.CompletedProcess[str]:
    venv = tmp_path / "venv"
    finished = subprocess.run(["make", "-s", "-C", str(ROOT), f"PYTHON={python}", f"VENV={venv}", *goals],
                              capture_output=True, text=True, timeout=60)
    assert not venv.exists()  # refused before the venv was made
    return finished


def test_an_older_python_is_refused_naming_its_version_and_the_way_to_pick_another(tmp_path: Path) -> None:
    old = tmp_path / "python3.9"
    old.write_text('#!/bin/sh\n[ "$1" = -V ] && echo "Python 3.9.2" && exit 0\nexit 1\n')
    old.chmod(0o755)
    finished = _make(tmp_path, str(old), "test")
    assert finished.returncode != 0
    assert f"{old} is Python 3.9.2; the service needs Python 3.11 or newer: make test PYTHON=python3.12" \
        in finished.stderr


def test_a_python_that_does_not_exist_is_said_not_found(tmp_path: Path) -> None:
    finished = _make(tmp_path, "no-such-python-3", "install")
    assert finished.returncode != 0
    assert "no-such-python-3 is not found; the service needs Python 3.11 or newer: make install PYTHON=" \
        in finished.stderr
    assert "/bin/sh" not in finished.stderr
