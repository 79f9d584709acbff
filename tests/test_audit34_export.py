"""`cds-service audit export`: the decisions selected for a payer's review, as JSON lines or CSV, with their policy
version and digests, criteria and feedback; on SQLite and PostgreSQL, and from a trail written by real calls."""
from __future__ import annotations

import csv
import io
import json
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask

from cds_service import audit_queries, cli_audit
from cds_service.audit import AuditStore
from cds_service.audit_export import CSV_COLUMNS
from cds_service.audit_rows import FeedbackEntry
from cds_service.cli import main
from tests.live_server import LiveClient
from tests.test_audit import CLIENT, invocation, outcome
from tests.test_db import database_url  # noqa: F401  (fixture)

SERVICE = "blinatumomab-coverage"
EXAMPLES = Path(__file__).resolve().parent.parent / "fhir_examples"
MET = {"id": "ind.age", "status": "met", "citation": "Aspirus III", "text": "Age 15 or older",
       "evidence": ["Patient/p1"], "note": "born 1980-05-10", "attested": False}
NOT_MET = {"id": "ind.mrd", "status": "not-met", "citation": "Aspirus III (MRD)", "text": "MRD positive",
           "evidence": ["Observation/mrd-1", "Observation/mrd-2"], "note": "MRD negative (2026-11-15)",
           "attested": True}


@pytest.fixture
def trail(database_url: str) -> Iterator[str]:  # noqa: F811
    """p1: an approval, then a denial with two criteria whose card was overridden; p2 (an id a spreadsheet would
    run): a call without a plan."""
    now = datetime.now(timezone.utc)
    store = AuditStore(database_url)
    store.start()
    store.record_invocation(invocation("hi-1", "p1", outcome("mr-1", criteria=[MET], policy_digest="abc123",
                                                             valueset_digest="def456", policy_source="shipped"),
                                       time=now - timedelta(days=2)))
    store.record_invocation(invocation(
        "hi-2", "p1", outcome("mr-2", "criteria-not-met", criteria=[MET, NOT_MET], card_uuids=["card-2"],
                              card_topics={"card-2": "coverage-info"}, covered="not-covered",
                              indications=[{"id": "ind", "status": "not-met", "not_met": ["ind.mrd"], "unknown": [],
                                            "notes": {"ind.mrd": "MRD negative (2026-11-15)"}}]),
        time=now - timedelta(days=1)))
    store.record_invocation(invocation("hi-3", "=cmd|' /C calc'!A0", outcome(
        "mr-3", None, policy=None, no_plan_reason="payer-not-supported", authorization=None), time=now))
    store.flush()
    store.record_feedback(SERVICE, [FeedbackEntry("card-2", "overridden", override_code="other",
                                                  override_comment="=HYPERLINK(\"x\")")], CLIENT)
    store.close()
    yield database_url


def one_call_with_feedback(database_url: str, hook_instance: str, entry: FeedbackEntry) -> None:
    """A trail of one call deciding order mr-1 of patient p1 with card card-1, and `entry` on that card."""
    store = AuditStore(database_url)
    store.start()
    store.record_invocation(invocation(hook_instance, "p1", outcome("mr-1", card_uuids=["card-1"])))
    store.flush()
    store.record_feedback(SERVICE, [entry], CLIENT)
    store.close()


def _export(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str]:
    assert main(["audit", *argv]) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_jsonl_has_one_object_a_decision_oldest_first_with_criteria_and_feedback(
        trail: str, capsys: pytest.CaptureFixture[str]) -> None:
    out, err = _export(capsys, "export", "--database-url", trail)
    decisions = [json.loads(line) for line in out.splitlines()]
    assert [decision["order_id"] for decision in decisions] == ["mr-1", "mr-2", "mr-3"]
    assert err == "3 decisions exported\n"
    first, denied, _ = decisions
    assert list(denied)[-1] == "feedback"  # after the order's fields, which it is about
    assert (first["policy_version"], first["policy_digest"], first["valueset_digest"]) == \
        ("2025-01", "abc123", "def456")
    assert first["criteria"] == [MET]
    assert denied["hook_instance"] == "hi-2" and denied["patient_id"] == "p1" and denied["status"] == 200
    [feedback] = denied["feedback"]
    assert (feedback["outcome"], feedback["order_id"], feedback["decision"]) == \
        ("overridden", "mr-2", "criteria-not-met")
    assert first["feedback"] == []


