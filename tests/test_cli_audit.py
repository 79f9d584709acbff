"""`cds-service audit` and `cds-service audit show`, on SQLite and PostgreSQL."""
from __future__ import annotations

import argparse
import json
import logging
import re
import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from alembic import command
from sqlalchemy import make_url, text, update

from cds_service.audit import AuditStore
from cds_service.audit_rows import FeedbackEntry, naive_utc
from cds_service.cli import main
from cds_service.cli_audit import parse_before, parse_since, years_before
from cds_service.db import create_db_engine
from cds_service.db_models import Feedback
from cds_service.db_schema import alembic_config, migrate
from tests.test_audit import CLIENT, invocation, outcome
from tests.db_outage import SqliteLock
from tests.test_db import POSTGRES_URL, _postgres_schema_url, database_url  # noqa: F401  (fixture)
from tests.test_order_spans_cycles import accept, spanning, split_of

URL = "/cds-services/blinatumomab-coverage"
CRITERION = {"id": "aspirus-U1", "status": "not-met", "citation": "Aspirus III",
             "text": "No live vaccine in the window", "evidence": ["Immunization/imm1"],
             "note": "MMR given 2026-11-24", "attested": True}


@pytest.fixture
def audited(database_url: str) -> Iterator[str]:
    """A database with three invocations: two decisions for p1 (one recent), one for p2 with feedback."""
    now = datetime.now(timezone.utc)
    store = AuditStore(database_url)
    store.start()
    store.record_invocation(invocation("hi-old", "p1", outcome("mr-old"), time=now - timedelta(days=10)))
    store.record_invocation(invocation("hi-new", "p1", outcome("mr-new", what_if=True), time=now - timedelta(hours=1)))
    store.record_invocation(invocation(
        "hi-p2", "p2", outcome("mr-p2", "criteria-not-met", criteria=[CRITERION], card_uuids=["card-p2"],
                               card_topics={"card-p2": "coverage-info"},
                               coverage_assertion_id="assert-p2", coverage_reference="Coverage/cov-1",
                               missing=["MRD result"], not_received=["immunizations"]),
        time=now - timedelta(hours=2),
    ))
    store.flush()
    store.record_feedback("blinatumomab-coverage", [
        FeedbackEntry("card-p2", "overridden", override_code="clinical-judgement", override_comment="urgent"),
    ], CLIENT)
    store.close()
    yield database_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_table_lists_recent_decisions_newest_first(audited: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "audit", "--database-url", audited)
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["time", "(UTC)", "hook", "client", "tenant", "patient", "order", "policy", "decision",
                                "indication", "unmet", "criteria", "sent", "authorized", "hookInstance", "assertion"]
    assert [line.split()[6] for line in lines[2:]] == ["mr-new", "mr-p2", "mr-old"]  # date and time are 2 words
    assert all(line.split()[3:5] == ["https://ehr.example", "-"] for line in lines[2:])
    assert all(line.split()[2] == "order-sign" for line in lines[2:])
    assert "meets-criteria (what-if)" in lines[2]
    assert lines[3].index("criteria-not-met") == lines[0].index("decision")  # aligned columns


def test_jsonl_output_with_filters(audited: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "audit", "--database-url", audited, "--format", "jsonl", "--patient", "p1")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [row["order_id"] for row in rows] == ["mr-new", "mr-old"]
    assert rows[0]["what_if"] is True and rows[0]["policy"] == "aspirus-magellan"
    assert datetime.fromisoformat(rows[0]["time"]) < datetime.now(timezone.utc)


@pytest.mark.parametrize("filters, orders", [
    (["--since", "24h"], ["mr-new", "mr-p2"]),
    (["--since", "90m"], ["mr-new"]),
    (["--decision", "criteria-not-met"], ["mr-p2"]),
    (["--limit", "2"], ["mr-new", "mr-p2"]),
    (["--patient", "nobody"], []),
    (["--until", "90m"], ["mr-p2", "mr-old"]),
    (["--since", "24h", "--until", "90m"], ["mr-p2"]),
    (["--until", (datetime.now(timezone.utc) - timedelta(days=10, hours=1)).isoformat()], []),
])
def test_filters(audited: str, capsys: pytest.CaptureFixture[str], filters: list[str], orders: list[str]) -> None:
    _, out = run(capsys, "audit", "--database-url", audited, "--format", "jsonl", *filters)
    assert [json.loads(line)["order_id"] for line in out.splitlines()] == orders


