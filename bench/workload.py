"""Realistic order-sign hook requests for the benchmarks.

One adult Aspirus Health Plan member with relapsed Ph-negative B-cell precursor ALL whose blinatumomab cycle 1 is
being signed (9 mcg/day days 1-7, 28 mcg/day days 8-28), with a record padded by routine labs, past chemotherapy and
inactive vaccines, so the service sees what an EHR sends. Codes follow /work/shared/spec/fhir-data-profile.md.
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

PATIENT_ID = "bench-patient"
ORDER_ID = "blinatumomab-draft-1"
COVERAGE_ID = "bench-coverage"
SERVICE_ID = "blinatumomab-coverage"
SERVICE_PATH = f"/cds-services/{SERVICE_ID}"

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CVX = "http://hl7.org/fhir/sid/cvx"

# Routine CBC and chemistry results, the padding after the weight, height, BCR::ABL1 and MRD results every request
# carries: (LOINC, display, value, UCUM unit).
ROUTINE_LABS: tuple[tuple[str, str, float, str], ...] = (
    ("718-7", "Hemoglobin [Mass/volume] in Blood", 10.4, "g/dL"),
    ("6690-2", "Leukocytes [#/volume] in Blood", 3.2, "10*3/uL"),
    ("777-3", "Platelets [#/volume] in Blood", 142.0, "10*3/uL"),
    ("751-8", "Neutrophils [#/volume] in Blood", 1.6, "10*3/uL"),
    ("731-0", "Lymphocytes [#/volume] in Blood", 0.9, "10*3/uL"),
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", 138.0, "mmol/L"),
    ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", 4.1, "mmol/L"),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", 0.9, "mg/dL"),
    ("3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", 14.0, "mg/dL"),
    ("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", 28.0, "U/L"),
    ("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", 24.0, "U/L"),
    ("1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", 0.7, "mg/dL"),
    ("6768-6", "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma", 88.0, "U/L"),
    ("1751-7", "Albumin [Mass/volume] in Serum or Plasma", 3.9, "g/dL"),
    ("2532-0", "Lactate dehydrogenase [Enzymatic activity/volume] in Serum or Plasma", 240.0, "U/L"),
    ("3084-1", "Urate [Mass/volume] in Serum or Plasma", 5.1, "mg/dL"),
    ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", 96.0, "mg/dL"),
    ("3255-7", "Fibrinogen [Mass/volume] in Platelet poor plasma", 310.0, "mg/dL"),
)
# Past therapy: (RxNorm ingredient or None for a text-only drug, name, route). None of it is active at the start.
PAST_MEDICATIONS: tuple[tuple[str | None, str, str], ...] = (
    ("11202", "vincristine", "intravenous"),
    ("3002", "cyclophosphamide", "intravenous"),
    ("3639", "doxorubicin", "intravenous"),
    ("6851", "methotrexate", "intrathecal"),
    ("103", "mercaptopurine", "oral"),
    ("8640", "prednisone", "oral"),
    ("3264", "dexamethasone", "oral"),
    (None, "cytarabine", "intravenous"),
    ("26225", "ondansetron", "oral"),
    ("281", "acyclovir", "oral"),
    ("519", "allopurinol", "oral"),
    ("10831", "sulfamethoxazole / trimethoprim", "oral"),
)
# Inactive vaccines only (no live vaccine): (CVX, display).
INACTIVE_VACCINES: tuple[tuple[str, str], ...] = (
    ("150", "influenza, injectable, quadrivalent, preservative free"),
    ("133", "pneumococcal conjugate PCV 13"),
    ("115", "Tdap"),
    ("43", "hepatitis B vaccine, adult dosage"),
    ("208", "COVID-19, mRNA, 30 mcg/0.3 mL dose"),
)
# Default sizes: about 100 prefetch resources in all, like a real oncology patient's recent record.
DEFAULT_OBSERVATIONS = 73
DEFAULT_MEDICATION_REQUESTS = 18


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    entries = [{"fullUrl": f"urn:uuid:{r['resourceType']}-{r['id']}", "resource": r} for r in resources]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


def _patient(start: date) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "name": [{"family": "Bench", "given": ["Pat"]}],
        "gender": "female",
        "birthDate": start.replace(year=start.year - 45, day=1).isoformat(),
    }


def _coverage(start: date) -> dict[str, Any]:
    return {
        "resourceType": "Coverage",
        "id": COVERAGE_ID,
        "status": "active",
        "subscriberId": "AHP0000001",
        "beneficiary": {"reference": f"Patient/{PATIENT_ID}"},
        "period": {"start": date(start.year, 1, 1).isoformat()},
        "payor": [{"display": "Aspirus Health Plan"}],
        "order": 1,
    }


def _conditions(start: date) -> list[dict[str, Any]]:
    clinical = "http://terminology.hl7.org/CodeSystem/condition-clinical"
    verification = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
    relapse = {
        "resourceType": "Condition",
        "id": "all-relapse",
        "clinicalStatus": {"coding": [_coding(clinical, "relapse")]},
        "verificationStatus": {"coding": [_coding(verification, "confirmed")]},
        "code": {
            "coding": [_coding(ICD10CM, "C91.02", "Acute lymphoblastic leukemia, in relapse")],
            "text": "B-cell precursor ALL, relapsed",
        },
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "onsetDateTime": (start - timedelta(days=700)).isoformat(),
        "recordedDate": (start - timedelta(days=12)).isoformat(),
    }
    hypertension = {
        "resourceType": "Condition",
        "id": "hypertension",
        "clinicalStatus": {"coding": [_coding(clinical, "active")]},
        "verificationStatus": {"coding": [_coding(verification, "confirmed")]},
        "code": {"coding": [_coding(ICD10CM, "I10", "Essential (primary) hypertension")]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "recordedDate": (start - timedelta(days=2000)).isoformat(),
    }
    return [relapse, hypertension]


def _observation(obs_id: str, code: dict[str, Any], when: date, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": obs_id,
        "status": "final",
        "code": code,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "effectiveDateTime": when.isoformat(),
        **value,
    }


def _clinical_observations(start: date) -> list[dict[str, Any]]:
    negative = {"coding": [_coding(SNOMED, "260385009", "Negative")]}
    return [
        _observation("weight", {"coding": [_coding(LOINC, "29463-7", "Body weight")]}, start - timedelta(days=2),
                     {"valueQuantity": _quantity(70, "kg")}),
        _observation("height", {"coding": [_coding(LOINC, "8302-2", "Body height")]}, start - timedelta(days=40),
                     {"valueQuantity": _quantity(172, "cm")}),
        _observation("bcr-abl1", {"coding": [_coding(LOINC, "21821-4", "BCR-ABL1 fusion transcript")]},
                     start - timedelta(days=650), {"valueCodeableConcept": negative}),
        _observation("mrd", {"text": "MRD by flow cytometry"}, start - timedelta(days=10),
                     {"valueQuantity": _quantity(4.2, "%")}),
    ]


def _routine_labs(start: date, count: int) -> list[dict[str, Any]]:
    labs = []
    for i in range(count):
        code, display, value, unit = ROUTINE_LABS[i % len(ROUTINE_LABS)]
        # One panel a day going back in time, so large records span years like real ones.
        when = start - timedelta(days=1 + i // len(ROUTINE_LABS))
        labs.append(_observation(f"lab-{i}", {"coding": [_coding(LOINC, code, display)], "text": display}, when,
                                 {"valueQuantity": _quantity(value, unit)}))
    return labs


def _observations(start: date, count: int) -> list[dict[str, Any]]:
    clinical = _clinical_observations(start)[:count]
    return clinical + _routine_labs(start, max(0, count - len(clinical)))


def _medication_request(
    request_id: str, status: str, authored: date, medication: dict[str, Any], dosage: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": request_id,
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "authoredOn": authored.isoformat(),
        "medicationCodeableConcept": medication,
        "dosageInstruction": dosage,
    }


def _past_medication(index: int, start: date) -> dict[str, Any]:
    rxnorm, name, route = PAST_MEDICATIONS[index % len(PAST_MEDICATIONS)]
    medication: dict[str, Any] = {"text": name}
    if rxnorm:
        medication["coding"] = [_coding(RXNORM, rxnorm, name)]
    # Courses ended weeks to years before the order: history, not a combination.
    began = start - timedelta(days=60 + 14 * index)
    dosage = {
        "text": f"{name} per protocol",
        "route": {"text": route},
        "timing": {"repeat": {"boundsPeriod": {"start": began.isoformat(),
                                               "end": (began + timedelta(days=6)).isoformat()}}},
    }
    return _medication_request(f"past-med-{index}", "completed", began, medication, [dosage])


def _immunizations(start: date) -> list[dict[str, Any]]:
    return [{
        "resourceType": "Immunization",
        "id": f"vaccine-{i}",
        "status": "completed",
        "vaccineCode": {"coding": [_coding(CVX, code, display)]},
        "patient": {"reference": f"Patient/{PATIENT_ID}"},
        "occurrenceDateTime": (start - timedelta(days=90 + 120 * i)).isoformat(),
    } for i, (code, display) in enumerate(INACTIVE_VACCINES)]


def _dose_line(sequence: int, first: date, last: date, mcg_per_day: float) -> dict[str, Any]:
    return {
        "sequence": sequence,
        "text": f"{mcg_per_day:g} mcg/day continuous IV infusion",
        "route": {"coding": [_coding(SNOMED, "47625008", "Intravenous route")]},
        "timing": {"repeat": {"boundsPeriod": {"start": first.isoformat(), "end": last.isoformat()}}},
        "doseAndRate": [{"rateQuantity": _quantity(mcg_per_day, "ug/d")}],
    }


def blinatumomab_order(start: date) -> dict[str, Any]:
    """The draft cycle-1 order: step dose 9 mcg/day on days 1-7, then 28 mcg/day on days 8-28."""
    medication = {
        "coding": [_coding(RXNORM, "1597262", "blinatumomab 35 MCG Injection")],
        "text": "Blincyto (blinatumomab) 35 mcg vial",
    }
    dosage = [
        _dose_line(1, start, start + timedelta(days=6), 9),
        _dose_line(2, start + timedelta(days=7), start + timedelta(days=27), 28),
    ]
    order = _medication_request(ORDER_ID, "draft", start, medication, dosage)
    order["insurance"] = [{"reference": f"Coverage/{COVERAGE_ID}"}]
    order["dispenseRequest"] = {
        "quantity": {"value": 28, "unit": "vial", "system": UCUM, "code": "{vial}"},
        "expectedSupplyDuration": {"value": 28, "unit": "days", "system": UCUM, "code": "d"},
    }
    return order


def order_sign_request(
    observations: int = DEFAULT_OBSERVATIONS,
    medication_requests: int = DEFAULT_MEDICATION_REQUESTS,
    start: date | None = None,
) -> dict[str, Any]:
    """An order-sign request with every prefetch key of service-contract.md answered.

    `observations` and `medication_requests` are the sizes of those prefetch lists; the order starts on `start`
    (default today, so the service's own clock finds the weight recent and the coverage current).
    """
    start = start or date.today()
    order = blinatumomab_order(start)
    return {
        "hook": "order-sign",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/bench-oncologist",
            "patientId": PATIENT_ID,
            "encounterId": "bench-encounter",
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": order}]},
        },
        "prefetch": {
            "patient": _patient(start),
            "coverage": _searchset([_coverage(start)]),
            "conditions": _searchset(_conditions(start)),
            "observations": _searchset(_observations(start, observations)),
            "medicationRequests": _searchset([_past_medication(i, start) for i in range(medication_requests)]),
            "immunizations": _searchset(_immunizations(start)),
            "attestations": _searchset([]),
        },
    }


def resource_count(request: dict[str, Any]) -> int:
    """How many FHIR resources the request's prefetch carries (the Patient counts as one)."""
    prefetch = request["prefetch"]
    bundles = [v for v in prefetch.values() if isinstance(v, dict) and v.get("resourceType") == "Bundle"]
    return sum(len(b.get("entry") or []) for b in bundles) + (1 if prefetch.get("patient") else 0)
