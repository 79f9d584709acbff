"""Review: a payor naming a Florida Blue program exception (payers entries with a null policy: the Federal Employee
Program, the State Account Organization; docs/policy-reading.md, Florida Blue Program Exceptions) names no plan, and
its Organization, which names the carrier alone ("Florida Blue"), is not asked after it: the display "Florida Blue
FEP" beside an Organization "Florida Blue" had been decided under 09-J2000-26."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cds_service.valuesets import NO_POLICY, get_valuesets
from tests.live_server import LiveClient

EXAMPLE = Path(__file__).resolve().parents[1] / "fhir_examples" / "florida-blue-relapsed-refractory-ph-negative.json"


def _cards(client: LiveClient, display: str, organization: str) -> list[dict[str, Any]]:
    body = json.loads(EXAMPLE.read_text())
    [coverage] = [e["resource"] for e in body["prefetch"]["coverage"]["entry"]]
    coverage["contained"] = [{"resourceType": "Organization", "id": "payer", "name": organization}]
    coverage["payor"] = [{"reference": "#payer", "display": display}]
    response = client.post("/cds-services/blinatumomab-coverage", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    cards: list[dict[str, Any]] = response.get_json()["cards"]
    return cards


@pytest.mark.parametrize("display", ["Florida Blue FEP", "Federal Employee Program"])
def test_a_display_naming_the_program_is_not_overruled_by_the_organization(client: LiveClient,
                                                                           display: str) -> None:
    [card] = _cards(client, display, "Florida Blue")
    assert "coverage-decision" not in card.get("extension", {})
    assert card["summary"] == "No supported health plan found: coverage not checked"


def test_a_display_naming_nothing_still_asks_the_organization(client: LiveClient) -> None:
    [card] = _cards(client, "Commercial PPO", "Florida Blue")
    assert card["extension"]["coverage-decision"]["policy"] == "florida-blue"


@pytest.mark.parametrize(("name", "expected"), [
    ("Florida Blue FEP", NO_POLICY), ("State Account Organization", NO_POLICY), ("Florida Blue", "florida-blue"),
    ("Acme Health", None), ("Aspirus Florida Blue", None)])
def test_the_routing_tells_a_program_exception_from_an_unknown_name(name: str, expected: str | None) -> None:
    assert get_valuesets().policy_for("payers", name) == expected
