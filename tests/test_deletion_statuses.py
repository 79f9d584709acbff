"""Values an EHR sends empty or outside FHIR's codes are unreadable, never a reason to pass a record over: found by
tools/deletion_sweep.py, where a status of "" (or "x") dropped a live vaccine or a CD19-negative result and approved
the order, while a status of a wrong type asked for it (policy-rules.md §1: unreadable data is information needed)."""
from __future__ import annotations

from typing import Any

import pytest

from cds_service.facts.shape import rules_out
from tests.live_server import LiveClient
from tests.test_pipeline import example, post


def decision(client: LiveClient, request: dict[str, Any]) -> dict[str, Any]:
    cards = post(client, request)["cards"]
    found: dict[str, Any] = next(c for c in cards if "coverage-decision" in c.get("extension", {}))
    return found["extension"]["coverage-decision"]  # type: ignore[no-any-return]


def criterion(found: dict[str, Any], suffix: str) -> dict[str, Any]:
    return next(c for c in found["criteria"] if c["id"].endswith(suffix))


def with_status(name: str, key: str, index: int, status: str) -> dict[str, Any]:
    request = example(name)
    request["prefetch"][key]["entry"][index]["resource"]["status"] = status
    return request


@pytest.mark.parametrize(("status", "outcome", "u1"), [
    ("completed", "criteria-not-met", "not-met"),  # the MMR in the window, as sent
    ("not-done", "meets-criteria", "met"),  # a code FHIR defines that rules it out
    ("", "information-needed", "unknown"),
    ("x", "information-needed", "unknown"),
])
def test_a_live_vaccine_with_a_status_outside_fhirs_codes_leaves_u1_unknown(
        client: LiveClient, status: str, outcome: str, u1: str) -> None:
    """Aspirus III universal criterion: an MMR in the window whose status is "" was read as not given (approved)."""
    found = decision(client, with_status("aspirus-live-vaccine-critical", "immunizations", 0, status))
    assert (found["decision"], criterion(found, "U1")["status"]) == (outcome, u1)
    if u1 == "unknown":
        assert criterion(found, "U1")["evidence"] == ["Immunization/mmr-1"]


@pytest.mark.parametrize(("status", "outcome"), [
    ("final", "criteria-not-met"), ("", "information-needed"), ("final ", "information-needed"),
])
def test_a_cd19_negative_result_with_an_unreadable_status_leaves_cd19_unknown(
        client: LiveClient, status: str, outcome: str) -> None:
    """Florida Blue Position 1.a (CD19+ disease): the CD19-negative result at relapse with status "" was passed over,
    and the CD19+ result at diagnosis approved the order."""
    request = with_status("florida-blue-cd19-negative-relapse", "observations", 3, status)
    assert request["prefetch"]["observations"]["entry"][3]["resource"]["id"] == "cd19-relapse"
    found = decision(client, request)
    assert found["decision"] == outcome
    if outcome == "information-needed":
        assert criterion(found, "cd19-positive")["status"] == "unknown"


@pytest.mark.parametrize("value", ["", "   "])
def test_a_blank_cd19_result_is_a_result_without_a_value(client: LiveClient, value: str) -> None:
    """A blank valueString was read as text not mentioning CD19 (ignored, the CD19+ result at diagnosis approving);
    a result without its value asks for it, as a result with no valueString at all does."""
    request = example("florida-blue-cd19-negative-relapse")
    request["prefetch"]["observations"]["entry"][3]["resource"]["valueString"] = value
    found = decision(client, request)
    assert found["decision"] == "information-needed"
    cd19 = criterion(found, "cd19-positive")
    assert (cd19["status"], cd19["evidence"]) == ("unknown", ["Observation/cd19-relapse"])


def test_one_of_two_same_day_mrd_results_with_an_empty_status_leaves_mrd_unknown(client: LiveClient) -> None:
    """The two MRD results of one day disagree (information needed); one of them with status "" had been dropped and
    the other approved the order."""
    found = decision(client, with_status("aspirus-consolidation-mrd-same-day-conflict", "observations", 4, ""))
    assert found["decision"] == "information-needed"
    assert criterion(found, "mrd-positive")["status"] == "unknown"


def test_an_attestation_with_an_empty_status_is_unreadable_not_absent(client: LiveClient) -> None:
    """The attested complete response can change what the record says (an attestation overrides): unreadable, it
    leaves the criterion unknown, as a status of a wrong type does; read as absent it had been passed over."""
    found = decision(client, with_status("aspirus-adult-consolidation-mrd-positive", "attestations", 0, ""))
    assert found["decision"] == "information-needed"
    response = criterion(found, "complete-response")
    assert (response["status"], response["evidence"][0]) == ("unknown", "QuestionnaireResponse/attestation-1")


def test_rules_out_only_by_a_status_fhir_defines() -> None:
    counted = frozenset({"final"})
    observation = {"resourceType": "Observation"}
    assert rules_out({**observation, "status": "preliminary"}, counted)
    assert not rules_out({**observation, "status": "final"}, counted)
    for unread in ("", "final ", "x", 7, None):
        assert not rules_out({**observation, "status": unread}, counted)
    assert not rules_out(observation, counted)


@pytest.mark.parametrize("status", ["", "activ"])
def test_a_coverage_with_a_status_outside_fhirs_codes_leaves_the_plan_unknown(client: LiveClient,
                                                                              status: str) -> None:
    """A patient's Aspirus Coverage with status "" was read as not in force: the answer said no supported plan."""
    request = with_status("aspirus-adult-consolidation-mrd-positive", "coverage", 0, status)
    summaries = [card["summary"] for card in post(client, request)["cards"]]
    assert summaries[0] == "Coverage data unreadable: health plan unknown, coverage not checked"
