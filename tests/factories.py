"""Small builders of FHIR R4 resources and PatientRecords for tests.

Every builder returns plain JSON dicts (as the service receives them) with only the fields a test needs; keyword
arguments override or add fields. Dates are ISO strings or `date` objects.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from cds_service.facts.body import body_size
from cds_service.facts.model import BodySize
from cds_service.facts.observations import trusted
from cds_service.record import PatientRecord, Resolver

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
CVX = "http://hl7.org/fhir/sid/cvx"
UCUM = "http://unitsofmeasure.org"
ATTESTATION_QUESTIONNAIRE = "http://example.org/fhir/Questionnaire/blinatumomab-coverage-attestation"
BLINATUMOMAB_RXNORM = "1597258"

Resource = dict[str, Any]
_counter = iter(range(1, 10**9))


def _iso(value: date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def _id(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}"


def concept(code: str | None = None, system: str = RXNORM, display: str | None = None,
            text: str | None = None) -> dict[str, Any]:
    """A CodeableConcept with at most one coding."""
    result: dict[str, Any] = {}
    if code is not None:
        coding = {"system": system, "code": code}
        if display:
            coding["display"] = display
        result["coding"] = [coding]
    if text:
        result["text"] = text
    return result


def patient(birth_date: date | str | None = "1980-05-15", id: str = "p1", **extra: Any) -> Resource:
    resource: Resource = {"resourceType": "Patient", "id": id}
    if birth_date is not None:
        resource["birthDate"] = _iso(birth_date)
    return resource | extra


def condition(code: str = "C91.00", system: str = ICD10, recorded: date | str | None = "2026-01-01",
              clinical_status: str = "active", text: str | None = None, **extra: Any) -> Resource:
    resource: Resource = {
        "resourceType": "Condition",
        "id": _id("cond"),
        "subject": {"reference": "Patient/p1"},
        "code": concept(code, system, text=text),
        "clinicalStatus": concept(
            clinical_status, "http://terminology.hl7.org/CodeSystem/condition-clinical"),
    }
    if recorded is not None:
        resource["recordedDate"] = _iso(recorded)
    return resource | extra


def observation(code: str | None = None, system: str = LOINC, effective: date | str | None = "2026-01-01",
                text: str | None = None, status: str = "final", **extra: Any) -> Resource:
    """An Observation; pass value fields (valueQuantity, valueCodeableConcept, ...) as keyword arguments."""
    resource: Resource = {
        "resourceType": "Observation",
        "id": _id("obs"),
        "status": status,
        "subject": {"reference": "Patient/p1"},
        "code": concept(code, system, text=text),
    }
    if effective is not None:
        resource["effectiveDateTime"] = _iso(effective)
    return resource | extra


def dosage(start: date | str | None = None, end: date | str | None = None, route: str | None = None,
           rate_mcg_per_day: float | None = None, **extra: Any) -> dict[str, Any]:
    """One dosageInstruction line: boundsPeriod start/end, an optional route text and a rate in ug/d."""
    line: dict[str, Any] = {}
    if start is not None or end is not None:
        bounds = {k: _iso(v) for k, v in (("start", start), ("end", end)) if v is not None}
        line["timing"] = {"repeat": {"boundsPeriod": bounds}}
    if route:
        line["route"] = {"text": route}
    if rate_mcg_per_day is not None:
        line["doseAndRate"] = [{"rateQuantity": {"value": rate_mcg_per_day, "unit": "ug/d", "system": UCUM,
                                                  "code": "ug/d"}}]
    return line | extra


def medication_request(code: str | None = BLINATUMOMAB_RXNORM, text: str | None = None,
                       start: date | str | None = None, end: date | str | None = None,
                       status: str = "active", authored: date | str | None = None, route: str | None = None,
                       id: str | None = None, **extra: Any) -> Resource:
    """A MedicationRequest with a medicationCodeableConcept (RxNorm `code` and/or `text`) and one dosage line
    bounded by `start`/`end` (omitted when both are None)."""
    resource: Resource = {
        "resourceType": "MedicationRequest",
        "id": id or _id("mr"),
        "status": status,
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": concept(code, RXNORM, text=text),
    }
    if start is not None or end is not None or route:
        resource["dosageInstruction"] = [dosage(start, end, route)]
    if authored is not None:
        resource["authoredOn"] = _iso(authored)
    return resource | extra


def medication(code: str | None = BLINATUMOMAB_RXNORM, text: str | None = None, id: str = "med1",
               system: str = RXNORM) -> Resource:
    return {"resourceType": "Medication", "id": id, "code": concept(code, system, text=text)}


def immunization(cvx: str = "03", occurrence: date | str = "2026-01-01", status: str = "completed",
                 **extra: Any) -> Resource:
    resource: Resource = {
        "resourceType": "Immunization",
        "id": _id("imm"),
        "status": status,
        "patient": {"reference": "Patient/p1"},
        "vaccineCode": concept(cvx, CVX),
        "occurrenceDateTime": _iso(occurrence),
    }
    return resource | extra


def coverage(payor_display: str | None = "Aspirus Health Plan", status: str = "active",
             start: date | str | None = None, end: date | str | None = None, order: int | None = None,
             payor_reference: str | None = None, id: str | None = None, **extra: Any) -> Resource:
    payor: dict[str, Any] = {}
    if payor_display is not None:
        payor["display"] = payor_display
    if payor_reference is not None:
        payor["reference"] = payor_reference
    resource: Resource = {
        "resourceType": "Coverage",
        "id": id or _id("cov"),
        "status": status,
        "beneficiary": {"reference": "Patient/p1"},
        "payor": [payor],
    }
    if start is not None or end is not None:
        resource["period"] = {k: _iso(v) for k, v in (("start", start), ("end", end)) if v is not None}
    if order is not None:
        resource["order"] = order
    return resource | extra


def organization(name: str | None = "Florida Blue", id: str = "org1",
                 identifier: tuple[str, str] | None = None) -> Resource:
    resource: Resource = {"resourceType": "Organization", "id": id}
    if name is not None:
        resource["name"] = name
    if identifier is not None:
        resource["identifier"] = [{"system": identifier[0], "value": identifier[1]}]
    return resource


def answer_item(link_id: str, value: Any) -> dict[str, Any]:
    """One QuestionnaireResponse item; the value[x] type follows the Python type of `value`."""
    if isinstance(value, bool):
        key = "valueBoolean"
    elif isinstance(value, int):
        key = "valueInteger"
    elif isinstance(value, float):
        key = "valueDecimal"
    elif isinstance(value, dict):
        key = "valueCoding"
    else:
        key = "valueString"
    return {"linkId": link_id, "answer": [{key: value}]}


def questionnaire_response(answers: dict[str, Any], authored: date | str = "2026-01-01",
                           status: str = "completed", **extra: Any) -> Resource:
    """The attestation QuestionnaireResponse with one item per `answers` entry (linkId -> value)."""
    resource: Resource = {
        "resourceType": "QuestionnaireResponse",
        "id": _id("qr"),
        "status": status,
        "questionnaire": ATTESTATION_QUESTIONNAIRE,
        "subject": {"reference": "Patient/p1"},
        "authored": _iso(authored),
        "item": [answer_item(k, v) for k, v in answers.items()],
    }
    return resource | extra


_KEYS_BY_TYPE = {
    "Coverage": "coverage",
    "Condition": "conditions",
    "Observation": "observations",
    "MedicationRequest": "medicationRequests",
    "Immunization": "immunizations",
    "QuestionnaireResponse": "attestations",
}


def record(*resources: Resource, patient_resource: Resource | None = None, not_received: tuple[str, ...] = (),
           resolve: Resolver | None = None, with_patient: bool = True) -> PatientRecord:
    """A PatientRecord holding `resources`, sorted into their prefetch keys by resourceType.

    Every key is received (possibly empty) except those named in `not_received`. `resolve` defaults to a lookup of
    Medication and Organization resources passed in `resources` (standing in for the FHIR server).
    """
    lists: dict[str, list[Resource] | None] = {key: [] for key in _KEYS_BY_TYPE.values()}
    server: dict[str, Resource] = {}
    for resource in resources:
        key = _KEYS_BY_TYPE.get(resource["resourceType"])
        if key is None:
            server[f"{resource['resourceType']}/{resource['id']}"] = resource
        else:
            lists[key].append(resource)  # type: ignore[union-attr]
    for key in not_received:
        lists[key] = None
    chosen_patient = patient_resource or (patient() if with_patient else None)
    return PatientRecord(patient=chosen_patient, lists=lists, resolve=resolve or server.get)


def body_sizes(rec: PatientRecord, start: date, age_years: int | None) -> BodySize:
    """facts/body.body_size of the record's Observations, taken as well-formed (extract.py checks their shape)."""
    return body_size(rec, start, age_years, trusted(rec.lists.get("observations")))
