"""Mutation testing of s38's `audit show` (audit_queries.show_counted, cli_audit._shown): the calls are counted in
the database only when some are left out. Every call shown, the count had been made all the same (an `if` that
never held left the output alike): one more query over the whole trail for each `show` of a quiet order."""
from __future__ import annotations

from typing import Any, Iterator

import pytest
from sqlalchemy import Engine, event

from cds_service.cli import main
from tests.test_audit import store  # noqa: F401  (fixture)
from tests.test_db import database_url  # noqa: F401  (fixture)
from tests.test_s37_ops_show_query_limit import CALLS, url  # noqa: F401  (fixture: CALLS calls about mr-busy)


@pytest.fixture
def counts() -> Iterator[list[str]]:
    """The COUNT statements any engine runs while the test does."""
    found: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "count(" in statement.lower():
            found.append(statement)

    event.listen(Engine, "before_cursor_execute", seen)
    yield found
    event.remove(Engine, "before_cursor_execute", seen)


@pytest.mark.parametrize(("limit", "counted"), [(CALLS - 1, 1), (CALLS, 0), (CALLS + 5, 0)])
def test_show_counts_the_calls_only_when_some_are_left_out(url: str, counts: list[str], limit: int, counted: int,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--database-url", url, "show", "mr-busy", "--limit", str(limit)]) == 0
    left_out = f"{limit} calls shown, the newest; {CALLS - limit} more: --limit {CALLS} for all\n"
    assert capsys.readouterr().err == (left_out if counted else "")
    assert len(counts) == counted
