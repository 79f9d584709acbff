"""`cds-service audit show ORDER-ID` on a busy trail: the newest calls about the order, not every one (39 with the
examples, each a screenful), saying how many more there are and how to see them."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from cds_service.audit import AuditStore
from cds_service.cli import main
from cds_service.cli_audit import SHOW_LIMIT
from tests.test_audit import NOW, invocation, outcome, store  # noqa: F401  (fixture)
from tests.test_db import database_url  # noqa: F401  (fixture)

CALLS = SHOW_LIMIT + 2  # the order signed again and again


@pytest.fixture
def url(store: AuditStore) -> str:  # noqa: F811
    for number in range(CALLS):
        store.record_invocation(invocation(f"hi-{number}", "p1", outcome("MedicationRequest/mr-busy"), time=NOW + timedelta(hours=number)))
    store.record_invocation(invocation("hi-other", "p1", outcome("MedicationRequest/mr-other")))
    store.flush()
    return store.engine.url.render_as_string(hide_password=False)


def _shown(url: str, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[list[str], str]:
    """The hookInstances `show mr-busy --format json` printed, newest first, and what it said on stderr."""
    assert main(["audit", "--database-url", url, *options, "--format", "json"]) == 0
    captured = capsys.readouterr()
    return [call["hook_instance"] for call in json.loads(captured.out)], captured.err


def _newest(count: int) -> list[str]:
    return [f"hi-{number}" for number in range(CALLS - 1, CALLS - 1 - count, -1)]


def test_show_prints_the_newest_calls_and_says_how_to_see_the_rest(url: str,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    shown, said = _shown(url, capsys, "show", "mr-busy")
    assert shown == _newest(SHOW_LIMIT)
    assert said == f"{SHOW_LIMIT} calls shown, the newest; 2 more: --limit {CALLS} for all\n"


@pytest.mark.parametrize("options", [["show", "mr-busy", "--limit", "3"], ["--limit", "3", "show", "mr-busy"]])
def test_show_takes_a_limit_after_or_before_it(url: str, capsys: pytest.CaptureFixture[str],
                                               options: list[str]) -> None:
    shown, said = _shown(url, capsys, *options)
    assert shown == _newest(3)
    assert said == f"3 calls shown, the newest; {CALLS - 3} more: --limit {CALLS} for all\n"


def test_show_within_the_limit_prints_every_call_and_says_nothing_more(url: str,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert _shown(url, capsys, "show", "mr-busy", "--limit", str(CALLS)) == (_newest(CALLS), "")
    assert _shown(url, capsys, "show", "mr-other") == (["hi-other"], "")


def test_the_text_of_show_is_cut_alike(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--database-url", url, "show", "mr-busy", "--limit", "1"]) == 0
    captured = capsys.readouterr()
    assert f"hi-{CALLS - 1}" in captured.out and f"hi-{CALLS - 2}" not in captured.out
    assert captured.err == f"1 call shown, the newest; {CALLS - 1} more: --limit {CALLS} for all\n"


@pytest.mark.parametrize("limit", ["0", "-1", "ten"])
def test_show_refuses_a_limit_that_is_not_a_positive_integer(url: str, capsys: pytest.CaptureFixture[str],
                                                             limit: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["audit", "--database-url", url, "show", "mr-busy", "--limit", limit])
    assert stopped.value.code == 2
    assert "is not a positive integer" in capsys.readouterr().err
