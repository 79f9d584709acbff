"""An MRD drawn on the course's first day is the baseline of the Aspirus renewal's response (Aspirus IV, Renewal
Criteria: response or stabilization; fhir-data-profile.md §Labs), through the endpoint.

The example's relapsed/refractory course began 2026-01-05 (cycle 1); the order is cycle 6, the first renewal. Its
attested response is taken away, so the MRD results decide. A marrow of 2026-01-05 was drawn before the first bag:
it shows no response itself (the course had not acted yet), but a later fall from it is one, and a later rise from it
is none even when an older, higher result came before it.
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.factories import UCUM, observation
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import (ADULT_RR, BASELINE, Change, Request, add, attest, both,
                                                criterion_of, decision_of, example, unattest)

COURSE_START = "2026-01-05"


def mrd_result(oid: str, day: str, percent: float) -> Change:
    return lambda r: add(r, "observations", observation(
        text="MRD by flow cytometry (bone marrow)", effective=day, id=oid,
        subject={"reference": "Patient/example-patient"},
        valueQuantity={"value": percent, "unit": "%", "system": UCUM, "code": "%"}))


def response_of(client: LiveClient, *changes: Change) -> tuple[dict[str, Any], dict[str, Any]]:
    request: Request = example(BASELINE[ADULT_RR])
    both(unattest("response-or-stabilization"), *changes)(request)
    decision = decision_of(client, request)
    found = criterion_of(decision, ADULT_RR, "response-or-stabilization")
    assert found is not None, decision["criteria"]
    return decision, found


def test_a_fall_from_the_first_day_baseline_is_a_response(client: LiveClient) -> None:
    """1% on day 1, 0.2% in November: the MRD fell on blinatumomab. Met, on both results."""
    decision, found = response_of(client, mrd_result("mrd-day1", COURSE_START, 1),
                                  mrd_result("mrd-nov", "2026-11-15", 0.2))
    assert found["status"] == "met"
    assert {"Observation/mrd-day1", "Observation/mrd-nov"} <= set(found["evidence"])
    assert decision["decision"] == "meets-criteria"


def test_a_rise_from_the_first_day_baseline_is_no_response_whatever_came_before(client: LiveClient) -> None:
    """5% at relapse, 0.1% on day 1, 0.5% in November: below the relapse's MRD, but up from the course's baseline.
    No response shown (it had read as 'MRD fell from 5%'): unknown, asked for, never a denial (an inclusion
    criterion, policy-rules.md §1)."""
    decision, found = response_of(client, mrd_result("mrd-relapse", "2025-12-20", 5),
                                  mrd_result("mrd-day1", COURSE_START, 0.1),
                                  mrd_result("mrd-nov", "2026-11-15", 0.5))
    assert found["status"] == "unknown"
    assert decision["decision"] == "information-needed"
    assert any("response" in item for item in decision["missing"])


@pytest.mark.parametrize("november", [0.2, 0.3])
def test_no_fall_from_the_first_day_baseline_leaves_the_response_unknown(client: LiveClient,
                                                                         november: float) -> None:
    decision, found = response_of(client, mrd_result("mrd-day1", COURSE_START, 0.2),
                                  mrd_result("mrd-nov", "2026-11-15", november))
    assert found["status"] == "unknown"
    assert decision["decision"] == "information-needed"


def test_the_first_day_result_alone_is_no_response(client: LiveClient) -> None:
    """Lower on day 1 than at relapse: the fall came before the first bag (the latest result is the baseline)."""
    _, found = response_of(client, mrd_result("mrd-relapse", "2025-12-20", 5),
                           mrd_result("mrd-day1", COURSE_START, 0.1))
    assert found["status"] == "unknown"


def test_no_response_attested_stands_over_a_fall_from_the_baseline(client: LiveClient) -> None:
    """The clinician's answer overrides what the record suggests (fhir-data-profile.md §Attestations)."""
    decision, found = response_of(client, mrd_result("mrd-day1", COURSE_START, 1),
                                  mrd_result("mrd-nov", "2026-11-15", 0.2), attest(response_or_stabilization=False))
    assert found["status"] == "not-met"
    assert decision["decision"] == "criteria-not-met"
