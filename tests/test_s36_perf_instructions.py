"""bench/instructions.py, the process callgrind counts: it answers the realistic request through the whole app (its
audit records written, each with its own patient) or the direct path, and nothing else."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "bench" / "instructions.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_the_whole_app_answers_and_audits_each_request_with_the_writer_held(tmp_path: Path) -> None:
    result = _run("wsgi", "3", "--hold-writer", "--folder", str(tmp_path))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "audit.db") as db:
        rows = db.execute("SELECT patient_id, status FROM invocation ORDER BY patient_id").fetchall()
    assert rows == [(f"bench-patient-{number:08d}", 200) for number in range(3)]
    assert "writing 3 queued audit records" in result.stderr  # held until the exit, then written together


def test_the_direct_path_answers_without_an_audit_trail(tmp_path: Path) -> None:
    result = _run("direct", "2", "--folder", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "2 requests answered" in result.stderr
    assert not (tmp_path / "audit.db").exists()
