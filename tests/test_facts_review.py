"""Review of the clinical facts against fhir-data-profile.md, through the real endpoint: inputs real EHRs send.

Each test starts from an example request that meets the Aspirus relapsed/refractory criteria and changes one thing.
Malformed resources in prefetch must never fail the evaluation (a failed evaluation answers with no decision card at
all): they are not read, and the facts they bear on are unknown, never decided as if they were not there
(facts/unreadable.py).
"""
from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import pytest
from flask.testing import FlaskClient

from cds_service import SERVICE_ID
from cds_service.facts.extract import extract_facts, read_birth
from cds_service.facts.model import AgeRange
from tests.factories import condition, medication_request, questionnaire_response, record
from tests.fhir_server import FhirTestServer, fhir_server  # noqa: F401 (the fixture)

EXAMPLES = Path(__file__).resolve().parent.parent / "fhir_examples"
Request = dict[str, Any]


def example(name: str = "aspirus-adult-relapsed-refractory-cycle1") -> Request:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def prefetched(request: Request, key: str) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in request["prefetch"][key]["entry"]]


def add(request: Request, key: str, resource: dict[str, Any]) -> None:
    request["prefetch"][key].setdefault("entry", []).append({"resource": resource})


def the_order(request: Request) -> dict[str, Any]:
    return request["context"]["draftOrders"]["entry"][0]["resource"]


def decisions(client: FlaskClient, request: Request) -> list[dict[str, Any]]:
    response = client.post(f"/cds-services/{SERVICE_ID}", json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    cards = response.get_json()["cards"]
    return [c["extension"]["coverage-decision"] for c in cards if "coverage-decision" in c.get("extension", {})]


def criterion(decision: dict[str, Any], suffix: str) -> str:
    return next(c["status"] for c in decision["criteria"] if c["id"].endswith(suffix))


def test_the_baseline_meets_the_criteria(client: FlaskClient) -> None:
    [decision] = decisions(client, example())
    assert decision["decision"] == "meets-criteria"
    assert decision["indication"] == "adult-relapsed-refractory"


def _weight(request: Request) -> dict[str, Any]:
    return next(o for o in prefetched(request, "observations") if o["id"] == "weight-1")


def _set(path: tuple[Any, ...], value: Any) -> Callable[[Request], None]:
    """A change that puts `value` at `path` in the first resource of a prefetch key (path[0] is the key)."""
    def change(request: Request) -> None:
        target: Any = prefetched(request, path[0])[0]
        for step in path[1:-1]:
            target = target[step]
        target[path[-1]] = value
    return change


MALFORMED = {
    "weight valueQuantity a string": lambda r: _weight(r).update(valueQuantity="high"),
    "weight valueQuantity a list": lambda r: _weight(r).update(valueQuantity=["80 kg"]),
    "weight value a boolean": lambda r: _weight(r).update(valueQuantity={"value": True, "code": "kg"}),
    "observation status a list": _set(("observations", "status"), ["final"]),
    "observation coding system an object": _set(("observations", "code", "coding", 0, "system"), {}),
    "condition clinicalStatus code a list": _set(("conditions", "clinicalStatus", "coding", 0, "code"), ["relapse"]),
    "condition verificationStatus code an object": _set(
        ("conditions", "verificationStatus", "coding", 0, "code"), {}),
}


@pytest.mark.parametrize("change", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_prefetch_resources_never_fail_the_evaluation(client: FlaskClient,
                                                                change: Callable[[Request], None]) -> None:
    request = example()
    change(request)
    [decision] = decisions(client, request)
    assert decision["decision"] in ("information-needed", "criteria-not-met")  # the ignored resource is missed


MALFORMED_COVERAGE = {
    "period a string": _set(("coverage", "period"), "2026"),
    "payor a number": _set(("coverage", "payor"), 7),
    "order a string": _set(("coverage", "order"), "1"),
    "resourceType a list": _set(("coverage", "resourceType"), ["Coverage"]),
}


@pytest.mark.parametrize("change", MALFORMED_COVERAGE.values(), ids=MALFORMED_COVERAGE.keys())
def test_a_malformed_coverage_is_ignored(client: FlaskClient, change: Callable[[Request], None]) -> None:
    request = example()
    change(request)
    response = client.post(f"/cds-services/{SERVICE_ID}", json=request)
    assert response.status_code == 200
    body = response.get_json()
    assert body["systemActions"] == []  # no plan in force: no coverage information, and no failed evaluation
    assert all("coverage-decision" not in c.get("extension", {}) for c in body["cards"])


def test_a_malformed_weight_is_ignored_so_the_weight_is_unknown(client: FlaskClient) -> None:
    request = example()
    _weight(request)["valueQuantity"] = {"value": "high", "unit": "kg"}
    [decision] = decisions(client, request)
    assert decision["decision"] == "information-needed"
    assert criterion(decision, "dose-schedule") == "unknown"


def test_a_weight_dated_by_an_integer_is_not_a_date(client: FlaskClient) -> None:
    request = example()
    del _weight(request)["effectiveDateTime"]
    _weight(request)["effectiveDateTime"] = 20261120  # basic ISO format, but not a FHIR dateTime string
    [decision] = decisions(client, request)
    assert criterion(decision, "dose-schedule") == "unknown"


def test_malformed_medication_history_leaves_the_combination_unknown(client: FlaskClient) -> None:
    """An active order whose drug cannot be read (a coding of a wrong type) may be a TKI or chemotherapy: never
    evaluated, not ignored either (tests/test_deletion_drugs.py). Beside it, one naming a code under an unreadable
    system, never evaluated either."""
    request = example()
    add(request, "medicationRequests", {"resourceType": "MedicationRequest", "id": "junk", "status": "active",
                                        "medicationCodeableConcept": {"coding": 7}})
    add(request, "medicationRequests", {"resourceType": "MedicationRequest", "id": "junk2", "status": "active",
                                        "medicationCodeableConcept": {"coding": [{"system": [], "code": "282388"}]}})
    [decision] = decisions(client, request)
    assert decision["decision"] == "information-needed"
    use = next(c for c in decision["criteria"] if c["id"].endswith(".use"))
    assert use["status"] == "unknown" and "MedicationRequest/junk" in use["evidence"]


def test_a_malformed_tki_drafted_with_the_order_leaves_the_combination_unknown(client: FlaskClient) -> None:
    request = example()  # Ph-: covered as a single agent only
    request["context"]["draftOrders"]["entry"].append({"resource": {
        "resourceType": "MedicationRequest", "id": "tki", "status": "draft", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                  "code": "282388"}]},
        "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": "soon"}}}]}})
    [decision] = decisions(client, request)
    assert decision["decision"] == "information-needed"
    use = next(c for c in decision["criteria"] if c["id"].endswith(".use"))
    assert use["status"] == "unknown" and "MedicationRequest/tki" in use["evidence"]


