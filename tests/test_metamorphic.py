"""Metamorphic tests of the clinical reading: every request of fhir_examples/ and the bench workload, rewritten in
ways that must not change what the service decides, gives the same decision, criteria statuses and dose findings.
This module: the harness, and the patient's record written otherwise; test_metamorphic_orders.py: the orders;
test_metamorphic_monotonic.py: knowing less never denies.

What counts as the same request is read from the specs (fhir-data-profile.md, service-contract.md §Prefetch); where
they are silent, the choice is said in the transformation's docstring. The answers are compared through `clinical()`:
each card's kind, indicator and source, the coverage decision without its evidence and words, the dose-check
findings and the coverage-information codes; uuids, coverage assertion ids and resource ids are not compared. Most
transformations are also answered word for word alike (`words()`); WORDED_OTHERWISE says why the others are not.
"""
from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bench import workload
from tests.conftest import close_app, local_settings, make_app


Json = dict[str, Any]
Transform = Callable[[Json], Json]

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
SERVICE = "/cds-services/blinatumomab-coverage"
CRD_COVERAGE = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
UCUM = "http://unitsofmeasure.org"
# The bench workload, dated as the examples are (an order starting on a fixed day): its record is built around the
# order's start, so the answer does not depend on the day the tests run.
BENCH_START = date(2026, 12, 1)


