"""An MRD the record says is not available (an MRD Observation with a dataAbsentReason, or the `mrd-unavailable`
answer) while the MRD-unavailable pathway fails on another criterion: the pathways that need a value asked the
clinician to "document MRD result (or that it is unavailable)", and their MRD criterion read "no MRD result" with no
evidence, though the chart says just that. The criterion now shows the statement and its resource, and asks for an
MRD result as such (labs.py `_said_unavailable`); with no MRD record at all, it still offers both routes."""
from __future__ import annotations

from typing import Any

import pytest

from cds_service.facts.labs import MRD_NONE_AVAILABLE
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import attest, both, decision_of, drop, example, ph

CRITERION = "adult-consolidation-mrd-positive.mrd-positive"
# Not a candidate for the MRD-unavailable pathway: induction not inotuzumab + mini-hyper-CVD, a chemo candidate.
NOT_INO_AND_CANDIDATE = attest(induction_ino_mini_hyper_cvd=False, multiagent_chemo_candidate=True)


def _post(client: LiveClient, request: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    decision = decision_of(client, request)
    return decision, next(c for c in decision["criteria"] if c["id"] == CRITERION)


@pytest.mark.parametrize("other_failure", [NOT_INO_AND_CANDIDATE, ph("positive")], ids=["induction", "ph-positive"])
def test_an_mrd_recorded_as_not_available_is_shown_and_a_result_asked_for(client: LiveClient,
                                                                         other_failure: Any) -> None:
    request = example("aspirus-adult-consolidation-mrd-unavailable")  # Observation/mrd-1: not performed, 2026-11-15
    other_failure(request)
    decision, criterion = _post(client, request)
    assert decision["decision"] == "information-needed"
    assert (criterion["status"], criterion["evidence"]) == ("unknown", ["Observation/mrd-1"])
    assert criterion["note"] == "MRD not available (2026-11-15)"
    assert decision["missing"][0] == MRD_NONE_AVAILABLE
    assert "MRD result (or that it is unavailable)" not in decision["missing"]


def test_an_attested_unavailable_mrd_is_shown_likewise(client: LiveClient) -> None:
    request = example("aspirus-adult-consolidation-mrd-unavailable")
    both(lambda r: drop(r, "observations", "mrd-1"), attest(mrd_unavailable=True), NOT_INO_AND_CANDIDATE)(request)
    decision, criterion = _post(client, request)
    assert criterion["status"] == "unknown" and criterion["evidence"][0].startswith("QuestionnaireResponse/")
    assert criterion["note"].startswith("MRD unavailable attested")
    assert decision["missing"][0] == MRD_NONE_AVAILABLE


def test_with_no_mrd_record_both_routes_are_still_offered(client: LiveClient) -> None:
    request = example("aspirus-adult-consolidation-mrd-unavailable")
    both(lambda r: drop(r, "observations", "mrd-1"), NOT_INO_AND_CANDIDATE)(request)
    decision, criterion = _post(client, request)
    assert (criterion["status"], criterion["evidence"], criterion["note"]) == ("unknown", [], "no MRD result on record")
    assert decision["missing"][0] == "MRD result (or that it is unavailable)"


def test_a_result_before_the_unavailable_record_still_decides(client: LiveClient) -> None:
    """An MRD result by the course start is read as before, whatever was said of MRD later: the MRD-positive
    pathway is met on it (the MRD-unavailable one too, but it comes later in the policy)."""
    request = example("aspirus-adult-consolidation-mrd-positive")  # MRD 0.05% on 2026-11-15
    attest(mrd_unavailable=True)(request)
    decision, criterion = _post(client, request)
    assert (decision["decision"], criterion["status"]) == ("meets-criteria", "met")
    assert criterion["evidence"] == ["Observation/mrd-1"]
