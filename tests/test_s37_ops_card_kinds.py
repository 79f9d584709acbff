"""`--card-kind` takes the kinds of card_kinds.CARD_KINDS, the registry every card module takes its kind from, not
a list spelt again in the command line: every registered kind is accepted, no module holds a kind left out of the
registry, and every kind real calls record is registered and selects the decisions that issued it."""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from flask import Flask

import cds_service.app  # noqa: F401  (loads every module a call runs: the card modules among them)
from cds_service.card_kinds import CARD_KINDS, CardKind
from cds_service.cli import build_parser, main
from tests.live_server import LiveClient

URL = "/cds-services/blinatumomab-coverage"
EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
REGISTERED = {kind.code for kind in CARD_KINDS}


def _kinds_the_service_holds() -> set[CardKind]:
    """Every CardKind a module the service has loaded holds, defined there or imported: the kinds its cards carry."""
    return {value for name, module in list(sys.modules.items()) if name.startswith("cds_service.")
            for value in vars(module).values() if isinstance(value, CardKind)}


def test_every_registered_kind_is_accepted_by_card_kind_and_no_other() -> None:
    assert len(CARD_KINDS) >= 11 and len(REGISTERED) == len(CARD_KINDS)  # one code a kind
    assert _kinds_the_service_holds() == set(CARD_KINDS)
    for kind in CARD_KINDS:
        assert build_parser().parse_args(["audit", "--card-kind", kind.code]).card_kind == kind.code
    with pytest.raises(SystemExit) as refused:
        build_parser().parse_args(["audit", "--card-kind", "limits"])  # a topic's code, not a kind
    assert refused.value.code == 2


def test_every_kind_real_calls_record_selects_their_decisions(app: Flask, live_client: LiveClient,
                                                               tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    sent: set[str] = set()
    for example in sorted(EXAMPLES.glob("*.json")):
        if example.name == "expected.json":
            continue
        response = live_client.post(URL, json=json.loads(example.read_text()))
        assert response.status_code == 200, example.name
        sent |= {card["extension"]["card-kind"] for card in response.get_json()["cards"]}
    assert app.extensions["cds_service"].store.flush(timeout=10)
    url = f"sqlite:///{tmp_path / 'cds.db'}"
    assert main(["audit", "--database-url", url, "export", "--format", "csv"]) == 0
    recorded = {kind for row in csv.DictReader(io.StringIO(capsys.readouterr().out))
                for kind in row["card_kinds"].split(", ") if kind}
    # The examples reach the decision, no-plan, dose, plan-dose-limit and quantity-limit cards; the other kinds are
    # checked by the registry above.
    assert {"decision", "no-plan", "dose", "plan-dose-limit", "quantity-limit"} <= sent == recorded <= REGISTERED
    for kind in sorted(recorded):
        assert main(["audit", "--database-url", url, "--card-kind", kind, "--format", "jsonl", "--limit", "500"]) == 0
        rows = capsys.readouterr().out.splitlines()
        assert rows, kind