@pytest.mark.parametrize("argv, orders", [
    (["export", "--decision", "criteria-not-met"], ["mr-2"]),
    (["--decision", "criteria-not-met", "export"], ["mr-2"]),  # a filter given before the action holds
    (["export", "--patient", "p1", "--policy", "aspirus-magellan"], ["mr-1", "mr-2"]),
    (["export", "--decision", "no-plan"], ["mr-3"]),
    (["export", "--order", "MedicationRequest/mr-1"], []),  # the factory's order ids have no type
    (["export", "--since", "36h"], ["mr-2", "mr-3"]),
])
def test_filters_select_what_is_exported(trail: str, capsys: pytest.CaptureFixture[str], argv: list[str],
                                         orders: list[str]) -> None:
    out, err = _export(capsys, *argv, "--database-url", trail)
    assert [json.loads(line)["order_id"] for line in out.splitlines()] == orders
    assert err == f"{len(orders)} decision{'' if len(orders) == 1 else 's'} exported\n"


def test_csv_has_one_row_a_criterion(trail: str, capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = _export(capsys, "export", "--format", "csv", "--database-url", trail)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(row["order"], row["criterion"], row["criterion_status"]) for row in rows] == [
        ("mr-1", "ind.age", "met"), ("mr-2", "ind.age", "met"), ("mr-2", "ind.mrd", "not-met"), ("mr-3", "", "")]
    denied = rows[2]
    assert denied["criterion_citation"] == "Aspirus III (MRD)"
    assert denied["criterion_evidence"] == "Observation/mrd-1, Observation/mrd-2"
    assert denied["criterion_note"] == "MRD negative (2026-11-15)" and denied["criterion_attested"] == "true"
    assert denied["policy_version"] == "2025-01" and denied["covered"] == "not-covered"
    assert denied["indications_evaluated"] == "not-met ind: mrd; mrd: MRD negative (2026-11-15)"
    assert denied["feedback"].startswith("card card-2 (coverage-info): overridden; reason other; ")
    assert rows[0]["feedback"] == "" and rows[0]["authorization_start"] == "2026-11-01"
    assert datetime.fromisoformat(rows[0]["time_utc"]) < datetime.now()  # a spreadsheet's date and time
    assert rows[3]["decision"] == "no-plan" and rows[3]["no_plan_reason"] == "payer-not-supported"