def test_a_non_blinatumomab_draft_with_a_string_medication_reference_is_left_alone(client: FlaskClient) -> None:
    request = example()
    request["context"]["draftOrders"]["entry"].append({"resource": {
        "resourceType": "MedicationRequest", "id": "other", "medicationReference": "Medication/x", "contained": 7}})
    [decision] = decisions(client, request)
    assert decision["decision"] == "meets-criteria"


def _malformed_attestation(link_id: str) -> dict[str, Any]:
    """A QuestionnaireResponse to our Questionnaire whose subject (a string) and answer (a number) are malformed."""
    return {"resourceType": "QuestionnaireResponse", "id": "qr-bad", "status": "completed",
            "questionnaire": "http://example.org/Questionnaire/blinatumomab-coverage-attestation",
            "subject": "Patient/example-patient", "authored": "2026-11-20",
            "item": [{"linkId": link_id, "answer": 7}]}


def test_a_malformed_attestation_leaves_what_it_answers_unknown(client: FlaskClient) -> None:
    request = example()
    add(request, "attestations", _malformed_attestation("therapy-phase"))
    [decision] = decisions(client, request)
    assert decision["decision"] == "information-needed"  # its phase, if it could be read, would decide the pathway
    assert criterion(decision, "relapsed-refractory-phase") == "unknown"
    assert decision["missing"][0] == "a readable QuestionnaireResponse/qr-bad (subject is text, not an object)"


