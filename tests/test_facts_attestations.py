"""Attestation QuestionnaireResponses: which responses count, merging item by item, value types, authored_since."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from cds_service.facts.attestations import Answer, Attestations
from cds_service.record import PatientRecord

CANONICAL = "http://cds.example.org/fhir/Questionnaire/blinatumomab-coverage-attestation"


def response(rid: str, when: str, items: list[dict], **overrides) -> dict:
    resource = {"resourceType": "QuestionnaireResponse", "id": rid, "status": "completed",
                "questionnaire": CANONICAL, "subject": {"reference": "Patient/p1"}, "authored": when,
                "item": items}
    resource.update(overrides)
    return resource


def item(link_id: str, **answer) -> dict:
    return {"linkId": link_id, "answer": [answer]}


def attestations(*responses: dict, patient: dict | None = None) -> Attestations:
    record = PatientRecord(patient if patient is not None else {"resourceType": "Patient", "id": "p1"},
                           {"attestations": list(responses)})
    return Attestations.from_record(record)


def test_typed_values_and_coding_code():
    found = attestations(response("q1", "2026-09-01", [
        item("ph-positive", valueBoolean=True), item("cycle-number", valueInteger=2),
        item("mrd-percent", valueDecimal=0.1), item("combination", valueString="single-agent"),
        item("therapy-phase", valueCoding={"system": "urn:x", "code": "consolidation"}),
    ]))
    assert found.get("ph-positive") == Answer(True, date(2026, 9, 1), "QuestionnaireResponse/q1")
    assert found.get("cycle-number").value == 2
    assert found.get("mrd-percent").value == Decimal("0.1")  # exact, not the float's binary expansion
    assert found.get("combination").value == "single-agent"
    assert found.get("therapy-phase").value == "consolidation"
    assert found.get("tki-failure") is None


def test_an_attested_fact_names_the_answer_and_its_date():
    """A pharmacist checks the criterion against what was answered: "attested" alone hid a no."""
    found = attestations(response("q1", "2026-09-01T10:00:00Z", [
        item("multiagent-chemo-candidate", valueBoolean=False), item("therapy-phase", valueString="consolidation"),
        item("remission-number", valueInteger=2), item("ph-positive", valueBoolean=True)]))
    assert found.fact("multiagent-chemo-candidate", cast=bool).note == \
        "candidate for multi-agent chemotherapy now: no (answered 2026-09-01)"
    assert found.fact("therapy-phase", cast=str).note == \
        "therapy phase of this blinatumomab course: consolidation (answered 2026-09-01)"
    assert found.fact("ph-positive", cast=bool, note="Ph status attested").note == \
        "Ph status attested: yes (answered 2026-09-01)"
    assert found.fact("remission-number", cast=int, note=lambda n: f"remission {n} attested").note == \
        "remission 2 attested (answered 2026-09-01)"


def test_unparseable_answers_are_not_read_as_answers():
    """Nor ignored: each is an answer that cannot be read (test_attest_malformed.py), its item's facts unknown."""
    found = attestations(response("q1", "2026-09-01", [
        item("ph-positive", valueString="yes"), item("cycle-number", valueBoolean=True),
        item("cycle-number", valueInteger=0), item("therapy-phase", valueString="salvage"),
        item("mrd-percent", valueDecimal="abc"), item("remission-number", valueDecimal=2),
    ]))
    for link_id in ("ph-positive", "cycle-number", "therapy-phase", "mrd-percent", "remission-number"):
        assert found.get(link_id) is None
    assert [unread.link_id for unread in found.unread] == [
        "ph-positive", "cycle-number", "therapy-phase", "mrd-percent", "remission-number"]


@pytest.mark.parametrize(("link_id", "answer"), [
    ("cycle-number", {"valueInteger": 2147483648}),  # did not fit the audit trail's column: the record was lost
    ("remission-number", {"valueInteger": 101}),
    ("mrd-percent", {"valueDecimal": "1e999999999"}),  # overflowed the evaluation
    ("mrd-percent", {"valueDecimal": -0.5}),
])
def test_counts_and_percentages_out_of_range_are_ignored(link_id, answer):
    found = attestations(response("q1", "2026-09-01", [{"linkId": link_id, "answer": [answer]}]))
    assert found.get(link_id) is None


