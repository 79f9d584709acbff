"""`cds-service evaluate` of a request whose blinatumomab orders give no card (the request's davinci-crd.configuration
turned them off) says so: "no blinatumomab order to evaluate" sent whoever tried a configuration looking for a
missing order."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cds_service.cli import main
from cds_service.config import VARIABLES

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _printed(capsys: pytest.CaptureFixture[str], request: Path) -> str:
    assert main(["evaluate", str(request)]) == 0
    return capsys.readouterr().out.strip()


def test_orders_whose_cards_the_configuration_turned_off_are_not_called_missing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = json.loads((EXAMPLES / "aspirus-adult-maintenance.json").read_text())
    body["extension"] = {"davinci-crd.configuration": {"coverage-info": False}}
    request = tmp_path / "coverage-info-off.json"
    request.write_text(json.dumps(body))
    assert _printed(capsys, request) == ("No cards: nothing to show for the 1 blinatumomab order evaluated (the "
                                         "request's davinci-crd.configuration may turn cards off).")


def test_a_request_without_a_blinatumomab_order_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert _printed(capsys, EXAMPLES / "not-blinatumomab-order.json") == (
        "No cards: no blinatumomab order to evaluate.")
