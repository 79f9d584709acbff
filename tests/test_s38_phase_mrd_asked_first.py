"""A patient charted in remission whose MRD result at the course start cannot be read, through the endpoint.

Detectable, that one result would settle the phase (consolidation inferred, fhir-data-profile.md therapy phase rule 3)
and the MRD criterion at once; the summary had led with "therapy phase of this course and 1 more item", the MRD
result only counted. The phase now asks for that result first, then for the phase itself (facts/phase.py), and an
MRD result left out as malformed is asked for first the same way (facts/labs.py `_MRD`). A relapsed/refractory phase
is not read from the MRD at all: a malformed MRD result had turned a relapsed renewal into "document whether the
disease is relapsed or refractory", though the relapse on record settles it whatever that result says.
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import add_mrd, attest, example, mrd
from tests.test_s37_labs2_unverified_condition import CONSOLIDATION, RENEWAL, criterion
from tests.test_s37_labs_verification_status import card

PHASE = "therapy phase of this course"
UNREAD_VALUE = "a value in % (or positive / negative) for the MRD result dated 2026-11-15"  # labs._value_requests
MALFORMED = "a readable value for Observation/mrd-1"  # summary_items.py, the malformed element in words


@pytest.mark.parametrize(("value", "said", "item"), [
    ({"valueString": "pending"}, UNREAD_VALUE, UNREAD_VALUE),
    ({"valueQuantity": {"value": 0.2, "unit": "copies"}}, UNREAD_VALUE, UNREAD_VALUE),
    ({"valueQuantity": {"value": "0.2"}}, MALFORMED, "a readable Observation/mrd-1 (valueQuantity.value is text"),
])
def test_the_mrd_result_is_asked_for_before_the_phase(client: LiveClient, value: dict[str, Any], said: str,
                                                      item: str) -> None:
    """`said`: the summary's words; `item`: how the first item of what to document starts."""
    request = example(CONSOLIDATION)
    mrd(**value)(request)
    summary, decision = card(client, request)
    assert decision["decision"] == "information-needed"
    assert summary.startswith(f"Aspirus Health Plan: document {said} ") and len(summary) < 140
    first, second = decision["missing"][:2]
    assert (first.startswith(item), second) == (True, PHASE)
    assert [criterion(decision, ending)["status"] for ending in (".consolidation-phase", ".mrd-positive")] == [
        "unknown", "unknown"]


def test_an_attested_phase_still_decides_the_phase(client: LiveClient) -> None:
    """The phase answered: only the MRD criterion is left to the result."""
    request = example(CONSOLIDATION)
    mrd(valueString="pending")(request)
    attest(therapy_phase="consolidation")(request)
    _, decision = card(client, request)
    assert criterion(decision, ".consolidation-phase")["status"] == "met"
    assert [item.partition(" (Observation")[0] for item in decision["missing"]][:1] == [UNREAD_VALUE]
    assert PHASE not in decision["missing"]


def test_a_relapsed_renewal_keeps_its_phase_beside_a_malformed_mrd_result(client: LiveClient) -> None:
    request = example(RENEWAL)
    add_mrd(valueQuantity={"value": "0.2"})(request)
    summary, decision = card(client, request)
    assert (decision["decision"], decision["missing"]) == ("meets-criteria", [])
    assert criterion(decision, ".relapsed-refractory-phase")["status"] == "met"
    assert "relapsed or refractory" not in summary