def test_the_largest_plausible_values_are_read():
    found = attestations(response("q1", "2026-09-01", [item("cycle-number", valueInteger=100),
                                                       item("mrd-percent", valueDecimal=100)]))
    assert (found.get("cycle-number").value, found.get("mrd-percent").value) == (100, Decimal(100))


def test_latest_authored_wins_item_by_item():
    found = attestations(
        response("new", "2026-10-01T09:00:00Z", [item("ph-positive", valueBoolean=False)]),
        response("old", "2026-09-01", [item("ph-positive", valueBoolean=True),
                                       item("b-cell-precursor", valueBoolean=True)]),
    )
    assert found.get("ph-positive").value is False and found.get("ph-positive").reference == "QuestionnaireResponse/new"
    assert found.get("b-cell-precursor").reference == "QuestionnaireResponse/old"  # not answered again: kept


def test_authored_since_skips_older_answers():
    found = attestations(response("c1", "2026-01-10", [item("cycle-number", valueInteger=3)]))
    assert found.get("cycle-number", authored_since=date(2026, 1, 10)).value == 3
    assert found.get("cycle-number", authored_since=date(2026, 1, 11)) is None


def test_nested_items_under_groups_and_answers():
    found = attestations(response("q1", "2026-09-01", [
        {"linkId": "group", "item": [item("mrd-unavailable", valueBoolean=True)]},
        {"linkId": "ph-positive", "answer": [{"valueBoolean": True, "item": [item("tki-failure", valueBoolean=True)]}]},
    ]))
    assert found.get("mrd-unavailable").value is True
    assert found.get("tki-failure").value is True
    assert found.get("ph-positive").value is True


@pytest.mark.parametrize("canonical", [
    "Questionnaire/blinatumomab-coverage-attestation",
    "https://other.example/fhir/Questionnaire/blinatumomab-coverage-attestation|1.2.0",
    CANONICAL + "|2",
])
def test_canonical_forms_accepted(canonical):
    found = attestations(response("q1", "2026-09-01", [item("ph-positive", valueBoolean=True)],
                                  questionnaire=canonical))
    assert found.get("ph-positive") == Answer(True, date(2026, 9, 1), "QuestionnaireResponse/q1")


@pytest.mark.parametrize("overrides", [
    {"questionnaire": "http://x/Questionnaire/other"},
    {"questionnaire": CANONICAL + "-v2"},
    {"status": "in-progress"},
    {"status": "entered-in-error"},
    {"subject": {"reference": "Patient/someone-else"}},
    {"subject": None},
    {"authored": None},
])
def test_other_responses_ignored(overrides):
    found = attestations(response("q1", "2026-09-01", [item("ph-positive", valueBoolean=True)], **overrides))
    assert found.get("ph-positive") is None


def test_amended_and_absolute_subject_reference():
    found = attestations(response("q1", "2026-09-01", [item("ph-positive", valueBoolean=True)], status="amended",
                                  subject={"reference": "https://ehr.example/fhir/Patient/p1"}))
    assert found.get("ph-positive").value is True


def test_not_received_means_no_answers():
    record = PatientRecord({"resourceType": "Patient", "id": "p1"}, {"attestations": None})
    assert Attestations.from_record(record).get("ph-positive") is None


def test_a_response_nested_deeper_than_can_be_walked_is_ignored():
    """Items nested ~500 deep (17 KB) raised RecursionError: the evaluation failed with a 1,000-frame traceback."""
    from cds_service.facts.shape import well_formed

    deep: dict = {"linkId": "cycle-number", "answer": [{"valueInteger": 2}]}
    for _ in range(600):
        deep = {"linkId": "group", "item": [deep]}
    nested = response("q1", "2026-09-01", [deep])
    assert well_formed(nested) is False
    assert well_formed(response("q2", "2026-09-01", [item("cycle-number", valueInteger=2)])) is True


def test_an_answer_authored_on_the_first_day_it_counts_is_not_one_from_before() -> None:
    """answered_before names an answer outside its window; one authored on `since` is inside it."""
    found = attestations(response("q1", "2026-09-01T10:00:00Z", [item("ph-positive", valueBoolean=True)]))
    assert found.answered_before("ph-positive", date(2026, 9, 1)) is None
    assert found.answered_before("ph-positive", date(2026, 9, 2)) == Answer(True, date(2026, 9, 1),
                                                                            "QuestionnaireResponse/q1")
