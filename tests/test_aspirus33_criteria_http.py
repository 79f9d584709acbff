"""Every criterion of the Aspirus (Magellan Rx) policy met, not met and unknown through the endpoint (policy-rules.md
§1-§2): a payer pharmacist's review of aspirus-magellan.toml against the policy and the spec, indication by
indication. Each case starts from the shipped example that meets one indication (fhir_examples/) and changes the
record or the attestation the way an EHR would send it; the criterion is read off the decision card's extension.

Not met is a denial only where the record shows the contrary; missing data leaves the criterion unknown, and the
decision asks for it (information needed), never a denial (policy-rules.md §1).
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from cds_service import SERVICE_ID
from cds_service.policies import loading
from tests.conftest import close_app, local_settings, make_app
from tests.factories import ICD10, LOINC, SNOMED, UCUM, concept, condition, immunization, medication_request, \
    observation, questionnaire_response
from tests.live_server import LiveClient, serving

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
Request = dict[str, Any]
Change = Callable[[Request], None]

# The shipped example meeting each indication (its order starts 2026-12-01).
BASELINE = {
    "adult-consolidation-mrd-positive": "aspirus-adult-consolidation-mrd-positive",
    "adult-consolidation-mrd-negative": "aspirus-adult-consolidation-mrd-negative-ph-positive-tki",
    "adult-consolidation-mrd-unavailable": "aspirus-adult-consolidation-mrd-unavailable",
    "adult-maintenance": "aspirus-adult-maintenance",
    "adult-relapsed-refractory": "aspirus-relapsed-refractory-cycle6-renewal",
    "pediatric-mrd-positive": "aspirus-pediatric-mrd-positive",
    "pediatric-less-than-cr-ph-positive": "aspirus-pediatric-less-than-cr-ph-positive",
    "pediatric-relapsed-refractory": "aspirus-pediatric-relapsed-refractory-bsa-step",
    "infant-interfant": "aspirus-infant-interfant",
}


def example(name: str) -> Request:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def resources(request: Request, key: str) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in (request["prefetch"].get(key) or {}).get("entry", [])]


def add(request: Request, key: str, resource: dict[str, Any]) -> None:
    request["prefetch"][key].setdefault("entry", []).append({"resource": resource})


def the(request: Request, key: str, resource_id: str) -> dict[str, Any]:
    return next(r for r in resources(request, key) if r["id"] == resource_id)


def drop(request: Request, key: str, resource_id: str) -> None:
    bundle = request["prefetch"][key]
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["id"] != resource_id]
    bundle["total"] = len(bundle["entry"])  # a Bundle short of its total was not received whole (prefetch.py)


def decision_of(client: LiveClient, request: Request) -> dict[str, Any]:
    response = client.post(f"/cds-services/{SERVICE_ID}", json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    [found] = [c["extension"]["coverage-decision"] for c in response.get_json()["cards"]
               if "coverage-decision" in c.get("extension", {})]
    return found


# ---- changes an EHR's record could show -----------------------------------------------------------------------

def attest(**answers: Any) -> Change:
    """One more attestation, authored after the examples' own (2026-11-25): its answers are the latest."""
    items = {key.replace("_", "-"): value for key, value in answers.items()}
    return lambda r: add(r, "attestations", questionnaire_response(
        items, authored="2026-11-26", subject={"reference": "Patient/example-patient"}))


def unattest(link_id: str) -> Change:
    """The examples' attestation without its answer to `link_id`."""
    def change(request: Request) -> None:
        for response in resources(request, "attestations"):
            response["item"] = [item for item in response["item"] if item["linkId"] != link_id]
    return change


def born(birth_date: str | None) -> Change:
    def change(request: Request) -> None:
        if birth_date is None:
            request["prefetch"]["patient"].pop("birthDate")
        else:
            request["prefetch"]["patient"]["birthDate"] = birth_date
    return change


def diagnosis(code: str | None = None, status: str | None = None, text: str | None = None) -> Change:
    """The example's ALL Condition (all-1) recoded, its clinical status or its text changed."""
    def change(request: Request) -> None:
        found = the(request, "conditions", "all-1")
        if code is not None:
            found["code"]["coding"] = [{"system": ICD10, "code": code}]
        if text is not None:
            found["code"]["text"] = text
        if status is not None:
            found["clinicalStatus"]["coding"][0]["code"] = status
    return change