def _requests() -> dict[str, Json]:
    found = {p.stem: json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json")) if p.stem != "expected"}
    found["bench-workload"] = workload.order_sign_request(start=BENCH_START)
    return found


REQUESTS = _requests()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    """One app for the module, through Flask's test client, its answers depending on the request alone: the audit
    trail's earlier approvals are not looked up (Florida Blue continuation reads them, and an approval of one
    transformed request's order would be another order's for the next, of the same patient)."""
    logging.disable(logging.INFO)
    application: Flask = make_app(local_settings(tmp_path_factory.mktemp("metamorphic")))
    application.extensions["cds_service"].store.prior_approval = _no_approvals
    yield application.test_client()
    close_app(application)
    logging.disable(logging.NOTSET)


def _no_approvals(*_: object) -> tuple[()]:
    return ()


@pytest.fixture(scope="module")
def baseline(service: FlaskClient) -> dict[str, Json]:
    """Each request's answer as it is."""
    return {name: answer(service, request) for name, request in REQUESTS.items()}


def answer(service: FlaskClient, request: Json) -> Json:
    response = service.post(SERVICE, json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    found: Json = response.get_json()
    return found


# --- What is compared -------------------------------------------------------------------------------------------------


def clinical(found: Json) -> list[Any]:
    """What the service decided, card by card, without uuids, ids, evidence or wording."""
    cards = [_card(card) for card in found["cards"]]
    actions = [_coverage_codes(action["resource"]) for action in found["systemActions"]]
    return [cards, actions]


def _card(card: Json) -> Json:
    extension = card.get("extension", {})
    decision = extension.get("coverage-decision")
    return {
        "topic": card["source"]["topic"]["code"], "indicator": card["indicator"], "label": card["source"]["label"],
        "decision": None if decision is None else _decision(decision),
        "dose-check": extension.get("dose-check"),
        "suggestions": len(card.get("suggestions", [])),
    }


def _decision(decision: Json) -> Json:
    kept = ("policy", "decision", "request", "indication", "cycle", "authorization")
    return {**{key: decision[key] for key in kept},
            "criteria": [(c["id"], c["status"]) for c in decision["criteria"]]}


def _coverage_codes(resource: Json) -> Json:
    [coverage] = [e for e in resource.get("extension", []) if e.get("url") == CRD_COVERAGE]
    codes = {}
    for sub in coverage["extension"]:
        if sub["url"] in ("coverage-assertion-id", "satisfied-pa-id", "coverage", "date", "reason", "detail"):
            continue
        codes[sub["url"]] = next(v for k, v in sub.items() if k.startswith("value"))
    return codes


def words(found: Json) -> Any:
    """The whole answer but what is new on every call (uuids, the coverage assertion id) and the orders its actions
    and suggestions carry (the order as received, so transformed)."""
    kept = copy.deepcopy(found)
    for card in kept["cards"]:
        card["uuid"] = "<uuid>"
        for suggestion in card.get("suggestions", []):
            suggestion["uuid"] = "<uuid>"
            for action in suggestion.get("actions", []):
                action.pop("resource", None)
    for action in kept["systemActions"]:
        action["resource"] = _coverage_codes(action["resource"])
    return kept


def mismatches(service: FlaskClient, baseline: dict[str, Json], transform: Transform,
               view: Callable[[Json], Any]) -> list[str]:
    """The requests whose transformed answer differs from their own, as seen through `view`. A transformation that
    changes no request would test nothing: it fails."""
    found, changed_any = [], False
    for name, request in REQUESTS.items():
        changed = transform(request)
        if changed != request:
            changed_any = True
            if view(answer(service, changed)) != view(baseline[name]):
                found.append(name)
    assert changed_any, f"{transform.__name__} changes no request"
    return found


# --- Walking a request's resources ------------------------------------------------------------------------------------


def resources(request: Json) -> Iterator[Json]:
    """Every resource of the request: the draft orders, the prefetch's (Bundles' entries and a bare resource), and
    the resources contained in those."""
    for entry in request["context"]["draftOrders"].get("entry", []):
        yield from _with_contained(entry["resource"])
    for value in request.get("prefetch", {}).values():
        if not isinstance(value, dict):
            continue
        if value.get("resourceType") == "Bundle":
            for entry in value.get("entry") or []:
                yield from _with_contained(entry["resource"])
        else:
            yield from _with_contained(value)


def _with_contained(resource: Json) -> Iterator[Json]:
    yield resource
    for inner in resource.get("contained", []):
        yield from _with_contained(inner)


def bundles(request: Json) -> Iterator[Json]:
    for value in request.get("prefetch", {}).values():
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            yield value


def nodes(node: Any) -> Iterator[Json]:
    """Every JSON object under `node`, itself included (depth first, the last child first)."""
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            yield current
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)


def transformed(change: Callable[[Json], None]) -> Transform:
    def apply(request: Json) -> Json:
        copied = copy.deepcopy(request)
        change(copied)
        return copied
    apply.__name__, apply.__doc__ = change.__name__, change.__doc__
    return apply


# --- The record written otherwise -------------------------------------------------------------------------------------


@transformed
def prefetch_reversed(request: Json) -> None:
    """service-contract.md §Prefetch: a search's answer is a set; the service reads no meaning into its order (the
    results of one day are read together, labs.py). The prefetch keys are listed in reverse too."""
    for bundle in bundles(request):
        if bundle.get("entry"):
            bundle["entry"].reverse()
    request["prefetch"] = dict(reversed(list(request["prefetch"].items())))


LOCAL_CODES = "urn:oid:1.2.840.114350.1.13.861.1.7.2.696580"  # an EHR's own code system (Epic-like OID)


def _local_coding(concept: Json) -> Json:
    """A local code for the same concept, displayed as the concept's first coding is (as EHRs send them)."""
    first = concept["coding"][0]
    return {"system": LOCAL_CODES, "code": f"L-{first.get('code', 'x')}",
            **({"display": first["display"]} if "display" in first else {})}


@transformed
def local_coding_first(request: Json) -> None:
    """A CodeableConcept's codings are translations of one concept (FHIR R4 datatypes): any may match, in any order.
    Every concept gets a local code of the same display, listed first."""
    for node in nodes(request):
        if isinstance(node.get("coding"), list) and node["coding"]:
            node["coding"].insert(0, _local_coding(node))


@transformed
def local_coding_last(request: Json) -> None:
    """As local_coding_first, the local code listed last."""
    for node in nodes(request):
        if isinstance(node.get("coding"), list) and node["coding"]:
            node["coding"].append(_local_coding(node))


@transformed
def decorated(request: Json) -> None:
    """meta, a narrative, an extension no reader knows and an identifier on every resource: FHIR R4 lets a reader
    ignore an extension it does not know (not a modifierExtension), and none of these say anything clinical."""
    for resource in resources(request):
        resource.setdefault("meta", {"versionId": "3", "lastUpdated": "2026-11-01T08:00:00Z",
                                     "source": "#ehr", "tag": [{"system": "http://example.org/tag", "code": "x"}]})
        resource.setdefault("text", {"status": "generated",
                                     "div": '<div xmlns="http://www.w3.org/1999/xhtml">Recorded in the EHR</div>'})
        resource.setdefault("extension", []).append({"url": "http://example.org/fhir/StructureDefinition/site",
                                                     "valueString": "main campus"})
        if resource.get("resourceType") not in ("Bundle",):
            resource.setdefault("identifier", []).append({"system": "urn:oid:2.16.840.1.113883.19.5",
                                                          "value": f"ehr-{resource.get('id', 'x')}"})


def unrelated_resources(patient_id: str) -> dict[str, list[Json]]:
    """Resources of the patient that no rule reads, one list per prefetch key: a routine lab, a comorbidity, a
    supportive-care medication, an inactivated vaccine, another form's answers."""
    patient = {"reference": f"Patient/{patient_id}"}
    return {
        "observations": [{"resourceType": "Observation", "id": "unrelated-hgb", "status": "final", "subject": patient,
                          "code": {"coding": [{"system": "http://loinc.org", "code": "718-7",
                                               "display": "Hemoglobin [Mass/volume] in Blood"}]},
                          "effectiveDateTime": "2026-11-18", "valueQuantity": {"value": 10.9, "unit": "g/dL",
                                                                               "system": UCUM, "code": "g/dL"}}],
        "conditions": [{"resourceType": "Condition", "id": "unrelated-htn", "subject": patient,
                        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                       "condition-clinical", "code": "active"}]},
                        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I10",
                                             "display": "Essential (primary) hypertension"}]},
                        "recordedDate": "2026-11-02"}],
        "medicationRequests": [{"resourceType": "MedicationRequest", "id": "unrelated-ondansetron", "status": "active",
                                "intent": "order", "subject": patient, "authoredOn": "2026-11-19",
                                "medicationCodeableConcept": {"coding": [{
                                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "26225",
                                    "display": "ondansetron"}], "text": "ondansetron 8 mg tablet"}}],
        "immunizations": [{"resourceType": "Immunization", "id": "unrelated-flu", "status": "completed",
                           "patient": patient, "occurrenceDateTime": "2026-11-25",
                           "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "150",
                                                       "display": "Influenza, injectable, quadrivalent"}]}}],
        "attestations": [{"resourceType": "QuestionnaireResponse", "id": "unrelated-phq", "status": "completed",
                          "subject": patient, "authored": "2026-11-20",
                          "questionnaire": "http://example.org/Questionnaire/phq-9",
                          "item": [{"linkId": "therapy-phase", "answer": [{"valueString": "maintenance"}]}]}],
    }