def test_a_malformed_attestation_of_nothing_the_service_asks_is_ignored(client: FlaskClient) -> None:
    request = example()
    add(request, "attestations", _malformed_attestation("comment"))
    [decision] = decisions(client, request)
    assert decision["decision"] == "meets-criteria"


def _resource(request: Request, key: str, resource_id: str) -> dict[str, Any]:
    return next(r for r in prefetched(request, key) if r["id"] == resource_id)


def test_a_live_vaccine_whose_date_is_a_number_is_information_needed_not_an_approval(client: FlaskClient) -> None:
    request = example("aspirus-live-vaccine-critical")
    [decision] = decisions(client, request)
    assert (decision["decision"], criterion(decision, "U1")) == ("criteria-not-met", "not-met")
    _resource(request, "immunizations", "mmr-1")["occurrenceDateTime"] = 20261124  # had been dropped: U1 met
    response = client.post(f"/cds-services/{SERVICE_ID}", json=request).get_json()
    [card] = [c for c in response["cards"] if "coverage-decision" in c.get("extension", {})]
    decision = card["extension"]["coverage-decision"]
    assert (decision["decision"], criterion(decision, "U1")) == ("information-needed", "unknown")
    u1 = next(c for c in decision["criteria"] if c["id"] == "U1")
    assert u1["evidence"] == ["Immunization/mmr-1"]
    assert u1["note"].startswith("Immunization/mmr-1 (a live vaccine) could not be read: occurrenceDateTime is a "
                                 "number, not a date")
    said = "a readable Immunization/mmr-1 (occurrenceDateTime is a number, not a date)"
    assert decision["missing"] == [said] and said in card["detail"]
    assert "a readable date given for Immunization/mmr-1" in card["summary"]  # the path in words (summary_items)


def test_an_earlier_cycle_that_cannot_be_read_is_not_an_approval_past_the_cycle_limit(client: FlaskClient) -> None:
    request = example("aspirus-relapsed-refractory-cycle10-exceeds-limit")
    [decision] = decisions(client, request)
    assert (decision["decision"], decision["cycle"]) == ("criteria-not-met", 10)
    _resource(request, "medicationRequests", "prior-cycle-4")["dosageInstruction"][0]["text"] = 5  # had read cycle 9
    [decision] = decisions(client, request)
    assert (decision["decision"], decision["cycle"]) == ("information-needed", None)
    assert criterion(decision, "at-most-9-cycles") == "unknown"
    assert "a readable MedicationRequest/prior-cycle-4 (dosageInstruction[0].text is a number, not text)" in \
        decision["missing"]


def test_a_tki_that_cannot_be_read_leaves_the_florida_blue_combination_unknown(client: FlaskClient) -> None:
    request = example("florida-blue-induction-ph-positive-with-tki")
    [decision] = decisions(client, request)
    assert decision["decision"] == "meets-criteria"
    _resource(request, "medicationRequests", "dasatinib-1")["status"] = ["active"]
    [decision] = decisions(client, request)
    assert decision["decision"] == "information-needed" and criterion(decision, "with-tki") == "unknown"


def test_a_cd19_result_that_cannot_be_read_is_not_an_approval_on_an_older_one(client: FlaskClient) -> None:
    request = example("florida-blue-cd19-negative-relapse")  # CD19+ at diagnosis, CD19- at relapse: not covered
    [decision] = decisions(client, request)
    assert decision["decision"] == "criteria-not-met"
    _resource(request, "observations", "cd19-relapse")["effectiveDateTime"] = 1  # had left the CD19+ one to decide
    [decision] = decisions(client, request)
    assert decision["decision"] == "information-needed" and criterion(decision, "cd19-positive") == "unknown"