def mrd(**value: Any) -> Change:
    """The example's MRD result (mrd-1) with another value[x] (or a dataAbsentReason)."""
    def change(request: Request) -> None:
        found = the(request, "observations", "mrd-1")
        for key in ("valueQuantity", "valueCodeableConcept", "valueString", "dataAbsentReason"):
            found.pop(key, None)
        found.update(value)
    return change


MRD_POSITIVE = mrd(valueQuantity={"value": 0.2, "unit": "%", "system": UCUM, "code": "%"})
MRD_NOT_DETECTED = mrd(valueCodeableConcept=concept("260415000", SNOMED, text="not detected"))
MRD_NOT_PERFORMED = mrd(dataAbsentReason={"text": "Not performed"})


def add_mrd(**value: Any) -> Change:
    return lambda r: add(r, "observations", observation(
        text="MRD by flow cytometry (bone marrow)", effective="2026-11-15", id="mrd-1",
        subject={"reference": "Patient/example-patient"}, **value))


def ph(result: str | None) -> Change:
    """The example's BCR::ABL1 FISH (bcr-abl-1) positive or negative; None: no Ph result on record."""
    def change(request: Request) -> None:
        if result is None:
            drop(request, "observations", "bcr-abl-1")
            return
        code = {"positive": "10828004", "negative": "260385009"}[result]
        the(request, "observations", "bcr-abl-1")["valueCodeableConcept"] = concept(code, SNOMED, text=result)
    return change


def ph_major_only_negative(request: Request) -> None:
    """A p210 PCR negative only: it does not cover the minor breakpoint, so Ph- is not shown."""
    found = the(request, "observations", "bcr-abl-1")
    found["code"] = concept("21822-2", LOINC, text="BCR-ABL1 p210 PCR")
    found["valueCodeableConcept"] = concept("260385009", SNOMED, text="negative")


def with_drug(rxnorm: str, name: str) -> Change:
    """An active order of another drug over the order's start (2026-12-01)."""
    return lambda r: add(r, "medicationRequests", medication_request(
        rxnorm, text=name, start="2026-11-28", end="2026-12-20", subject={"reference": "Patient/example-patient"}))


CYCLOPHOSPHAMIDE = with_drug("3002", "cyclophosphamide")
DASATINIB = with_drug("475342", "dasatinib")


def not_received(key: str) -> Change:
    def change(request: Request) -> None:
        request["prefetch"].pop(key, None)
    return change


def dose(mcg_per_day: float) -> Change:
    def change(request: Request) -> None:
        order = request["context"]["draftOrders"]["entry"][0]["resource"]
        for line in order["dosageInstruction"]:
            line["doseAndRate"][0]["rateQuantity"]["value"] = mcg_per_day
    return change


def no_weight(request: Request) -> None:
    drop(request, "observations", "weight-1")


def recorded(code: str, day: str = "2026-09-15") -> Change:
    """One more Condition (a toxicity, a remission) recorded on `day`: the relapsed course began 2026-01-05."""
    return lambda r: add(r, "conditions", condition(
        code, ICD10, recorded=day, subject={"reference": "Patient/example-patient"}))


def quantity(**dispensed: Any) -> Change:
    def change(request: Request) -> None:
        order = request["context"]["draftOrders"]["entry"][0]["resource"]
        order["dispenseRequest"]["quantity"] = dispensed
    return change


def live_vaccine(day: str) -> Change:
    return lambda r: add(r, "immunizations", immunization(
        "03", day, patient={"reference": "Patient/example-patient"}))


def both(*changes: Change) -> Change:
    def change(request: Request) -> None:
        for one in changes:
            one(request)
    return change


ADULT_MRD_POS = "adult-consolidation-mrd-positive"
ADULT_MRD_NEG = "adult-consolidation-mrd-negative"
ADULT_MRD_UNAV = "adult-consolidation-mrd-unavailable"
MAINTENANCE = "adult-maintenance"
ADULT_RR = "adult-relapsed-refractory"
PED_MRD = "pediatric-mrd-positive"
PED_LESS_CR = "pediatric-less-than-cr-ph-positive"
PED_RR = "pediatric-relapsed-refractory"
INFANT = "infant-interfant"

