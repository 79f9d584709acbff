"""A payer pharmacist's edge cases, through the endpoint: the day a criterion changes (the last day of an
authorization, a relapse or a toxicity recorded on the day a course or an order starts) and records the profile says
to ignore (a refuted or entered-in-error Condition). Each starts from a shipped example meeting its indication.

The relapsed/refractory renewal example's course began 2026-01-05 (cycles 1-5 ended 2026-07-19); its order, cycle 6,
starts 2026-12-01. The Aspirus initial authorization of that course ran 30 weeks, to 2026-08-03 (policy-rules.md §4).
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.factories import ICD10, condition
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import (ADULT_MRD_POS, ADULT_RR, BASELINE, Request, add, decision_of, drop,
                                                example, the)

RENEWAL = BASELINE[ADULT_RR]
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def recorded(request: Request, code: str, day: str, clinical_status: str = "active",
             verification: str | None = None) -> None:
    found = condition(code, ICD10, recorded=day, clinical_status=clinical_status,
                      subject={"reference": "Patient/example-patient"})
    if verification is not None:
        found["verificationStatus"] = {"coding": [{"system": VERIFICATION, "code": verification}]}
    add(request, "conditions", found)


def status_of(decision: dict[str, Any], suffix: str) -> str | None:
    return next((c["status"] for c in decision["criteria"] if c["id"].endswith(suffix)), None)


def cycle_5_from(start: str) -> Request:
    """The renewal example without its cycle 5: the order is cycle 5, starting `start`, weighed 3 days before."""
    request = example(RENEWAL)
    drop(request, "medicationRequests", "prior-cycle-5")
    first = date.fromisoformat(start)
    order = request["context"]["draftOrders"]["entry"][0]["resource"]
    order["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {
        "start": start, "end": (first + timedelta(days=27)).isoformat()}
    order["authoredOn"] = (first - timedelta(days=5)).isoformat()
    for size in ("weight-1", "height-1"):
        the(request, "observations", size)["effectiveDateTime"] = (first - timedelta(days=3)).isoformat()
    return request


def test_a_cycle_starting_on_the_last_day_of_the_initial_authorization_is_covered(client: LiveClient) -> None:
    """Aspirus I: 30 weeks from the course start, 2026-01-05 + 210 days = 2026-08-03, the end the card shows."""
    decision = decision_of(client, cycle_5_from("2026-08-03"))
    assert (decision["decision"], decision["indication"]) == ("meets-criteria", ADULT_RR)
    assert decision["authorization"] == {"start": "2026-01-05", "end": "2026-08-03", "cycles": 5}


def test_a_cycle_starting_the_day_after_the_authorization_ended_needs_a_new_request(client: LiveClient) -> None:
    decision = decision_of(client, cycle_5_from("2026-08-04"))
    assert decision["decision"] == "criteria-not-met"
    assert status_of(decision, ".authorization-period") == "not-met"


@pytest.mark.parametrize(("day", "phase", "cycle"), [
    ("2026-11-30", "relapsed-refractory", 1), ("2026-12-01", "relapsed-refractory", 1),
    ("2026-12-02", "consolidation", 1)])
def test_a_relapse_recorded_up_to_the_order_day_makes_the_course_relapsed(client: LiveClient, day: str,
                                                                          phase: str, cycle: int) -> None:
    """A consolidation cycle 1 in remission; a relapse recorded on or before its start day (the course start) is the
    disease status the course begins in (fhir-data-profile.md §Therapy phase): relapsed/refractory, whose cycle 1
    steps the dose (the 28 mcg/day order is not covered as ordered). Recorded the day after, it is not."""
    request = example(BASELINE[ADULT_MRD_POS])
    recorded(request, "C91.02", day, "relapse")
    decision = decision_of(client, request)
    assert decision["cycle"] == cycle
    if phase == "relapsed-refractory":
        assert (decision["indication"], decision["decision"]) == (ADULT_RR, "criteria-not-met")
        assert status_of(decision, ".dose-schedule") == "not-met"
    else:
        assert (decision["indication"], decision["decision"]) == (ADULT_MRD_POS, "meets-criteria")


@pytest.mark.parametrize(("day", "cycle", "request_type"), [
    ("2026-12-01", 1, "initial"), ("2026-12-02", 6, "renewal")])
def test_a_relapse_after_a_remission_on_the_order_day_starts_a_new_course(client: LiveClient, day: str, cycle: int,
                                                                         request_type: str) -> None:
    """Mid-course remission (2026-03-01), then a relapse recorded the day cycle 6 would start: a new course, cycle 1,
    an initial request (fhir-data-profile.md §Course and cycles). Recorded the day after, the course goes on."""
    request = example(RENEWAL)
    recorded(request, "C91.01", "2026-03-01", "remission")
    recorded(request, "C91.02", day, "relapse")
    decision = decision_of(client, request)
    assert (decision["cycle"], decision["request"]) == (cycle, request_type)


@pytest.mark.parametrize(("code", "day", "status"), [
    ("D89.834", "2026-01-04", "met"), ("D89.834", "2026-01-05", "not-met"),
    ("D89.833", "2026-01-04", "met"), ("D89.833", "2026-01-05", "unknown")])
def test_a_toxicity_recorded_on_the_course_start_day_is_the_courses(client: LiveClient, code: str, day: str,
                                                                   status: str) -> None:
    """Aspirus IV: toxicity since the course start (2026-01-05), the day of the first bag included; the day before
    is an earlier course's (the label's word on a grade 4 event is the card's, not the renewal's)."""
    request = example(RENEWAL)
    recorded(request, code, day)
    assert status_of(decision_of(client, request), ".no-unacceptable-toxicity") == status


@pytest.mark.parametrize(("verification", "status"), [
    (None, "not-met"), ("confirmed", "not-met"), ("unconfirmed", "not-met"), ("refuted", "met"),
    ("entered-in-error", "met")])
def test_a_refuted_toxicity_is_no_toxicity(client: LiveClient, verification: str | None, status: str) -> None:
    """fhir-data-profile.md: Conditions refuted or entered in error are ignored; any other verification counts."""
    request = example(RENEWAL)
    recorded(request, "D89.834", "2026-09-15", verification=verification)
    assert status_of(decision_of(client, request), ".no-unacceptable-toxicity") == status


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_a_refuted_all_diagnosis_asks_for_one_never_denies(client: LiveClient, verification: str) -> None:
    """The only ALL Condition refuted: no diagnosis on record, an inclusion criterion unknown (policy-rules.md §1)."""
    request = example(BASELINE[ADULT_MRD_POS])
    the(request, "conditions", "all-1")["verificationStatus"] = {
        "coding": [{"system": VERIFICATION, "code": verification}]}
    decision = decision_of(client, request)
    assert decision["decision"] == "information-needed"
    assert status_of(decision, ".b-cell-precursor-all") == "unknown"
