"""`cds-service audit show`: the listing's options it refuses are those `_add_filters` defines (a filter added there
cannot be forgotten), and counting the calls left out reuses the lookup of the calls that created the order."""
from __future__ import annotations

import argparse
from typing import Any

import pytest

from cds_service import audit_queries, cli_audit
from cds_service.cli import main
from tests.test_audit import store  # noqa: F401  (fixture)
from tests.test_db import database_url  # noqa: F401  (fixture)
from tests.test_s37_ops_show_query_limit import CALLS, url  # noqa: F401  (fixture: CALLS calls about mr-busy)


def test_show_refuses_a_filter_added_to_the_listings(url: str, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    add_filters = cli_audit._add_filters

    def with_ward(parser: argparse.ArgumentParser, default: Any) -> None:
        add_filters(parser, default)
        parser.add_argument("--ward", default=default)

    monkeypatch.setattr(cli_audit, "_add_filters", with_ward)
    assert main(["audit", "--database-url", url, "--ward", "5B", "--card-kind", "dose", "show", "hi-1"]) == 2
    assert capsys.readouterr().err.startswith("show finds calls by KEY alone and takes no --card-kind, --ward: ")


def test_show_refuses_each_listing_option(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    for given in (["--since", "7d"], ["--decision", "meets-criteria"], ["--rejected"], ["--feedback"]):
        assert main(["audit", "--database-url", url, *given, "show", "hi-1"]) == 2
        assert f"takes no {given[0]}: " in capsys.readouterr().err


def test_show_counting_the_calls_left_out_looks_up_the_creating_calls_once(
        url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    creating, looked_up = audit_queries._creating, []

    def counted(*args: Any) -> list[int]:
        looked_up.append(args[1])
        return creating(*args)

    monkeypatch.setattr(audit_queries, "_creating", counted)
    assert main(["audit", "--database-url", url, "show", "mr-busy", "--limit", "2"]) == 0
    assert capsys.readouterr().err == f"2 calls shown, the newest; {CALLS - 2} more: --limit {CALLS} for all\n"
    assert looked_up == ["MedicationRequest/mr-busy"]
