"""The label's word on the chart, on the decision card whatever the payer's policy reads (cds_service/label_safety.py):
a grade 4 CRS or ICANS this course, a live vaccine near treatment; never twice, never for an attested answer."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from cds_service.decision import CriterionResult
from cds_service.facts.model import Fact
from cds_service.label_safety import label_notes
from tests.test_cards import pick
from tests.test_pipeline import example, post

ICANS = Fact(True, ("Condition/icans-1",), note="grade 4-5 CRS or ICANS since the course start: ICANS grade 4 "
                                                 "(2026-10-12)")


def test_a_grade_4_toxicity_the_policy_did_not_read_is_noted() -> None:
    decision, facts = pick("meets-criteria")
    [note] = label_notes(decision, replace(facts, unacceptable_toxicity=ICANS))
    assert note.startswith("Grade 4-5 CRS or ICANS since the course start: ICANS grade 4 (2026-10-12).")
    assert "discontinue blinatumomab permanently" in note


def test_no_note_when_a_criterion_failed_on_it_or_the_prescriber_answered_it() -> None:
    decision, facts = pick("meets-criteria")
    failed = CriterionResult("no-unacceptable-toxicity", "not-met", "Aspirus IV", "No unacceptable toxicity",
                             evidence=ICANS.evidence)
    assert label_notes(replace(decision, criteria=[*decision.criteria, failed]),
                       replace(facts, unacceptable_toxicity=ICANS)) == []
    attested = Fact(True, ("QuestionnaireResponse/a",), attested=True, note="grade 4-5 CRS or ICANS")
    assert label_notes(decision, replace(facts, unacceptable_toxicity=attested)) == []


def _with_mmr(body: dict[str, Any], day: str) -> dict[str, Any]:
    body["prefetch"]["immunizations"]["entry"].append({"resource": {
        "resourceType": "Immunization", "id": "mmr-1", "status": "completed",
        "patient": {"reference": "Patient/example-patient"}, "occurrenceDateTime": day,
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "03", "display": "MMR"}]}}})
    return body


def test_a_live_vaccine_florida_blue_does_not_read_is_noted_on_its_approval(client: Any) -> None:
    [card] = post(client, _with_mmr(example("florida-blue-relapsed-refractory-ph-negative"), "2026-11-24"))["cards"][:1]
    assert card["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    assert "**Label safety:** Live vaccine near treatment: MMR dated 2026-11-24" in card["detail"]


def test_a_live_vaccine_long_before_treatment_is_not_noted(client: Any) -> None:
    [card] = post(client, _with_mmr(example("florida-blue-relapsed-refractory-ph-negative"), "2026-09-01"))["cards"][:1]
    assert "Label safety" not in card["detail"]


def test_aspirus_says_it_once_as_its_critical_criterion(client: Any) -> None:
    [card] = post(client, example("aspirus-live-vaccine-critical"))["cards"][:1]
    assert card["indicator"] == "critical" and "Label safety" not in card["detail"]