@transformed
def unrelated_added(request: Json) -> None:
    """An entry no rule reads never changes the decision (the brief's monotonic relation; fhir-data-profile.md:
    the readers filter by code, status and date). The other form's answers reuse an attestation linkId on purpose:
    only the attestation Questionnaire's answers count (fhir-data-profile.md §Attestations)."""
    extra = unrelated_resources(request["context"]["patientId"])
    for key, added in extra.items():
        value = request["prefetch"].get(key)
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            value.setdefault("entry", []).extend({"resource": r} for r in added)
    request["context"]["draftOrders"]["entry"].append({"resource": {
        "resourceType": "ServiceRequest", "id": "unrelated-cbc", "status": "draft", "intent": "order",
        "subject": {"reference": f"Patient/{request['context']['patientId']}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2", "display": "CBC panel"}]}}})


@transformed
def duplicated(request: Json) -> None:
    """Every prefetch entry sent twice, identically: a server paging while the list changes repeats entries, and a
    resource is the same record however often it is listed."""
    for bundle in bundles(request):
        if bundle.get("entry"):
            bundle["entry"] = [e for entry in bundle["entry"] for e in (entry, copy.deepcopy(entry))]
            bundle.pop("total", None)


# What fhir-data-profile.md says to leave unread, per resource type: `status` values (Condition: verificationStatus).
IGNORED_STATUSES: dict[str, tuple[str, ...]] = {
    "Observation": ("entered-in-error", "preliminary", "cancelled"),
    "Condition": ("entered-in-error", "refuted"),
    "Immunization": ("entered-in-error", "not-done"),
    "MedicationRequest": ("entered-in-error",),
    "QuestionnaireResponse": ("entered-in-error", "in-progress"),
    "Coverage": ("entered-in-error", "cancelled"),
}


