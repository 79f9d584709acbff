"""`cds-service check`: the start-up checks and what the service would apply, without serving or a request."""
from __future__ import annotations

import pytest

from cds_service.cli import main


def test_it_lists_the_plans_the_value_sets_the_templates_and_the_mode(capsys: pytest.CaptureFixture[str],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_DATABASE_URL", "postgresql+psycopg://cds:secret@db.internal:5432/cds")
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "policy aspirus-magellan: Aspirus Health Plan, version 2023, file " in out
    assert "policy florida-blue: Florida Blue, version 09-J2000-26" in out and "never applied" not in out
    assert "value sets: digest " in out and "card templates: " in out
    assert "local mode: no JWT required" in out
    assert "audit database: postgresql+psycopg://cds:***@db.internal:5432/cds" in out and "secret" not in out


def test_a_bad_setting_is_named_and_exits_2(capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_FETCH_BUDGET_SECONDS", "0")
    assert main(["check"]) == 2
    assert capsys.readouterr().err.startswith("cds-service check: CDS_FETCH_BUDGET_SECONDS")
