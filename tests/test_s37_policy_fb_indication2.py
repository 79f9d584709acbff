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
from tests.test_florida_blue_http import COMPENDIA, RR, Edit, attest, diagnosis, drop
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


def test_the_only_open_route_is_the_indication_the_card_shows(client: LiveClient) -> None:
    """An ALL of unknown lineage, CD19 negative, another labeled or NCCN use attested: every indication 1 use fails on
    CD19, and indication 2 waits on the lineage alone (a T-lineage ALL is not indication 1's). The card shows that
    indication, under its own section, and asks for the lineage for it: it had shown relapsed/refractory Ph- B-ALL,
    not met, asking "what to document for" it, as if the lineage could open a pathway CD19 had closed."""
    card = _decision_card(client, CD19_NEGATIVE_RELAPSE, [
        diagnosis("acute lymphoblastic leukemia"), attest(compendia_supported_use=True)])
    decision = card["extension"]["coverage-decision"]
    assert (decision["decision"], decision["indication"]) == ("information-needed", None)
    assert decision["missing"] == ["lineage of the ALL (immunophenotype)"]
    not_b_all = _criterion(card, "fb-other-compendia.not-b-all")
    assert (not_b_all["status"], not_b_all["citation"]) == ("unknown", INDICATION_2)
    assert not any(c["id"].startswith("fb-relapsed-refractory-ph-negative.") for c in decision["criteria"])
    assert "**What to document** for other FDA-labeled or NCCN 1/2A use" in card["detail"]
    [line] = [line for line in card["detail"].splitlines()
              if line.startswith("- ") and "relapsed/refractory Ph- B-ALL" in line]
    assert "❌ CD19-positive disease" in line and "CD19 negative (2026-11-12)" in line, line


def test_a_denial_still_shows_the_indication_1_criterion_that_failed(client: LiveClient) -> None:
    """Indication 2 not met (a B-ALL, its use not attested): the card shows indication 1's failure, not the
    catch-all (docs/policy-reading.md, the closest indication)."""
    card = _decision_card(client, CD19_NEGATIVE_RELAPSE, [])
    decision = card["extension"]["coverage-decision"]
    assert decision["decision"] == "criteria-not-met"
    assert not any(c["id"].startswith("fb-other-compendia.") for c in decision["criteria"])
    assert _criterion(card, "fb-relapsed-refractory-ph-negative.cd19-positive")["status"] == "not-met"


def test_an_open_indication_1_use_is_shown_before_the_catch_all(client: LiveClient) -> None:
    """An ALL of unknown lineage, no CD19 result, another use attested: indication 2 is open too (a T-lineage ALL),
    but the card shows the relapsed/refractory use the B lineage most ALL have would meet, and asks for it."""
    card = _decision_card(client, RR, [
        diagnosis("acute lymphoblastic leukemia"), drop("cd19-1"), attest(compendia_supported_use=True)])
    decision = card["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed"
    assert _criterion(card, "fb-relapsed-refractory-ph-negative.b-cell-precursor-all")["status"] == "unknown"
    assert not any(c["id"].startswith("fb-other-compendia.") for c in decision["criteria"])
    assert "**What to document** for relapsed/refractory Ph- B-ALL" in card["detail"]
