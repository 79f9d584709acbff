"""An ALL Condition whose verificationStatus no one can read, beside others, through the endpoint.

Such a Condition is unreadable (tests/test_s37_labs_verification_status.py): confirmed or refuted, no one can say.
Through the shared handling of unreadable resources it made the disease status, the phase and what is read from them
unknown even when a confirmed ALL Condition beside it settled them, and the card asked clinicians for what the chart
already said. The diagnosis now reads those facts both ways, with it counted and without (facts/diagnosis.py
`Diagnosis._settled`): the same answer decides, the Condition named in the criterion's note as not read; another
answer leaves the fact unknown and the card asks for the Condition's verification status. Never a denial
(policy-rules.md §1).
"""
from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.test_aspirus33_criteria_http import Request, add, example, the
from tests.test_s36_clinical_edges import VERIFICATION
from tests.test_s37_labs_verification_status import UNKNOWN, card
from tests.live_server import LiveClient

CONSOLIDATION = "aspirus-adult-consolidation-mrd-positive"  # in remission (C91.01), detectable MRD: consolidation
RENEWAL = "aspirus-relapsed-refractory-cycle6-renewal"  # in relapse (C91.02), cycle 6: the course split counts
NOT_READ = "Condition/all-2 (C91.0{}) could not be read: verificationStatus is "


def beside(request: Request, status: dict[str, Any], **changes: Any) -> None:
    """The ALL Condition again as all-2, of verificationStatus `status`, with `changes`."""
    other = copy.deepcopy(the(request, "conditions", "all-1"))
    other.update(id="all-2", verificationStatus=status, **changes)
    add(request, "conditions", other)


def verified(request: Request, code: str) -> None:
    the(request, "conditions", "all-1")["verificationStatus"] = {"coding": [{"system": VERIFICATION, "code": code}]}


def criterion(decision: dict[str, Any], ending: str) -> dict[str, Any]:
    [found] = [c for c in decision["criteria"] if c["id"].endswith(ending)]
    return found


@pytest.mark.parametrize("status", UNKNOWN)
@pytest.mark.parametrize(("name", "phase", "code"), [
    (CONSOLIDATION, ".consolidation-phase", "1"), (RENEWAL, ".relapsed-refractory-phase", "2")])
def test_a_confirmed_all_condition_beside_it_decides(client: LiveClient, status: dict[str, Any], name: str,
                                                     phase: str, code: str) -> None:
    """The same ALL, the same status and date: counted or not, it changes nothing (the phase, the course the
    renewal's cycle 6 counts in). Decided as without it; the phase criterion's note says it was not read."""
    request = example(name)
    beside(request, status)
    summary, decision = card(client, request)
    assert (decision["decision"], decision["missing"]) == ("meets-criteria", [])
    found = criterion(decision, phase)
    assert (found["status"], found["evidence"][0]) == ("met", "Condition/all-1")
    assert "Condition/all-2" not in found["evidence"]  # not what decided it
    assert NOT_READ.format(code) in found["note"] and "the record decides whatever it says" in found["note"]
    assert "verification status" not in summary


@pytest.mark.parametrize("status", UNKNOWN)
@pytest.mark.parametrize(("name", "phase"), [(CONSOLIDATION, ".consolidation-phase"),
                                             (RENEWAL, ".relapsed-refractory-phase")])
@pytest.mark.parametrize("first", ["refuted", None])
def test_without_a_readable_all_condition_it_is_asked_for(client: LiveClient, status: dict[str, Any], name: str,
                                                          phase: str, first: str | None) -> None:
    """The only ALL Condition of unreadable status, or beside a refuted one: counted, it is the diagnosis and
    its status; without it there is none. The phase is unknown, and the card names the Condition to correct."""
    request = example(name)
    if first is None:
        the(request, "conditions", "all-1")["verificationStatus"] = status
        asked = "Condition/all-1"
    else:
        verified(request, first)
        beside(request, status)
        asked = "Condition/all-2"
    summary, decision = card(client, request)
    assert decision["decision"] == "information-needed"
    found = criterion(decision, phase)
    assert (found["status"], found["evidence"][0]) == ("unknown", asked)
    assert "the verification status of the ALL diagnosis" in summary and len(summary) < 140
    assert any(item.startswith(f"the verification status of the ALL diagnosis ({asked}: ")
               for item in decision["missing"])


def test_a_later_relapse_of_unreadable_status_is_asked_about_not_passed_over(client: LiveClient) -> None:
    """Confirmed in remission (2026-10-20), then a relapse of unreadable status (2026-10-25): counted, the course is
    relapsed/refractory, not consolidation. It could change the answer: the phase is unknown, the relapse named first,
    not inferred past it; its verification status is asked for, which settles the phase
    (tests/test_s38_phase_unverified_relapse.py)."""
    request = example(CONSOLIDATION)
    beside(request, UNKNOWN[0], recordedDate="2026-10-25",
           code={"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C91.02"}]})
    summary, decision = card(client, request)
    assert decision["decision"] == "information-needed"
    assert [item.partition(" (")[0] for item in decision["missing"]] == ["the verification status of the ALL diagnosis"]
    found = criterion(decision, ".consolidation-phase")
    assert (found["status"], found["evidence"][0]) == ("unknown", "Condition/all-2")
    assert found["note"].startswith(NOT_READ.format("2"))
    assert "without it: consolidation inferred from remission" in found["note"]


def test_a_renewal_asks_when_an_unreadable_relapse_may_split_the_course(client: LiveClient) -> None:
    """A relapse of unreadable status recorded during the renewal's course may start a new course (cycle 1, not
    6): the cycle number is asked for, not counted past it."""
    request = example(RENEWAL)
    beside(request, UNKNOWN[0], recordedDate="2026-10-25")
    decision = card(client, request)[1]
    assert decision["decision"] == "information-needed"
    assert criterion(decision, ".at-most-9-cycles")["evidence"][0] == "Condition/all-2"
