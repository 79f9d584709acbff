"""A payer pharmacist's review of the audit trail (docs/audit.md): decisions found by payer, feedback tied to the card
and the decision it was about, `show --format json` as the trail holds it; on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest

from cds_service.audit import AuditStore
from cds_service.audit_rows import FeedbackEntry
from cds_service.cli import main
from tests.test_audit import CLIENT, invocation, outcome
from tests.test_db import database_url  # noqa: F401  (fixture)

FLORIDA_BLUE = "florida-blue"
SERVICE = "blinatumomab-coverage"


@pytest.fixture
def reviewed(database_url: str) -> Iterator[str]:  # noqa: F811
    """One call deciding two orders (Aspirus met, Florida Blue not met), feedback on the denial's card; one Aspirus
    call a day earlier."""
    now = datetime.now(timezone.utc)
    store = AuditStore(database_url)
    store.start()
    store.record_invocation(invocation("hi-early", "p1", outcome("mr-early"), time=now - timedelta(days=1)))
    store.record_invocation(invocation(
        "hi-two", "p1",
        outcome("mr-a", card_uuids=["card-a"], card_topics={"card-a": "coverage-info"}),
        outcome("mr-b", "criteria-not-met", policy=FLORIDA_BLUE, card_uuids=["card-b"],
                card_topics={"card-b": "coverage-info"}),
        time=now - timedelta(hours=1)))
    store.flush()
    store.record_feedback(SERVICE, [FeedbackEntry("card-b", "overridden", override_code="patient-specific",
                                                  override_display="Patient-specific clinical judgment")], CLIENT)
    store.close()
    yield database_url


def _jsonl(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, object]]:
    assert main(list(argv)) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_policy_finds_the_decisions_of_one_payer(reviewed: str, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _jsonl(capsys, "audit", "--database-url", reviewed, "--format", "jsonl", "--policy", FLORIDA_BLUE)
    assert [(row["order_id"], row["decision"]) for row in rows] == [("mr-b", "criteria-not-met")]
    rows = _jsonl(capsys, "audit", "--database-url", reviewed, "--format", "jsonl", "--policy", "aspirus-magellan")
    assert [row["order_id"] for row in rows] == ["mr-a", "mr-early"]
    assert _jsonl(capsys, "audit", "--database-url", reviewed, "--format", "jsonl", "--policy", "other") == []


def test_policy_with_rejected_is_a_usage_error(reviewed: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--database-url", reviewed, "--rejected", "--policy", FLORIDA_BLUE]) == 2
    assert "cannot be combined with --decision, --order or --policy" in capsys.readouterr().err


def test_feedback_in_a_call_of_several_orders_names_the_order_and_decision(
        reviewed: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "show", "hi-two", "--database-url", reviewed]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  card card-b")]
    assert line.startswith("  card card-b (coverage-info; mr-b, criteria-not-met): overridden; "
                           "reason Patient-specific clinical judgment (patient-specific); ")


def test_feedback_of_a_call_of_one_order_stays_short(database_url: str,  # noqa: F811
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    store = AuditStore(database_url)
    store.start()
    store.record_invocation(invocation("hi-one", "p1", outcome("mr-1", card_uuids=["card-1"])))
    store.flush()
    store.record_feedback(SERVICE, [FeedbackEntry("card-1", "overridden", override_display="Other")], CLIENT)
    store.close()
    assert main(["audit", "show", "hi-one", "--database-url", database_url]) == 0
    assert "  card card-1: overridden; reason Other; received " in capsys.readouterr().out


def test_show_json_ties_feedback_to_its_order_and_leaves_out_what_is_not_stored(
        reviewed: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "show", "card-b", "--database-url", reviewed, "--format", "json"]) == 0
    [call] = json.loads(capsys.readouterr().out)
    [feedback] = call["feedback"]
    assert (feedback["order_id"], feedback["decision"], feedback["card_topic"]) == \
        ("mr-b", "criteria-not-met", "coverage-info")
    assert feedback["override_code"] == "patient-specific"
    # handed_out is worked out per request and never stored: it read false for every decision shown
    assert all("handed_out" not in order for order in call["outcomes"])
    assert [order["policy"] for order in call["outcomes"]] == ["aspirus-magellan", FLORIDA_BLUE]