# (indication, criterion, change, status the criterion then has)
CASES: list[tuple[str, str, Change, str | None]] = [
    # adult consolidation, MRD positive
    (ADULT_MRD_POS, "adult-age", born("2012-01-01"), "not-met"),
    (ADULT_MRD_POS, "adult-age", born(None), "unknown"),
    (ADULT_MRD_POS, "b-cell-precursor-all", diagnosis(text="T-lymphoblastic leukemia"), "not-met"),
    (ADULT_MRD_POS, "b-cell-precursor-all", diagnosis(text="acute lymphoblastic leukemia"), "unknown"),
    (ADULT_MRD_POS, "consolidation-phase", attest(therapy_phase="maintenance"), "not-met"),
    (ADULT_MRD_POS, "consolidation-phase", diagnosis(code="C91.00", status="active"), "unknown"),
    (ADULT_MRD_POS, "complete-response", attest(complete_response_to_induction=False), "not-met"),
    (ADULT_MRD_POS, "complete-response",
     both(unattest("complete-response-to-induction"), attest(therapy_phase="consolidation"),
          diagnosis(code="C91.00", status="active")), "unknown"),
    (ADULT_MRD_POS, "mrd-positive", both(attest(therapy_phase="consolidation"), MRD_NOT_DETECTED), "not-met"),
    (ADULT_MRD_POS, "mrd-positive",
     both(attest(therapy_phase="consolidation"), lambda r: drop(r, "observations", "mrd-1")), "unknown"),
    (ADULT_MRD_POS, "ph-use", CYCLOPHOSPHAMIDE, "not-met"),
    (ADULT_MRD_POS, "ph-use", both(DASATINIB, ph(None)), "unknown"),
    (ADULT_MRD_POS, "ph-use", both(DASATINIB, ph("positive")), "met"),
    (ADULT_MRD_POS, "ph-use", both(DASATINIB, ph("negative")), "not-met"),
    (ADULT_MRD_POS, "dose-schedule", dose(40), "not-met"),
    (ADULT_MRD_POS, "dose-schedule", no_weight, "unknown"),
    (ADULT_MRD_POS, "not-renewable-after-4", attest(cycle_number=5), "not-met"),
    (ADULT_MRD_POS, "not-renewable-after-4", attest(cycle_number=4), "met"),
    # adult consolidation, MRD negative (the example: Ph+, with dasatinib, not a multi-agent chemotherapy candidate)
    (ADULT_MRD_NEG, "adult-age", born("2012-01-01"), "not-met"),
    (ADULT_MRD_NEG, "b-cell-precursor-all", diagnosis(text="acute lymphoblastic leukemia"), "unknown"),
    (ADULT_MRD_NEG, "consolidation-phase", attest(therapy_phase="relapsed-refractory"), "not-met"),
    (ADULT_MRD_NEG, "consolidation-phase", unattest("therapy-phase"), "unknown"),
    (ADULT_MRD_NEG, "complete-response", attest(complete_response_to_induction=False), "not-met"),
    (ADULT_MRD_NEG, "complete-response",
     both(unattest("complete-response-to-induction"), diagnosis(code="C91.00", status="active")), "unknown"),
    (ADULT_MRD_NEG, "mrd-negative", MRD_POSITIVE, "not-met"),
    (ADULT_MRD_NEG, "mrd-negative", lambda r: drop(r, "observations", "mrd-1"), "unknown"),
    (ADULT_MRD_NEG, "mrd-negative", mrd(valueQuantity={"value": 0.01, "comparator": "<", "unit": "%",
                                                       "system": UCUM, "code": "%"}), "met"),
    (ADULT_MRD_NEG, "ph-use", attest(multiagent_chemo_candidate=True), "not-met"),
    (ADULT_MRD_NEG, "ph-use", ph(None), "unknown"),
    (ADULT_MRD_NEG, "ph-use", unattest("multiagent-chemo-candidate"), "unknown"),
    (ADULT_MRD_NEG, "ph-use", both(ph("negative"), lambda r: drop(r, "medicationRequests", "dasatinib-1"),
                                   attest(multiagent_chemo_candidate=True, induction_ino_mini_hyper_cvd=True)), "met"),
    (ADULT_MRD_NEG, "ph-use", both(ph("negative"), lambda r: drop(r, "medicationRequests", "dasatinib-1"),
                                   attest(multiagent_chemo_candidate=True, induction_ino_mini_hyper_cvd=False)),
     "not-met"),
    (ADULT_MRD_NEG, "dose-schedule", no_weight, "unknown"),
    (ADULT_MRD_NEG, "not-renewable-after-4", attest(cycle_number=5), "not-met"),
    # adult consolidation, MRD unavailable (Ph-, single agent, inotuzumab + mini-hyper-CVD induction)
    (ADULT_MRD_UNAV, "mrd-unavailable", MRD_NOT_DETECTED, "not-met"),
    (ADULT_MRD_UNAV, "mrd-unavailable", lambda r: drop(r, "observations", "mrd-1"), "unknown"),
    (ADULT_MRD_UNAV, "mrd-unavailable", both(lambda r: drop(r, "observations", "mrd-1"),
                                             attest(mrd_unavailable=True)), "met"),
    (ADULT_MRD_UNAV, "ph-negative", ph("positive"), "not-met"),
    (ADULT_MRD_UNAV, "ph-negative", ph(None), "unknown"),
    (ADULT_MRD_UNAV, "ph-negative", ph_major_only_negative, "unknown"),
    (ADULT_MRD_UNAV, "single-agent", CYCLOPHOSPHAMIDE, "not-met"),
    (ADULT_MRD_UNAV, "single-agent", not_received("medicationRequests"), "unknown"),
    (ADULT_MRD_UNAV, "ino-induction-or-not-candidate",
     attest(induction_ino_mini_hyper_cvd=False, multiagent_chemo_candidate=True), "not-met"),
    (ADULT_MRD_UNAV, "ino-induction-or-not-candidate", unattest("induction-ino-mini-hyper-cvd"), "unknown"),
    (ADULT_MRD_UNAV, "ino-induction-or-not-candidate",
     attest(induction_ino_mini_hyper_cvd=False, multiagent_chemo_candidate=False), "met"),
    (ADULT_MRD_UNAV, "consolidation-phase", unattest("therapy-phase"), "unknown"),
    (ADULT_MRD_UNAV, "complete-response", attest(complete_response_to_induction=False), "not-met"),
    # adult maintenance
    (MAINTENANCE, "adult-age", born(None), "unknown"),
    (MAINTENANCE, "maintenance-phase", attest(therapy_phase="consolidation"), "not-met"),
    (MAINTENANCE, "maintenance-phase", unattest("therapy-phase"), "unknown"),
    (MAINTENANCE, "ph-negative", ph("positive"), "not-met"),
    (MAINTENANCE, "ph-negative", ph(None), "unknown"),
    (MAINTENANCE, "alternating-with-pomp", attest(combination="single-agent"), "not-met"),
    (MAINTENANCE, "alternating-with-pomp", unattest("combination"), "unknown"),
    (MAINTENANCE, "alternating-with-pomp", both(unattest("combination"), CYCLOPHOSPHAMIDE), "unknown"),
    (MAINTENANCE, "mrd-negative-or-unavailable", MRD_POSITIVE, "not-met"),
    (MAINTENANCE, "mrd-negative-or-unavailable", lambda r: drop(r, "observations", "mrd-1"), "unknown"),
    (MAINTENANCE, "mrd-negative-or-unavailable", MRD_NOT_PERFORMED, "met"),
    (MAINTENANCE, "cr-after-ino-induction", attest(induction_ino_mini_hyper_cvd=False), "not-met"),
    (MAINTENANCE, "cr-after-ino-induction", unattest("induction-ino-mini-hyper-cvd"), "unknown"),
    (MAINTENANCE, "cr-after-ino-induction", attest(complete_response_to_induction=False), "not-met"),
    (MAINTENANCE, "dose-schedule", dose(40), "not-met"),
    (MAINTENANCE, "not-renewable-after-5", attest(cycle_number=6), "not-met"),
    (MAINTENANCE, "not-renewable-after-5", attest(cycle_number=5), "met"),
    # the policy-level criteria (Aspirus III universal criterion, Aspirus II quantity limit)
    (ADULT_RR, "U1", live_vaccine("2026-11-24"), "not-met"),
    (ADULT_RR, "U1", live_vaccine("2025-12-21"), "met"),  # 15 days before the course start (2026-01-05)
    (ADULT_RR, "U1", live_vaccine("2025-12-22"), "not-met"),
    (ADULT_RR, "U1", live_vaccine("2026-12-29"), "not-met"),  # 28 days after this order's start
    (ADULT_RR, "U1", not_received("immunizations"), "unknown"),
    (ADULT_RR, "quantity", quantity(value=29, unit="vial", system=UCUM, code="{vial}"), "not-met"),
    (ADULT_RR, "quantity", quantity(value=980, unit="ug", system=UCUM, code="ug"), "met"),
    (ADULT_RR, "quantity", quantity(value=28), "unknown"),
    (PED_MRD, "quantity", quantity(value=1000, unit="ug", system=UCUM, code="ug"), "not-met"),
    # adult relapsed/refractory, cycle 6 (the first renewal)
    (ADULT_RR, "adult-age", born("2012-01-01"), "not-met"),
    (ADULT_RR, "b-cell-precursor-all", diagnosis(text="T-lymphoblastic leukemia"), "not-met"),
    (ADULT_RR, "b-cell-precursor-all", diagnosis(code="C83.50", text="B-lymphoblastic lymphoma"), "met"),
    (ADULT_RR, "b-cell-precursor-all", diagnosis(code="C83.50", text="lymphoblastic lymphoma"), "unknown"),
    (ADULT_RR, "b-cell-precursor-all", diagnosis(code="C92.00", text="B-cell acute myeloid leukemia"), "unknown"),
    (ADULT_RR, "relapsed-refractory-phase", attest(therapy_phase="consolidation"), "not-met"),
    (ADULT_RR, "relapsed-refractory-phase", diagnosis(code="C91.00", status="active"), "unknown"),
    (ADULT_RR, "relapsed-refractory-phase",
     diagnosis(code="C91.00", status="active", text="refractory B-cell precursor ALL"), "met"),
    (ADULT_RR, "use", CYCLOPHOSPHAMIDE, "not-met"),
    (ADULT_RR, "use", both(DASATINIB, ph(None)), "unknown"),
    (ADULT_RR, "use", both(DASATINIB, ph("positive")), "met"),
    (ADULT_RR, "use", both(DASATINIB, ph("negative")), "not-met"),
    (ADULT_RR, "use", attest(combination="with-ino-mini-hyper-cvd"), "met"),
    (ADULT_RR, "use", not_received("medicationRequests"), "unknown"),
    (ADULT_RR, "dose-schedule", dose(40), "not-met"),
    (ADULT_RR, "dose-schedule", no_weight, "unknown"),
    (ADULT_RR, "at-most-9-cycles", attest(cycle_number=10), "not-met"),
    (ADULT_RR, "at-most-9-cycles", attest(cycle_number=9), "met"),
    (ADULT_RR, "no-unacceptable-toxicity", recorded("D89.834"), "not-met"),
    (ADULT_RR, "no-unacceptable-toxicity", both(recorded("G92.04"), attest(unacceptable_toxicity=False)), "not-met"),
    (ADULT_RR, "no-unacceptable-toxicity", recorded("D89.833"), "unknown"),
    (ADULT_RR, "no-unacceptable-toxicity", both(recorded("K85.90"), attest(unacceptable_toxicity=False)), "met"),
    (ADULT_RR, "no-unacceptable-toxicity", attest(unacceptable_toxicity=True), "not-met"),
    (ADULT_RR, "no-unacceptable-toxicity", recorded("D89.832"), "met"),
    (ADULT_RR, "no-unacceptable-toxicity", recorded("D89.834", "2025-11-01"), "met"),  # an earlier course's
    (ADULT_RR, "no-unacceptable-toxicity", not_received("conditions"), "unknown"),
    (ADULT_RR, "response-or-stabilization", attest(response_or_stabilization=False), "not-met"),
    (ADULT_RR, "response-or-stabilization", unattest("response-or-stabilization"), "unknown"),
    (ADULT_RR, "response-or-stabilization",
     both(unattest("response-or-stabilization"), add_mrd(valueCodeableConcept=concept("260415000", SNOMED))), "met"),
    (ADULT_RR, "response-or-stabilization",
     both(unattest("response-or-stabilization"), recorded("C91.01", "2026-03-01")), "met"),
    # pediatric MRD positive (the example: 8 years old, first remission, MRD 0.3%)
    (PED_MRD, "pediatric-age", born("1990-01-01"), "not-met"),
    (PED_MRD, "pediatric-age", born("2026-11-15"), "not-met"),
    (PED_MRD, "pediatric-age", born(None), "unknown"),
    (PED_MRD, "single-agent", CYCLOPHOSPHAMIDE, "not-met"),
    (PED_MRD, "single-agent", not_received("medicationRequests"), "unknown"),
    (PED_MRD, "b-cell-precursor-all", diagnosis(text="T-lymphoblastic leukemia"), "not-met"),
    (PED_MRD, "b-cell-precursor-all", diagnosis(text="acute lymphoblastic leukemia"), "unknown"),
    (PED_MRD, "mrd-positive", MRD_NOT_DETECTED, "not-met"),
    (PED_MRD, "mrd-positive", lambda r: drop(r, "observations", "mrd-1"), "unknown"),
    (PED_MRD, "remission-or-after-consolidation", diagnosis(code="C91.00", status="active"), "unknown"),
    (PED_MRD, "remission-or-after-consolidation", attest(remission_number=3), "unknown"),
    (PED_MRD, "remission-or-after-consolidation", attest(remission_number=2), "met"),
    (PED_MRD, "remission-or-after-consolidation",
     both(diagnosis(code="C91.00", status="active"), attest(end_of_consolidation_response="complete")), "met"),
    (PED_MRD, "dose-schedule", dose(28), "not-met"),
    (PED_MRD, "not-renewable-after-4", attest(cycle_number=5), "not-met"),
    # pediatric, less than complete response at the end of consolidation, Ph+
    (PED_LESS_CR, "less-than-cr", attest(end_of_consolidation_response="complete"), "not-met"),
    (PED_LESS_CR, "less-than-cr", unattest("end-of-consolidation-response"), "unknown"),
    (PED_LESS_CR, "ph-positive", ph("negative"), "not-met"),
    (PED_LESS_CR, "ph-positive", ph(None), "unknown"),
    (PED_LESS_CR, "single-agent", DASATINIB, "not-met"),
    (PED_LESS_CR, "pediatric-age", born("1990-01-01"), "not-met"),
    (PED_LESS_CR, "not-renewable-after-4", attest(cycle_number=5), "not-met"),
    # pediatric relapsed/refractory (cycle 1; renewal criteria from cycle 6)
    (PED_RR, "relapsed-refractory-phase", attest(therapy_phase="consolidation"), "not-met"),
    (PED_RR, "relapsed-refractory-phase", diagnosis(code="C91.00", status="active"), "unknown"),
    (PED_RR, "single-agent", CYCLOPHOSPHAMIDE, "not-met"),
    (PED_RR, "single-agent", DASATINIB, "not-met"),
    (PED_RR, "pediatric-age", born(None), "unknown"),
    (PED_RR, "at-most-9-cycles", attest(cycle_number=10), "not-met"),
    (PED_RR, "no-unacceptable-toxicity", attest(cycle_number=6, response_or_stabilization=True), "met"),
    (PED_RR, "no-unacceptable-toxicity",
     both(attest(cycle_number=6, response_or_stabilization=True), recorded("E88.3", "2026-12-01")), "unknown"),
    (PED_RR, "response-or-stabilization", attest(cycle_number=6), "unknown"),
    (PED_RR, "response-or-stabilization", attest(cycle_number=6, response_or_stabilization=True), "met"),
    (PED_RR, "response-or-stabilization", attest(cycle_number=6, response_or_stabilization=False), "not-met"),
    (PED_RR, "response-or-stabilization", attest(cycle_number=5), None),  # not a renewal: not read
    # infant ALL with an Interfant regimen
    (INFANT, "pediatric-age", born("2026-11-15"), "not-met"),
    (INFANT, "pediatric-age", born(None), "unknown"),
    (INFANT, "infant-all", attest(diagnosed_before_age_1=False), "not-met"),
    (INFANT, "infant-all", lambda r: [the(r, "conditions", "all-1").pop(k) for k in ("onsetDateTime", "recordedDate")],
     "unknown"),
    (INFANT, "with-interfant", attest(combination="single-agent"), "not-met"),
    (INFANT, "with-interfant", unattest("combination"), "unknown"),
    (INFANT, "with-interfant", both(unattest("combination"), CYCLOPHOSPHAMIDE), "unknown"),
    (INFANT, "dose-schedule", dose(28), "not-met"),
    (INFANT, "single-cycle", attest(cycle_number=2), "not-met"),
]


