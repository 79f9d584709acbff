"""A relapse Condition of unreadable verificationStatus recorded after the remission, by the course start, through
the endpoint.

Counted (confirmed), the course is relapsed/refractory; not counted (refuted), consolidation inferred from the
remission with detectable MRD. The phase is unknown (never a denial), and what settles it is that Condition's
verification status: the card had asked for "therapy phase of this course", leaving the clinician to find which
record left it open. It now asks for "the verification status of the ALL diagnosis", as for the only ALL Condition of
unreadable status (facts/diagnosis.py `_asking`); the detail keeps the Condition and its problem. An attested phase
still decides whatever the Condition says, and a relapse after the course start changes nothing.
"""
from __future__ import annotations

import pytest

from tests.live_server import LiveClient
from tests.factories import ICD10
from tests.test_aspirus33_criteria_http import attest, example
from tests.test_s37_labs2_unverified_condition import CONSOLIDATION, beside, criterion
from tests.test_s37_labs_verification_status import ASKED, UNKNOWN, card

RELAPSE = {"coding": [{"system": ICD10, "code": "C91.02"}]}


def relapse_of_unreadable_status(recorded: str) -> dict[str, object]:
    """The consolidation example (remission recorded 2026-10-20, course start 2026-12-01) with a relapse Condition
    all-2 recorded on `recorded`, its verificationStatus "suspected"."""
    request = example(CONSOLIDATION)
    beside(request, UNKNOWN[0], recordedDate=recorded, code=RELAPSE)
    return request


@pytest.mark.parametrize("recorded", ["2026-10-25", "2026-12-01"])
def test_the_phase_asks_for_the_relapses_verification_status(client: LiveClient, recorded: str) -> None:
    summary, decision = card(client, relapse_of_unreadable_status(recorded))
    assert decision["decision"] == "information-needed"
    assert summary == f"Aspirus Health Plan: document {ASKED} to confirm coverage"
    [asked] = decision["missing"]
    assert asked.startswith(f"{ASKED} (Condition/all-2: verificationStatus is ")
    assert criterion(decision, ".consolidation-phase")["status"] == "unknown"


def test_an_attested_phase_still_decides(client: LiveClient) -> None:
    request = relapse_of_unreadable_status("2026-10-25")
    attest(therapy_phase="consolidation")(request)
    summary, decision = card(client, request)
    assert (decision["decision"], decision["missing"]) == ("meets-criteria", [])
    assert criterion(decision, ".consolidation-phase")["status"] == "met"


def test_a_relapse_after_the_course_start_leaves_the_phase_as_read(client: LiveClient) -> None:
    summary, decision = card(client, relapse_of_unreadable_status("2026-12-05"))
    assert (decision["decision"], decision["missing"]) == ("meets-criteria", [])
    assert ASKED not in summary
