"""Mutants of facts/diagnosis.py that the other tests let live, killed through the endpoint (fhir-data-profile.md
§Diagnosis and disease status): the remission the patient is in at the course start (1 + the relapse episodes
recorded on or before it; the pediatric MRD-positive example, order from 2026-12-01, reads it for Aspirus III's
"first or second complete remission"), an attested remission or lineage the record contradicts, and the earliest
onset of an infant ALL."""
from __future__ import annotations

from typing import Any

from tests.factories import ICD10, condition
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import add, attest, decision_of, example, the

Json = dict[str, Any]
PATIENT = {"reference": "Patient/example-patient"}
REMISSION_CRITERION = "pediatric-mrd-positive.remission-or-after-consolidation"


def relapse(condition_id: str, recorded: str) -> Json:
    return condition("C91.02", recorded=recorded, clinical_status="relapse", id=condition_id, subject=PATIENT)


def criterion(decision: Json, criterion_id: str) -> Json:
    found: list[Json] = [c for c in decision["criteria"] if c["id"] == criterion_id]
    assert len(found) == 1, decision["criteria"]
    return found[0]


def test_a_relapse_recorded_on_the_course_start_day_counts_as_an_episode(client: LiveClient) -> None:
    """Relapses recorded 2026-03-01 and in the morning of 2026-12-01, the course's first day, remission recorded that
    afternoon: two episodes on or before the start, so a third remission, not the first or second. The criterion is
    unknown (the response at the end of consolidation, not attested, may still meet it), never met on a count that
    left out the start day's relapse."""
    request = example("aspirus-pediatric-mrd-positive")
    the(request, "conditions", "all-1")["recordedDate"] = "2026-12-01T15:00:00Z"
    add(request, "conditions", relapse("relapse-march", "2026-03-01"))
    add(request, "conditions", relapse("relapse-start-day", "2026-12-01T08:00:00Z"))
    decision = decision_of(client, request)
    found = criterion(decision, REMISSION_CRITERION)
    assert found["status"] == "unknown", found
    assert decision["decision"] == "information-needed"


def test_an_attested_remission_beside_a_refractory_record_says_the_record_disagrees(client: LiveClient) -> None:
    """The ALL Condition reads refractory (active, "refractory" in its name) and the clinician attests a first
    remission: the answer decides (fhir-data-profile.md §Attestations), and the criterion shows the pharmacist that
    the chart disagrees, the Condition among its evidence, as it does beside a relapse."""
    request = example("aspirus-pediatric-mrd-positive")
    all_1 = the(request, "conditions", "all-1")
    all_1["clinicalStatus"]["coding"][0]["code"] = "active"
    all_1["code"] = {"coding": [{"system": ICD10, "code": "C91.00"}], "text": "Refractory B-cell precursor ALL"}
    attest(remission_number=1)(request)
    found = criterion(decision_of(client, request), REMISSION_CRITERION)
    assert found["status"] == "met", found
    assert "Condition/all-1" in found["evidence"]
    assert "the record says" in found["note"], found["note"]


def test_an_attested_lineage_stands_beside_cd19_positive_blasts(client: LiveClient) -> None:
    """Florida Blue consolidation example, CD19+ blasts on record, the clinician attests the ALL is not B-cell
    precursor: the answer decides the lineage (fhir-data-profile.md §Attestations), a denial of the B-ALL uses; the
    CD19 result does not turn it into a question (only a T-lineage read from the record's words yields to it)."""
    request = example("florida-blue-consolidation")
    attest(b_cell_precursor=False)(request)
    decision = decision_of(client, request)
    lineage = [c for c in decision["criteria"] if c["id"].endswith("b-cell-precursor-all")]
    assert lineage and all(c["status"] == "not-met" for c in lineage), decision["criteria"]
    assert decision["decision"] == "criteria-not-met"


def test_an_onset_month_beginning_on_the_day_an_onset_age_is_recorded_may_be_the_earliest(client: LiveClient) -> None:
    """Interfant example, a child born 2025-06-15. The ALL Condition recorded 2026-06-01 gives its onset as an age of
    12 months (after age 1); another dates its onset only "2026-06", from the same first day, spanning the first
    birthday. That one may be the diagnosis, before age 1: infant ALL is unknown and its full date asked for, not a
    denial on the recorded age alone."""
    request = example("aspirus-infant-interfant")
    request["prefetch"]["patient"]["birthDate"] = "2025-06-15"
    all_1 = the(request, "conditions", "all-1")
    all_1["recordedDate"] = "2026-06-01"
    del all_1["onsetDateTime"]
    all_1["onsetAge"] = {"value": 12, "unit": "months", "system": "http://unitsofmeasure.org", "code": "mo"}
    add(request, "conditions", condition("C91.00", recorded=None, id="all-month", subject=PATIENT,
                                         onsetDateTime="2026-06"))
    decision = decision_of(client, request)
    found = criterion(decision, "infant-interfant.infant-all")
    assert (found["status"], decision["decision"]) == ("unknown", "information-needed")
    assert "the full date of the ALL onset dated 2026-06 (Condition/all-month)" in decision["missing"]
