"""Mutation testing of s38's fact readings (facts/attestations.py, phase.py, labs.py, diagnosis.py, unreadable.py,
extract.py): the cases no test told apart from a mutant, through the endpoint."""
from __future__ import annotations

from typing import Any

from tests.factories import ICD10
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import add, attest, example, observation, the
from tests.test_s37_labs2_attested_mrd_range import florida_blue
from tests.test_s37_labs2_unverified_condition import CONSOLIDATION, RENEWAL, beside, criterion as ending_with
from tests.test_s37_labs_mrd_ratio import FB_THRESHOLD, criterion
from tests.test_s37_labs_verification_status import ASKED, UNKNOWN, card


def test_an_unread_mrd_percent_answer_says_a_whole_one_may_be_sent_as_valueinteger(client: LiveClient) -> None:
    """The criterion's note tells the EHR engineer what the item takes: a whole percent as valueInteger is read too."""
    note = criterion(florida_blue(client, "5"), FB_THRESHOLD)["note"]
    assert note.endswith("the mrd-percent answer is not a number from 0 to 100 (valueDecimal, or valueInteger for a "
                         "whole one)")


def test_a_consolidation_inferred_from_an_mrd_result_is_opened_by_a_later_one_not_read(client: LiveClient) -> None:
    """In remission with detectable MRD (mrd-1, 2026-11-15): consolidation inferred. A later MRD result whose value is
    text may be the latest and undetectable, so the inferred phase does not stand (labs._MRD: only a relapsed/refractory
    phase, which the MRD never decides, does); the result is asked for first."""
    request = example(CONSOLIDATION)
    add(request, "observations", observation(text="MRD by flow cytometry (bone marrow)", effective="2026-11-25",
                                             id="mrd-2", subject={"reference": "Patient/example-patient"},
                                             valueQuantity={"value": "0.2"}))
    summary, decision = card(client, request)
    assert summary == "Aspirus Health Plan: document a readable value for Observation/mrd-2 to confirm coverage"
    phase = ending_with(decision, ".consolidation-phase")
    assert phase["status"] == "unknown"
    assert phase["note"].startswith("Observation/mrd-2 (an MRD result) could not be read: valueQuantity.value is text")



def _interfant(client: LiveClient, onset: str, unverified_onset: str) -> tuple[str, dict[str, Any]]:
    """The summary and decision of the Interfant example for a child born 2025-06-15, its ALL Condition's onset on
    `onset`, beside one of unreadable verificationStatus (all-2) with its onset on `unverified_onset`."""
    request = example("aspirus-infant-interfant")
    request["prefetch"]["patient"]["birthDate"] = "2025-06-15"
    first = the(request, "conditions", "all-1")
    first.pop("recordedDate")
    first["onsetDateTime"] = onset
    beside(request, UNKNOWN[0], onsetDateTime=unverified_onset)
    return card(client, request)

def test_an_earlier_onset_of_unreadable_verification_status_asks_for_it_never_denies_infant_all(
        client: LiveClient) -> None:
    """Interfant, a child born 2025-06-15: the ALL Condition's onset 2026-07-01 is after age 1 (not met), but another
    ALL Condition of unreadable verificationStatus has its onset on 2026-03-01, before it. Confirmed, it would be the
    earliest and the infant ALL met: its status is asked for, never a denial (Diagnosis._settled reads infant ALL with
    the birth date)."""
    summary, decision = _interfant(client, "2026-07-01", "2026-03-01")
    assert summary == f"Aspirus Health Plan: document {ASKED} to confirm coverage"
    assert decision["decision"] == "information-needed"
    infant = ending_with(decision, ".infant-all")
    assert (infant["status"], infant["evidence"]) == ("unknown", ["Condition/all-2", "Condition/all-1"])


