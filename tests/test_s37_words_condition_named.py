"""A Condition no one can read asked for in a clinician's words, through the endpoint.

A Condition whose verificationStatus is no code of FHIR's value set (tests/test_s37_labs_verification_status.py) had
the decision card's summary ask for "a readable verification status for Condition/cond-1": an id and an element
that mean nothing to a clinician signing the order. Its reader knows what the Condition is (the ALL diagnosis, the
grade 4-5 CRS or ICANS): the summary asks for "the verification status of the ALL diagnosis", and the detail keeps the
reference and the problem for the pharmacist and the integration engineer (facts/unreadable.py `Unreadable.request`,
summary_items.py).
"""
from __future__ import annotations

from typing import Any

import pytest

from cds_service import SERVICE_ID
from cds_service.summary_items import summary_item
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import Request, example
from tests.test_s36_clinical_edges import RENEWAL, recorded
from tests.test_s37_labs2_unverified_condition import CONSOLIDATION
from tests.test_s37_labs_verification_status import UNKNOWN, verified

PROBLEM = 'verificationStatus is "suspected", not a code FHIR defines for it'


def decision_card(client: LiveClient, request: Request) -> dict[str, Any]:
    response = client.post(f"/cds-services/{SERVICE_ID}", json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    [found] = [c for c in response.get_json()["cards"] if "coverage-decision" in c.get("extension", {})]
    return found


@pytest.mark.parametrize("name", ["florida-blue-mrd-positive", CONSOLIDATION])
def test_the_all_diagnosis_is_asked_for_by_name_its_id_in_the_detail(client: LiveClient, name: str) -> None:
    """The consolidation's phase, read from that Condition's status, asks for the same status, not for "therapy
    phase of this course" beside it (facts/diagnosis.py `_asking`): one item settles both."""
    request = example(name)
    verified(request, UNKNOWN[0])
    card = decision_card(client, request)
    payer = "Florida Blue" if name.startswith("florida") else "Aspirus Health Plan"
    assert card["summary"] == f"{payer}: document the verification status of the ALL diagnosis to confirm coverage"
    asked = f"the verification status of the ALL diagnosis (Condition/all-1: {PROBLEM})"
    assert asked in card["extension"]["coverage-decision"]["missing"]
    assert f"- {asked}" in card["detail"]


def test_a_toxicity_of_unknown_verification_is_asked_for_by_name(client: LiveClient) -> None:
    """Aspirus IV (renewal): the grade 4 CRS since the course start, not "Condition/cond-1", is what to check."""
    request = example(RENEWAL)
    recorded(request, "D89.834", "2026-09-15", verification="suspected")
    card = decision_card(client, request)
    assert card["summary"] == ("Aspirus Health Plan: document the verification status of the grade 4-5 CRS or ICANS "
                               "diagnosis to confirm coverage")
    [asked] = card["extension"]["coverage-decision"]["missing"]
    assert asked.startswith("the verification status of the grade 4-5 CRS or ICANS diagnosis (Condition/")
    assert asked.endswith(f": {PROBLEM})")


def test_a_long_summary_still_names_the_diagnosis_in_whole_words(client: LiveClient) -> None:
    """The cycle-6 renewal asks for several things: the named Condition comes first, whole, under 140 characters."""
    request = example(RENEWAL)
    verified(request, UNKNOWN[0])
    summary = decision_card(client, request)["summary"]
    assert summary.startswith("Aspirus Health Plan: document the verification status of the ALL diagnosis")
    assert summary.endswith(" to confirm coverage") and len(summary) < 140
    assert "Condition/" not in summary and "verificationStatus" not in summary


@pytest.mark.parametrize(("item", "said"), [
    (f"the verification status of the ALL diagnosis (Condition/all-1: {PROBLEM})",
     "the verification status of the ALL diagnosis"),
    # Sent without an id; the EHR's quoted text holding "; " and a parenthesis.
    ('the clinical status of the ALL diagnosis (Condition: clinicalStatus is "a; (b", not a code FHIR defines for it)',
     "the clinical status of the ALL diagnosis"),
    # Joined with another resource's request (unreadable.py `_unknown`): each said in words.
    (f"the verification status of the ALL diagnosis (Condition/all-2: {PROBLEM}); a readable Condition/all-1 "
     "(recordedDate is a number, not a date)",
     "the verification status of the ALL diagnosis; a readable recorded date for Condition/all-1"),
])
def test_a_named_request_is_said_without_its_reference_and_problem(item: str, said: str) -> None:
    assert summary_item(item) == said