def _with_status(resource: Json, status: str) -> Json:
    copied = copy.deepcopy(resource)
    copied["id"] = f"{resource.get('id', 'x')}-{status}"
    if resource["resourceType"] == "Condition":
        copied["verificationStatus"] = {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": status}]}
    else:
        copied["status"] = status
    _a_day_later(copied)
    return copied


@transformed
def unread_copies_added(request: Json) -> None:
    """Beside every record of the prefetch, copies a day later in a status the profile says to ignore
    (fhir-data-profile.md: entered-in-error, a refuted Condition, an Observation not final, amended or corrected; an
    Immunization not completed; an attestation not completed or amended; an inactive Coverage): a later record that
    would decide if it were read, and must not be."""
    for bundle in bundles(request):
        added = [_with_status(e["resource"], status) for e in bundle.get("entry") or []
                 for status in IGNORED_STATUSES.get(e["resource"].get("resourceType"), ())]
        bundle.setdefault("entry", []).extend({"resource": resource} for resource in added)
        bundle.pop("total", None)


@transformed
def included_resources(request: Json) -> None:
    """Each search answered with resources of other types beside its own (`_include`/`_revinclude`, `search.mode`
    include): a Provenance and the Practitioner it names. No rule reads them (fhir_client.of_other_types_only reads a
    Bundle holding some of the searched type as it is)."""
    for bundle in bundles(request):
        if not bundle.get("entry"):
            continue
        target = bundle["entry"][0]["resource"]
        bundle["entry"] += [
            {"search": {"mode": "include"}, "resource": {"resourceType": "Practitioner", "id": "included-dr",
                                                        "name": [{"family": "Oncologist"}]}},
            {"search": {"mode": "include"}, "resource": {
                "resourceType": "Provenance", "id": f"included-provenance-{target.get('id')}",
                "target": [{"reference": f"{target['resourceType']}/{target.get('id')}"}],
                "recorded": "2026-11-20T08:00:00Z", "agent": [{"who": {"reference": "Practitioner/included-dr"}}]}}]
        bundle.pop("total", None)


# dateTime elements the examples and the workload write as dates (birthDate is a date: it has no time).
DATE_TIMES = frozenset(("effectiveDateTime", "recordedDate", "onsetDateTime", "authoredOn", "occurrenceDateTime",
                        "authored", "start", "end"))
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# One instant, 08:00 UTC, in several zones, none moving it to another calendar day.
EIGHT_UTC = ("08:00:00Z", "03:00:00-05:00", "17:30:00+09:30", "00:00:00-08:00", "22:00:00+14:00")


def _a_day_later(resource: Json) -> None:
    for key in DATE_TIMES & resource.keys():
        if isinstance(resource[key], str) and DAY.fullmatch(resource[key]):
            resource[key] = (date.fromisoformat(resource[key]) + timedelta(days=1)).isoformat()


def _timed(request: Json, zones: tuple[str, ...]) -> None:
    """Every day of DATE_TIMES at 08:00 UTC, written in `zones` in turn. A dosage line's boundsPeriod is the one
    place where a time changes the days (facts/order.period_last_day: a timed end is the moment the bag comes down),
    so its inclusive end date becomes the next day at the start's time: the same days of infusion."""
    number = 0
    for node in nodes(request):
        bounds = node.get("boundsPeriod")
        if isinstance(bounds, dict) and DAY.fullmatch(bounds.get("end", "")):
            bounds["end"] = (date.fromisoformat(bounds["end"]) + timedelta(days=1)).isoformat()
        for key in sorted(DATE_TIMES & node.keys()):
            if isinstance(node[key], str) and DAY.fullmatch(node[key]):
                node[key] = f"{node[key]}T{zones[number % len(zones)]}"
                number += 1


@transformed
def timed(request: Json) -> None:
    """Days written as dateTimes. fhir-data-profile.md is silent on times; the service's choice (codes.parse_date) is
    that a dateTime stands for its calendar day as written, in its own zone, so this is the same record."""
    _timed(request, EIGHT_UTC[:1])


@transformed
def timed_in_other_zones(request: Json) -> None:
    """`timed`'s instants written with other UTC offsets, each on the same calendar day: the same instants, the same
    days. (An offset moving an instant to another calendar day is another record: the day as written counts.)"""
    _timed(request, EIGHT_UTC)


def scaled(quantity: Json, factor: str, unit: str) -> None:
    value = Decimal(str(quantity["value"])) * Decimal(factor)
    quantity["value"] = int(value) if value == value.to_integral_value() else float(value)
    quantity["unit"] = quantity["code"] = unit
    quantity["system"] = UCUM


def _observation_quantities(request: Json, codes: frozenset[str]) -> Iterator[Json]:
    for resource in resources(request):
        if resource.get("resourceType") != "Observation" or "valueQuantity" not in resource:
            continue
        concept = resource.get("code", {})
        named = {c.get("code") for c in concept.get("coding", [])} | {concept.get("text")}
        if named & codes:
            yield resource["valueQuantity"]


@transformed
def weights_in_grams(request: Json) -> None:
    """fhir-data-profile.md §The patient: a weight in kg or g, converted exactly."""
    for quantity in _observation_quantities(request, frozenset(("29463-7", "3141-9"))):
        if quantity.get("code") == "kg":
            scaled(quantity, "1000", "g")


@transformed
def heights_in_metres(request: Json) -> None:
    """The profile names no height unit; the choice: UCUM length units (cm, m, [in_i]) converted exactly."""
    for quantity in _observation_quantities(request, frozenset(("8302-2", "8306-3"))):
        if quantity.get("code") == "cm":
            scaled(quantity, "0.01", "m")


def _mrd_results(request: Json) -> Iterator[Json]:
    for resource in resources(request):
        concept = resource.get("code", {})
        words = " ".join([concept.get("text") or ""] + [c.get("display") or "" for c in concept.get("coding", [])])
        if resource.get("resourceType") == "Observation" and "MRD" in words and "valueQuantity" in resource:
            yield resource["valueQuantity"]


@transformed
def mrd_per_million(request: Json) -> None:
    """fhir-data-profile.md §Labs, MRD: `%` ÷ 100 and `/10*6` ÷ 10⁶ are one fraction of cells."""
    for quantity in _mrd_results(request):
        if quantity.get("code") == "%":
            scaled(quantity, "10000", "/10*6")


@transformed
def mrd_as_fraction(request: Json) -> None:
    """fhir-data-profile.md §Labs, MRD: `1` is the fraction as is."""
    for quantity in _mrd_results(request):
        if quantity.get("code") == "%":
            scaled(quantity, "0.01", "1")


@transformed
def units_in_words_only(request: Json) -> None:
    """Every Quantity with its printed `unit` alone, no UCUM `system` and `code` (many EHRs send no code). The
    profile is silent; the choice (facts/quantities.unit_text): a unit is the UCUM code, else the printed unit."""
    for node in nodes(request):
        if "value" in node and "unit" in node and "code" in node:
            del node["code"]
            node.pop("system", None)


@transformed
def units_in_codes_only(request: Json) -> None:
    """Every Quantity with its UCUM `code` alone, no printed `unit` (the code is what UCUM defines)."""
    for node in nodes(request):
        if "value" in node and "unit" in node and "code" in node:
            del node["unit"]


QUALITATIVE = {"260385009": "negative", "10828004": "positive", "260373001": "detected", "260415000": "not detected"}


@transformed
def qualitative_values_as_strings(request: Json) -> None:
    """fhir-data-profile.md §Labs: the same words in `valueString` as the SNOMED qualitative codes mean."""
    for resource in resources(request):
        value = resource.get("valueCodeableConcept")
        if resource.get("resourceType") == "Observation" and value:
            codes = {c.get("code") for c in value.get("coding", [])} & QUALITATIVE.keys()
            if len(codes) == 1:
                resource["valueString"] = QUALITATIVE[codes.pop()]
                del resource["valueCodeableConcept"]


@transformed
def results_over_a_period(request: Json) -> None:
    """A result dated by an `effectivePeriod` of its one day rather than an `effectiveDateTime`: the same day (the
    profile dates results by their effective date; codes.effective_date reads the Period's start)."""
    for resource in resources(request):
        if resource.get("resourceType") == "Observation" and "effectiveDateTime" in resource:
            day = resource.pop("effectiveDateTime")
            resource["effectivePeriod"] = {"start": day, "end": day}


@transformed
def results_issued_later(request: Json) -> None:
    """Each result's report `issued` two days after its specimen: the effective date dates a result, not its release
    (lab_result.latest_together)."""
    for resource in resources(request):
        day = resource.get("effectiveDateTime")
        if resource.get("resourceType") == "Observation" and isinstance(day, str) and DAY.fullmatch(day):
            resource["issued"] = f"{date.fromisoformat(day) + timedelta(days=2)}T10:00:00Z"


@transformed
def patient_in_a_bundle(request: Json) -> None:
    """The `patient` key as a searchset Bundle holding the Patient, as some EHRs answer a read they run as a search
    (prefetch.py reads both)."""
    patient = request["prefetch"].get("patient")
    if isinstance(patient, dict) and patient.get("resourceType") == "Patient":
        request["prefetch"]["patient"] = {"resourceType": "Bundle", "type": "searchset", "total": 1,
                                          "entry": [{"resource": patient}]}


@transformed
def empty_bundles_as_null(request: Json) -> None:
    """service-contract.md §Prefetch: a key with a Bundle (even empty) or null was answered: no records of that
    kind."""
    for key, value in request["prefetch"].items():
        if isinstance(value, dict) and value.get("resourceType") == "Bundle" and not value.get("entry"):
            request["prefetch"][key] = None


@transformed
def searchset_details(request: Json) -> None:
    """What a FHIR server's searchset carries besides the resources: `search.mode` match, fullUrls, links, no `total`
    (optional in R4), and an information-level OperationOutcome (`search.mode` outcome), which reports no error."""
    for bundle in bundles(request):
        entries = bundle.setdefault("entry", [])
        for entry in entries:
            resource = entry["resource"]
            entry["search"] = {"mode": "match"}
            entry.setdefault("fullUrl", f"https://ehr.example.org/fhir/{resource['resourceType']}/{resource['id']}")
        bundle.pop("total", None)
        bundle["link"] = [{"relation": "self", "url": "https://ehr.example.org/fhir/Observation?patient=x"}]
        entries.append({"search": {"mode": "outcome"}, "resource": {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "information", "code": "informational", "diagnostics": "searched 1 shard"}]}})


