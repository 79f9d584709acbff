"""What a payer pharmacist or an operator met reading a trail written by real calls: `show` printed a call whatever
listing filters were given before it (`audit --policy florida-blue show KEY` showed an Aspirus call, as if the filter
had selected it), and the table left a blank where a refused call has an empty hook or hookInstance, so the reason
seemed to sit in the wrong column."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask

from cds_service.cli import main
from cds_service.override_reasons import OVERRIDE_REASON_SYSTEM
from tests.live_server import LiveClient

URL = "/cds-services/blinatumomab-coverage"
EXAMPLE = Path(__file__).resolve().parents[1] / "fhir_examples" / "aspirus-quantity-over-limit.json"


@pytest.fixture
def trail(app: Flask, live_client: LiveClient, tmp_path: Path) -> str:
    """The URL of a trail holding an Aspirus decision and a call refused before its body was read (415)."""
    assert live_client.post(URL, json={**json.loads(EXAMPLE.read_text()), "hookInstance": "hi-aspirus"}) \
        .status_code == 200
    assert live_client.post(URL, data="x", headers={"Content-Type": "text/plain"}).status_code == 415
    assert app.extensions["cds_service"].store.flush(timeout=10)
    return f"sqlite:///{tmp_path / 'cds.db'}"


@pytest.mark.parametrize("options", [["--policy", "florida-blue"], ["--since", "2030-01-01", "--decision", "no-plan"],
                                     ["--rejected"], ["--card-kind", "dose", "--feedback"]])
def test_show_refuses_the_listing_options_given_before_it(trail: str, capsys: pytest.CaptureFixture[str],
                                                          options: list[str]) -> None:
    assert main(["audit", "--database-url", trail, *options, "show", "hi-aspirus"]) == 2
    captured = capsys.readouterr()
    named = ", ".join(option for option in options if option.startswith("--"))
    assert captured.out == ""
    assert captured.err == (f"show finds calls by KEY alone and takes no {named}: they select the listing's rows "
                            "(cds-service audit without show)\n")


def test_show_still_takes_a_limit_given_before_it(trail: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--database-url", trail, "--limit", "1", "show", "hi-aspirus"]) == 0
    assert "hookInstance  hi-aspirus" in capsys.readouterr().out


def test_an_empty_hook_and_hook_instance_read_as_not_recorded(trail: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--database-url", trail, "--rejected"]) == 0
    header, _rule, row = capsys.readouterr().out.splitlines()
    cells = re.split(r"\s{2,}", row)
    assert re.split(r"\s{2,}", header) == ["time (UTC)", "hook", "client", "tenant", "patient", "status", "reason",
                                           "hookInstance", "request id"]
    assert cells[1:-1] == ["-", "-", "-", "-", "415", 'Content-Type "text/plain" is not JSON; use application/json',
                           "-"]


def test_a_call_refused_before_its_body_was_read_is_shown_by_the_request_id_the_listing_names(
        trail: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`show`'s hint for a refused call says to show it by its hookInstance or request id, and the listing named
    neither: a 415 has no hookInstance, and its request id was in the JSON of no listing."""
    assert main(["audit", "--database-url", trail, "--rejected", "--format", "jsonl"]) == 0
    [refused] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert re.fullmatch(r"[0-9a-f]{32}", refused["request_id"])
    assert main(["audit", "--database-url", trail, "--rejected"]) == 0
    assert capsys.readouterr().out.splitlines()[2].endswith(refused["request_id"])
    assert main(["audit", "--database-url", trail, "show", refused["request_id"]]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0] == "hookInstance  -" and shown[2] == "service       blinatumomab-coverage (-)"
    assert shown[8].startswith("status        415 in ")


def test_show_refuses_the_listings_json_lines_format_given_before_it(trail: str,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """It printed text, which a reader of JSON lines (`| jq`) cannot parse, and exited 0."""
    assert main(["audit", "--database-url", trail, "--format", "jsonl", "show", "hi-aspirus"]) == 2
    assert capsys.readouterr().err == ("show prints text, or a JSON list with --format json given after show; "
                                       "--format jsonl is the listing's\n")
    assert main(["audit", "--database-url", trail, "show", "hi-aspirus", "--format", "json"]) == 0
    assert [call["hook_instance"] for call in json.loads(capsys.readouterr().out)] == ["hi-aspirus"]
    assert main(["audit", "--database-url", trail, "show", "hi-aspirus"]) == 0
    assert capsys.readouterr().out.startswith("hookInstance  hi-aspirus\n")


def test_one_of_our_reasons_sent_back_by_its_code_alone_is_said_with_its_display(
        app: Flask, live_client: LiveClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The listing, `show` and the export said `plan-exception-requested`, where the card had offered the words; an
    EHR's own code, whose words the service does not know, stays as sent."""
    body = {**json.loads(EXAMPLE.read_text()), "hookInstance": "hi-reasons"}
    decision, quantity = live_client.post(URL, json=body).get_json()["cards"]
    items = [{"card": decision["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-24T23:00:00Z",
              "overrideReason": {"reason": {"system": OVERRIDE_REASON_SYSTEM, "code": "plan-exception-requested"}}},
             {"card": quantity["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-24T23:00:01Z",
              "overrideReason": {"reason": {"system": "urn:ehr:reasons", "code": "plan-exception-requested"}}}]
    assert live_client.post(f"{URL}/feedback", json={"feedback": items}).get_json()["stored"] == 2
    assert app.extensions["cds_service"].store.flush(timeout=10)
    ours = "Exception or peer-to-peer review requested from the plan (plan-exception-requested)"
    url = f"sqlite:///{tmp_path / 'cds.db'}"
    assert main(["audit", "--database-url", url, "--feedback"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [re.split(r"\s{2,}", row)[2] for row in rows] == ["plan-exception-requested", ours]
    assert main(["audit", "--database-url", url, "show", "hi-reasons"]) == 0
    shown = capsys.readouterr().out
    assert f"reason {ours};" in shown and "reason plan-exception-requested;" in shown
    assert main(["audit", "--database-url", url, "export", "--format", "csv"]) == 0
    assert f"reason {ours};" in capsys.readouterr().out
