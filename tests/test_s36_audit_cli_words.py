"""What `cds-service audit` answers an operator who reaches for an option where it does not apply, or looks up an id
the trail does not hold: the reason, in its own words."""
from __future__ import annotations

import pytest

from cds_service.audit import AuditStore
from cds_service.cli import main
from tests.test_audit import invocation, store  # noqa: F401  (fixture)
from tests.test_db import database_url  # noqa: F401  (fixture)


@pytest.fixture
def url(store: AuditStore) -> str:  # noqa: F811
    store.record_invocation(invocation("hi-1", "p1"))
    store.flush()
    return store.engine.url.render_as_string(hide_password=False)


@pytest.mark.parametrize("options", [["--limit", "5"], ["--rejected"], ["--feedback"]])
@pytest.mark.parametrize("after", [False, True])
def test_export_refuses_a_listing_option_before_or_after_it_saying_why(
        url: str, capsys: pytest.CaptureFixture[str], options: list[str], after: bool) -> None:
    """Given after `export`, they were "unrecognized arguments", as if the option did not exist at all."""
    command = ["export", *options] if after else [*options, "export"]
    assert main(["audit", "--database-url", url, *command]) == 2
    captured = capsys.readouterr()
    assert f"export writes every decision selected; {options[0]}: the listing's only" in captured.err
    assert captured.out == ""


def test_show_of_an_unknown_id_names_every_kind_of_id_it_looks_up(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--database-url", url, "show", "no-such-id"]) == 1
    assert ('No call with hookInstance, request id, coverage-assertion-id, card or suggestion uuid, or order '
            '"no-such-id"') in capsys.readouterr().err