@transformed
def fhir_server_named(request: Json) -> None:
    """A `fhirServer` (closed port) and its token beside a prefetch answering every key: nothing is fetched
    (service-contract.md §Prefetch: only keys not answered are), so nothing changes."""
    request["fhirServer"] = "http://127.0.0.1:9/fhir"
    request["fhirAuthorization"] = {"access_token": "unused", "token_type": "Bearer", "expires_in": 300,
                                    "scope": "patient/*.read", "subject": "cds-service"}


@transformed
def https_systems(request: Json) -> None:
    """fhir-data-profile.md: accept both `http://` and `https://` forms of a system URI."""
    for node in nodes(request):
        if isinstance(node.get("system"), str) and node["system"].startswith("http://"):
            node["system"] = "https://" + node["system"][len("http://"):]


@transformed
def references_displayed(request: Json) -> None:
    """A literal reference with its `display`: the reference, not the words, names the resource (FHIR R4)."""
    for node in nodes(request):
        if isinstance(node.get("reference"), str) and "display" not in node:
            node["display"] = f"Record {node['reference'].rpartition('/')[2]}"


@transformed
def absolute_references(request: Json) -> None:
    """Literal references as absolute URLs on the EHR's FHIR base: the same resources (FHIR R4 References). The
    service takes "Type/id" at the end of one (facts/resolve.py); the spec is silent, and this is the choice."""
    for node in nodes(request):
        reference = node.get("reference")
        if isinstance(reference, str) and re.fullmatch(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]+", reference):
            node["reference"] = f"https://ehr.example.org/fhir/R4/{reference}"


