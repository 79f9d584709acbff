"""`--card-kind` takes the kinds the cards are made of (the CardKind of each card module), not a list spelt again in
the command line: every kind the service can send, and so record, is accepted, and selects the decisions that issued
it on a trail written by real calls."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from flask import Flask

import cds_service.app  # noqa: F401  (loads every module a call runs: the card modules among them)
from cds_service.card_kinds import CardKind
from cds_service.cli import build_parser, main
from cds_service.cli_audit import CARD_KINDS
from tests.live_server import LiveClient

URL = "/cds-services/blinatumomab-coverage"
EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"


def _kinds_the_service_defines() -> set[str]:
    """The code of every CardKind a module the service has loaded holds: the kinds its cards can carry."""
    return {value.code for name, module in list(sys.modules.items()) if name.startswith("cds_service.")
            for value in vars(module).values() if isinstance(value, CardKind)}


def test_every_kind_a_card_module_defines_is_accepted_by_card_kind() -> None:
    defined = _kinds_the_service_defines()
    assert len(defined) >= 11
    assert set(CARD_KINDS) == defined and len(CARD_KINDS) == len(defined)
    for kind in defined:
        assert build_parser().parse_args(["audit", "--card-kind", kind]).card_kind == kind


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
    # The examples reach the decision, no-plan, dose, plan-dose-limit and quantity-limit cards; the other kinds are
    # checked by their definitions above.
    assert {"decision", "no-plan", "dose", "plan-dose-limit", "quantity-limit"} <= sent <= set(CARD_KINDS)
    url = f"sqlite:///{tmp_path / 'cds.db'}"
    for kind in sorted(sent):
        assert main(["audit", "--database-url", url, "--card-kind", kind, "--format", "jsonl", "--limit", "500"]) == 0
        rows = capsys.readouterr().out.splitlines()
        assert rows, kind
