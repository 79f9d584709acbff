"""Mutants of facts/labs.py that the other tests let live, killed through the endpoint (fhir-data-profile.md §Labs):
a result at or below a detection limit, results of one day of which one fell, an unreadable value beside a later
"not available", a CD19 result without its value. Missing or undecidable lab data asks for information, never a
denial (policy-rules.md §1).
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.factories import UCUM, observation
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import ADULT_MRD_POS, BASELINE, add, attest, decision_of, example, mrd, the
from tests.test_s36_clinical_mrd_baseline import COURSE_START, mrd_result, response_of

MRD_CRITERION = "fb-mrd-positive.mrd-at-least-0-1-percent"


def florida_blue_mrd(client: LiveClient, comparator: str, percent: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The decision and its MRD criterion for the Florida Blue example's MRD result (mrd-1, 2026-11-15) written
    `comparator` `percent` %, the phase attested as induction: only Position 1.b.i (MRD of 0.1% or more) is open."""
    request = example("florida-blue-mrd-positive")
    mrd(valueQuantity={"value": percent, "comparator": comparator, "unit": "%", "system": UCUM, "code": "%"})(request)
    attest(therapy_phase="induction")(request)
    decision = decision_of(client, request)
    [criterion] = [c for c in decision["criteria"] if c["id"] == MRD_CRITERION]
    return decision, criterion


@pytest.mark.parametrize("comparator", ["<", "<="])
def test_an_mrd_at_or_below_a_coarse_detection_limit_asks_for_a_more_sensitive_result(client: LiveClient,
                                                                                      comparator: str) -> None:
    """"<=0.5%" as "<0.5%": the result may be 0.1% or more, or less; the record holds a value, so the card asks for a
    result with a lower detection limit, not for "a value in %" it already has. Unknown, never a denial."""
    decision, criterion = florida_blue_mrd(client, comparator, 0.5)
    assert decision["decision"] == "information-needed"
    assert criterion["status"] == "unknown"
    assert decision["missing"] == [f"an MRD result with a lower detection limit (the latest: {comparator}0.5%)"]


def test_results_of_one_day_of_which_only_one_fell_show_no_response(client: LiveClient) -> None:
    """Aspirus IV renewal: 1% on the course's first day, then two results of one November marrow, 0.2% and 1.5%. One
    fell from the baseline, the other rose: which is current decides, so the response is unknown and asked for (one
    fall had read as a response), never a denial."""
    decision, found = response_of(client, mrd_result("mrd-day1", COURSE_START, 1),
                                  mrd_result("mrd-nov-a", "2026-11-15", 0.2),
                                  mrd_result("mrd-nov-b", "2026-11-15", 1.5))
    assert found["status"] == "unknown"
    assert decision["decision"] == "information-needed"
    assert "which MRD result of 2026-11-15 is current (0.2% or 1.5%)" in decision["missing"]


def test_an_unreadable_mrd_result_before_a_not_available_one_is_asked_for_by_its_value(client: LiveClient) -> None:
    """Adult consolidation, MRD positive (Aspirus III): the latest MRD value by the course start (2026-11-15) has no
    unit, and a later result (2026-11-20) says MRD was not available. The value on record decides whether MRD is
    detectable, so the card asks for it; "the record says none is available" read as if no result were charted."""
    request = example(BASELINE[ADULT_MRD_POS])
    mrd(valueQuantity={"value": 0.2})(request)
    add(request, "observations", observation(
        text="MRD by flow cytometry (bone marrow)", effective="2026-11-20", id="mrd-absent",
        subject={"reference": "Patient/example-patient"}, dataAbsentReason={"text": "Not performed"}))
    decision = decision_of(client, request)
    assert decision["decision"] == "information-needed"
    assert ("a value in % (or positive / negative) for the MRD result dated 2026-11-15 (Observation/mrd-1)"
            in decision["missing"])


def test_a_cd19_result_sent_without_its_value_asks_for_that_value(client: LiveClient) -> None:
    """Florida Blue consolidation example, its CD19 immunophenotype (2026-11-12) sent without a value: CD19 on blasts
    is unknown (Position 1's CD19+), and the card asks for that result's value, not which of the day's results is
    current (it disagrees with none)."""
    request = example("florida-blue-consolidation")
    del the(request, "observations", "cd19-1")["valueString"]
    decision = decision_of(client, request)
    assert decision["decision"] == "information-needed"
    assert "the value of the CD19 result on blasts dated 2026-11-12 (Observation/cd19-1)" in decision["missing"]