@transformed
def texts_in_capitals(request: Json) -> None:
    """fhir-data-profile.md: a code's `text`/`display` is matched case-insensitively; EHRs often write them in
    capitals ("BLINATUMOMAB 35 MCG IV SOLR")."""
    for node in nodes(request):
        if isinstance(node.get("coding"), list):
            for coding in node["coding"]:
                if isinstance(coding.get("display"), str):
                    coding["display"] = coding["display"].upper()
            if isinstance(node.get("text"), str):
                node["text"] = node["text"].upper()


@transformed
def medications_contained(request: Json) -> None:
    """fhir-data-profile.md §The order and §Medications: a medication's codes in `medicationCodeableConcept`, or in
    the Medication that `medicationReference` points to, contained: every MedicationRequest rewritten the second way."""
    for resource in list(resources(request)):
        if resource.get("resourceType") == "MedicationRequest" and "medicationCodeableConcept" in resource:
            concept = resource.pop("medicationCodeableConcept")
            resource.setdefault("contained", []).append({"resourceType": "Medication", "id": "med", "code": concept})
            resource["medicationReference"] = {"reference": "#med"}


@transformed
def payer_organization_contained(request: Json) -> None:
    """fhir-data-profile.md §Coverage and payer: the payer from `payor`'s display, or the referenced Organization's
    name: the display moved into a contained Organization."""
    for resource in resources(request):
        if resource.get("resourceType") == "Coverage":
            for number, payor in enumerate(resource.get("payor", [])):
                if "display" in payor and "reference" not in payor:
                    organization = {"resourceType": "Organization", "id": f"payer{number}", "name": payor["display"]}
                    resource.setdefault("contained", []).append(organization)
                    resource["payor"][number] = {"reference": f"#payer{number}"}