SHIPPED = Path(loading.__file__).resolve().parent / "aspirus-magellan.toml"


def one_indication(indication: str) -> str:
    """The shipped policy file with its policy-level criteria, its shared criteria and one indication alone: that
    indication's criteria are then on the card whatever another indication would make of the record."""
    head, *blocks = SHIPPED.read_text(encoding="utf-8").split("\n[[indications]]\n")
    [block] = [b for b in blocks if b.startswith(f'id = "{indication}"\n')]
    return f"{head}\n[[indications]]\n{block}"


@contextmanager
def alone(indication: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveClient]:
    """The service with the Aspirus policy reduced to `indication` (CDS_POLICY_DIR: the same id replaces the shipped
    file, as an operator's newer version would)."""
    (folder / "policies").mkdir()
    (folder / "policies" / "aspirus-magellan.toml").write_text(one_indication(indication), encoding="utf-8")
    monkeypatch.setenv(loading.ENV_DIR, str(folder / "policies"))
    _clear()
    app = make_app(local_settings(folder))
    try:
        with serving(app) as client:
            yield client
    finally:
        close_app(app)
        monkeypatch.delenv(loading.ENV_DIR)
        _clear()


def _clear() -> None:
    loading.load_policy.cache_clear()
    loading.policy_files.cache_clear()


