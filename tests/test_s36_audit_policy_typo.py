"""`--policy` with an id no decision of the trail has (a typo: `florida_blue`, `aspirus`) selected nothing and said
only "No decisions found.", which a pharmacist reads as "this payer had none": the listing and the export now name
the policies the trail holds."""
from __future__ import annotations

import pytest

from cds_service.audit import AuditStore
from cds_service.cli import main
from tests.test_audit import invocation, outcome, store  # noqa: F401  (fixture)
from tests.test_db import database_url  # noqa: F401  (fixture)


@pytest.fixture
def url(store: AuditStore) -> str:  # noqa: F811
    store.record_invocation(invocation("hi-a", "p1", outcome("mr-a", policy="aspirus-magellan")))
    store.record_invocation(invocation("hi-f", "p1", outcome("mr-f", "criteria-not-met", policy="florida-blue")))
    store.flush()
    return store.engine.url.render_as_string(hide_password=False)


@pytest.mark.parametrize("command", [[], ["--feedback"], ["export"]])
def test_a_policy_no_decision_has_is_said_with_the_policies_the_trail_holds(
        url: str, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    assert main(["audit", "--database-url", url, "--policy", "florida_blue", *command]) == 0
    assert 'No decision in the trail is under policy "florida_blue": it holds aspirus-magellan, florida-blue' in \
        capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["--feedback"], ["export"]])
def test_a_policy_of_the_trail_selecting_nothing_is_no_typo(
        url: str, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    assert main(["audit", "--database-url", url, "--policy", "florida-blue", "--decision", "meets-criteria",
                 *command]) == 0
    assert "No decision in the trail is under policy" not in capsys.readouterr().err