@transformed
def coverage_listed_twice(request: Json) -> None:
    """The plan's Coverage listed again under another id, as the secondary one (`order` 2; the first made primary):
    fhir-data-profile.md §Coverage and payer picks the primary, the same plan, so the same decision."""
    value = request["prefetch"].get("coverage")
    entries = value.get("entry") if isinstance(value, dict) else None
    if entries:
        first = entries[0]["resource"]
        first["order"] = 1
        entries.append({"resource": {**copy.deepcopy(first), "id": f"{first.get('id')}-secondary", "order": 2}})
        value.pop("total", None)


ATTESTATION = "Questionnaire/blinatumomab-coverage-attestation"


def _attestations(request: Json) -> list[Json]:
    value = request["prefetch"].get("attestations")
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        return []
    return [e["resource"] for e in value.get("entry") or [] if e["resource"].get("resourceType")
            == "QuestionnaireResponse"]


@transformed
def attestations_one_item_each(request: Json) -> None:
    """fhir-data-profile.md §Attestations: answers are merged item by item; one response per item, authored at the
    same moment, says what one response holding them all says."""
    bundle = request["prefetch"].get("attestations")
    for response in _attestations(request):
        items = response.get("item", [])
        if len(items) > 1:
            bundle["entry"].remove(next(e for e in bundle["entry"] if e["resource"] is response))
            for number, item in enumerate(items):
                bundle["entry"].append({"resource": {**response, "id": f"{response['id']}-{number}", "item": [item]}})
            bundle.pop("total", None)


@transformed
def attestation_canonical_elsewhere(request: Json) -> None:
    """fhir-data-profile.md §Attestations: the Questionnaire's canonical on any base, with an optional `|version`."""
    for response in _attestations(request):
        if str(response.get("questionnaire", "")).endswith(ATTESTATION):
            response["questionnaire"] = f"https://forms.example.org/fhir/{ATTESTATION}|2.1"


@transformed
def attestations_grouped(request: Json) -> None:
    """The items under a group item, as a form renderer nests them: attestations.py reads nested items. The spec is
    silent; the Questionnaire the service serves is flat, and a response nested so still answers its linkIds."""
    for response in _attestations(request):
        if response.get("item"):
            response["item"] = [{"linkId": "group", "text": "Coverage attestation", "item": response["item"]}]


@transformed
def phases_as_codings(request: Json) -> None:
    """fhir-data-profile.md §Attestations: `therapy-phase` as valueCoding or valueString."""
    for response in _attestations(request):
        for item in response.get("item", []):
            for answer in item.get("answer", []) if item.get("linkId") == "therapy-phase" else []:
                if "valueString" in answer:
                    answer["valueCoding"] = {"code": answer.pop("valueString")}


def _rename_map(request: Json) -> dict[str, str]:
    """New ids for every resource, sorting the other way round (so that nothing may depend on the ids' order)."""
    ids = sorted({r["id"] for r in resources(request) if isinstance(r.get("id"), str)})
    return {old: f"m{len(ids) - i:03d}x" for i, old in enumerate(ids)}


def renamed(request: Json) -> Json:
    """Every resource id replaced, with every reference to it (`Type/id`, `#id`, a fullUrl `urn:uuid:id`, the
    context's patientId and selections): ids carry no meaning (FHIR R4 Resource.id)."""
    names = _rename_map(request)
    text = json.dumps(request)
    for old, new in names.items():
        quoted = re.escape(old)
        text = re.sub(rf'"(id|patientId)": "{quoted}"', rf'"\1": "{new}"', text)
        text = re.sub(rf'"((?:[A-Z][A-Za-z]+/)|#|urn:uuid:){quoted}"', rf'"\g<1>{new}"', text)
    found: Json = json.loads(text)
    return found


