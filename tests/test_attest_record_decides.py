"""An attested answer that cannot be read leaves a fact unknown only where the record does not settle it
(facts/attestations.py `_SETTLED`). A grade 4-5 CRS or ICANS since the course start is unacceptable whatever is
attested (policy-rules.md §2, Aspirus IV): beside it the renewal's criterion is not met, and the unreadable answer is
still named for the pharmacist. An MRD result on record outranks an attested MRD (labs.py). Where an answer could
change the fact (a grade 3 CRS to judge, no toxicity on record, a response on record), it stays information needed."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service import SERVICE_ID
from cds_service.facts.extract import extract_facts
from cds_service.facts.model import ClinicalFacts
from tests.factories import condition, medication_request, observation, questionnaire_response, record
from tests.test_facts_review import Request, add, criterion, decisions, example

RENEWAL = "aspirus-relapsed-refractory-cycle6-renewal"
ATTESTATION = "QuestionnaireResponse/attestation-1"
CRITERION = "no-unacceptable-toxicity"
# Answers that cannot be read, as attestations.py words their problems: a wrong value[x], null, a coding without a
# code, and two answers of one response that disagree.
MALFORMED: dict[str, list[dict[str, Any]]] = {
    "wrong-type": [{"valueString": "no"}],
    "null": [{"valueBoolean": None}],
    "no-code": [{"valueCoding": {"system": "urn:x"}}],
    "disagreeing": [{"valueBoolean": False}, {"valueBoolean": True}],
}


def _toxicity_answered(answers: list[dict[str, Any]], *conditions: dict[str, Any]) -> Request:
    """The renewal example (cycle 6 from 2026-12-01, course from January 2026) with `answers` to
    unacceptable-toxicity in its attestation of 2026-11-25, and `conditions` added."""
    request = example(RENEWAL)
    response = request["prefetch"]["attestations"]["entry"][0]["resource"]
    response["item"].append({"linkId": "unacceptable-toxicity", "answer": answers})
    for resource in conditions:
        add(request, "conditions", resource)
    return request


def _event(code: str, recorded: str = "2026-10-03", id: str = "tox-1") -> dict[str, Any]:
    return condition(code, recorded=recorded, id=id, subject={"reference": "Patient/example-patient"})


def _card(client: FlaskClient, request: Request) -> dict[str, Any]:
    response = client.post(f"/cds-services/{SERVICE_ID}", json=request)
    assert response.status_code == 200
    card: dict[str, Any] = next(c for c in response.get_json()["cards"]
                                if "coverage-decision" in c.get("extension", {}))
    return card


@pytest.mark.parametrize("answers", MALFORMED.values(), ids=MALFORMED)
def test_a_grade_4_crs_on_record_is_not_met_beside_an_unreadable_answer(client: FlaskClient,
                                                                        answers: list[dict[str, Any]]) -> None:
    card = _card(client, _toxicity_answered(answers, _event("D89.834")))
    decision = card["extension"]["coverage-decision"]
    assert (decision["decision"], criterion(decision, CRITERION)) == ("criteria-not-met", "not-met")
    assert not any("readable unacceptable-toxicity" in item for item in decision.get("missing", []))
    # The pharmacist still sees the answer that could not be read, beside the CRS that decided.
    assert f"{ATTESTATION} (an attestation answering unacceptable-toxicity) could not be read" in card["detail"]
    assert "Condition/tox-1" in card["detail"]


@pytest.mark.parametrize("answers", MALFORMED.values(), ids=MALFORMED)
def test_without_a_grade_4_crs_an_unreadable_answer_is_information_needed(client: FlaskClient,
                                                                         answers: list[dict[str, Any]]) -> None:
    """A grade 3 CRS (to judge) or no toxicity at all: a readable answer would decide, so it is asked for."""
    for conditions in ((_event("D89.833"),), ()):
        [decision] = decisions(client, _toxicity_answered(answers, *conditions))
        assert (decision["decision"], criterion(decision, CRITERION)) == ("information-needed", "unknown")
        assert f"a readable unacceptable-toxicity answer in {ATTESTATION}" in decision["missing"]


def test_a_readable_answer_decides_where_the_record_does_not(client: FlaskClient) -> None:
    grade_3 = _event("D89.833")
    [met] = decisions(client, _toxicity_answered([{"valueBoolean": False}], grade_3))
    assert (met["decision"], criterion(met, CRITERION)) == ("meets-criteria", "met")
    [not_met] = decisions(client, _toxicity_answered([{"valueBoolean": True}], grade_3))
    assert (not_met["decision"], criterion(not_met, CRITERION)) == ("criteria-not-met", "not-met")
    [severe] = decisions(client, _toxicity_answered([{"valueBoolean": False}], _event("G92.04")))
    assert criterion(severe, CRITERION) == "not-met"  # a grade 4 ICANS whatever is attested


def test_a_grade_4_crs_before_the_course_does_not_settle_the_renewal(client: FlaskClient) -> None:
    """Only a grade 4-5 event of this course settles the renewal's criterion: one of an earlier course is the
    label's note, and the unreadable answer still leaves the criterion unknown."""
    [decision] = decisions(client, _toxicity_answered([{"valueString": "no"}], _event("D89.834", "2025-06-01")))
    assert (decision["decision"], criterion(decision, CRITERION)) == ("information-needed", "unknown")


