"""An MRD result on record whose value the service cannot read asks for that result's value, through the endpoint.

fhir-data-profile.md §Labs reads an MRD value in %, per million, as a fraction of cells (unit "1") or qualitatively; a
value without a unit, or of another shape (a valueRatio whose units do not divide into a fraction of cells, a
valueInteger), is unreadable, never guessed: the MRD criteria are unknown and the decision asks for information, never
a denial (policy-rules.md §1). The card had asked
for "MRD result (or that it is unavailable)" (Aspirus) or "quantitative MRD result (%)" (Florida Blue) beside a
chart holding one: the clinician is now asked for the value of the result dated 2026-11-15 that was not read.
"""
from __future__ import annotations

from typing import Any

import pytest

from cds_service import SERVICE_ID
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import attest, example, mrd

RESULT = "the MRD result dated 2026-11-15"
UNREAD = [
    {"valueQuantity": {"value": 0.2}},  # no unit
    {"valueRatio": {"numerator": {"value": 1, "unit": "%"}, "denominator": {"value": 1000}}},  # 0.1% or 0.001%?
    {"valueInteger": 1},
]


def answer(client: LiveClient, request: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The decision card and its coverage-decision."""
    response = client.post(f"/cds-services/{SERVICE_ID}", json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    [card] = [c for c in response.get_json()["cards"] if "coverage-decision" in c.get("extension", {})]
    return card, card["extension"]["coverage-decision"]


@pytest.mark.parametrize("value", UNREAD)
@pytest.mark.parametrize("name", ["aspirus-adult-maintenance", "aspirus-pediatric-mrd-positive"])
def test_aspirus_asks_for_the_value_of_the_mrd_result_it_could_not_read(client: LiveClient, name: str,
                                                                        value: dict[str, Any]) -> None:
    """MRD negative or unavailable (maintenance), MRD positive (pediatric): a qualitative result would do too."""
    request = example(name)
    mrd(**value)(request)
    card, decision = answer(client, request)
    assert decision["decision"] == "information-needed"
    assert decision["missing"] == [f"a value in % (or positive / negative) for {RESULT} (Observation/mrd-1)"]
    assert f"document a value in % (or positive / negative) for {RESULT} to confirm" in card["summary"]
    assert len(card["summary"]) < 140


@pytest.mark.parametrize("value", UNREAD)
def test_florida_blue_asks_for_the_value_in_percent(client: LiveClient, value: dict[str, Any]) -> None:
    """Florida Blue Position 1.b.i reads MRD of 0.1% or more: a number is needed. The phase is attested as induction,
    so only the MRD pathway is open (the other uses of 1.b are not met)."""
    request = example("florida-blue-mrd-positive")
    mrd(**value)(request)
    attest(therapy_phase="induction")(request)
    _, decision = answer(client, request)
    assert decision["decision"] == "information-needed"
    assert f"a value in % for {RESULT} (Observation/mrd-1)" in decision["missing"]
    [criterion] = [c for c in decision["criteria"] if c["id"] == "fb-mrd-positive.mrd-at-least-0-1-percent"]
    assert (criterion["status"], criterion["evidence"]) == ("unknown", ["Observation/mrd-1"])


@pytest.mark.parametrize(("value", "decided"), [
    ({"valueQuantity": {"value": 0.1, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}},
     "meets-criteria"),
    ({"valueString": "<0.01%"}, "criteria-not-met"),
])
def test_florida_blue_reads_a_value_it_can_read_either_way(client: LiveClient, value: dict[str, Any],
                                                           decided: str) -> None:
    """The same record with a readable value: the MRD pathway met at 0.1% exactly, not met below it."""
    request = example("florida-blue-mrd-positive")
    mrd(**value)(request)
    attest(therapy_phase="induction")(request)
    _, decision = answer(client, request)
    assert decision["decision"] == decided