def test_csv_cells_a_spreadsheet_would_run_are_quoted(trail: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A patient id or a clinician's comment starting with "=" is the client's text, not a formula to run."""
    out, _ = _export(capsys, "export", "--format", "csv", "--database-url", trail)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[3]["patient"] == "'=cmd|' /C calc'!A0"
    assert all(not value.startswith(("=", "+", "@")) for row in rows for value in row.values())
    assert 'comment "=HYPERLINK(\\"x\\")"' in rows[2]["feedback"]  # quoted inside the cell, not at its start


def test_output_is_a_new_file_of_its_owner_alone(trail: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "review.csv"
    _, err = _export(capsys, "export", "--format", "csv", "--output", str(target), "--database-url", trail)
    assert err == f"3 decisions exported to {target}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # it holds PHI: notes, patient ids
    assert target.read_bytes().startswith(b"\xef\xbb\xbftime_utc,hook,")  # the BOM by which Excel reads UTF-8
    before = target.read_bytes()
    assert main(["audit", "export", "--output", str(target), "--database-url", trail]) == 2
    assert "File exists" in capsys.readouterr().err and target.read_bytes() == before  # never overwritten


def test_an_export_that_fails_leaves_no_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file cut short would pass for the whole selection."""
    target = tmp_path / "review.jsonl"
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    assert main(["audit", "export", "--output", str(target), "--database-url", missing]) == 2
    assert "No audit database at" in capsys.readouterr().err and not target.exists()


def test_export_reads_in_batches_with_the_feedback_of_each(database_url: str,  # noqa: F811
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 2 over 5 decisions: each decision once, in order, with its own card's feedback (the feedback read
    while the batch's cursor is open)."""
    monkeypatch.setattr(audit_queries, "_EXPORT_BATCH", 2)
    store = AuditStore(database_url)
    store.start()
    for number in range(5):
        store.record_invocation(invocation(f"hi-{number}", "p1", outcome(f"mr-{number}", card_uuids=[f"card-{number}"]),
                                           time=datetime(2026, 11, 20, 12, number, tzinfo=timezone.utc)))
    store.flush()
    store.record_feedback(SERVICE, [FeedbackEntry("card-3", "accepted")], CLIENT)
    exported = [(detail.record.outcomes[0].order_id, [entry.card_uuid for entry in detail.feedback])
                for detail in store.export(audit_queries.Selection())]
    store.close()
    assert exported == [("mr-0", []), ("mr-1", []), ("mr-2", []), ("mr-3", ["card-3"]), ("mr-4", [])]


def _post(client: LiveClient, example: str) -> dict[str, Any]:
    response = client.post("/cds-services/blinatumomab-coverage", json=json.loads((EXAMPLES / example).read_text()))
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def test_export_of_real_calls_carries_the_policy_rules_that_decided(app: Flask, client: LiveClient,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Florida Blue's denial over HTTP, its card overridden: the export has the policy version and digest the card
    carried, each criterion with its policy section, and the override."""
    answer = _post(client, "florida-blue-cd19-negative-relapse.json")
    [card] = [card for card in answer["cards"] if "Florida Blue" in card["summary"]]
    feedback = {"feedback": [{"card": card["uuid"], "outcome": "overridden",
                              "overrideReason": {"reason": {"code": "x", "display": "Other"}}}]}
    assert client.post("/cds-services/blinatumomab-coverage/feedback", json=feedback).status_code == 200
    store = app.extensions["cds_service"].store
    store.flush()
    url = store.engine.url.render_as_string(hide_password=False)
    out, _ = _export(capsys, "export", "--database-url", url)
    [decision] = [json.loads(line) for line in out.splitlines()]
    assert decision["policy"] == "florida-blue" and decision["decision"] == "criteria-not-met"
    assert decision["policy_version"] and decision["policy_digest"] and decision["valueset_digest"]
    extension = json.dumps(answer)
    assert decision["policy_digest"] in extension  # the card's coverage-decision names the same file
    assert all(criterion["citation"].startswith("Florida Blue") for criterion in decision["criteria"])
    assert any(criterion["status"] == "not-met" for criterion in decision["criteria"])
    assert [(entry["outcome"], entry["override_display"]) for entry in decision["feedback"]] == \
        [("overridden", "Other")]


@pytest.mark.parametrize("argv", [["--limit", "1", "export"], ["--rejected", "export"], ["--feedback", "export"]])
def test_options_of_the_listing_are_refused_by_export(trail: str, argv: list[str],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`audit --limit 1 export` wrote every decision, and `--rejected export` decisions, without a word."""
    assert main(["audit", *argv, "--database-url", trail]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == \
        f"export writes every decision selected; {argv[0]}: the listing's only\n"


def test_an_export_stopped_half_way_leaves_no_file(trail: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during a long export: the lines written so far would pass for the whole selection."""
    def interrupted(details: Iterator[object], out: io.StringIO) -> int:
        out.write("{}\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_audit, "write_jsonl", interrupted)
    target = tmp_path / "review.jsonl"
    assert main(["audit", "export", "--output", str(target), "--database-url", trail]) == 130
    assert not target.exists()


def test_a_cell_longer_than_a_spreadsheet_keeps_is_cut_saying_so(database_url: str,  # noqa: F811
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A spreadsheet keeps 32,767 characters of a cell: the feedback of a card overridden many times passes it."""
    one_call_with_feedback(database_url, "hi-long",
                           FeedbackEntry("card-1", "overridden", override_comment="x" * 40_000))
    out, _ = _export(capsys, "export", "--format", "csv", "--database-url", database_url)
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert len(row["feedback"]) < 32_767
    assert row["feedback"].endswith(" characters: --format jsonl has it whole)")
    jsonl, _ = _export(capsys, "export", "--database-url", database_url)
    assert "x" * 40_000 in jsonl
