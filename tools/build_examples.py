"""Writes fhir_examples/*.json: one complete order-sign (or order-select) request per indication and per important
failure, and fhir_examples/expected.json with the outcome each should produce (worked out by hand from
policy-rules.md, not by running the service).

Run: .venv/bin/python tools/build_examples.py
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "fhir_examples"
PID = "example-patient"
START = "2026-12-01"
UCUM = "http://unitsofmeasure.org"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
QUESTIONNAIRE = "http://127.0.0.1:8080/fhir/Questionnaire/blinatumomab-coverage-attestation"
Resource = dict[str, Any]


def subject() -> dict[str, str]:
    return {"reference": f"Patient/{PID}"}


def patient(birth: str) -> Resource:
    return {"resourceType": "Patient", "id": PID, "birthDate": birth, "name": [{"family": "Example", "given": ["Pat"]}]}


def coverage(payer: str) -> Resource:
    return {"resourceType": "Coverage", "id": "coverage-1", "status": "active", "beneficiary": subject(),
            "period": {"start": "2026-01-01"}, "payor": [{"display": payer}]}


def condition(cid: str, code: str, display: str, status: str, recorded: str, text: str | None = None,
              onset: str | None = None) -> Resource:
    res: Resource = {
        "resourceType": "Condition", "id": cid, "subject": subject(), "recordedDate": recorded,
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": status}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                           "code": "confirmed"}]},
        "code": {"coding": [{"system": ICD, "code": code, "display": display}], "text": text or display},
    }
    if onset:
        res["onsetDateTime"] = onset
    return res


def b_all(status: str = "relapse", code: str = "C91.02", recorded: str = "2026-11-10", cid: str = "all-1",
          text: str = "B-cell precursor acute lymphoblastic leukemia", onset: str | None = None) -> Resource:
    display = {"C91.00": "ALL not having achieved remission", "C91.01": "ALL in remission",
               "C91.02": "ALL in relapse"}[code]
    return condition(cid, code, display, status, recorded, text, onset)


def observation(oid: str, code: dict[str, Any], date: str, **value: Any) -> Resource:
    return {"resourceType": "Observation", "id": oid, "status": "final", "subject": subject(), "code": code,
            "effectiveDateTime": date, **value}


def loinc(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display}


def quantity(value: float, unit: str, code: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code or unit}


def weight(kg: float, date: str = "2026-11-20") -> Resource:
    return observation("weight-1", loinc("29463-7", "Body weight"), date, valueQuantity=quantity(kg, "kg"))


def height(cm: float, date: str = "2026-11-20") -> Resource:
    return observation("height-1", loinc("8302-2", "Body height"), date, valueQuantity=quantity(cm, "cm"))


def qualitative(word: str) -> dict[str, Any]:
    codes = {"positive": "10828004", "negative": "260385009", "detected": "260373001",
             "not detected": "260415000"}
    return {"coding": [{"system": SCT, "code": codes[word], "display": word.capitalize()}], "text": word}


def ph(result: str, oid: str = "bcr-abl-1", date: str = "2025-06-01") -> Resource:
    return observation(oid, loinc("21821-4", "BCR-ABL1 fusion (t(9;22)) by FISH"), date,
                       valueCodeableConcept=qualitative(result))


def mrd(percent: float | None, oid: str = "mrd-1", date: str = "2026-11-15") -> Resource:
    code = {"text": "MRD by flow cytometry (bone marrow)"}
    if percent is None:
        return observation(oid, code, date, dataAbsentReason={"text": "Not performed"})
    return observation(oid, code, date, valueQuantity=quantity(percent, "%"))


def mrd_not_detected(oid: str = "mrd-1", date: str = "2026-11-15") -> Resource:
    return observation(oid, {"text": "MRD by flow cytometry (bone marrow)"}, date,
                       valueCodeableConcept=qualitative("not detected"))


def cd19(text: str, oid: str = "cd19-1", date: str = "2026-11-12") -> Resource:
    return observation(oid, loinc("101119-6", "Leukemia/lymphoma immunophenotyping"), date, valueString=text)


def med_request(mid: str, rxnorm: str, name: str, start: str, end: str, status: str = "active",
                reason: str | None = None) -> Resource:
    res: Resource = {
        "resourceType": "MedicationRequest", "id": mid, "status": status, "intent": "order", "subject": subject(),
        "authoredOn": start,
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": rxnorm, "display": name}], "text": name},
        "dosageInstruction": [{"text": name, "timing": {"repeat": {"boundsPeriod": {"start": start, "end": end}}}}],
    }
    if reason:
        res["statusReason"] = {"text": reason}
    return res


def immunization(iid: str, cvx: str, name: str, date: str) -> Resource:
    return {"resourceType": "Immunization", "id": iid, "status": "completed", "patient": subject(),
            "occurrenceDateTime": date, "vaccineCode": {"coding": [{"system": CVX, "code": cvx, "display": name}]}}


def attestation(answers: dict[str, Any], authored: str = "2026-11-25", qid: str = "attestation-1") -> Resource:
    def item(link_id: str, value: Any) -> dict[str, Any]:
        key = {bool: "valueBoolean", int: "valueInteger", float: "valueDecimal", str: "valueString"}[type(value)]
        return {"linkId": link_id, "answer": [{key: value}]}

    return {"resourceType": "QuestionnaireResponse", "id": qid, "status": "completed", "subject": subject(),
            "questionnaire": QUESTIONNAIRE, "authored": authored,
            "item": [item(k, v) for k, v in answers.items()]}


def line(rate: float, first: str, last: str, seq: int = 1, unit: str = "ug/d") -> dict[str, Any]:
    return {"sequence": seq, "text": f"{rate} {unit} continuous IV infusion",
            "timing": {"repeat": {"boundsPeriod": {"start": first, "end": last}}},
            "route": {"coding": [{"system": SCT, "code": "47625008", "display": "Intravenous route"}]},
            "doseAndRate": [{"rateQuantity": quantity(rate, unit)}]}


STEP = [line(9, "2026-12-01", "2026-12-07", 1), line(28, "2026-12-08", "2026-12-28", 2)]
FULL = [line(28, "2026-12-01", "2026-12-28")]


def blinatumomab(lines: list[dict[str, Any]], vials: float | None = 28, oid: str = "blinatumomab-order") -> Resource:
    res: Resource = {
        "resourceType": "MedicationRequest", "id": oid, "status": "draft", "intent": "order", "subject": subject(),
        "authoredOn": "2026-11-21",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "1597262",
                                                  "display": "blinatumomab 35 MCG Injection"}],
                                      "text": "Blincyto 35 mcg vial"},
        "dosageInstruction": lines,
    }
    if vials is not None:
        res["dispenseRequest"] = {"quantity": quantity(vials, "vial", "{vial}"),
                                  "expectedSupplyDuration": {"value": 42, "unit": "days", "system": UCUM,
                                                             "code": "d"}}
    return res


def bundle(resources: list[Resource]) -> Resource | None:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"resource": r, "fullUrl": f"urn:uuid:{r['id']}"} for r in resources]}


def request(name: str, orders: list[Resource], birth: str, payer: str | None, conditions: list[Resource],
            observations: list[Resource], meds: list[Resource] = (), immunizations: list[Resource] = (),
            attestations: list[Resource] = (), hook: str = "order-sign", omit: tuple[str, ...] = (),
            extension: dict[str, Any] | None = None) -> Resource:
    prefetch: dict[str, Any] = {
        "patient": patient(birth),
        "coverage": bundle([coverage(payer)] if payer else []),
        "conditions": bundle(conditions),
        "observations": bundle(observations),
        "medicationRequests": bundle(list(meds)),
        "immunizations": bundle(list(immunizations)),
        "attestations": bundle(list(attestations)),
    }
    for key in omit:
        prefetch.pop(key)
    context: dict[str, Any] = {"userId": "Practitioner/example-oncologist", "patientId": PID,
                               "encounterId": "example-encounter",
                               "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                               "entry": [{"resource": o} for o in orders]}}
    if hook == "order-select":
        context["selections"] = [f"MedicationRequest/{orders[0]['id']}"]
    body: Resource = {"hook": hook, "hookInstance": str(uuid.uuid5(uuid.NAMESPACE_URL, name)), "context": context,
                      "prefetch": prefetch}
    if extension:
        body["extension"] = extension
    return body


ADULT = "1980-05-10"
NO_LIVE = [immunization("flu-2026", "150", "Influenza, injectable, quadrivalent", "2026-10-01")]
RR_ADULT = dict(birth=ADULT, conditions=[b_all()], observations=[weight(80), height(178), ph("negative")],
                immunizations=NO_LIVE)
REMISSION = b_all("remission", "C91.01", "2026-10-20")
CONSOL_ADULT = dict(birth=ADULT, conditions=[REMISSION], observations=[weight(72), height(170), ph("negative"),
                                                                        mrd(0.05)], immunizations=NO_LIVE)
CHILD = "2018-03-02"  # 8 years old at the start
CHILD_BODY = [weight(25), height(125)]  # Mosteller BSA 0.93 m2


def prior_cycles(count: int, first: str = "2026-01-05") -> list[Resource]:
    """`count` completed 28-day blinatumomab cycles, 42 days apart, ending before 2026-12-01."""
    from datetime import date, timedelta
    start = date.fromisoformat(first)
    orders = []
    for n in range(count):
        s = start + timedelta(days=42 * n)
        orders.append({**blinatumomab(FULL, None, f"prior-cycle-{n + 1}"), "status": "completed",
                       "authoredOn": s.isoformat(),
                       "dosageInstruction": [line(28, s.isoformat(), (s + timedelta(days=27)).isoformat())]})
    return orders


def cases() -> dict[str, tuple[Resource, dict[str, Any]]]:
    aspirus, fb = "Aspirus Health Plan", "Florida Blue"
    c: dict[str, tuple[Resource, dict[str, Any]]] = {}

    def add(name: str, body: Resource, **expected: Any) -> None:
        c[name] = (body, expected)

    # --- Aspirus: every indication -----------------------------------------------------------------------------
    add("aspirus-adult-relapsed-refractory-cycle1",
        request("a1", [blinatumomab(STEP)], payer=aspirus, **RR_ADULT),
        policy="aspirus-magellan", decision="meets-criteria", indication="adult-relapsed-refractory",
        request="initial", cycle=1, authorization_end="2027-06-29", dose_card=None)
    add("aspirus-adult-consolidation-mrd-positive",
        request("a2", [blinatumomab(FULL)], payer=aspirus,
                attestations=[attestation({"complete-response-to-induction": True})], **CONSOL_ADULT),
        policy="aspirus-magellan", decision="meets-criteria", indication="adult-consolidation-mrd-positive",
        request="initial", cycle=1, authorization_end="2027-05-18", dose_card=None)
    add("aspirus-adult-consolidation-mrd-negative-ph-positive-tki",
        request("a3", [blinatumomab(FULL)], birth=ADULT, payer=aspirus, conditions=[REMISSION],
                observations=[weight(72), ph("positive"), mrd_not_detected()], immunizations=NO_LIVE,
                meds=[med_request("dasatinib-1", "475342", "dasatinib", "2026-06-01", "2027-06-01")],
                attestations=[attestation({"therapy-phase": "consolidation", "complete-response-to-induction": True,
                                           "multiagent-chemo-candidate": False})]),
        policy="aspirus-magellan", decision="meets-criteria", indication="adult-consolidation-mrd-negative",
        request="initial", cycle=1, dose_card=None)
    add("aspirus-adult-consolidation-mrd-unavailable",
        request("a4", [blinatumomab(FULL)], birth=ADULT, payer=aspirus, conditions=[REMISSION],
                observations=[weight(72), ph("negative"), mrd(None)], immunizations=NO_LIVE,
                attestations=[attestation({"therapy-phase": "consolidation", "complete-response-to-induction": True,
                                           "induction-ino-mini-hyper-cvd": True})]),
        policy="aspirus-magellan", decision="meets-criteria", indication="adult-consolidation-mrd-unavailable",
        request="initial", cycle=1, dose_card=None)
    add("aspirus-adult-maintenance",
        request("a5", [blinatumomab(FULL)], birth=ADULT, payer=aspirus, conditions=[REMISSION],
                observations=[weight(72), ph("negative"), mrd_not_detected()], immunizations=NO_LIVE,
                attestations=[attestation({"therapy-phase": "maintenance", "combination": "alternating-with-pomp",
                                           "complete-response-to-induction": True,
                                           "induction-ino-mini-hyper-cvd": True})]),
        policy="aspirus-magellan", decision="meets-criteria", indication="adult-maintenance", request="initial",
        cycle=1, authorization_end="2027-06-29", dose_card=None)
    add("aspirus-pediatric-mrd-positive",
        request("a6", [blinatumomab([line(14, "2026-12-01", "2026-12-28")])], birth=CHILD, payer=aspirus,
                conditions=[REMISSION], observations=CHILD_BODY + [ph("negative"), mrd(0.3)],
                immunizations=NO_LIVE),
        policy="aspirus-magellan", decision="meets-criteria", indication="pediatric-mrd-positive",
        request="initial", cycle=1, dose_card=None)
    add("aspirus-pediatric-less-than-cr-ph-positive",
        request("a7", [blinatumomab([line(14, "2026-12-01", "2026-12-28")])], birth=CHILD, payer=aspirus,
                conditions=[b_all("active", "C91.00", "2026-10-20")],
                observations=CHILD_BODY + [ph("positive")], immunizations=NO_LIVE,
                attestations=[attestation({"therapy-phase": "consolidation",
                                           "end-of-consolidation-response": "less-than-complete"})]),
        policy="aspirus-magellan", decision="meets-criteria", indication="pediatric-less-than-cr-ph-positive",
        request="initial", cycle=1, dose_card=None)
    add("aspirus-pediatric-relapsed-refractory-bsa-step",
        request("a8", [blinatumomab([line(4.65, "2026-12-01", "2026-12-07", 1),
                                     line(13.9, "2026-12-08", "2026-12-28", 2)])],
                birth=CHILD, payer=aspirus, conditions=[b_all()], observations=CHILD_BODY + [ph("negative")],
                immunizations=NO_LIVE),
        policy="aspirus-magellan", decision="meets-criteria", indication="pediatric-relapsed-refractory",
        request="initial", cycle=1, dose_card=None)
    add("aspirus-infant-interfant",
        request("a9", [blinatumomab([line(5.7, "2026-12-01", "2026-12-28")], vials=28)], birth="2026-05-20",
                payer=aspirus, conditions=[b_all("active", "C91.00", "2026-08-01", onset="2026-07-25")],
                observations=[weight(7.5), height(66)], immunizations=NO_LIVE,
                attestations=[attestation({"combination": "with-interfant"})]),
        policy="aspirus-magellan", decision="meets-criteria", indication="infant-interfant", request="initial",
        cycle=1, authorization_end="2026-12-29", dose_card=None)
    # --- Aspirus: failures, renewals, limits --------------------------------------------------------------------
    add("aspirus-live-vaccine-critical",
        request("a10", [blinatumomab(STEP)], payer=aspirus, **{**RR_ADULT, "immunizations": [
            immunization("mmr-1", "03", "MMR", "2026-11-24")]}),
        policy="aspirus-magellan", decision="criteria-not-met", indication="adult-relapsed-refractory",
        indicator="critical", cycle=1)
    add("aspirus-consolidation-mrd-missing",
        request("a11", [blinatumomab(FULL)], birth=ADULT, payer=aspirus, conditions=[REMISSION],
                observations=[weight(72), ph("negative")], immunizations=NO_LIVE,
                attestations=[attestation({"therapy-phase": "consolidation",
                                           "complete-response-to-induction": True})]),
        policy="aspirus-magellan", decision="information-needed", indication=None, cycle=1)
    add("aspirus-relapsed-refractory-single-line-dose-too-high",
        request("a12", [blinatumomab(FULL)], payer=aspirus, **RR_ADULT),
        policy="aspirus-magellan", decision="criteria-not-met", indication="adult-relapsed-refractory", cycle=1,
        dose_card="warning", dose_suggestion_lines=2)
    # The hookInstance is made from the full name: the case was first written by hand, and keeps its id.
    add("aspirus-relapsed-refractory-no-weight-dose-above-maximum",
        request("aspirus-relapsed-refractory-no-weight-dose-above-maximum", [blinatumomab(FULL)], payer=aspirus,
                **{**RR_ADULT, "observations": [ph("negative")]}),
        policy="aspirus-magellan", decision="criteria-not-met", indication="adult-relapsed-refractory", cycle=1,
        dose_card="warning", dose_suggestion_lines=0)
    add("aspirus-relapsed-refractory-cycle6-renewal",
        request("a13", [blinatumomab(FULL)], payer=aspirus, meds=prior_cycles(5),
                attestations=[attestation({"response-or-stabilization": True})],
                **{**RR_ADULT, "conditions": [b_all(recorded="2025-12-20")]}),
        policy="aspirus-magellan", decision="meets-criteria", indication="adult-relapsed-refractory",
        request="renewal", cycle=6, authorization_end="2027-05-18", dose_card=None)
    add("aspirus-relapsed-refractory-cycle10-exceeds-limit",
        request("a14", [blinatumomab(FULL)], payer=aspirus, meds=prior_cycles(9, "2025-10-01"),
                attestations=[attestation({"response-or-stabilization": True})],
                **{**RR_ADULT, "conditions": [b_all(recorded="2025-09-20")]}),
        policy="aspirus-magellan", decision="criteria-not-met", indication="adult-relapsed-refractory",
        request="renewal", cycle=10)
    add("aspirus-consolidation-cycle5-not-renewable",
        request("a15", [blinatumomab(FULL)], birth=ADULT, payer=aspirus,
                conditions=[b_all("remission", "C91.01", "2026-05-01")],
                observations=[weight(72), ph("negative"), mrd(0.05, date="2026-04-20")], immunizations=NO_LIVE,
                meds=prior_cycles(4, "2026-05-10"),
                attestations=[attestation({"complete-response-to-induction": True})]),
        policy="aspirus-magellan", decision="criteria-not-met", indication="adult-consolidation-mrd-positive",
        cycle=5)
    add("aspirus-quantity-over-limit",
        request("a16", [blinatumomab(STEP, vials=40)], payer=aspirus, **RR_ADULT),
        policy="aspirus-magellan", decision="criteria-not-met", indication="adult-relapsed-refractory", cycle=1,
        quantity_card="warning")
    add("aspirus-t-cell-all-not-covered",
        request("a17", [blinatumomab(STEP)], payer=aspirus, **{**RR_ADULT, "conditions": [
            b_all(text="T-cell acute lymphoblastic leukemia, relapsed")]}),
        policy="aspirus-magellan", decision="criteria-not-met", indication=None, cycle=1)
    add("aspirus-immunizations-not-received",
        request("a18", [blinatumomab(STEP)], payer=aspirus, omit=("immunizations",), **RR_ADULT),
        policy="aspirus-magellan", decision="information-needed", indication="adult-relapsed-refractory",
        cycle=1, covered="indeterminate", not_received=["immunization history (live vaccines)"])
    # --- Florida Blue --------------------------------------------------------------------------------------------
    fb_base = dict(birth=ADULT, payer=fb, immunizations=NO_LIVE)
    add("florida-blue-mrd-positive",
        request("f1", [blinatumomab(FULL)], conditions=[REMISSION],
                observations=[weight(72), ph("negative"), mrd(0.5), cd19("CD19 positive blasts")], **fb_base),
        policy="florida-blue", decision="meets-criteria", indication="fb-mrd-positive", request="initial",
        cycle=1, authorization_end="2027-06-01")
    add("florida-blue-relapsed-refractory-ph-negative",
        request("f2", [blinatumomab(STEP)], conditions=[b_all()],
                observations=[weight(80), ph("negative"), cd19("CD19+ B lymphoblasts")], **fb_base),
        policy="florida-blue", decision="meets-criteria", indication="fb-relapsed-refractory-ph-negative",
        request="initial", cycle=1)
    add("florida-blue-relapsed-refractory-ph-positive-tki-failure",
        request("f3", [blinatumomab(STEP)], conditions=[b_all()],
                observations=[weight(80), ph("positive"), cd19("CD19 positive")],
                meds=[med_request("dasatinib-1", "475342", "dasatinib", "2026-03-01", "2026-09-01", "stopped",
                                  "Stopped for intolerance: pleural effusion")], **fb_base),
        policy="florida-blue", decision="meets-criteria", indication="fb-relapsed-refractory-ph-positive",
        request="initial", cycle=1)
    add("florida-blue-induction-ph-positive-with-tki",
        request("f4", [blinatumomab(FULL)], conditions=[b_all("active", "C91.00", "2026-11-01")],
                observations=[weight(80), ph("positive"), cd19("CD19 positive")],
                meds=[med_request("dasatinib-1", "475342", "dasatinib", "2026-11-10", "2027-05-10")],
                attestations=[attestation({"therapy-phase": "induction"})], **fb_base),
        policy="florida-blue", decision="meets-criteria", indication="fb-induction-ph-positive-tki",
        request="initial", cycle=1)
    add("florida-blue-consolidation",
        request("f5", [blinatumomab(FULL)], conditions=[REMISSION],
                observations=[weight(72), cd19("CD19 positive")],
                attestations=[attestation({"therapy-phase": "consolidation"})], **fb_base),
        policy="florida-blue", decision="meets-criteria", indication="fb-consolidation-maintenance",
        request="initial", cycle=1)
    add("florida-blue-cd19-missing",
        request("f6", [blinatumomab(STEP)], conditions=[b_all()], observations=[weight(80), ph("negative")],
                **fb_base),
        policy="florida-blue", decision="information-needed", indication=None, cycle=1)
    add("florida-blue-cd19-negative-relapse",
        request("f7", [blinatumomab(STEP)], conditions=[b_all()],
                observations=[weight(80), ph("negative"), cd19("CD19 positive", "cd19-dx", "2025-06-01"),
                              cd19("CD19 negative blasts", "cd19-relapse", "2026-11-12")], **fb_base),
        policy="florida-blue", decision="criteria-not-met", indication=None, cycle=1)
    add("florida-blue-dose-above-28",
        request("f8", [blinatumomab([line(30, "2026-12-01", "2026-12-28")])], conditions=[REMISSION],
                observations=[weight(90), mrd(0.5), cd19("CD19 positive")], **fb_base),
        policy="florida-blue", decision="criteria-not-met", indication="fb-mrd-positive", cycle=1,
        dose_card="warning")
    add("florida-blue-continuation",
        request("f9", [blinatumomab(FULL)], conditions=[REMISSION], observations=[weight(72)],
                attestations=[attestation({"prior-authorization-on-file": True})], **fb_base),
        policy="florida-blue", decision="meets-criteria", indication="fb-continuation", request="renewal",
        cycle=1, authorization_end="2027-12-01")
    add("florida-blue-other-compendia-lymphoblastic-lymphoma",
        request("f10", [blinatumomab(FULL)],
                conditions=[condition("lbl-1", "C83.51", "Lymphoblastic lymphoma, head and neck nodes",
                                      "active", "2026-10-01", "B-lymphoblastic lymphoma")],
                observations=[weight(72)], attestations=[attestation({"compendia-supported-use": True})],
                **fb_base),
        policy="florida-blue", decision="meets-criteria", indication="fb-other-compendia", cycle=1)
    # --- No decision, protocol variants -----------------------------------------------------------------------
    add("no-coverage-dose-check-only",
        request("n1", [blinatumomab(FULL)], payer=None, **RR_ADULT),
        policy=None, decision=None, dose_card="warning")
    add("unknown-payer",
        request("n2", [blinatumomab(STEP)], payer="Acme Health Insurance", **RR_ADULT),
        policy=None, decision=None, dose_card=None)
    add("not-blinatumomab-order",
        request("n3", [med_request("imatinib-draft", "282388", "imatinib", "2026-12-01", "2027-06-01", "draft")],
                payer=aspirus, **RR_ADULT),
        policy=None, decision=None, empty=True)
    add("order-select-aspirus",
        request("n4", [blinatumomab(STEP)], payer=aspirus, hook="order-select", **RR_ADULT),
        policy="aspirus-magellan", decision="meets-criteria", indication="adult-relapsed-refractory", cycle=1,
        no_actions=True)
    add("what-if-unsolicited-determ-false",
        request("n5", [blinatumomab(STEP)], payer=aspirus, extension={
            "davinci-crd.configuration": {"unsolicited-determ": False}}, **RR_ADULT),
        policy="aspirus-magellan", decision="meets-criteria", indication="adult-relapsed-refractory", cycle=1,
        pa_needed="auth-needed")
    return c


def files() -> dict[str, str]:
    """File name -> text of every file this tool writes: each example, and expected.json (tests compare them with
    fhir_examples/, so a case edited by hand there and not here is caught before this tool would undo it)."""
    generated = cases()
    built = {f"{name}.json": json.dumps(body, indent=2) + "\n" for name, (body, _) in generated.items()}
    expected = {name: outcome for name, (_, outcome) in generated.items()}
    return {**built, "expected.json": json.dumps(expected, indent=2, sort_keys=True) + "\n"}


def main() -> None:
    written = files()
    for name, text in written.items():
        (OUT / name).write_text(text)
    print(f"wrote {len(written) - 1} examples to {OUT}")


if __name__ == "__main__":
    main()
