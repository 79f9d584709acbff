"""`cds-service audit show` limits the query, not its printout: on a trail of a million calls, an order signed
again and again must not load every call about it (with its outcomes, cards and feedback) to print ten. One call
more than shown is read, and the calls are counted in the database only when some are left out."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Iterator

import pytest
from sqlalchemy import event

from cds_service.audit import AuditStore
from cds_service.cli import main
from cds_service.db_models import Invocation
from tests.test_audit import NOW, invocation, outcome, store  # noqa: F401  (fixture)
from tests.test_db import database_url  # noqa: F401  (fixture)

CALLS = 30


@pytest.fixture
def url(store: AuditStore) -> str:  # noqa: F811
    for number in range(CALLS):
        store.record_invocation(invocation(f"hi-{number}", "p1", outcome("MedicationRequest/mr-busy"),
                                           time=NOW + timedelta(minutes=number)))
    store.flush()
    return store.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def loaded() -> Iterator[list[int]]:
    """The ids of the calls the ORM builds from the rows the database returns, while the test runs."""
    ids: list[int] = []

    def count(target: Invocation, _context: Any) -> None:
        ids.append(target.id)

    event.listen(Invocation, "load", count)
    yield ids
    event.remove(Invocation, "load", count)


def test_show_reads_one_call_more_than_it_prints(url: str, loaded: list[int],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--database-url", url, "show", "mr-busy", "--limit", "3", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert [call["hook_instance"] for call in json.loads(captured.out)] == ["hi-29", "hi-28", "hi-27"]
    assert len(loaded) == 4  # without the query's LIMIT, all 30
    assert captured.err == f"3 calls shown, the newest; {CALLS - 3} more: --limit {CALLS} for all\n"


def test_show_within_the_limit_reads_what_it_prints_and_counts_nothing(url: str, loaded: list[int],
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--database-url", url, "show", "hi-7"]) == 0
    captured = capsys.readouterr()
    assert "hi-7" in captured.out and captured.err == ""
    assert len(loaded) == 1


def test_the_store_counts_what_show_finds_without_loading_it(store: AuditStore,  # noqa: F811
                                                             url: str, loaded: list[int]) -> None:
    for key in ("mr-busy", "MedicationRequest/mr-busy"):
        details, total = store.show_counted(key, 2)
        assert [detail.record.hook_instance for detail in details] == ["hi-29", "hi-28"] and total == CALLS
    assert [(len(details), total) for details, total in (store.show_counted("hi-3", 2),
                                                        store.show_counted("nothing", 2))] == [(1, 1), (0, 0)]
    assert len(loaded) == 5  # the calls shown alone