POLICY_LEVEL = ("U1", "quantity")


def criterion_of(decision: dict[str, Any], indication: str, criterion: str) -> dict[str, Any] | None:
    wanted = criterion if criterion in POLICY_LEVEL else f"{indication}.{criterion}"
    return next((c for c in decision["criteria"] if c["id"] == wanted), None)


DECISION = {"met": "meets-criteria", "not-met": "criteria-not-met", "unknown": "information-needed"}


@pytest.mark.parametrize(("indication", "criterion", "change", "status"), CASES)
def test_each_criterion_met_not_met_and_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, indication: str,
                                               criterion: str, change: Change, status: str | None) -> None:
    """The indication alone (one change from a record meeting it): the criterion's status decides. A denial shows the
    resource it rests on; an unknown criterion says what to document, and the decision asks for it."""
    request = example(BASELINE[indication])
    change(request)
    with alone(indication, tmp_path, monkeypatch) as client:
        decision = decision_of(client, request)
    found = criterion_of(decision, indication, criterion)
    if status is None:  # a renewal criterion before the first renewal: not read
        assert found is None and decision["decision"] == "meets-criteria"
        return
    assert found is not None and found["status"] == status, found
    assert decision["decision"] == DECISION[status]
    if status == "not-met":
        assert found["evidence"], "a pharmacist verifies a denial against the record"
    if status == "unknown":
        assert decision["missing"]


UNKNOWN = [case for case in CASES if case[3] == "unknown"]


@pytest.mark.parametrize(("indication", "criterion", "change", "status"), UNKNOWN)
def test_missing_information_is_never_a_denial_under_the_whole_policy(client: LiveClient, indication: str,
                                                                      criterion: str, change: Change,
                                                                      status: str) -> None:
    """The same records under every indication of the policy: a criterion left unknown for want of data keeps its
    pathway open, so the decision is an approval by another pathway or a request for information, never a denial
    (policy-rules.md §1)."""
    request = example(BASELINE[indication])
    change(request)
    assert decision_of(client, request)["decision"] != "criteria-not-met"
