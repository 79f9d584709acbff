"""Florida Blue guideline 09-J2000-26, Program Exceptions: the Federal Employee Program and the State Account
Organization follow their own guidelines, so their members are not decided under this one (docs/policy-reading.md,
Florida Blue Program Exceptions). Medicare Advantage follows it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cds_service.valuesets import NO_POLICY, load_valuesets
from tests.live_server import LiveClient

EXAMPLE = Path(__file__).resolve().parents[1] / "fhir_examples" / "florida-blue-relapsed-refractory-ph-negative.json"


def _answer(client: LiveClient, payer: str, by_organization: bool = False) -> list[dict[str, Any]]:
    """The cards for the example that meets relapsed/refractory Ph- B-ALL, its payer named `payer`."""
    body = json.loads(EXAMPLE.read_text())
    [coverage] = [e["resource"] for e in body["prefetch"]["coverage"]["entry"]]
    if by_organization:
        coverage["contained"] = [{"resourceType": "Organization", "id": "payer", "name": payer}]
        coverage["payor"] = [{"reference": "#payer"}]
    else:
        coverage["payor"] = [{"display": payer}]
    response = client.post("/cds-services/blinatumomab-coverage", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    cards: list[dict[str, Any]] = response.get_json()["cards"]
    return cards


@pytest.mark.parametrize("payer", ["Florida Blue FEP", "Florida Blue Federal Employee Program",
                                   "Blue Cross and Blue Shield of Florida - State Account Organization"])
@pytest.mark.parametrize("by_organization", [False, True])
def test_a_program_the_guideline_leaves_out_names_no_plan(client: LiveClient, payer: str,
                                                          by_organization: bool) -> None:
    """It had been "Florida Blue: meets criteria ... approved to 2027-06-01" under a guideline that says FEP and SAO
    members follow their own: the no-plan card now, coverage not checked."""
    [card] = _answer(client, payer, by_organization)
    assert "coverage-decision" not in card.get("extension", {})
    assert card["summary"] == "No supported health plan found: coverage not checked"


@pytest.mark.parametrize("payer", ["Florida Blue", "Florida Blue Medicare", "Blue Cross Blue Shield of Florida"])
def test_other_florida_blue_lines_of_business_are_decided(client: LiveClient, payer: str) -> None:
    [card] = _answer(client, payer)
    decision = card["extension"]["coverage-decision"]
    assert (decision["policy"], decision["decision"]) == ("florida-blue", "meets-criteria")


def test_an_identifier_routed_to_no_policy_decides_before_the_name(tmp_path: Path) -> None:
    """An operator's identifier of such a program names no plan even when the name says Florida Blue; its null
    entry is not a policy the start-up must find a file for."""
    (tmp_path / "payers.json").write_text(json.dumps({"name": "payers", "codes": [
        {"system": "http://example.org/payer-id", "code": "FEP-FL", "policy": None},
        {"system": "http://example.org/payer-id", "code": "FB-1", "policy": "florida-blue"}]}))
    sets = load_valuesets(str(tmp_path))
    fep = [{"system": "http://example.org/payer-id", "value": "FEP-FL"}]
    assert sets.policy_for("payers", "Florida Blue", fep) == NO_POLICY  # found: no other name is asked
    assert sets.policy_for("payers", "Acme", [{"system": "http://example.org/payer-id", "value": "FB-1"}]) \
        == "florida-blue"
    assert sets.policy_for("payers", "FEP") == NO_POLICY  # the program alone: no plan, as any unknown name


def test_the_routing_names_only_policies_with_files() -> None:
    from cds_service.facts.coverage import routed_policy_ids

    assert routed_policy_ids() == {"aspirus-magellan", "florida-blue"}