def test_an_unreadable_response_answer_stays_unknown_beside_a_response_on_record(client: FlaskClient) -> None:
    """The response answer overrides the record (fhir-data-profile.md §Labs: attested first), so a remission since
    the course start does not settle it: a readable "no" would not meet it."""
    request = example(RENEWAL)
    response = request["prefetch"]["attestations"]["entry"][0]["resource"]
    response["item"] = [{"linkId": "response-or-stabilization", "answer": [{"valueString": "yes"}]}]
    add(request, "conditions", condition("C91.01", recorded="2026-09-01", clinical_status="remission",
                                         id="remission-1", subject={"reference": "Patient/example-patient"}))
    [decision] = decisions(client, request)
    assert (decision["decision"], criterion(decision, "response-or-stabilization")) == ("information-needed",
                                                                                       "unknown")


# ---- the facts ----------------------------------------------------------------------------------------------------

TODAY = date(2026, 3, 1)


def _facts(*resources: dict[str, Any]) -> ClinicalFacts:
    draft = medication_request(start="2026-03-01", end="2026-03-28", status="draft", id="draft")
    return extract_facts(record(*resources), [draft], TODAY)


def _answering(link_id: str, *answers: dict[str, Any], authored: str = "2026-02-25") -> dict[str, Any]:
    response = questionnaire_response({}, authored=authored)
    response["item"] = [{"linkId": link_id, "answer": list(answers)}]
    return response


def _ref(resource: dict[str, Any]) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


def _mrd(percent: float, day: str) -> dict[str, Any]:
    return observation(text="MRD (flow)", effective=day, valueQuantity={"value": percent, "unit": "%", "code": "%",
                                                                         "system": "http://unitsofmeasure.org"})


def test_the_record_decides_a_grade_4_crs_and_names_the_answer() -> None:
    first = medication_request(start="2026-01-01", end="2026-01-28", status="completed")
    draft = medication_request(start="2026-02-12", end="2026-03-11", status="draft", id="draft")
    crs = condition("D89.834", recorded="2026-01-10")
    answer = _answering("unacceptable-toxicity", {"valueBoolean": "no"}, authored="2026-02-10")
    fact = extract_facts(record(first, crs, answer), [draft], TODAY).unacceptable_toxicity
    assert (fact.value, fact.attested, fact.missing) == (True, False, "")
    assert fact.evidence == (_ref(crs),)  # what decided it (policy-rules.md §1); the answer is named in the note
    assert fact.note == (f"grade 4-5 CRS or ICANS since the course start: D89.834 (2026-01-10); {_ref(answer)} (an "
                         "attestation answering unacceptable-toxicity) could not be read: the unacceptable-toxicity "
                         "answer is not true or false (valueBoolean); the record decides whatever it says")


def test_an_earlier_readable_yes_does_not_stand_against_a_later_unreadable_answer() -> None:
    """Without a grade 4-5 event the latest answer decides, and the latest cannot be read: it may be a "no"."""
    first = medication_request(start="2026-01-01", end="2026-01-28", status="completed")
    draft = medication_request(start="2026-02-12", end="2026-03-11", status="draft", id="draft")
    yes = questionnaire_response({"unacceptable-toxicity": True}, authored="2026-02-01")
    later = _answering("unacceptable-toxicity", {"valueBoolean": None}, authored="2026-02-10")
    fact = extract_facts(record(first, yes, later), [draft], TODAY).unacceptable_toxicity
    assert fact.value is None and fact.evidence[0] == _ref(later)


