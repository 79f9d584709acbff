"""The tools README names answer --help with what they do: build_examples.py wrote the examples when asked for help,
and deletion_sweep.py's help was its docstring's first line, cut mid-sentence."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _help(tool: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(ROOT / "tools" / tool), "--help"], capture_output=True, text=True,
                          env=env, cwd=ROOT, check=True)
    return done.stdout


def test_build_examples_help_writes_nothing() -> None:
    expected = ROOT / "fhir_examples" / "expected.json"
    before = expected.stat().st_mtime_ns
    said = _help("build_examples.py")
    assert said.startswith("usage: build_examples.py") and "tests/test_examples.py posts" in said
    assert "wrote" not in said and expected.stat().st_mtime_ns == before


def test_deletion_sweep_help_says_what_it_flags() -> None:
    said = _help("deletion_sweep.py")
    assert said.startswith("usage: deletion_sweep.py") and "--kind KIND" in said
    assert "`5xx`: the service failed" in said and "some 49,000 variants" in said