def test_a_later_onset_of_unreadable_verification_status_leaves_infant_all_as_read(client: LiveClient) -> None:
    """The ALL Condition's onset 2026-03-01, before age 1; another of unreadable verificationStatus has its onset after
    it: confirmed or not, the earliest onset is the same, so infant ALL stands and its status is not asked for."""
    _, decision = _interfant(client, "2026-03-01", "2026-07-01")
    assert (decision["decision"], decision["missing"]) == ("meets-criteria", [])
    infant = ending_with(decision, ".infant-all")
    assert (infant["status"], infant["evidence"]) == ("met", ["Condition/all-1"])
    assert infant["note"].startswith("ALL onset 2026-03-01, before age 1 (C91.00); Condition/all-2 (C91.00) could not be "
                                     "read")


def test_a_partly_dated_status_beside_a_relapse_of_unreadable_status_asks_for_both(client: LiveClient) -> None:
    """The remission recorded only as 2026-12 (the course starts 2026-12-01) and a relapse of unreadable
    verificationStatus recorded 2026-12: the status is unknown both ways, but counted the relapse asks for more
    (Diagnosis._same compares the request too): both are asked for at once, not the full date alone, to be followed
    by the verification status on the next signing."""
    request = example(CONSOLIDATION)
    the(request, "conditions", "all-1")["recordedDate"] = "2026-12"
    beside(request, UNKNOWN[0], recordedDate="2026-12", code={"coding": [{"system": ICD10, "code": "C91.02"}]})
    summary, decision = card(client, request)
    assert summary == f"Aspirus Health Plan: document {ASKED} and 1 more item to confirm coverage"
    assert [item.partition(" (")[0] for item in decision["missing"]] == [
        ASKED, "the full date of the ALL remission recorded 2026-12"]


def test_a_relapse_of_unreadable_status_between_cycles_asks_for_the_cycle_number_as_such(client: LiveClient) -> None:
    """Cycle 6 of a relapsed course (relapse recorded 2025-12-20, cycles from 2026-01-05) and a relapse of unreadable
    verificationStatus recorded 2026-04-01: the status at the course start is relapsed either way, but counted, the
    relapse splits the cycles into courses. The cycle number is asked for as such, the one answer the dose criterion
    needs too (diagnosis._asking applies to the facts read from the status alone), not the verification status."""
    _asks_only_the_cycle_number(client, "C91.02")


def test_a_remission_of_unreadable_status_between_cycles_is_read_as_of_the_course_start(client: LiveClient) -> None:
    """The same with a remission recorded 2026-04-01 instead: by this cycle's start (2026-12-01) it would change the
    status, but the phase and the status are read as of the course start (2026-01-05), before it, where it changes
    nothing (extract.py passes the course start to Diagnosis.unreadable_relevance): the cycle number alone is asked."""
    _asks_only_the_cycle_number(client, "C91.01")


def _asks_only_the_cycle_number(client: LiveClient, code: str) -> None:
    """The cycle 6 renewal beside a Condition of `code` and unreadable verificationStatus recorded 2026-04-01 asks
    for the cycle number alone."""
    request = example(RENEWAL)
    beside(request, UNKNOWN[0], recordedDate="2026-04-01", code={"coding": [{"system": ICD10, "code": code}]})
    summary, decision = card(client, request)
    assert summary == "Aspirus Health Plan: document cycle number of this order to confirm coverage"
    assert decision["missing"] == ["cycle number of this order"]


def test_an_attested_remission_number_leaves_the_phase_to_the_relapses_verification_status(client: LiveClient) -> None:
    """Consolidation (remission recorded 2026-10-20) beside a relapse of unreadable verificationStatus recorded
    2026-10-25, the remission number attested: that answer reads the same both ways, but the phase is read from the
    disease status, which the relapse changes (diagnosis._READ_BOTH_WAYS): its status is still asked for, not approved."""
    request = example(CONSOLIDATION)
    beside(request, UNKNOWN[0], recordedDate="2026-10-25", code={"coding": [{"system": ICD10, "code": "C91.02"}]})
    attest(remission_number=1)(request)
    summary, decision = card(client, request)
    assert summary == f"Aspirus Health Plan: document {ASKED} to confirm coverage"
    assert ending_with(decision, ".consolidation-phase")["status"] == "unknown"
