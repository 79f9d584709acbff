"""Each card's kind in the audit trail (migration 0015): stored from the card's card-kind extension, shown by `show`,
the feedback listing and the export, and selected by `--card-kind`; rows stored before 0015 read without one."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, text

from cds_service import audit_answer, card_kinds
from cds_service.audit import AuditStore
from cds_service.cli import main
from cds_service.db import create_db_engine
from cds_service.db_schema import alembic_config, migrate
from tests.test_db import database_url  # noqa: F401  (fixture)
from tests.test_duplicate_orders import with_copies

URL = "/cds-services/blinatumomab-coverage"
EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
SOURCES = Path(__file__).resolve().parents[1] / "cds_service"


def _post(client: Any, example: str, hook_instance: str) -> list[dict[str, Any]]:
    body = {**json.loads((EXAMPLES / f"{example}.json").read_text()), "hookInstance": hook_instance}
    response = client.post(URL, json=body)
    assert response.status_code == 200
    cards: list[dict[str, Any]] = response.get_json()["cards"]
    return cards


def _kind(cards: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [card] = [card for card in cards if card["extension"]["card-kind"] == kind]
    return card


@pytest.fixture
def trail(app: Any, client: Any, tmp_path: Path) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Two calls through the app: an approval (a decision card alone) and Florida Blue's dose above its plan limit
    (a decision card and a plan-dose-limit card); the limit card's suggestion accepted, the approval overridden."""
    approved = _kind(_post(client, "aspirus-adult-maintenance", "hi-approved"), "decision")
    limit = _kind(_post(client, "florida-blue-dose-28.4-above-plan-limit", "hi-limit"), "plan-dose-limit")
    feedback = [{"card": limit["uuid"], "outcome": "accepted",
                 "acceptedSuggestions": [{"id": limit["suggestions"][0]["uuid"]}]},
                {"card": approved["uuid"], "outcome": "overridden"}]
    assert client.post(f"{URL}/feedback", json={"feedback": feedback}).status_code == 200
    app.extensions["cds_service"].store.flush()
    yield f"sqlite:///{tmp_path / 'cds.db'}", approved, limit


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_listing_selects_the_decisions_that_issued_a_card_of_a_kind(
        trail: tuple[str, dict[str, Any], dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    url = trail[0]
    for kind, calls in (("plan-dose-limit", ["hi-limit"]), ("decision", ["hi-limit", "hi-approved"]), ("dose", [])):
        code, out, _ = _run(capsys, "audit", "--database-url", url, "--card-kind", kind, "--format", "jsonl")
        assert code == 0
        assert [json.loads(line)["hook_instance"] for line in out.splitlines()] == calls


def test_the_feedback_listing_names_and_selects_the_kind_of_the_card(
        trail: tuple[str, dict[str, Any], dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    url, approved, limit = trail
    _, out, _ = _run(capsys, "audit", "--database-url", url, "--feedback", "--card-kind", "plan-dose-limit",
                     "--format", "jsonl")
    [item] = [json.loads(line) for line in out.splitlines()]
    assert (item["card_uuid"], item["card_topic"], item["card_kind"]) == (limit["uuid"], "limits", "plan-dose-limit")
    _, table, _ = _run(capsys, "audit", "--database-url", url, "--feedback")
    header, _, *rows = table.splitlines()
    assert header.split()[6:8] == ["topic", "kind"]  # "received (UTC)" is two words
    assert sorted(row.split()[6:8] for row in rows) == [["coverage-info", "decision"], ["limits", "plan-dose-limit"]]


def test_show_names_each_cards_topic_and_kind(trail: tuple[str, dict[str, Any], dict[str, Any]],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    url, _, limit = trail
    _, shown, _ = _run(capsys, "audit", "--database-url", url, "show", "hi-limit")
    assert f"{limit['uuid']} (limits, plan-dose-limit) [warning] {limit['summary']}\n" in shown
    assert f"  card {limit['uuid']} (limits, plan-dose-limit): accepted; suggestions" in shown
    _, as_json, _ = _run(capsys, "audit", "--database-url", url, "show", "hi-limit", "--format", "json")
    [call] = json.loads(as_json)
    assert sorted(call["outcomes"][0]["card_kinds"].values()) == ["decision", "plan-dose-limit"]
    assert call["feedback"][0]["card_kind"] == "plan-dose-limit"


def test_the_export_carries_the_kinds_of_the_cards_sent(trail: tuple[str, dict[str, Any], dict[str, Any]],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    url, _, limit = trail
    _, lines, _ = _run(capsys, "audit", "--database-url", url, "export", "--card-kind", "plan-dose-limit")
    [decision] = [json.loads(line) for line in lines.splitlines()]
    assert decision["card_kinds"][limit["uuid"]] == "plan-dose-limit"
    _, table, _ = _run(capsys, "audit", "--database-url", url, "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(table)))
    assert {(row["hook_instance"], row["card_kinds"]) for row in rows} == {
        ("hi-approved", "decision"), ("hi-limit", "decision, plan-dose-limit")}


def test_rejected_calls_have_no_card_kind_to_select(trail: tuple[str, dict[str, Any], dict[str, Any]],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "audit", "--database-url", trail[0], "--rejected", "--card-kind", "dose")
    assert (code, out) == (2, "")
    assert "cannot be combined with --decision, --order, --policy or --card-kind" in err


def test_an_unknown_kind_is_a_usage_error(trail: tuple[str, dict[str, Any], dict[str, Any]],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["audit", "--database-url", trail[0], "--card-kind", "plan-dose-limits"])
    assert stopped.value.code == 2
    assert "invalid choice: 'plan-dose-limits'" in capsys.readouterr().err


def test_the_registry_holds_every_kind_the_service_defines() -> None:
    """A kind defined and not registered in card_kinds.CARD_KINDS could never be selected by --card-kind."""
    defined = {match for path in SOURCES.rglob("*.py")
               for match in re.findall(r'CardKind\("([a-z-]+)", "', path.read_text(encoding="utf-8"))}
    assert len(defined) >= 11
    assert sorted(kind.code for kind in card_kinds.CARD_KINDS) == sorted(defined)


def test_the_trail_reads_the_extension_the_cards_name_their_kind_by() -> None:
    """audit_answer may not import card_kinds (the clinical side): the two names must stay one."""
    assert audit_answer._KIND_EXTENSION == card_kinds.KIND_EXTENSION


def test_migration_0015_keeps_older_cards_without_a_kind_and_downgrades(database_url: str) -> None:  # noqa: F811
    """A card stored at 0014 reads back without a kind; a downgrade drops the column and the feedback time's index,
    keeping every row."""
    engine = create_db_engine(database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0014")
        connection.execute(text(
            "INSERT INTO invocation (time, service_id, hook, hook_instance, status, latency_ms) "
            "VALUES ('2026-11-01 10:00:00', 'blinatumomab-coverage', 'order-sign', 'hi-old', 200, 5.0)"))
        connection.execute(text("INSERT INTO order_outcome (invocation_id, order_id, what_if, criteria, decision) "
                                "VALUES (1, 'MedicationRequest/o1', false, '[]', 'meets-criteria')"))
        connection.execute(text("INSERT INTO issued_card (outcome_id, uuid, kind, topic) "
                                "VALUES (1, 'c1', 'card', 'coverage-info')"))
    migrate(engine)
    with engine.connect() as connection:
        assert _kind_and_index(connection) == (True, True)
        assert connection.execute(text("SELECT card_kind FROM issued_card")).scalars().all() == [None]
    store = AuditStore(database_url)
    try:
        [detail] = store.show("hi-old")
        assert (detail.record.outcomes[0].card_topics, detail.record.outcomes[0].card_kinds) == (
            {"c1": "coverage-info"}, {})
    finally:
        store.close()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0014")
        assert _kind_and_index(connection) == (False, False)
        assert connection.execute(text("SELECT count(*) FROM issued_card")).scalar() == 1
    migrate(engine)
    engine.dispose()


def _kind_and_index(connection: Connection) -> tuple[bool, bool]:
    """Whether the schema has what 0015 adds: issued_card.card_kind, the index of feedback.received_at."""
    schema = inspect(connection)
    return ("card_kind" in {column["name"] for column in schema.get_columns("issued_card")},
            "ix_feedback_received_at" in {index["name"] for index in schema.get_indexes("feedback")})


def test_feedback_on_a_card_told_once_for_two_orders_names_both(app: Any, client: Any, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A likely duplicate's card answers both orders: its feedback line named the first order alone."""
    body = {**with_copies("florida-blue-consolidation", "copy"), "hookInstance": "hi-twice"}
    duplicate = _kind(client.post(URL, json=body).get_json()["cards"], "duplicate-order")
    feedback = {"feedback": [{"card": duplicate["uuid"], "outcome": "overridden"}]}
    assert client.post(f"{URL}/feedback", json=feedback).status_code == 200
    app.extensions["cds_service"].store.flush()
    _, shown, _ = _run(capsys, "audit", "--database-url", f"sqlite:///{tmp_path / 'cds.db'}", "show", "hi-twice")
    assert (f"  card {duplicate['uuid']} (off-guideline, duplicate-order; MedicationRequest/blinatumomab-order, "
            "criteria-not-met; MedicationRequest/copy, criteria-not-met): overridden") in shown