def test_a_grade_4_crs_that_cannot_be_read_is_not_a_renewal(client: FlaskClient) -> None:
    request = example("aspirus-relapsed-refractory-cycle6-renewal")
    add(request, "conditions", {"resourceType": "Condition", "id": "crs-4", "recordedDate": 20270101, "code": {
        "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "D89.834"}]}})
    [decision] = decisions(client, request)
    assert decision["decision"] == "information-needed"
    assert criterion(decision, "no-unacceptable-toxicity") == "unknown"


def test_a_malformed_server_medication_is_not_read(client: FlaskClient, fhir_server: FhirTestServer) -> None:
    request = example()
    order = the_order(request)
    del order["medicationCodeableConcept"]
    order["medicationReference"] = {"reference": "Medication/blin"}
    fhir_server.add({"resourceType": "Medication", "id": "blin", "ingredient": 7,
                     "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                          "code": "1597262"}]}})
    request["fhirServer"] = fhir_server.base_url
    response = client.post(f"/cds-services/{SERVICE_ID}", json=request)
    assert response.status_code == 200
    # Not read, so its drug is unknown: a note that nothing was checked, no decision (test_epic_medication_references)
    [card] = response.get_json()["cards"]
    assert "could not be identified" in card["summary"] and response.get_json()["systemActions"] == []


def test_a_server_medication_names_the_order(client: FlaskClient, fhir_server: FhirTestServer) -> None:
    request = example()
    order = the_order(request)
    del order["medicationCodeableConcept"]
    order["medicationReference"] = {"reference": "Medication/blin"}
    fhir_server.add({"resourceType": "Medication", "id": "blin",
                     "code": {"coding": [{"system": "https://hl7.org/fhir/sid/ndc", "code": "55513016001"}]}})
    request["fhirServer"] = fhir_server.base_url
    [decision] = decisions(client, request)
    assert decision["decision"] == "meets-criteria"


def test_a_coverage_ending_in_a_partial_year_covers_the_whole_year(client: FlaskClient) -> None:
    request = example()  # the order starts 2026-12-01
    # A full start: one of "2026" may be after Dec 1, and the Coverage then not in force (tests/test_dates2_coverage.py)
    prefetched(request, "coverage")[0]["period"] = {"start": "2026-01-01", "end": "2026"}
    [decision] = decisions(client, request)
    assert decision["policy"] == "aspirus-magellan"


def test_a_coverage_ending_in_a_partial_month_covers_the_whole_month(client: FlaskClient) -> None:
    request = example()
    for line in the_order(request)["dosageInstruction"]:
        line["timing"]["repeat"]["boundsPeriod"]["start"] = line["timing"]["repeat"]["boundsPeriod"]["start"].replace(
            "2026-12-01", "2026-12-15")
    prefetched(request, "coverage")[0]["period"] = {"start": "2026-01", "end": "2026-12"}
    [decision] = decisions(client, request)
    assert decision["policy"] == "aspirus-magellan"


def _mrd(request: Request) -> dict[str, Any]:
    return next(o for o in prefetched(request, "observations") if o["id"] == "mrd-1")


@pytest.mark.parametrize("unit", [{"unit": "percent"}, {"unit": "Percent"}, {"code": "%", "unit": "percent"}])
def test_an_mrd_percentage_written_as_a_word_is_read(client: FlaskClient, unit: dict[str, str]) -> None:
    request = example("aspirus-adult-consolidation-mrd-positive")
    _mrd(request)["valueQuantity"] = {"value": 0.05, **unit}
    [decision] = decisions(client, request)
    assert decision["indication"] == "adult-consolidation-mrd-positive"
    assert decision["decision"] == "meets-criteria"


def test_an_mrd_value_without_a_unit_stays_unreadable(client: FlaskClient) -> None:
    request = example("aspirus-adult-consolidation-mrd-positive")
    _mrd(request)["valueQuantity"] = {"value": 0.05}
    [decision] = decisions(client, request)
    assert decision["decision"] == "information-needed"


@pytest.mark.parametrize("quantity", [
    # A local unit code means nothing to the parser: the unit string is read.
    {"value": 176.4, "unit": "lb", "system": "urn:oid:1.2.840.114350.1.13.0", "code": "LB_US"},
    # UCUM named by its OID: the code is read.
    {"value": 176.4, "unit": "pounds", "system": "urn:oid:2.16.840.1.113883.6.8", "code": "[lb_av]"},
], ids=["local code", "UCUM OID"])
def test_a_weight_in_pounds_is_read_whatever_the_unit_system(client: FlaskClient, quantity: dict[str, Any]) -> None:
    request = example()
    _weight(request)["valueQuantity"] = quantity
    [decision] = decisions(client, request)
    assert criterion(decision, "dose-schedule") == "met"


def test_a_payor_organization_included_in_the_coverage_bundle_names_the_plan(client: FlaskClient) -> None:
    request = example()  # no fhirServer: the Organization can only come from the Bundle (_include=Coverage:payor)
    prefetched(request, "coverage")[0]["payor"] = [{"reference": "Organization/aspirus"}]
    add(request, "coverage", {"resourceType": "Organization", "id": "aspirus", "name": "Aspirus Health Plan, Inc."})
    [decision] = decisions(client, request)
    assert decision["policy"] == "aspirus-magellan"


def test_a_medication_included_in_the_history_bundle_names_a_prior_blinatumomab_order(client: FlaskClient) -> None:
    request = example()
    prior = copy.deepcopy(the_order(request))
    del prior["medicationCodeableConcept"]
    prior.update(id="prior-cycle", status="completed",
                 medicationReference={"reference": "https://ehr.example.org/fhir/Medication/blincyto/_history/3"})
    prior["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-09-01", "end": "2026-09-07"}
    prior["dosageInstruction"][1]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-09-08", "end": "2026-09-28"}
    add(request, "medicationRequests", prior)
    add(request, "medicationRequests", {
        "resourceType": "Medication", "id": "blincyto",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "55513-0160-01"}]}})
    prefetched(request, "conditions")[0]["recordedDate"] = "2026-08-25"
    [decision] = decisions(client, request)
    assert decision["cycle"] == 2


def test_a_year_month_birth_date_gives_the_age_when_it_cannot_differ(client: FlaskClient) -> None:
    request = example()  # born 1980-05: 46 on every possible birthday by 2026-12-01
    request["prefetch"]["patient"]["birthDate"] = "1980-05"
    [decision] = decisions(client, request)
    assert decision["decision"] == "meets-criteria"


def test_a_birth_year_alone_leaves_an_age_near_a_boundary_unknown() -> None:
    birth = read_birth({"id": "p", "birthDate": "2011"}, date(2026, 6, 1))  # 14 or 15: the adult boundary
    assert (birth.years.value.at_least(Decimal(15)), birth.years.value.at_most(Decimal(30))) == (None, True)
    assert read_birth({"id": "p", "birthDate": "2011-03"}, date(2026, 6, 1)).years.value == AgeRange(15, 15)


def test_a_birth_year_alone_decides_when_every_age_it_allows_gives_the_same_answer(client: FlaskClient) -> None:
    request = example()
    request["prefetch"]["patient"]["birthDate"] = "1980"  # 45 or 46: an adult either way
    [found] = decisions(client, request)
    assert found["decision"] == "meets-criteria"


@pytest.mark.parametrize("born", ["9999-12-31", "1900-01-01"])
def test_a_placeholder_birth_date_asks_for_the_date_of_birth(client: FlaskClient, born: str) -> None:
    request = example()
    request["prefetch"]["patient"]["birthDate"] = born  # 9999 had failed the evaluation; 1900 made an adult of anyone
    [decision] = decisions(client, request)
    assert decision["decision"] == "information-needed"
    assert criterion(decision, "adult-age") == "unknown"


def _infant_decision(client: FlaskClient, onset: str) -> dict[str, Any]:
    request = example("aspirus-infant-interfant")
    request["prefetch"]["patient"]["birthDate"] = "2025-05-20"  # first birthday 2026-05-20
    condition = prefetched(request, "conditions")[0]
    condition["onsetDateTime"] = onset
    del condition["recordedDate"]
    [decision] = decisions(client, request)
    return decision


def test_a_partial_onset_spanning_the_first_birthday_leaves_infant_all_unknown(client: FlaskClient) -> None:
    decision = _infant_decision(client, "2026-05")
    assert criterion(decision, "infant-all") == "unknown"


def test_a_partial_onset_before_the_first_birthday_is_infant_all(client: FlaskClient) -> None:
    decision = _infant_decision(client, "2026-04")
    assert criterion(decision, "infant-all") == "met"


def test_an_mrd_result_dated_only_by_the_end_of_its_period_is_used(client: FlaskClient) -> None:
    request = example("aspirus-adult-consolidation-mrd-positive")
    del _mrd(request)["effectiveDateTime"]
    _mrd(request)["effectivePeriod"] = {"end": "2026-11-15T10:00:00Z"}
    [decision] = decisions(client, request)
    assert decision["decision"] == "meets-criteria"


def test_a_tki_valid_through_a_partial_month_may_have_ended_before_the_start() -> None:
    """A validity period ending "2026-12" may end on any day of December (orders33: it had been read to Dec 31,
    "with a TKI" at a Dec 15 start): unknown, its full date asked for. Every day of it is after a Dec 1 start."""
    tki = medication_request(code="282388", status="completed",
                             dispenseRequest={"validityPeriod": {"start": "2026-06-01", "end": "2026-12"}})
    draft = medication_request(start="2026-12-15", end="2027-01-11", status="draft", id="blin")
    facts = extract_facts(record(tki, draft), [draft], date(2026, 12, 10))
    assert facts.combination.value is None and "ended 2026-12" in facts.combination.note
    draft = medication_request(start="2026-12-01", end="2026-12-28", status="draft", id="blin")
    assert extract_facts(record(tki, draft), [draft], date(2026, 11, 30)).combination.value == "with-tki"


def test_a_coverage_with_a_contained_subscriber_still_names_its_contained_payor(client: FlaskClient) -> None:
    request = example()
    coverage = prefetched(request, "coverage")[0]
    coverage["contained"] = [
        {"resourceType": "Patient", "id": "subscriber", "name": [{"family": "Example"}]},
        {"resourceType": "Organization", "id": "payer", "name": "Aspirus Health Plan"},
    ]
    coverage["subscriber"] = {"reference": "#subscriber"}
    coverage["payor"] = [{"reference": "#payer"}]
    [decision] = decisions(client, request)
    assert decision["policy"] == "aspirus-magellan"


def _answer(request: Request, answers: dict[str, Any], authored: str) -> None:
    add(request, "attestations", questionnaire_response(answers, authored=authored,
                                                        subject={"reference": "Patient/example-patient"}))


@pytest.mark.parametrize(("authored", "outcome"), [("2024-06-15", "information-needed"),
                                                   ("2026-11-25", "meets-criteria")])
def test_a_first_remission_attested_for_an_earlier_course_does_not_make_this_one_first_remission(
        client: FlaskClient, authored: str, outcome: str) -> None:
    """Aspirus pediatric MRD+ needs the first or second complete remission. "First remission", answered in 2024,
    before two relapses: the patient is now in a third (the record), so the criterion waits for an answer about
    this course (from 2026-11-01, 30 days before its start) instead of meeting it on the old one."""
    request = example("aspirus-pediatric-mrd-positive")
    for day in ("2024-09-01", "2025-09-01"):
        add(request, "conditions", condition("C91.02", recorded=day, clinical_status="relapse",
                                             subject={"reference": "Patient/example-patient"}))
    _answer(request, {"remission-number": 1}, authored)
    [decision] = decisions(client, request)
    assert decision["decision"] == outcome
    assert criterion(decision, "remission-or-after-consolidation") == ("met" if outcome == "meets-criteria"
                                                                       else "unknown")


@pytest.mark.parametrize(("authored", "outcome"), [("2024-11-20", "information-needed"),
                                                   ("2026-11-25", "meets-criteria")])
def test_an_mrd_typed_for_an_earlier_course_does_not_decide_this_ones_mrd(client: FlaskClient, authored: str,
                                                                         outcome: str) -> None:
    """Florida Blue MRD >= 0.1%, with no MRD result on record: an MRD of 0.5% typed two years ago is not the MRD
    this course begins with; the card asks for it."""
    request = example("florida-blue-mrd-positive")
    observations = request["prefetch"]["observations"]
    observations["entry"] = [e for e in observations["entry"] if e["resource"]["id"] != "mrd-1"]
    observations["total"] = len(observations["entry"])  # a searchset short of its total is not received
    _answer(request, {"mrd-percent": 0.5}, authored)
    [decision] = decisions(client, request)
    assert decision["decision"] == outcome
    if outcome == "meets-criteria":
        assert decision["indication"] == "fb-mrd-positive"
