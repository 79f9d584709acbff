"""Florida Blue indication 2 (Position, initiation 2: another FDA-labeled or NCCN-supported diagnosis) as a payer
pharmacist reads it on the card, through the endpoint.

The guideline's Position numbers its initiation criteria 1 and 2 and its continuation criteria 1 to 3, so a bare
"Position 2" names either initiation 2 or continuation 2 (the combination criterion); the indication's criteria cite
"initiation 2" as the indication itself does.
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.live_server import LiveClient
from tests.test_florida_blue_http import COMPENDIA, Edit, attest, diagnosis
from tests.test_pipeline import example, post

CD19_NEGATIVE_RELAPSE = "florida-blue-cd19-negative-relapse"
INDICATION_2 = "Florida Blue Position, initiation 2"
NOT_B_ALL_LINE = "A diagnosis other than B-cell precursor ALL"


def _decision_card(client: LiveClient, name: str, edits: list[Edit]) -> dict[str, Any]:
    body = example(name)
    for edit in edits:
        edit(body)
    [card] = [c for c in post(client, body)["cards"] if "coverage-decision" in c["extension"]]
    return card


def _criterion(card: dict[str, Any], result_id: str) -> dict[str, Any]:
    return next(c for c in card["extension"]["coverage-decision"]["criteria"] if c["id"] == result_id)


def test_not_b_all_met_cites_initiation_2(client: LiveClient) -> None:
    """A lymphoblastic lymphoma with the use attested: indication 2 met, its diagnosis criterion cites its section."""
    card = _decision_card(client, COMPENDIA, [])
    not_b_all = _criterion(card, "fb-other-compendia.not-b-all")
    assert (not_b_all["status"], not_b_all["citation"]) == ("met", INDICATION_2)
    assert f"{NOT_B_ALL_LINE} (B-ALL is assessed under indication 1 only) (_{INDICATION_2}_)" in card["detail"]


@pytest.mark.parametrize("edits", [
    [attest(compendia_supported_use=True)],
    [],
], ids=["use attested", "use not attested"])
def test_not_b_all_not_met_is_listed_with_initiation_2(client: LiveClient, edits: list[Edit]) -> None:
    """A CD19-negative B-ALL relapse: the denial shows indication 1's failed CD19 criterion, and among the other
    indications not met, indication 2's B-ALL exclusion under its own section."""
    card = _decision_card(client, CD19_NEGATIVE_RELAPSE, edits)
    decision = card["extension"]["coverage-decision"]
    assert decision["decision"] == "criteria-not-met"
    assert _criterion(card, "fb-relapsed-refractory-ph-negative.cd19-positive")["status"] == "not-met"
    [line] = [line for line in card["detail"].splitlines() if line.startswith("- other FDA-labeled or NCCN 1/2A use")]
    assert f"(_{INDICATION_2}_)" in line, line
    assert "Position 2_" not in card["detail"]