@pytest.mark.parametrize("argv", [[], ["--format", "jsonl"], ["--rejected"], ["--rejected", "--format", "jsonl"]])
def test_a_listing_cut_at_its_limit_says_so_on_stderr(audited: str, argv: list[str],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`audit --format jsonl > decisions.jsonl` stopped at 50 rows without a word: a file cut short looks whole."""
    store = AuditStore(audited)
    store.record_invocation(replace(invocation("hi-400", "p1"), status=400, outcomes=[]))
    store.record_invocation(replace(invocation("hi-401", "p1"), status=401, outcomes=[]))
    store.close()
    rows = 3 if "--rejected" not in argv else 2
    assert main(["audit", "--database-url", audited, *argv, "--limit", str(rows - 1)]) == 0
    out, err = capsys.readouterr()
    shown = "1 row" if rows == 2 else f"{rows - 1} rows"  # "1 rows" was printed
    assert err == f"{shown} shown, the limit: --limit N for more\n"
    assert sum(1 for line in out.splitlines() if "hi-" in line) == rows - 1
    assert main(["audit", "--database-url", audited, *argv, "--limit", str(rows)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and sum(1 for line in out.splitlines() if "hi-" in line) == rows


def test_until_not_after_since_is_a_usage_error(audited: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--database-url", audited, "--since", "2026-12-01", "--until", "2026-11-01"]) == 2
    assert capsys.readouterr().err == ("--until 2026-11-01T00:00:00+00:00 is not after --since "
                                       "2026-12-01T00:00:00+00:00: no call is between\n")


def test_a_decision_row_carries_what_a_claim_is_matched_with(app: Any, client: Any, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """The assertion id the claim carries, what the EHR was given, the period, the call's status and request id:
    each as the answer and its response header had them."""
    response = client.post(URL, json={**_example("aspirus-adult-maintenance"), "hookInstance": "hi-claim"},
                           headers={"X-Request-ID": "req-claim-1"})
    [action] = response.get_json()["systemActions"]
    [information] = [extension for extension in action["resource"]["extension"]
                     if extension["url"].endswith("ext-coverage-information")]
    given = {sub["url"]: next((value for key, value in sub.items() if key.startswith("value")), None)
             for sub in information["extension"]}  # a complex sub-extension (`detail`) has no value[x]
    app.extensions["cds_service"].store.flush()
    database = f"sqlite:///{tmp_path / 'cds.db'}"
    _, out = run(capsys, "audit", "--database-url", database, "--format", "jsonl")
    [row] = [json.loads(line) for line in out.splitlines()]
    assert (row["coverage_assertion_id"], row["covered"], row["pa_needed"]) == (
        given["coverage-assertion-id"], "covered", "satisfied")
    assert row["authorization"]["end"] == given["expiry-date"] and row["authorization"]["start"]
    assert (row["status"], row["request_id"]) == (200, "req-claim-1")
    _, table = run(capsys, "audit", "--database-url", database)
    header, _, line = table.splitlines()
    authorized = f"{row['authorization']['start']}/{row['authorization']['end']}"
    assert line[header.index("sent"):].startswith("covered/satisfied ")
    assert line[header.index("authorized"):].startswith(authorized)
    assert line.endswith(given["coverage-assertion-id"])


def test_listings_tell_the_sites_of_a_patient_id_apart(database_url: str,  # noqa: F811
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A patient id means one patient only within one client and tenant: listings show both, and filter by them."""
    store = AuditStore(database_url)
    store.start()
    store.record_invocation(replace(invocation("hi-a", "p1", outcome("mr-a")), tenant="site-a"))
    store.record_invocation(replace(invocation("hi-b", "p1", outcome("mr-b")), tenant="site-b"))
    store.record_invocation(replace(invocation("hi-c", "p1", outcome("mr-c")), client_iss="https://other.example"))
    store.record_invocation(replace(invocation("hi-400", "p1"), tenant="site-b", status=400, outcomes=[]))
    store.close()

    def listed(*filters: str) -> list[tuple[str, str, str | None]]:
        _, out = run(capsys, "audit", "--database-url", database_url, "--format", "jsonl", *filters)
        return sorted((row.get("order_id", row["hook_instance"]), row["client_iss"], row["tenant"])
                      for row in map(json.loads, out.splitlines()))

    assert listed("--patient", "p1") == [("mr-a", "https://ehr.example", "site-a"),
                                         ("mr-b", "https://ehr.example", "site-b"),
                                         ("mr-c", "https://other.example", None)]
    assert listed("--patient", "p1", "--tenant", "site-b") == [("mr-b", "https://ehr.example", "site-b")]
    assert listed("--client", "https://other.example") == [("mr-c", "https://other.example", None)]
    assert listed("--client", "https://ehr.example", "--tenant", "site-a") == [
        ("mr-a", "https://ehr.example", "site-a")]
    assert listed("--rejected", "--tenant", "site-b") == [("hi-400", "https://ehr.example", "site-b")]
    assert listed("--rejected", "--tenant", "site-a") == []


def test_show_prints_criteria_and_feedback(audited: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "audit", "show", "hi-p2", "--database-url", audited)
    assert code == 0
    assert "patient       p2" in out
    assert "decision     criteria-not-met" in out
    assert "[not-met]  aspirus-U1 (Aspirus III) No live vaccine in the window  evidence: Immunization/imm1" in out
    assert " " * 15 + "MMR given 2026-11-24 (attested)" in out.splitlines()  # what decided it, on the line below
    assert "\\n" not in out
    assert "to document  MRD result" in out and "not received immunizations" in out
    assert "coverage     Coverage/cov-1" in out
    # Which card was overridden: the coverage decision, not a dose warning.
    assert "card card-p2 (coverage-info): overridden; reason clinical-judgement; comment \"urgent\"" in out
    assert "cards        card-p2 (coverage-info)" in out


def test_times_are_printed_in_utc_and_say_so(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The table's times had no zone, and `show` printed "+00:00": a reader took them for local times."""
    eastern = timezone(timedelta(hours=-5))
    store = AuditStore(database_url)
    store.start()
    store.record_invocation(invocation("hi-utc", "p1", outcome("mr-utc", card_uuids=["card-utc"]),
                                       time=datetime(2026, 11, 20, 7, 5, 0, 250000, tzinfo=eastern)))
    store.flush()
    store.record_feedback("blinatumomab-coverage", [FeedbackEntry(
        "card-utc", "accepted", outcome_timestamp=datetime(2026, 11, 20, 7, 6, tzinfo=eastern))], CLIENT)
    store.close()
    _, table = run(capsys, "audit", "--database-url", database_url)
    header, _, row = table.splitlines()
    assert header.startswith("time (UTC)  ") and row.startswith("2026-11-20 12:05:00  ")
    _, shown = run(capsys, "audit", "--database-url", database_url, "show", "hi-utc")
    assert "time          2026-11-20 12:05:00.250 UTC" in shown
    [feedback] = [line for line in shown.splitlines() if line.startswith("  card card-utc: ")]
    assert re.fullmatch(r"  card card-utc: accepted; at 2026-11-20 12:06:00\.000 UTC; "
                        r"received \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC", feedback)


def test_show_as_json(audited: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "audit", "--database-url", audited, "show", "hi-p2", "--format", "json")
    [detail] = json.loads(out)
    assert code == 0
    assert detail["outcomes"][0]["criteria"] == [CRITERION]
    assert detail["feedback"][0]["override_comment"] == "urgent"


def test_show_finds_a_call_by_its_coverage_assertion_id(audited: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "audit", "show", "assert-p2", "--database-url", audited)
    assert code == 0 and "hookInstance  hi-p2" in out


def test_show_finds_a_call_by_a_card_uuid_it_issued(audited: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Feedback and an EHR's override log name the card, not the call: the card's uuid finds the call alone."""
    code, out = run(capsys, "audit", "show", "card-p2", "--database-url", audited, "--format", "json")
    assert code == 0
    assert [detail["hook_instance"] for detail in json.loads(out)] == ["hi-p2"]


def test_show_of_an_unknown_hook_instance_fails(audited: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "show", "nope", "--database-url", audited]) == 1
    assert "nope" in capsys.readouterr().err


def test_an_unknown_decision_is_refused(audited: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["audit", "--database-url", audited, "--decision", "met"])
    assert "invalid choice" in capsys.readouterr().err


def test_default_database_url_comes_from_the_environment(audited: str, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_DATABASE_URL", audited)
    _, out = run(capsys, "audit", "--format", "jsonl", "--decision", "criteria-not-met")
    assert [json.loads(line)["hook_instance"] for line in out.splitlines()] == ["hi-p2"]


def test_a_missing_default_database_says_how_to_name_the_services(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from another folder than the service's, the default ./data is not the service's trail."""
    monkeypatch.delenv("CDS_DATABASE_URL", raising=False)
    monkeypatch.delenv("CDS_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["audit"]) == 2
    assert capsys.readouterr().err == (
        f"No audit database at sqlite:///{tmp_path / 'data' / 'cds.db'} (the default, ./data in the current folder): "
        "run it in the service's folder, or with the service's CDS_DATABASE_URL or CDS_DATA_DIR, or --database-url\n")


def test_a_missing_database_is_reported_not_created(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A query tool: a mistyped path or data directory must not leave an empty database behind."""
    monkeypatch.delenv("CDS_DATABASE_URL", raising=False)
    monkeypatch.setenv("CDS_DATA_DIR", str(tmp_path / "data"))
    assert main(["audit"]) == 2
    assert capsys.readouterr().err == f"No audit database at sqlite:///{tmp_path / 'data' / 'cds.db'}\n"
    assert not (tmp_path / "data").exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    assert main(["audit", "show", "x", "--database-url", f"sqlite:///{empty}"]) == 2
    assert "No audit trail in" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["CDS_DATABASE_URL", "CDS_DATA_DIR"])
def test_a_database_variable_set_but_empty_is_said_not_read_as_the_default(
        name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Read as unset, it would list (or prune) the trail in ./data instead of the one meant."""
    monkeypatch.chdir(tmp_path)
    _database_at(f"sqlite:///{tmp_path / 'data' / 'cds.db'}", "head")
    monkeypatch.delenv("CDS_DATABASE_URL", raising=False)
    monkeypatch.setenv(name, "")
    assert main(["audit", "prune", "--before", "365d"]) == 2
    assert capsys.readouterr().err == f"{name} is set but empty: give it a value, or unset it for its default\n"
    assert main(["audit", "--database-url", ""]) == 2
    assert capsys.readouterr().err.startswith("--database-url is not a database URL")


def test_since_accepts_iso_dates_and_relative_spans() -> None:
    assert parse_since("2026-11-20") == datetime(2026, 11, 20, tzinfo=timezone.utc)
    assert parse_since("2026-11-20T08:30:00+02:00") == datetime(2026, 11, 20, 6, 30, tzinfo=timezone.utc)
    assert abs(parse_since("7d") - (datetime.now(timezone.utc) - timedelta(days=7))) < timedelta(seconds=5)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_since("last tuesday")


@pytest.mark.parametrize("argv, said", [
    # Python keeps the bytes of an argument that is not UTF-8 as lone surrogates: no query could send them.
    (["show", "hi-p2\udcff"], 'KEY: "hi-p2\\udcff" is not UTF-8 text'),
    (["--patient", "p\udcff"], '--patient: "p\\udcff" is not UTF-8 text'),
    (["--client", "\udcfe"], '--client: "\\udcfe" is not UTF-8 text'),
    (["--tenant", "t\udc80"], '--tenant: "t\\udc80" is not UTF-8 text'),
    # Spans and moments outside the years datetime holds, in UTC
    (["--since", "9999999999d"], '--since: "9999999999d": not within the years 1 to 9999 in UTC'),
    (["--since", "99999999999999999999m"], '--since: "99999999999999999999m": not within the years 1 to 9999 in UTC'),
    (["prune", "--before", "9999999999w"], '--before: "9999999999w": not within the years 1 to 9999 in UTC'),
    (["prune", "--before", "2026y"], '--before: "2026y": not within the years 1 to 9999 in UTC'),
    (["--since", "9999-12-31T23:59:59-14:00"], "not within the years 1 to 9999 in UTC"),
    (["--since", "0001-01-01T00:00:00+14:00"], "not within the years 1 to 9999 in UTC"),
    (["prune", "--before", "0001-01-01T00:00:00+14:00"], "not within the years 1 to 9999 in UTC"),
    # A LIMIT beyond a 64-bit integer overflowed inside SQLite; digits int() cannot read were a ValueError
    (["--limit", "100000000000000000000"], '--limit: "100000000000000000000" is not a positive integer up to '),
    (["--limit", "9223372036854775808"], "is not a positive integer up to 9223372036854775807"),
    (["--limit", "\u00b2"], '--limit: "\u00b2" is not a positive integer'),
    (["--limit", "9" * 5000], '--limit: "' + "9" * 80 + '" is not a positive integer'),
    (["--since", "x" * 100_000], '--since: "' + "x" * 80 + '": use an ISO date'),
])
def test_arguments_no_query_can_take_are_a_usage_error(audited: str, capsys: pytest.CaptureFixture[str],
                                                        argv: list[str], said: str) -> None:
    """Each was a traceback and exit status 1; now refused as `--since 2026-13-01` is: a usage error, status 2."""
    with pytest.raises(SystemExit) as exit_status:
        main(["audit", *argv, "--database-url", audited])
    assert exit_status.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert re.match(r"cds-service audit( show| prune)?: error: argument ", error) and said in error
    assert len(error) < 250


def test_the_largest_limit_is_taken(audited: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "audit", "--limit", "9223372036854775807", "--database-url", audited)[0] == 0


def test_show_of_a_long_unknown_key_echoes_it_cut(audited: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "show", "k" * 100_000, "--database-url", audited]) == 1
    assert capsys.readouterr().err.splitlines()[0] == ("No call with hookInstance, request id, coverage-assertion-id, "
                                                       f"card or suggestion uuid, or order \"{'k' * 80}\"")


def test_show_of_an_order_not_found_points_to_the_refused_calls(audited: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A call refused with a 400 decided no order: "no call" alone read as "the EHR never called about it"."""
    assert main(["audit", "show", "MedicationRequest/never-decided", "--database-url", audited]) == 1
    assert capsys.readouterr().err.splitlines()[1] == (
        "A call refused with a 4xx or 5xx decided no order: list those with cds-service audit --rejected --patient ID, "
        "and show one by its hookInstance or request id")


def test_rejected_calls_are_listed_with_why_and_never_with_what_was_sent(
        app: Any, client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    """An integration engineer sees why a client's calls fail: the field or check, not the clinical content that
    schema messages quote back to the client."""
    body = json.loads((Path(__file__).resolve().parents[1] / "fhir_examples" / "aspirus-adult-maintenance.json")
                      .read_text())
    invalid_order = json.loads(json.dumps(body))
    invalid_order["context"]["draftOrders"]["entry"][0]["resource"]["status"] = 12
    quoted = {**body, "hookInstance": "hi-quoted", "context": {**body["context"], "draftOrders": "Jane Doe, ALL"}}
    with caplog.at_level(logging.INFO):
        assert client.post(URL, json={**invalid_order, "hookInstance": "hi-order"}).status_code == 400
        assert client.post(URL, json=quoted).status_code == 400
        assert client.post(URL, data=json.dumps(body), content_type="text/plain").status_code == 415  # not read: no id
        assert client.post(URL, json={**body, "hookInstance": "hi-ok"}).status_code == 200
    app.extensions["cds_service"].store.flush()
    database = f"sqlite:///{tmp_path / 'cds.db'}"

    _, out = run(capsys, "audit", "--database-url", database, "--rejected", "--format", "jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["hook_instance"], r["status"], r["reason"]) for r in rows] == [
        ("", 415, 'Content-Type "text/plain" is not JSON; use application/json'),
        ("hi-quoted", 400, "invalid at context.draftOrders"),
        ("hi-order", 400, "invalid at context.draftOrders.entry[0].resource.status"),
    ]
    assert "Jane Doe" not in out and "Jane Doe" not in caplog.text
    assert ('400 on POST /cds-services/blinatumomab-coverage, hookInstance "hi-quoted": invalid at context.draftOrders'
            in caplog.text)
    code, table = run(capsys, "audit", "--database-url", database, "--rejected")
    assert code == 0 and table.splitlines()[0].split() == ["time", "(UTC)", "hook", "client", "tenant", "patient",
                                                           "status", "reason", "hookInstance", "request",
                                                           "id"]
    assert "invalid at context.draftOrders.entry[0].resource.status" in table and "hi-ok" not in table
    _, shown = run(capsys, "audit", "--database-url", database, "show", "hi-order")
    assert "status        400 in " in shown and ": invalid at context.draftOrders.entry[0].resource.status" in shown


def test_rejected_cannot_be_filtered_by_decision(audited: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--database-url", audited, "--rejected", "--decision", "meets-criteria"]) == 2
    assert "--rejected" in capsys.readouterr().err


def test_no_rejected_calls_is_said(audited: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "audit", "--database-url", audited, "--rejected") == (0, "No rejected calls found.\n")


def _database_at(url: str, revision: str) -> None:
    """A database as an older (or newer) cds-service left it."""
    engine = create_db_engine(url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


@pytest.mark.parametrize("argv", [["audit"], ["audit", "--rejected"], ["audit", "show", "hi-p2"]])
def test_a_database_not_yet_migrated_is_said_in_one_line(database_url: str, argv: list[str],  # noqa: F811
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The service migrates on start; this query tool never does, and says so instead of a traceback."""
    _database_at(database_url, "0001")
    assert main([*argv, "--database-url", database_url]) == 2
    err = capsys.readouterr().err
    assert "at revision 0001" in err and "start the service once to migrate it" in err
    assert len(err.strip().splitlines()) == 1


def test_a_database_of_a_newer_version_is_said(database_url: str,  # noqa: F811
                                               capsys: pytest.CaptureFixture[str]) -> None:
    _database_at(database_url, "head")
    engine = create_db_engine(database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    assert main(["audit", "--database-url", database_url]) == 2
    assert "at revision 9999, newer than this cds-service" in capsys.readouterr().err


@pytest.mark.parametrize("url, message", [
    ("postgresql://cds:secret@127.0.0.1:1/cds", "Cannot read the audit database at postgresql://cds:***@127.0.0.1:1"),
    ("postgresql://cds:secret@db.internal:54x2/cds", "--database-url: the port of the database URL is not a number"),
    ("postgres+psycopg2://cds:secret@db.internal/cds", "--database-url: SQLAlchemy knows no database"),
])
def test_an_unusable_database_url_is_said_in_one_line_without_the_password(
        url: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--database-url", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and "secret" not in err and len(err.strip().splitlines()) == 1


def _example(name: str) -> dict[str, Any]:
    return json.loads((Path(__file__).resolve().parents[1] / "fhir_examples" / f"{name}.json").read_text())


def test_who_asked_is_recorded_and_shown(app: Any, client: Any, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The prescriber (context.userId) and the encounter, for a decision and for a refused call alike."""
    body = {**_example("aspirus-adult-maintenance"), "hookInstance": "hi-who"}
    refused = {**body, "hookInstance": "hi-refused", "context": {**body["context"], "draftOrders": "none"}}
    assert client.post(URL, json=body).status_code == 200
    assert client.post(URL, json=refused).status_code == 400
    app.extensions["cds_service"].store.flush()
    database = f"sqlite:///{tmp_path / 'cds.db'}"
    for hook_instance in ("hi-who", "hi-refused"):
        _, shown = run(capsys, "audit", "--database-url", database, "show", hook_instance)
        assert "user          Practitioner/example-oncologist" in shown
        assert "encounter     example-encounter" in shown
    _, out = run(capsys, "audit", "--database-url", database, "--format", "jsonl")
    [row] = [json.loads(line) for line in out.splitlines()]
    assert (row["user_id"], row["encounter_id"]) == ("Practitioner/example-oncologist", "example-encounter")
    _, out = run(capsys, "audit", "--database-url", database, "show", "hi-who", "--format", "json")
    assert json.loads(out)[0]["user_id"] == "Practitioner/example-oncologist"


def test_a_clients_control_characters_are_printed_escaped(database_url: str,  # noqa: F811
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A hookInstance or userId is the client's text: an escape sequence in it must not drive the reader's terminal,
    nor a newline forge a line of `show`. A hook call with one is refused now (validation.py), but records stored
    before that, or by another version, may hold them: they are written here directly."""
    hook_instance = "hi-\x1b[2J\x1b]0;pwned\x07"
    store = AuditStore(database_url)
    store.start()
    store.record_invocation(replace(invocation(hook_instance), user_id="Practitioner/a\nstatus  200"))
    store.flush()
    store.close()
    _, table = run(capsys, "audit", "--database-url", database_url)
    assert "\x1b" not in table and "hi-\\x1b[2J" in table
    _, shown = run(capsys, "audit", "--database-url", database_url, "show", hook_instance)
    assert "\x1b" not in shown and "\x07" not in shown
    assert "user          Practitioner/a\\nstatus  200" in shown.splitlines()


def test_a_stored_notes_control_characters_stay_escaped_on_its_own_line(database_url: str,  # noqa: F811
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A criterion's note quotes the record (a vaccine's name, a lab's text): its newline must not forge a line."""
    store = AuditStore(database_url)
    store.start()
    forged = {**CRITERION, "note": "MMR\n    [met]      aspirus-U1\x1b[2J", "attested": False}
    store.record_invocation(invocation("hi-note", "p3", outcome("mr-note", "criteria-not-met", criteria=[forged])))
    store.flush()
    store.close()
    _, shown = run(capsys, "audit", "--database-url", database_url, "show", "hi-note")
    lines = shown.splitlines()
    criterion = lines.index("    [not-met]  aspirus-U1 (Aspirus III) No live vaccine in the window  "
                            "evidence: Immunization/imm1")
    assert lines[criterion + 1] == " " * 15 + "MMR\\n    [met]      aspirus-U1\\x1b[2J"
    assert "\x1b" not in shown


def test_show_lists_every_indication_evaluated_and_why_it_failed(app: Any, client: Any, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Under the criteria of the indication the card showed, one line per indication evaluated: a pharmacist reads a
    denial as every pathway and the criteria that failed it, named without the indication's prefix, each criterion
    not met with what the record showed under it."""
    for name in ("aspirus-t-cell-all-not-covered", "aspirus-consolidation-mrd-missing"):
        assert client.post(URL, json={**_example(name), "hookInstance": f"hi-{name}"}).status_code == 200
    app.extensions["cds_service"].store.flush()
    database = f"sqlite:///{tmp_path / 'cds.db'}"
    _, denied = run(capsys, "audit", "--database-url", database, "show", "hi-aspirus-t-cell-all-not-covered")
    lines = denied.splitlines()
    listed = lines[lines.index("  indications evaluated:") + 1:lines.index("Feedback: none") - 1]
    headings = [line for line in listed if not line.startswith(" " * 15)]
    assert len(headings) == 9 and all(line.startswith("    not-met   ") for line in headings)
    assert listed[:3] == [
        "    not-met   adult-consolidation-mrd-positive: b-cell-precursor-all, consolidation-phase "
        "(unknown: complete-response, mrd-positive)",
        "               b-cell-precursor-all: T-lineage in the diagnosis",
        "               consolidation-phase: ALL in relapse (C91.02), recorded 2026-11-10, the latest disease status "
        "by the course start"]
    relapsed = listed.index("    not-met   adult-relapsed-refractory: b-cell-precursor-all")
    assert listed[relapsed + 1] == "               b-cell-precursor-all: T-lineage in the diagnosis"
    assert lines.index("  criteria:") < lines.index("  indications evaluated:")
    _, needed = run(capsys, "audit", "--database-url", database, "show", "hi-aspirus-consolidation-mrd-missing")
    assert "\n  indications evaluated:\n    unknown   adult-consolidation-mrd-positive: mrd-positive\n" in needed
    assert "    unknown   adult-consolidation-mrd-negative: mrd-negative, ph-use\n" in needed


def test_a_stored_indications_control_characters_are_printed_escaped(database_url: str,  # noqa: F811
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The ids are the policy file's, yet `show` prints nothing stored unescaped: a CDS_POLICY_DIR file is an
    operator's text."""
    store = AuditStore(database_url)
    store.start()
    forged = {"id": "x\n    met       y\x1b[2J", "status": "not-met", "not_met": ["x\n    met       y\x1b[2J.c"],
              "unknown": []}
    store.record_invocation(invocation("hi-forged", "p3", outcome("mr-forged", "criteria-not-met",
                                                                  indications=[forged])))
    store.close()
    _, shown = run(capsys, "audit", "--database-url", database_url, "show", "hi-forged")
    assert "\x1b" not in shown
    assert "    not-met   x\\n    met       y\\x1b[2J: c" in shown.splitlines()


PRUNED_OLD = (": 1 call (invocation), 1 decision (order_outcome), 2 cards and suggestions (issued_card), 1 feedback "
              "item (feedback)\n")
MAINTENANCE_PERIOD = "2026-12-01 to 2027-06-29 (5 cycles)"


@pytest.mark.parametrize("name, configuration, authorized, sent", [
    ("aspirus-adult-maintenance", {}, MAINTENANCE_PERIOD,
     "coverage-information covered=covered, pa-needed=satisfied"),
    ("what-if-unsolicited-determ-false", {},
     f"none issued (what-if call); period if approved: {MAINTENANCE_PERIOD}",
     "coverage-information covered=covered, pa-needed=auth-needed"),
    ("order-select-aspirus", {}, "none issued (order-select preview); period if approved: ",
     "no coverage information"),
    ("aspirus-adult-maintenance", {"coverage-info": False},
     f"none issued (no coverage information sent); period if approved: {MAINTENANCE_PERIOD}",
     "no coverage information"),
    # No card is shown, yet the action still carries satisfied-pa-id: the EHR was given the authorization.
    ("aspirus-adult-maintenance", {"max-cards": 0}, MAINTENANCE_PERIOD,
     "coverage-information covered=covered, pa-needed=satisfied"),
], ids=["order-sign", "what-if", "order-select", "coverage-info-false", "max-cards-0"])
def test_show_says_authorized_only_when_the_ehr_was_given_an_authorization(
        app: Any, client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
        configuration: dict[str, Any],
        authorized: str, sent: str) -> None:
    body = _example(name)
    extension = body.setdefault("extension", {})
    extension["davinci-crd.configuration"] = {**extension.get("davinci-crd.configuration", {}), **configuration}
    assert client.post(URL, json={**body, "hookInstance": "hi-1"}).status_code == 200
    app.extensions["cds_service"].store.flush()
    _, shown = run(capsys, "audit", "--database-url", f"sqlite:///{tmp_path / 'cds.db'}", "show", "hi-1")
    assert "decision     meets-criteria" in shown
    assert f"  authorized   {authorized}" in shown
    assert f"  sent         {sent}\n" in shown


def test_show_says_what_each_card_said_and_which_change_was_accepted(
        app: Any, client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A suggestion accepted in feedback reads as the change the prescriber accepted, in the service's words."""
    body = {**_example("aspirus-relapsed-refractory-single-line-dose-too-high"), "hookInstance": "hi-dose"}
    cards = client.post(URL, json=body).get_json()["cards"]
    decision, dose = cards
    [suggestion] = dose["suggestions"]
    feedback = {"feedback": [{"card": dose["uuid"], "outcome": "accepted",
                              "acceptedSuggestions": [{"id": suggestion["uuid"]}]}]}
    assert client.post(f"{URL}/feedback", json=feedback).status_code == 200
    app.extensions["cds_service"].store.flush()
    _, shown = run(capsys, "audit", "--database-url", f"sqlite:///{tmp_path / 'cds.db'}", "show", "hi-dose")
    assert f"cards        {decision['uuid']} (coverage-info, decision) [warning] {decision['summary']}\n" in shown
    assert f"\n{' ' * 15}{dose['uuid']} (off-guideline, dose) [warning] {dose['summary']}\n" in shown
    assert f"suggestions  {suggestion['uuid']}: {suggestion['label']}\n" in shown
    assert suggestion["label"].startswith("Change dose to 9 mcg/day on days 1–7")
    assert f"suggestions {suggestion['uuid']} ({suggestion['label']})" in shown  # the feedback line


def test_show_names_the_orders_a_split_creates(app: Any, client: Any, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The split of an order spanning cycles creates a draft order with an id of the service's making: show names it
    with the suggestion, so that a later call signing that order is traced back to the split."""
    body = {**spanning(), "hookInstance": "hi-split"}
    [card] = [c for c in client.post(URL, json=body).get_json()["cards"] if c.get("suggestions")]
    [suggestion] = card["suggestions"]
    created = suggestion["actions"][1]["resource"]["id"]
    app.extensions["cds_service"].store.flush()
    _, shown = run(capsys, "audit", "--database-url", f"sqlite:///{tmp_path / 'cds.db'}", "show", "hi-split")
    assert (f"suggestions  {suggestion['uuid']}: Split into 2 orders, one per cycle; creates "
            f"MedicationRequest/{created}\n") in shown


def test_an_orders_calls_are_found_by_its_id_and_a_split_order_leads_to_the_split(
        app: Any, client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--order` lists the decisions on one order; `show <order id>` every call about it: those that decided it and,
    for an order a split created, the call whose suggestion made it."""
    body = {**spanning(), "hookInstance": "hi-split"}
    original = body["context"]["draftOrders"]["entry"][0]["resource"]["id"]
    card = split_of(client.post(URL, json=body).get_json())
    created = card["suggestions"][0]["actions"][1]["resource"]["id"]
    accept(body, card)
    assert client.post(URL, json={**body, "hookInstance": "hi-signed"}).status_code == 200
    app.extensions["cds_service"].store.flush()
    url = f"sqlite:///{tmp_path / 'cds.db'}"
    _, listed = run(capsys, "audit", "--database-url", url, "--format", "jsonl", "--order", original)
    _, by_type = run(capsys, "audit", "--database-url", url, "--format", "jsonl", "--order",
                     f"MedicationRequest/{created}")
    _, shown = run(capsys, "audit", "--database-url", url, "show", created, "--format", "json")
    assert [(row["hook_instance"], row["order_id"]) for row in map(json.loads, listed.splitlines())] == [
        ("hi-signed", f"MedicationRequest/{original}"), ("hi-split", f"MedicationRequest/{original}")]
    assert [json.loads(row)["hook_instance"] for row in by_type.splitlines()] == ["hi-signed"]
    assert [call["hook_instance"] for call in json.loads(shown)] == ["hi-signed", "hi-split"]
    assert run(capsys, "audit", "--database-url", url, "show", "unsigned_%") == (1, "")
    assert run(capsys, "audit", "--database-url", url, "--order", "unsigned") == (0, "No decisions found.\n")


def test_rejected_cannot_be_filtered_by_order(audited: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--database-url", audited, "--rejected", "--order", "mr-p2"]) == 2
    assert "--order" in capsys.readouterr().err


def test_show_of_decisions_recorded_before_migration_0006(database_url: str,  # noqa: F811
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Such rows do not say what was sent; an order-sign action of a call that was not what-if carried the
    authorization (satisfied-pa-id), a what-if call's did not: `show` and the table's `authorized` say it alike."""
    store = AuditStore(database_url)
    store.start()
    store.record_invocation(invocation("hi-signed", "p1", outcome(coverage_assertion_id="a-1")))
    store.record_invocation(invocation("hi-what-if", "p1", outcome(coverage_assertion_id="a-2", what_if=True)))
    store.close()
    _, signed = run(capsys, "audit", "--database-url", database_url, "show", "hi-signed")
    _, what_if = run(capsys, "audit", "--database-url", database_url, "show", "hi-what-if")
    assert "authorized   2026-11-01 to 2027-05-01\n" in signed
    assert "sent         coverage-information (its codes are not recorded before migration 0006)" in signed
    assert "authorized   none issued (what-if call); period if approved: 2026-11-01 to 2027-05-01" in what_if
    assert "indications evaluated" not in signed  # recorded since migration 0007 only
    _, table = run(capsys, "audit", "--database-url", database_url)
    rows = {line.split()[-2]: line for line in table.splitlines()[2:]}  # by hookInstance
    assert "2026-11-01/2027-05-01" in rows["hi-signed"] and "2026-11-01/" not in rows["hi-what-if"]


def _coverage(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The example's Coverage, changed."""
    [entry] = body["prefetch"]["coverage"]["entry"]
    entry["resource"] |= changes
    return body


def _without_coverage(body: dict[str, Any]) -> dict[str, Any]:
    """The example without its Coverage prefetch (and no FHIR server to read it from)."""
    del body["prefetch"]["coverage"]
    return body


@pytest.mark.parametrize("body, reason", [
    (_without_coverage(_example("aspirus-adult-maintenance")), "coverage-not-received"),
    (_coverage(_example("aspirus-adult-maintenance"), payor=[{"reference": "Organization/payer-1"}]),
     "payer-not-received"),
    (_example("no-coverage-dose-check-only"), "no-coverage-in-force"),
    (_coverage(_example("aspirus-adult-maintenance"), period={"start": "2025-01-01", "end": "2025-12-31"}),
     "no-coverage-in-force"),
    (_example("unknown-payer"), "payer-not-supported"),
    (_coverage(_example("aspirus-adult-maintenance"), order="1"), "coverage-unreadable"),
], ids=["coverage-not-received", "payer-not-received", "no-coverage", "coverage-expired", "unsupported-payer",
        "coverage-unreadable"])
def test_a_no_plan_order_records_why(app: Any, client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     body: dict[str, Any], reason: str) -> None:
    """The no-plan card says why no plan was found; so must the audit trail, and --decision no-plan finds them."""
    body = {**body, "hookInstance": "hi-no-plan"}
    decided = {**_example("aspirus-adult-maintenance"), "hookInstance": "hi-plan"}
    assert client.post(URL, json=body).status_code == 200 and client.post(URL, json=decided).status_code == 200
    app.extensions["cds_service"].store.flush()
    database = f"sqlite:///{tmp_path / 'cds.db'}"
    _, shown = run(capsys, "audit", "--database-url", database, "show", "hi-no-plan")
    assert f"decision     no-plan ({reason})\n" in shown
    # The Coverage whose payer could not be known, or the supported plan's out of force at the start (expired).
    coverages = body["prefetch"].get("coverage", {}).get("entry")
    named = f"Coverage/{coverages[0]['resource']['id']}" if coverages and reason != "payer-not-supported" else "-"
    assert f"coverage     {named}\n" in shown
    _, out = run(capsys, "audit", "--database-url", database, "--decision", "no-plan", "--format", "jsonl")
    assert [(row["hook_instance"], row["no_plan_reason"]) for row in map(json.loads, out.splitlines())] == [
        ("hi-no-plan", reason)]
    _, table = run(capsys, "audit", "--database-url", database)
    assert f"no-plan ({reason})" in table


def test_prune_deletes_old_calls_with_their_decisions_cards_and_feedback(database_url: str,  # noqa: F811
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(timezone.utc)
    store = AuditStore(database_url)
    store.start()
    store.record_invocation(invocation("hi-old", "p1", outcome("mr-old", card_uuids=["card-old"],
                                                               suggestion_uuids=["sug-old"]),
                                       time=now - timedelta(days=400)))
    store.record_invocation(invocation("hi-new", "p1", outcome("mr-new", card_uuids=["card-new"]),
                                       time=now - timedelta(days=1)))
    store.flush()
    store.record_feedback("blinatumomab-coverage", [FeedbackEntry("card-old", "accepted"),
                                                    FeedbackEntry("card-new", "accepted")], CLIENT)
    with store.engine.begin() as connection:
        connection.execute(update(Feedback).where(Feedback.card_uuid == "card-old")
                           .values(received_at=naive_utc(now - timedelta(days=400))))
    store.close()

    before = _row_counts(database_url)
    code, out = run(capsys, "audit", "prune", "--before", "365d", "--dry-run", "--database-url", database_url)
    assert code == 0 and out.startswith("Would delete before ")
    assert out.endswith(PRUNED_OLD)
    assert _row_counts(database_url) == before
    code, out = run(capsys, "audit", "prune", "--before", "365d", "--database-url", database_url)
    assert code == 0 and out.startswith("Deleted before ")
    assert out.endswith(PRUNED_OLD)
    assert main(["audit", "show", "hi-old", "--database-url", database_url]) == 1
    capsys.readouterr()
    _, shown = run(capsys, "audit", "show", "hi-new", "--database-url", database_url)
    assert "cards        card-new" in shown and "card card-new: accepted" in shown
    assert _row_counts(database_url) == {"invocation": 1, "order_outcome": 1, "issued_card": 1, "feedback": 1}


@pytest.mark.parametrize("before", ["2999-01-01", (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()])
def test_prune_refuses_a_date_in_the_future(audited: str, before: str, capsys: pytest.CaptureFixture[str]) -> None:
    """It would delete every call without asking: a typo in the year."""
    counts = _row_counts(audited)
    assert main(["audit", "prune", "--before", before, "--database-url", audited]) == 2
    assert "is in the future: it would delete every call, today's too; nothing deleted" in capsys.readouterr().err
    assert _row_counts(audited) == counts
    assert main(["audit", "prune", "--before", "0d", "--dry-run", "--database-url", audited]) == 0
    assert capsys.readouterr().out.endswith(": 3 calls (invocation), 3 decisions (order_outcome), 1 card or suggestion "
                                            "(issued_card), 1 feedback item (feedback)\n")


@pytest.mark.parametrize("before, said", [
    ("6m", '"6m" counts minutes, not months; prune counts back in days, weeks or years: 180d, 26w, 2y'),
    ("18m", '"18m" counts minutes, not months; prune counts back in days, weeks or years: 180d, 26w, 2y'),
    ("24h", '"24h" counts hours; prune counts back in days, weeks or years: 180d, 26w, 2y'),
    ("6 months", '"6 months": use an ISO date/date-time or 180d, 26w, 2y'),
])
def test_prune_refuses_spans_in_minutes_and_hours(audited: str, before: str, said: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """`18m` typed for 18 months deleted all but the last 18 minutes of the trail, the payer-appeal evidence."""
    counts = _row_counts(audited)
    with pytest.raises(SystemExit) as exit_status:
        main(["audit", "prune", "--before", before, "--yes", "--database-url", audited])
    assert exit_status.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"cds-service audit prune: error: argument --before: {said}"
    assert _row_counts(audited) == counts


def test_prune_counts_back_in_days_weeks_or_calendar_years() -> None:
    now = datetime.now(timezone.utc)
    assert abs(parse_before("180d") - (now - timedelta(days=180))) < timedelta(seconds=5)
    assert abs(parse_before("26w") - (now - timedelta(weeks=26))) < timedelta(seconds=5)
    assert abs(parse_before("2y") - years_before(now, 2)) < timedelta(seconds=5)
    assert parse_before("2025-01-01") == datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert years_before(datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc), 2) == \
        datetime(2024, 11, 20, 8, 30, tzinfo=timezone.utc)
    assert years_before(datetime(2028, 2, 29, tzinfo=timezone.utc), 1) == datetime(2027, 2, 28, tzinfo=timezone.utc)
    assert years_before(datetime(2028, 2, 29, tzinfo=timezone.utc), 4) == datetime(2024, 2, 29, tzinfo=timezone.utc)
    # --since keeps its spans: minutes and hours are what it is for, years are not among them
    assert abs(parse_since("30m") - (now - timedelta(minutes=30))) < timedelta(seconds=5)
    with pytest.raises(argparse.ArgumentTypeError, match="30m, 24h, 7d, 2w"):
        parse_since("2y")


@pytest.mark.parametrize("before", ["0d", (datetime.now(timezone.utc) - timedelta(hours=12)).isoformat()])
def test_prune_deleting_calls_of_the_last_day_needs_yes(audited: str, before: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A cutoff less than a day back deletes (nearly) the whole trail: a typo in the year more often than meant."""
    counts = _row_counts(audited)
    assert main(["audit", "prune", "--before", before, "--database-url", audited]) == 2
    assert "is less than a day ago: it would delete the calls up to then, the last day's too; nothing deleted " \
           "(--yes if you mean it" in capsys.readouterr().err
    assert _row_counts(audited) == counts
    code, out = run(capsys, "audit", "prune", "--before", before, "--dry-run", "--database-url", audited)
    assert code == 0 and out.startswith("Would delete before ") and _row_counts(audited) == counts
    code, out = run(capsys, "audit", "prune", "--before", before, "--yes", "--database-url", audited)
    assert code == 0 and out.startswith("Deleted before ")
    assert _row_counts(audited)["invocation"] == (0 if before == "0d" else 2)  # the call of an hour ago stays


def test_prune_removes_the_orphans_of_a_deletion_without_foreign_keys(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The sqlite3 shell has foreign keys off: deleting invocations there left their outcomes and cards, and SQLite
    gave a deleted invocation's id to the next call, which then showed someone else's old decision."""
    path = tmp_path / "cds.db"
    store = AuditStore(f"sqlite:///{path}")
    store.start()
    store.record_invocation(invocation("hi-old", "p1", outcome("mr-old", card_uuids=["card-old"])))
    store.close()
    shell = sqlite3.connect(path)
    shell.execute("DELETE FROM invocation")
    shell.commit()
    shell.close()

    code, out = run(capsys, "audit", "prune", "--before", "2000-01-01", "--database-url", f"sqlite:///{path}")
    assert code == 0 and out.endswith(": 0 calls (invocation), 1 decision (order_outcome), 1 card or suggestion "
                                      "(issued_card), 0 feedback items (feedback)\n")
    store = AuditStore(f"sqlite:///{path}")
    store.record_invocation(invocation("hi-after", "p2", outcome("mr-after")))  # gets the deleted call's id
    [detail] = store.show("hi-after")
    store.close()
    assert [o.order_id for o in detail.record.outcomes] == ["mr-after"]


def _row_counts(url: str) -> dict[str, int]:
    engine = create_db_engine(url)
    with engine.connect() as connection:
        counts = {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                  for table in ("invocation", "order_outcome", "issued_card", "feedback")}
    engine.dispose()
    return counts


def test_a_database_error_during_a_query_is_one_line_not_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The database opened, then the query failed (here the write lock another process holds, past the busy timeout):
    a traceback of SQLAlchemy's, with its SQL."""
    path = tmp_path / "audit.db"
    store = AuditStore(f"sqlite:///{path}")
    store.start()
    store.close()
    lock = SqliteLock(path)
    lock.down()
    try:
        code = main(["audit", "prune", "--before", "30d", "--database-url", f"sqlite:///{path}"])
    finally:
        lock.up()
    assert code == 2
    assert capsys.readouterr().err == (
        f"The audit database at sqlite:///{path} failed the query: OperationalError / OperationalError (SQLITE_BUSY): "
        "the SQLite file is locked by another process\n")


# 100,000 calls of 2020, one a minute, each with a decision: made by PostgreSQL itself.
_MANY_DECIDED_CALLS = (
    "INSERT INTO invocation (time, service_id, hook, hook_instance, status, latency_ms) SELECT timestamp '2020-01-01' "
    "+ g * interval '1 minute', 's', 'order-sign', 'hi-' || g, 200, 1.0 FROM generate_series(1, 100000) g",
    "INSERT INTO order_outcome (invocation_id, order_id, decision, what_if, criteria) "
    "SELECT id, 'MedicationRequest/o', 'meets-criteria', false, '[]' FROM invocation",
)


@pytest.mark.postgres
def test_prune_is_not_cut_by_the_services_statement_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    """A prune of a large trail outlasted the 5 s each statement of the service may take on PostgreSQL (a bound for
    the request path, not for an operator's maintenance): it failed, deleting nothing. Here the bound is 100 ms, which
    opening the database keeps within and deleting 100,000 calls with their decisions does not."""
    if not POSTGRES_URL:
        pytest.skip("CDS_TEST_POSTGRES_URL is not set")
    for url in _postgres_schema_url(POSTGRES_URL):
        engine = create_db_engine(url)
        migrate(engine)
        with engine.begin() as connection:
            for statement in _MANY_DECIDED_CALLS:
                connection.exec_driver_sql(statement)
        engine.dispose()
        options = make_url(url).query["options"]
        bounded = make_url(url).update_query_dict({"options": f"{options} -c statement_timeout=100"})
        rendered = bounded.render_as_string(hide_password=False)
        assert main(["audit", "prune", "--before", "2021-01-01", "--database-url", rendered]) == 0
        deleted = (": 100000 calls (invocation), 100000 decisions (order_outcome), 0 cards and suggestions "
                   "(issued_card), 0 feedback items (feedback)\n")
        assert capsys.readouterr().out.endswith(deleted)
