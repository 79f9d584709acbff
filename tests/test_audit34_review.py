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
from tests.test_audit34_export import one_call_with_feedback
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
    assert "cannot be combined with --decision, --order, --policy or --card-kind" in capsys.readouterr().err


def test_feedback_in_a_call_of_several_orders_names_the_order_and_decision(
        reviewed: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "show", "hi-two", "--database-url", reviewed]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  card card-b")]
    assert line.startswith("  card card-b (coverage-info; mr-b, criteria-not-met): overridden; "
                           "reason Patient-specific clinical judgment (patient-specific); ")


def test_feedback_of_a_call_of_one_order_stays_short(database_url: str,  # noqa: F811
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    one_call_with_feedback(database_url, "hi-one", FeedbackEntry("card-1", "overridden", override_display="Other"))
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


def test_feedback_listing_ties_each_item_to_the_decision_of_its_card(
        reviewed: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = AuditStore(reviewed)
    store.record_feedback(SERVICE, [FeedbackEntry("card-a", "accepted"), FeedbackEntry("card-x", "accepted")], CLIENT)
    store.record_feedback(SERVICE, [FeedbackEntry("card-b", "accepted")], "https://other.example")  # not its card
    store.close()
    rows = _jsonl(capsys, "audit", "--database-url", reviewed, "--feedback", "--format", "jsonl")
    assert [(row["card_uuid"], row["client_iss"], row["order_id"], row["decision"]) for row in rows] == [
        ("card-b", "https://other.example", None, None), ("card-x", CLIENT, None, None),
        ("card-a", CLIENT, "mr-a", "meets-criteria"), ("card-b", CLIENT, "mr-b", "criteria-not-met")]
    overridden = rows[-1]
    assert (overridden["outcome"], overridden["override_code"], overridden["hook_instance"], overridden["policy"]) \
        == ("overridden", "patient-specific", "hi-two", FLORIDA_BLUE)


@pytest.mark.parametrize("filters, cards", [
    (["--decision", "criteria-not-met"], ["card-b"]),
    (["--policy", "aspirus-magellan"], ["card-a"]),
    (["--patient", "p2"], []),
    (["--since", "1h"], ["card-a", "card-b"]),
    (["--until", "1h"], []),  # received just now
])
def test_feedback_listing_filters(reviewed: str, capsys: pytest.CaptureFixture[str], filters: list[str],
                                  cards: list[str]) -> None:
    store = AuditStore(reviewed)
    store.record_feedback(SERVICE, [FeedbackEntry("card-a", "accepted")], CLIENT)
    store.close()
    rows = _jsonl(capsys, "audit", "--database-url", reviewed, "--feedback", "--format", "jsonl", *filters)
    assert [row["card_uuid"] for row in rows] == cards


def test_feedback_table_shows_what_the_clinician_did_and_why(reviewed: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    store = AuditStore(reviewed)
    store.record_feedback(SERVICE, [FeedbackEntry("card-x", "accepted")], CLIENT)
    store.close()
    assert main(["audit", "--database-url", reviewed, "--feedback"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["received", "(UTC)", "outcome", "reason", "comment"]
    assert "card not issued" in lines[2] and "card-x" in lines[2]
    assert "Patient-specific clinical judgment (patient-specific)" in lines[3] and "criteria-not-met" in lines[3]
    assert main(["audit", "--database-url", reviewed, "--feedback", "--rejected"]) == 2
    assert capsys.readouterr().err == "--rejected and --feedback are two listings: choose one\n"
    assert main(["audit", "--database-url", reviewed, "--feedback", "--patient", "nobody"]) == 0
    assert capsys.readouterr().out == "No feedback found.\n"


def test_listing_jsonl_names_the_files_that_decided(database_url: str,  # noqa: F811
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Which policy file and value sets a decision was made with, not only the policy's own version, which an
    edited copy need not change."""
    store = AuditStore(database_url)
    store.start()
    store.record_invocation(invocation("hi-1", "p1", outcome("mr-1", policy_digest="0123456789abcdef",
                                                             policy_source="CDS_POLICY_DIR",
                                                             valueset_digest="fedcba9876543210")))
    store.close()
    [row] = _jsonl(capsys, "audit", "--database-url", database_url, "--format", "jsonl")
    assert (row["policy_version"], row["policy_digest"], row["policy_source"], row["valueset_digest"]) == \
        ("2025-01", "0123456789abcdef", "CDS_POLICY_DIR", "fedcba9876543210")


def test_feedback_on_a_card_issued_twice_is_listed_once_with_the_latest_call(
        database_url: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    """A call sent again issues the same card uuids: the item was listed once per call, twice alike."""
    store = AuditStore(database_url)
    store.start()
    now = datetime.now(timezone.utc)
    for hook_instance, moment in (("hi-first", now - timedelta(minutes=2)), ("hi-again", now - timedelta(minutes=1))):
        store.record_invocation(invocation(hook_instance, "p1", outcome("mr-1", card_uuids=["card-1"]), time=moment))
        store.flush()
    store.record_feedback(SERVICE, [FeedbackEntry("card-1", "accepted")], CLIENT)
    store.close()
    rows = _jsonl(capsys, "audit", "--database-url", database_url, "--feedback", "--format", "jsonl")
    assert [(row["card_uuid"], row["hook_instance"]) for row in rows] == [("card-1", "hi-again")]