def test_an_mrd_result_on_record_decides_over_an_unreadable_mrd_answer() -> None:
    """labs.py reads the mrd-percent answer only when no MRD result is on record by the course start."""
    result, answer = _mrd(0.05, "2026-02-20"), _answering("mrd-percent", {"valueDecimal": 150})
    facts = _facts(result, answer)
    assert (facts.mrd_detectable.value, facts.mrd_detectable.evidence) == (True, (_ref(result),))
    assert facts.mrd_percent.value is not None and facts.mrd_percent.evidence == (_ref(result),)
    assert "(an attestation answering mrd-percent) could not be read" in facts.mrd_detectable.note
    assert _facts(answer).mrd_detectable.value is None  # without a result, the answer would have decided


def test_an_unreadable_mrd_unavailable_answer_before_the_latest_result_is_not_counted() -> None:
    """As a readable one (labs.py `_unavailable`): a result on record outweighs an "unavailable" written before it
    or on its day; one written later may still say so, and unreadable it leaves the fact unknown."""
    result = _mrd(0.05, "2026-02-20")
    for authored, value in (("2026-02-19", False), ("2026-02-20", False), ("2026-02-21", None)):
        answer = _answering("mrd-unavailable", {"valueBoolean": "yes"}, authored=authored)
        assert _facts(result, answer).mrd_unavailable.value is value, authored


def test_a_malformed_attestation_resource_beside_a_grade_4_crs_is_named_not_opened() -> None:
    """A QuestionnaireResponse the shape filter left out (its `authored` a number) bears on the items it answers
    (attestations.unreadable_relevance), with the same bearings: a grade 4 CRS of the course still decides."""
    first = medication_request(start="2026-01-01", end="2026-01-28", status="completed")
    draft = medication_request(start="2026-02-12", end="2026-03-11", status="draft", id="draft")
    broken = questionnaire_response({"unacceptable-toxicity": False}, authored="2026-02-10") | {"authored": 20260210}
    crs, grade_3 = condition("D89.834", recorded="2026-01-10"), condition("D89.833", recorded="2026-01-10")
    fact = extract_facts(record(first, crs, broken), [draft], TODAY).unacceptable_toxicity
    assert (fact.value, fact.evidence) == (True, (_ref(crs),))
    assert f"{_ref(broken)} (an attestation answering unacceptable-toxicity) could not be read" in fact.note
    assert extract_facts(record(first, grade_3, broken), [draft], TODAY).unacceptable_toxicity.value is None


# ---- an unreadable answer dated only to a month -------------------------------------------------------------------


@pytest.mark.parametrize(("readable", "value"), [("2026-02-20", None), ("2026-03-01", False)])
def test_a_readable_answer_outranks_one_dated_to_a_month_only_when_after_the_month(readable: str,
                                                                                  value: bool | None) -> None:
    """An unreadable answer authored "2026-02" may be of February 25, after a readable one of February 20: which is
    the latest is not known, so the fact is unknown; a readable one of March 1 is later whatever day it was."""
    first = medication_request(start="2026-01-01", end="2026-01-28", status="completed")
    draft = medication_request(start="2026-02-12", end="2026-03-11", status="draft", id="draft")
    unread = _answering("unacceptable-toxicity", {"valueBoolean": None}, authored="2026-02")
    answer = questionnaire_response({"unacceptable-toxicity": False}, authored=readable)
    fact = extract_facts(record(first, unread, answer), [draft], date(2026, 3, 2)).unacceptable_toxicity
    assert fact.value is value
    if value is None:
        assert fact.evidence[0] == _ref(unread)


def test_an_unreadable_answer_dated_to_a_month_that_may_fall_in_its_window_counts() -> None:
    """The cycle-number window opens the day after the earlier order began (2026-02-10): an unreadable answer
    dated "2026-02" may be of February 20, so it leaves the cycle number unknown; one dated "2026-01" cannot."""
    earlier = medication_request(start="2026-02-09", end="2026-02-10", status="completed")
    draft = medication_request(start="2026-02-25", end="2026-03-24", status="draft", id="draft")
    for authored, value in (("2026-02", None), ("2026-01", 2)):
        unread = _answering("cycle-number", {"valueString": "2"}, authored=authored)
        assert extract_facts(record(earlier, unread), [draft], TODAY).cycle.number.value == value, authored
