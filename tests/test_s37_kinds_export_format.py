"""`cds-service audit --format table export`: export writes no table, and wrote JSON lines without a word; it is
refused, saying what export writes, while the listing's `--format jsonl` before `export` and export's own `--format`
keep working."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from cds_service.cli import main
from tests.test_audit34_export import trail  # noqa: F401  (fixture)
from tests.test_db import database_url  # noqa: F401  (fixture)


def test_the_listings_table_format_is_refused_by_export(trail: str, tmp_path: Path,  # noqa: F811
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "review.txt"
    assert main(["audit", "--format", "table", "export", "--output", str(target), "--database-url", trail]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == (
        "export writes JSON lines (the default) or CSV (--format csv after export); --format table is the listing's\n")
    assert not target.exists()


@pytest.mark.parametrize("argv", [["export"], ["--format", "jsonl", "export"], ["export", "--format", "jsonl"]])
def test_export_writes_json_lines_by_default_or_as_the_listings_jsonl(trail: str, argv: list[str],  # noqa: F811
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", *argv, "--database-url", trail]) == 0
    decisions = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [decision["hook_instance"] for decision in decisions] == ["hi-1", "hi-2", "hi-3"]


def test_exports_own_format_after_it_is_the_one_written(trail: str,  # noqa: F811
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--format", "table", "export", "--format", "csv", "--database-url", trail]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {row["hook_instance"] for row in rows} == {"hi-1", "hi-2", "hi-3"}
