"""Florida Blue's Program Exceptions as EHRs write them (deletion_sweep's `program` variants): the guideline names
the State Account Organization "(SAO)" and the program is often "Federal Employees Program"; both had been decided
under the guideline (docs/policy-reading.md, Florida Blue Program Exceptions)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cds_service.valuesets import NO_POLICY, get_valuesets
from tests.live_server import LiveClient

EXAMPLE = Path(__file__).resolve().parents[1] / "fhir_examples" / "florida-blue-relapsed-refractory-ph-negative.json"


@pytest.mark.parametrize("payer", ["Florida Blue Federal Employees Program", "Florida Blue SAO",
                                   "Florida Blue (SAO)", "FEP Blue Standard (Florida Blue)"])
def test_a_program_written_so_names_no_plan(payer: str) -> None:
    assert get_valuesets().policy_for("payers", payer) == NO_POLICY


@pytest.mark.parametrize("payer", ["Florida Blue", "Florida Blue Saof", "Florida Blue Federal Employers Plan"])
def test_words_that_only_look_alike_stay_florida_blue(payer: str) -> None:
    assert get_valuesets().policy_for("payers", payer) == "florida-blue"


def test_the_state_account_organization_gets_the_no_plan_card(client: LiveClient) -> None:
    """Before: 'Florida Blue: meets criteria (relapsed/refractory Ph- B-ALL), approved to 2027-06-01'."""
    body = json.loads(EXAMPLE.read_text())
    body["prefetch"]["coverage"]["entry"][0]["resource"]["payor"] = [{"display": "Florida Blue SAO"}]
    response = client.post("/cds-services/blinatumomab-coverage", json=body)
    [card] = response.get_json()["cards"]
    assert "coverage-decision" not in card.get("extension", {})
    assert card["summary"] == "No supported health plan found: coverage not checked"
