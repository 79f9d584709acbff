"""Two attestation responses authored at the same moment that disagree (deletion_sweep's duplicate attestations):
document order had picked the later, so a 'no' copied after a 'yes' denied a renewal (Aspirus IV) and a consolidation
(CR to induction). Which the clinician meant is not guessed: the item's facts are unknown, as for two answers of one
response that disagree, unless an answer authored later outranks both."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import LiveClient

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
RENEWAL = "aspirus-relapsed-refractory-cycle6-renewal"  # response-or-stabilization: yes, authored 2026-11-25
CRITERION = "adult-relapsed-refractory.response-or-stabilization"


def _copy_answering(body: dict[str, Any], value: bool, authored: str | None = None) -> None:
    """Adds a copy of the attestation under another id, its response-or-stabilization answer `value`."""
    response = copy.deepcopy(body["prefetch"]["attestations"]["entry"][0]["resource"])
    response["id"] += "-copy"
    response["item"] = [{"linkId": "response-or-stabilization", "answer": [{"valueBoolean": value}]}]
    if authored is not None:
        response["authored"] = authored
    body["prefetch"]["attestations"]["entry"].append({"resource": response})


def _criterion(client: LiveClient, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    response = client.post("/cds-services/blinatumomab-coverage", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    [decision] = [c["extension"]["coverage-decision"] for c in response.get_json()["cards"]
                  if "coverage-decision" in c.get("extension", {})]
    [criterion] = [c for c in decision["criteria"] if c["id"] == CRITERION]
    return decision["decision"], criterion


@pytest.mark.parametrize("first", [True, False])
def test_a_copy_of_the_same_moment_that_disagrees_leaves_the_answer_unknown(client: LiveClient, first: bool) -> None:
    """Before: criteria-not-met with the 'no' copied after the 'yes' (and met with them the other way round)."""
    body = json.loads((EXAMPLES / f"{RENEWAL}.json").read_text())
    _copy_answering(body, False)
    if not first:
        entries = body["prefetch"]["attestations"]["entry"]
        entries.reverse()
    decision, criterion = _criterion(client, body)
    assert decision == "information-needed"
    assert criterion["status"] == "unknown"


def test_a_copy_that_agrees_changes_nothing(client: LiveClient) -> None:
    body = json.loads((EXAMPLES / f"{RENEWAL}.json").read_text())
    _copy_answering(body, True)
    assert _criterion(client, body)[0] == "meets-criteria"


def test_a_later_answer_outranks_the_tie(client: LiveClient) -> None:
    body = json.loads((EXAMPLES / f"{RENEWAL}.json").read_text())
    _copy_answering(body, False)
    _copy_answering(body, True, authored="2026-11-26")
    body["prefetch"]["attestations"]["entry"][-1]["resource"]["id"] += "-later"
    decision, criterion = _criterion(client, body)
    assert (decision, criterion["status"]) == ("meets-criteria", "met")
