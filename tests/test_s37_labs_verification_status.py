"""A Condition whose verificationStatus is no code of FHIR's value set, through the endpoint.

fhir-data-profile.md ignores Conditions refuted or entered in error and counts the other statuses (confirmed,
unconfirmed, provisional, differential). A status outside that required value set (condition-ver-status) says
neither: "suspected", a local code alone, or text alone. Counted as confirmed, such a Condition had established an ALL
diagnosis, or denied a renewal on a toxicity, that no one can confirm. The Condition is unreadable instead
(facts/unreadable.py): the facts it bears on are unknown unless another Condition settles them, and the card asks for
its verification status, never a denial (policy-rules.md §1). A code of FHIR's system, or of none, is read.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest

from cds_service import SERVICE_ID
from cds_service.facts.shape import problem
from tests.factories import condition
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import ADULT_MRD_POS, BASELINE, Request, add, decision_of, example, the
from tests.test_s36_clinical_edges import RENEWAL, VERIFICATION, recorded, status_of

UNKNOWN = [
    {"coding": [{"system": VERIFICATION, "code": "suspected"}]},
    {"coding": [{"system": "http://hospital.example.org/problem-status", "code": "CONF", "display": "Confirmed"}]},
    {"text": "Confirmed"},
]
ASKED = "the verification status of the ALL diagnosis"  # the summary's words; the detail names Condition/all-1


def verified(request: Request, status: dict[str, Any], condition_id: str = "all-1") -> None:
    the(request, "conditions", condition_id)["verificationStatus"] = status


def confirmed_copy(request: Request) -> None:
    """The ALL Condition again as all-2, confirmed: a diagnosis that establishes the indication alone."""
    other = copy.deepcopy(the(request, "conditions", "all-1"))
    other["id"] = "all-2"
    other["verificationStatus"] = {"coding": [{"system": VERIFICATION, "code": "confirmed"}]}
    add(request, "conditions", other)


def card(client: LiveClient, request: Request) -> tuple[str, dict[str, Any]]:
    """The decision card's summary and its coverage-decision."""
    response = client.post(f"/cds-services/{SERVICE_ID}", json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    [found] = [c for c in response.get_json()["cards"] if "coverage-decision" in c.get("extension", {})]
    return found["summary"], found["extension"]["coverage-decision"]


@pytest.mark.parametrize("status", UNKNOWN)
@pytest.mark.parametrize("name", ["florida-blue-mrd-positive", BASELINE[ADULT_MRD_POS]])
def test_the_only_all_diagnosis_of_unknown_verification_is_asked_for(client: LiveClient, name: str,
                                                                     status: dict[str, Any]) -> None:
    request = example(name)
    verified(request, status)
    summary, decision = card(client, request)
    assert decision["decision"] == "information-needed"
    [diagnosis] = [c for c in decision["criteria"] if c["id"].endswith(".b-cell-precursor-all")]
    assert (diagnosis["status"], diagnosis["evidence"]) == ("unknown", ["Condition/all-1"])
    assert "verificationStatus is " in diagnosis["note"]
    assert ASKED in summary and len(summary) < 140 and "Condition/" not in summary
    assert any(item.startswith(f"{ASKED} (Condition/all-1: verificationStatus is ") for item in decision["missing"])


@pytest.mark.parametrize("status", UNKNOWN)
def test_another_confirmed_all_diagnosis_establishes_the_indication(client: LiveClient,
                                                                    status: dict[str, Any]) -> None:
    """Florida Blue reads the diagnosis, not the disease status: the confirmed Condition meets it alone."""
    request = example("florida-blue-mrd-positive")
    verified(request, status)
    confirmed_copy(request)
    summary, decision = card(client, request)
    assert decision["decision"] == "meets-criteria"
    assert ASKED not in summary


@pytest.mark.parametrize("status", [
    {"coding": [{"system": VERIFICATION, "code": "provisional"}]},
    {"coding": [{"system": "https://terminology.hl7.org/CodeSystem/condition-ver-status/", "code": "confirmed"},
                {"system": "http://hospital.example.org/problem-status", "code": "CONF"}]},
    {"coding": [{"code": "confirmed"}]},
])
def test_a_status_of_fhirs_value_set_is_read_as_before(client: LiveClient, status: dict[str, Any]) -> None:
    """Any code of FHIR's system (either scheme, a trailing slash), beside a local one, or sent without a system."""
    request = example("florida-blue-mrd-positive")
    verified(request, status)
    assert card(client, request)[1]["decision"] == "meets-criteria"


def test_a_local_refuted_is_no_refuted_status(client: LiveClient) -> None:
    """Another system's "refuted" is not FHIR's: the diagnosis is asked about, not dropped as refuted (which also
    asks, for an ALL diagnosis, but without naming the Condition a clinician has to correct)."""
    request = example("florida-blue-mrd-positive")
    verified(request, {"coding": [{"system": "http://hospital.example.org/problem-status", "code": "refuted"}]})
    summary, decision = card(client, request)
    assert decision["decision"] == "information-needed"
    assert ASKED in summary


@pytest.mark.parametrize(("verification", "status"), [
    ("suspected", "unknown"), ("confirmed", "not-met"), ("refuted", "met")])
def test_a_toxicity_of_unknown_verification_is_asked_for_never_a_denial(client: LiveClient, verification: str,
                                                                        status: str) -> None:
    """Aspirus IV (renewal): a grade 4 CRS since the course start is unacceptable toxicity (not met) when its status
    is confirmed; of a status no one can read, it is unknown: a renewal is not denied on it."""
    request = example(RENEWAL)
    recorded(request, "D89.834", "2026-09-15", verification=verification)
    assert status_of(decision_of(client, request), ".no-unacceptable-toxicity") == status


def test_a_confirmed_toxicity_settles_it_whatever_another_of_unknown_verification_says(client: LiveClient) -> None:
    request = example(RENEWAL)
    recorded(request, "D89.834", "2026-09-15", verification="confirmed")
    recorded(request, "D89.834", "2026-10-01", verification="suspected")
    decision = decision_of(client, request)
    assert status_of(decision, ".no-unacceptable-toxicity") == "not-met"
    assert decision["decision"] == "criteria-not-met"


@pytest.mark.parametrize(("status", "said"), [
    ({"coding": [{"system": VERIFICATION, "code": "confirmed"}, {"system": VERIFICATION, "code": "zz"}]},
     'verificationStatus is "zz", not a code FHIR defines for it'),
    ({"coding": [{"system": "http://hospital.example.org/problem-status", "code": "CONF"}]},
     'verificationStatus is "CONF", not a code FHIR defines for it'),
    ({"coding": []}, "verificationStatus is without a code FHIR defines for it"),
    ({"coding": [{"system": VERIFICATION, "code": 7}]}, "verificationStatus.coding[0].code is a number, not text"),
])
def test_the_note_quotes_the_status_that_is_no_code_of_fhirs(status: dict[str, Any], said: str) -> None:
    assert problem(condition() | {"verificationStatus": status}) == said