# --- The tests --------------------------------------------------------------------------------------------------------

EQUIVALENT: tuple[Transform, ...] = (
    prefetch_reversed, local_coding_first, local_coding_last, decorated, unrelated_added, duplicated,
    unread_copies_added, included_resources, timed, timed_in_other_zones, weights_in_grams, heights_in_metres,
    mrd_per_million, mrd_as_fraction, units_in_words_only, units_in_codes_only, qualitative_values_as_strings,
    results_over_a_period, results_issued_later, patient_in_a_bundle, empty_bundles_as_null, searchset_details,
    fhir_server_named, https_systems, references_displayed, absolute_references, texts_in_capitals,
    medications_contained, payer_organization_contained, coverage_listed_twice, attestations_one_item_each,
    attestation_canonical_elsewhere, attestations_grouped, phases_as_codings)
# The transformations whose answer is worded otherwise, on purpose, and why; every other one is answered word for word
# alike (uuids, assertion ids and the orders the actions and suggestions carry aside).
WORDED_OTHERWISE: dict[Transform, str] = {
    weights_in_grams: "a weight is shown as written, then in kg: 80000 g (80 kg)",
    mrd_per_million: "an MRD result is shown as written, then in percent: 500 per million = 0.05%",
    mrd_as_fraction: "an MRD result is shown as written, then in percent: 0.0005 = 0.05%",
    texts_in_capitals: "a drug is named as the EHR wrote it: DASATINIB",
    attestations_one_item_each: "an attested criterion's evidence names the response holding its item",
}


def equivalence_tests(equivalent: tuple[Transform, ...], worded_otherwise: dict[Transform, str]) -> tuple[
        Callable[..., None], Callable[..., None]]:
    """The two tests of a module's equivalent transformations: decided alike, and (but for `worded_otherwise`)
    answered in the same words. Assigned to `test_...` names in the module, where pytest collects them."""
    @pytest.mark.parametrize("transform", equivalent, ids=lambda t: t.__name__)
    def decided_alike(service: FlaskClient, baseline: dict[str, Json], transform: Transform) -> None:
        assert transform.__doc__, "say why the transformation keeps the request the same"
        assert mismatches(service, baseline, transform, clinical) == []

    same_words = [transform for transform in equivalent if transform not in worded_otherwise]

    @pytest.mark.parametrize("transform", same_words, ids=lambda t: t.__name__)
    def worded_alike(service: FlaskClient, baseline: dict[str, Json], transform: Transform) -> None:
        assert mismatches(service, baseline, transform, words) == []

    return decided_alike, worded_alike


test_an_equivalent_request_is_decided_alike, test_an_equivalent_request_is_answered_in_the_same_words = (
    equivalence_tests(EQUIVALENT, WORDED_OTHERWISE))


def test_renamed_resources_are_decided_alike_on_the_same_evidence(service: FlaskClient,
                                                                  baseline: dict[str, Json]) -> None:
    """Every id renamed (`renamed`; the new ids sort the other way round): the same decisions, on the same evidence
    once the new ids are read back as the old. Not word for word: the results of one day are listed by reference
    (lab_result.in_time_order), a deterministic order that renaming reverses ("0.05%, negative" becomes "negative,
    0.05%" in aspirus-consolidation-mrd-same-day-conflict), which is no change of meaning."""
    different = []
    for name, request in REQUESTS.items():
        names = {new: old for old, new in _rename_map(request).items()}
        text = json.dumps(answer(service, renamed(request)))
        found = json.loads(re.sub(r"m\d{3}x", lambda m: names.get(m.group(0), m.group(0)), text))
        if _with_evidence(found) != _with_evidence(baseline[name]):
            different.append(name)
    assert different == []


def _with_evidence(found: Json) -> list[Any]:
    """`clinical` with each criterion's evidence (as a set) and the resources each card is about."""
    evidence = [[(c["id"], sorted(c["evidence"])) for c in card["extension"]["coverage-decision"]["criteria"]]
                for card in found["cards"] if "coverage-decision" in card.get("extension", {})]
    about = [card.get("extension", {}).get("davinci-crd.associated-resource") for card in found["cards"]]
    return [clinical(found), evidence, about]
