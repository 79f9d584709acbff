"""Writes fhir_examples/*.json: one complete order-sign (or order-select) request per indication and per important
failure, and fhir_examples/expected.json with the outcome each should produce (worked out by hand from
policy-rules.md, not by running the service): for every example the decision, indication, request type, cycle and
authorization (start, end, cycles), the criteria not met or unknown, the dose cards by kind and the quantity card,
and the coverage-information sub-extensions of service-contract.md §Response item 2. tests/test_examples.py posts
each example over HTTP and checks all of it, both ways (expected present: present; expected absent: absent).

Run: .venv/bin/python tools/build_examples.py
"""
from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path
from typing import Any, Sequence

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


# --- Expected outcomes ------------------------------------------------------------------------------------------------
# Each case states what a clinician or pharmacist expects for that patient (policy-rules.md), and the wire shape it
# takes follows from service-contract.md §Response; `outcome` writes both into expected.json.
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
BILLING_CODE = {"system": HCPCS, "code": "J9039"}  # HCPCS J9039, blinatumomab 1 mcg (Aspirus II, the contract)
MEETS, NOT_MET, INFO = "meets-criteria", "criteria-not-met", "information-needed"
ASP, FB = "aspirus-magellan", "florida-blue"  # policy ids


def authorized(weeks: int | None = None, months: int | None = None, cycles: int | None = None,
               start: str = START) -> dict[str, Any]:
    """policy-rules.md §4: from `start` (the course start, or the first cycle a renewal covers) for the indication's
    length; weeks are 7 days, months by calendar (a year is 12 months)."""
    from datetime import date, timedelta
    first = date.fromisoformat(start)
    if weeks is not None:
        end = first + timedelta(days=7 * weeks)
    else:
        assert months is not None
        month = first.month - 1 + months
        end = first.replace(year=first.year + month // 12, month=month % 12 + 1)
    return {"start": first.isoformat(), "end": end.isoformat(), "cycles": cycles}


def dose(kind: str, ordered: float | None, expected: float | None, days: tuple[int, int] | None,
         suggestion: list[tuple[float, str, str]] | None = None) -> dict[str, Any]:
    """One dose card (policy-rules.md §5), by its kind (tests/test_examples.py reads the kind from the card's topic,
    indicator, `dose-check` extension and suggestion, never from its text): `above-label` (a warning with a one-click
    correction), `above-maximum` (the body size is unknown, the dose is too high at any: a warning without one),
    `above-together`, `below` (info), `above-plan-limit` (within the label, above the plan's own maximum); the first
    off range of days, mcg/day ordered and expected there (None for the plan-limit card, which has no `dose-check`),
    and the corrected lines (mcg/day, first day, last day)."""
    return {"kind": kind, "ordered": ordered, "expected": expected, "days": list(days) if days else None,
            "suggestion": [list(line) for line in suggestion] if suggestion is not None else None}


def quantity_over(limit: float, unit: str) -> dict[str, Any]:
    """Aspirus II: a warning quantity card whose suggestion sets dispenseRequest.quantity to the limit (in the order's
    own unit)."""
    return {"indicator": "warning", "suggested": {"value": limit, "code": unit}}


def coverage_information(decision: str, authorization: dict[str, Any] | None, what_if: bool = False,
                         not_received: bool = False) -> dict[str, Any]:
    """service-contract.md §Response item 2, the row of the decision: each sub-extension's expected value, None where
    it must be absent. `reason` is "text" (a text naming the criteria not met or what to document) or "technical" (coded
    technical); `satisfied-pa-id` says whether one is present."""
    none: dict[str, Any] = {"pa-needed": None, "doc-needed": None, "doc-purpose": None, "info-needed": None,
                            "reason": None, "questionnaire": None, "satisfied-pa-id": False, "expiry-date": None}
    row: dict[str, Any]
    if decision == MEETS and what_if:
        # unsolicited-determ false: the information-needed row's pa-needed, no satisfied-pa-id, so no expiry either
        # (there is no authorization to expire: the call only asked what would be needed).
        row = {"covered": "covered", "pa-needed": "auth-needed"}
    elif decision == MEETS:
        assert authorization is not None
        row = {"covered": "covered", "pa-needed": "satisfied", "satisfied-pa-id": True,
               "expiry-date": authorization["end"]}
    elif decision == INFO and not_received:
        # What the EHR holds but did not send is a technical gap (CRD 2.2 resp-43, docs/prefetch.md), not
        # documentation to provide: indeterminate, reason coded technical, nothing asked for.
        row = {"covered": "indeterminate", "reason": "technical"}
    elif decision == INFO:
        row = {"covered": "conditional", "pa-needed": "auth-needed", "doc-needed": "clinical", "doc-purpose": "withpa",
               "info-needed": "OTH", "reason": "text", "questionnaire": QUESTIONNAIRE}
    else:
        row = {"covered": "not-covered", "reason": "text"}
    return {**none, **row, "billingCode": BILLING_CODE}


def cases() -> dict[str, tuple[Resource, dict[str, Any]]]:
    aspirus, fb = "Aspirus Health Plan", "Florida Blue"
    c: dict[str, tuple[Resource, dict[str, Any]]] = {}

    def add(name: str, body: Resource, policy: str | None, decision: str | None, indication: str | None = None,
            cycle: int | None = None, request: str = "initial", authorization: dict[str, Any] | None = None,
            not_met: Sequence[str] = (), unknown: Sequence[str] = (), dose_cards: Sequence[dict[str, Any]] = (),
            quantity_card: dict[str, Any] | None = None, indicator: str | None = None,
            not_received: Sequence[str] = (), what_if: bool = False, empty: bool = False, fetch: bool = False) -> None:
        """`not_met` / `unknown`: the ids of the criteria the card shows not met (unknown): why the case exists; every
        other criterion it shows is met. `request`: initial unless a renewal (policy-rules.md §2, §3). `fetch`: run
        the case a second time with the prefetch withheld, the record served by a FHIR server."""
        decided = policy is not None
        assert (authorization is not None) == (decision == MEETS), f"{name}: an authorization exactly when met"
        assert decision != NOT_MET or not_met, f"{name}: which criteria are not met?"
        assert decision != INFO or unknown, f"{name}: which criteria are unknown?"
        assert decided or not (not_met or unknown or not_received or what_if), name
        payers = [e["resource"]["payor"][0]["display"] for e in (body["prefetch"].get("coverage") or {}).get(
            "entry", [])]
        expected: dict[str, Any] = {
            "policy": policy,
            "decision": decision,
            "indication": indication if decided else None,
            "request": request if decided else None,
            "cycle": cycle if decided else None,
            "authorization": authorization,
            "criteria": {"not-met": sorted(not_met), "unknown": sorted(unknown)} if decided else None,
            "indicator": (indicator or ("info" if decision == MEETS else "warning")) if decided else None,
            "not_received": list(not_received) if decided else None,
            "source_label": payers[0] if decided else None,  # the payer's name as members know it
            "dose_cards": list(dose_cards),
            "quantity_card": quantity_card,
            # order-select gives cards only: no coverage-information action.
            "coverage_information": coverage_information(decision, authorization, what_if, bool(not_received))
            if decision is not None and body["hook"] == "order-sign" else None,
            "empty": empty,
            "fetched_from_fhir_server": fetch,
        }
        c[name] = (body, expected)

    # --- Aspirus: every indication -----------------------------------------------------------------------------
    add("aspirus-adult-relapsed-refractory-cycle1",
        request("a1", [blinatumomab(STEP)], payer=aspirus, **RR_ADULT),
        ASP, MEETS, indication="adult-relapsed-refractory", cycle=1,
        authorization=authorized(weeks=30, cycles=5), fetch=True)
    add("aspirus-adult-consolidation-mrd-positive",
        request("a2", [blinatumomab(FULL)], payer=aspirus,
                attestations=[attestation({"complete-response-to-induction": True})], **CONSOL_ADULT),
        ASP, MEETS, indication="adult-consolidation-mrd-positive", cycle=1,
        authorization=authorized(weeks=24, cycles=4))
    add("aspirus-adult-consolidation-mrd-negative-ph-positive-tki",
        request("a3", [blinatumomab(FULL)], birth=ADULT, payer=aspirus, conditions=[REMISSION],
                observations=[weight(72), ph("positive"), mrd_not_detected()], immunizations=NO_LIVE,
                meds=[med_request("dasatinib-1", "475342", "dasatinib", "2026-06-01", "2027-06-01")],
                attestations=[attestation({"therapy-phase": "consolidation", "complete-response-to-induction": True,
                                           "multiagent-chemo-candidate": False})]),
        ASP, MEETS, indication="adult-consolidation-mrd-negative", cycle=1,
        authorization=authorized(weeks=24, cycles=4))
    add("aspirus-adult-consolidation-mrd-unavailable",
        request("a4", [blinatumomab(FULL)], birth=ADULT, payer=aspirus, conditions=[REMISSION],
                observations=[weight(72), ph("negative"), mrd(None)], immunizations=NO_LIVE,
                attestations=[attestation({"therapy-phase": "consolidation", "complete-response-to-induction": True,
                                           "induction-ino-mini-hyper-cvd": True})]),
        ASP, MEETS, indication="adult-consolidation-mrd-unavailable", cycle=1,
        authorization=authorized(weeks=24, cycles=4))
    add("aspirus-adult-maintenance",
        request("a5", [blinatumomab(FULL)], birth=ADULT, payer=aspirus, conditions=[REMISSION],
                observations=[weight(72), ph("negative"), mrd_not_detected()], immunizations=NO_LIVE,
                attestations=[attestation({"therapy-phase": "maintenance", "combination": "alternating-with-pomp",
                                           "complete-response-to-induction": True,
                                           "induction-ino-mini-hyper-cvd": True})]),
        ASP, MEETS, indication="adult-maintenance", cycle=1, authorization=authorized(weeks=30, cycles=5))
    add("aspirus-pediatric-mrd-positive",
        request("a6", [blinatumomab([line(14, "2026-12-01", "2026-12-28")])], birth=CHILD, payer=aspirus,
                conditions=[REMISSION], observations=CHILD_BODY + [ph("negative"), mrd(0.3)],
                immunizations=NO_LIVE),
        ASP, MEETS, indication="pediatric-mrd-positive", cycle=1,
        authorization=authorized(weeks=24, cycles=4))
    add("aspirus-pediatric-less-than-cr-ph-positive",
        request("a7", [blinatumomab([line(14, "2026-12-01", "2026-12-28")])], birth=CHILD, payer=aspirus,
                conditions=[b_all("active", "C91.00", "2026-10-20")],
                observations=CHILD_BODY + [ph("positive")], immunizations=NO_LIVE,
                attestations=[attestation({"therapy-phase": "consolidation",
                                           "end-of-consolidation-response": "less-than-complete"})]),
        ASP, MEETS, indication="pediatric-less-than-cr-ph-positive", cycle=1,
        authorization=authorized(weeks=24, cycles=4))
    add("aspirus-pediatric-relapsed-refractory-bsa-step",
        request("a8", [blinatumomab([line(4.65, "2026-12-01", "2026-12-07", 1),
                                     line(13.9, "2026-12-08", "2026-12-28", 2)])],
                birth=CHILD, payer=aspirus, conditions=[b_all()], observations=CHILD_BODY + [ph("negative")],
                immunizations=NO_LIVE),
        ASP, MEETS, indication="pediatric-relapsed-refractory", cycle=1,
        authorization=authorized(weeks=30, cycles=5))
    add("aspirus-infant-interfant",
        request("a9", [blinatumomab([line(5.7, "2026-12-01", "2026-12-28")], vials=28)], birth="2026-05-20",
                payer=aspirus, conditions=[b_all("active", "C91.00", "2026-08-01", onset="2026-07-25")],
                observations=[weight(7.5), height(66)], immunizations=NO_LIVE,
                attestations=[attestation({"combination": "with-interfant"})]),
        ASP, MEETS, indication="infant-interfant", cycle=1,
        authorization=authorized(weeks=4, cycles=1))
    # --- Aspirus: failures, renewals, limits --------------------------------------------------------------------
    add("aspirus-live-vaccine-critical",
        request("a10", [blinatumomab(STEP)], payer=aspirus, **{**RR_ADULT, "immunizations": [
            immunization("mmr-1", "03", "MMR", "2026-11-24")]}),
        ASP, NOT_MET, indication="adult-relapsed-refractory", cycle=1, not_met=["U1"],
        indicator="critical", fetch=True)
    add("aspirus-consolidation-mrd-missing",
        request("a11", [blinatumomab(FULL)], birth=ADULT, payer=aspirus, conditions=[REMISSION],
                observations=[weight(72), ph("negative")], immunizations=NO_LIVE,
                attestations=[attestation({"therapy-phase": "consolidation",
                                           "complete-response-to-induction": True})]),
        ASP, INFO, indication=None, cycle=1,
        unknown=["adult-consolidation-mrd-positive.mrd-positive"])
    add("aspirus-consolidation-mrd-same-day-conflict",
        # Two MRD results of one day that disagree (0.05% and not detected): which is current decides between the
        # MRD+ and MRD- indications, so it is asked for, whichever the EHR lists first (tests/test_examples.py
        # reverses them).
        request("a22", [blinatumomab(FULL)], payer=aspirus,
                attestations=[attestation({"therapy-phase": "consolidation", "complete-response-to-induction": True})],
                **{**CONSOL_ADULT, "observations": [*CONSOL_ADULT["observations"], mrd_not_detected("mrd-2")]}),
        ASP, INFO, indication=None, cycle=1,
        unknown=["adult-consolidation-mrd-positive.mrd-positive"])
    add("aspirus-relapsed-refractory-single-line-dose-too-high",
        request("a12", [blinatumomab(FULL)], payer=aspirus, **RR_ADULT),
        ASP, NOT_MET, indication="adult-relapsed-refractory", cycle=1,
        not_met=["adult-relapsed-refractory.dose-schedule"],
        dose_cards=[dose("above-label", 28, 9, (1, 7),
                         suggestion=[(9, "2026-12-01", "2026-12-07"), (28, "2026-12-08", "2026-12-28")])])
    # The hookInstance is made from the full name: the case was first written by hand, and keeps its id.
    add("aspirus-adult-relapsed-refractory-dose-per-m2-too-high",
        # An adult (80 kg, 1.989 m²) ordered the children's 5 then 15 mcg/m²/day: 9.95 and 29.84 mcg/day, above the
        # label's fixed 9 and 28. From 45 kg the label dose does not depend on the BSA: the correction writes 9 and
        # 28 mcg/day (ug/d), not 4.524 and 14.07 mcg/m²/day for pharmacy to recompute.
        request("a21", [blinatumomab([line(5, "2026-12-01", "2026-12-07", 1, "ug/m2/d"),
                                      line(15, "2026-12-08", "2026-12-28", 2, "ug/m2/d")])], payer=aspirus,
                **RR_ADULT),
        ASP, NOT_MET, indication="adult-relapsed-refractory", cycle=1,
        not_met=["adult-relapsed-refractory.dose-schedule"],
        dose_cards=[dose("above-label", 9.95, 9, (1, 7),
                         suggestion=[(9, "2026-12-01", "2026-12-07"), (28, "2026-12-08", "2026-12-28")])])
    add("aspirus-relapsed-refractory-no-weight-dose-above-maximum",
        request("aspirus-relapsed-refractory-no-weight-dose-above-maximum", [blinatumomab(FULL)], payer=aspirus,
                **{**RR_ADULT, "observations": [ph("negative")]}),
        ASP, NOT_MET, indication="adult-relapsed-refractory", cycle=1,
        not_met=["adult-relapsed-refractory.dose-schedule"], dose_cards=[dose("above-maximum", 28, 9, (1, 7))])
    add("aspirus-relapsed-refractory-cycle6-renewal",
        request("a13", [blinatumomab(FULL)], payer=aspirus, meds=prior_cycles(5),
                attestations=[attestation({"response-or-stabilization": True})],
                **{**RR_ADULT, "conditions": [b_all(recorded="2025-12-20")]}),
        ASP, MEETS, indication="adult-relapsed-refractory", request="renewal", cycle=6,
        authorization=authorized(weeks=24, cycles=2), fetch=True)
    add("aspirus-relapsed-refractory-cycle10-exceeds-limit",
        request("a14", [blinatumomab(FULL)], payer=aspirus, meds=prior_cycles(9, "2025-10-01"),
                attestations=[attestation({"response-or-stabilization": True})],
                **{**RR_ADULT, "conditions": [b_all(recorded="2025-09-20")]}),
        ASP, NOT_MET, indication="adult-relapsed-refractory", request="renewal", cycle=10,
        not_met=["adult-relapsed-refractory.at-most-9-cycles"])
    add("aspirus-consolidation-cycle5-not-renewable",
        request("a15", [blinatumomab(FULL)], birth=ADULT, payer=aspirus,
                conditions=[b_all("remission", "C91.01", "2026-05-01")],
                observations=[weight(72), ph("negative"), mrd(0.05, date="2026-04-20")], immunizations=NO_LIVE,
                meds=prior_cycles(4, "2026-05-10"),
                attestations=[attestation({"complete-response-to-induction": True})]),
        ASP, NOT_MET, indication="adult-consolidation-mrd-positive", cycle=5,
        not_met=["adult-consolidation-mrd-positive.not-renewable-after-4"])
    add("aspirus-quantity-over-limit",
        request("a16", [blinatumomab(STEP, vials=40)], payer=aspirus, **RR_ADULT),
        ASP, NOT_MET, indication="adult-relapsed-refractory", cycle=1, not_met=["quantity"],
        quantity_card=quantity_over(28, "{vial}"))
    add("aspirus-t-cell-all-not-covered",
        request("a17", [blinatumomab(STEP)], payer=aspirus, **{**RR_ADULT, "conditions": [
            b_all(text="T-cell acute lymphoblastic leukemia, relapsed")]}),
        ASP, NOT_MET, indication=None, cycle=1,
        not_met=["adult-relapsed-refractory.b-cell-precursor-all"])
    add("aspirus-immunizations-not-received",
        request("a18", [blinatumomab(STEP)], payer=aspirus, omit=("immunizations",), **RR_ADULT),
        ASP, INFO, indication="adult-relapsed-refractory", cycle=1, unknown=["U1"],
        not_received=["immunization history (live vaccines)"])
    add("aspirus-consolidation-dose-below-label",
        # Restarted at the step dose after an interruption: below the label dose is often deliberate (policy-rules.md
        # §5), so the plan is met and an info card says so, without a suggestion.
        request("a19", [blinatumomab([line(9, "2026-12-01", "2026-12-28")])], payer=aspirus,
                attestations=[attestation({"complete-response-to-induction": True})], **CONSOL_ADULT),
        ASP, MEETS, indication="adult-consolidation-mrd-positive", cycle=1,
        authorization=authorized(weeks=24, cycles=4), dose_cards=[dose("below", 9, 28, (1, 28))])
    add("aspirus-consolidation-lines-together-above-label",
        # Two lines on the same days (a second bag entered as its own line): 14 + 20 = 34 mcg/day, above the 28 of
        # the label. Which line to change is the prescriber's call: a warning without a suggestion; the schedule fails.
        request("a20", [blinatumomab([line(14, "2026-12-01", "2026-12-28", 1),
                                      line(20, "2026-12-01", "2026-12-28", 2)])], payer=aspirus,
                attestations=[attestation({"complete-response-to-induction": True})], **CONSOL_ADULT),
        ASP, NOT_MET, indication="adult-consolidation-mrd-positive", cycle=1,
        not_met=["adult-consolidation-mrd-positive.dose-schedule"],
        dose_cards=[dose("above-together", 34, 28, (1, 28))])
    # --- Florida Blue --------------------------------------------------------------------------------------------
    fb_base = dict(birth=ADULT, payer=fb, immunizations=NO_LIVE)
    add("florida-blue-mrd-positive",
        request("f1", [blinatumomab(FULL)], conditions=[REMISSION],
                observations=[weight(72), ph("negative"), mrd(0.5), cd19("CD19 positive blasts")], **fb_base),
        FB, MEETS, indication="fb-mrd-positive", cycle=1, authorization=authorized(months=6))
    add("florida-blue-relapsed-refractory-ph-negative",
        request("f2", [blinatumomab(STEP)], conditions=[b_all()],
                observations=[weight(80), ph("negative"), cd19("CD19+ B lymphoblasts")], **fb_base),
        FB, MEETS, indication="fb-relapsed-refractory-ph-negative", cycle=1,
        authorization=authorized(months=6))
    add("florida-blue-relapsed-refractory-ph-positive-tki-failure",
        request("f3", [blinatumomab(STEP)], conditions=[b_all()],
                observations=[weight(80), ph("positive"), cd19("CD19 positive")],
                meds=[med_request("dasatinib-1", "475342", "dasatinib", "2026-03-01", "2026-09-01", "stopped",
                                  "Stopped for intolerance: pleural effusion")], **fb_base),
        FB, MEETS, indication="fb-relapsed-refractory-ph-positive", cycle=1,
        authorization=authorized(months=6), fetch=True)
    add("florida-blue-induction-ph-positive-with-tki",
        request("f4", [blinatumomab(FULL)], conditions=[b_all("active", "C91.00", "2026-11-01")],
                observations=[weight(80), ph("positive"), cd19("CD19 positive")],
                meds=[med_request("dasatinib-1", "475342", "dasatinib", "2026-11-10", "2027-05-10")],
                attestations=[attestation({"therapy-phase": "induction"})], **fb_base),
        FB, MEETS, indication="fb-induction-ph-positive-tki", cycle=1,
        authorization=authorized(months=6))
    add("florida-blue-consolidation",
        request("f5", [blinatumomab(FULL)], conditions=[REMISSION],
                observations=[weight(72), cd19("CD19 positive")],
                attestations=[attestation({"therapy-phase": "consolidation"})], **fb_base),
        FB, MEETS, indication="fb-consolidation-maintenance", cycle=1,
        authorization=authorized(months=6))
    add("florida-blue-dose-28.4-above-plan-limit",
        # 28.4 mcg/day is within the label's rounding allowance (0.5 mcg/day) but above Florida Blue's 28 mcg/day:
        # not covered as ordered, and a warning that sets 28.
        request("f11", [blinatumomab([line(28.4, "2026-12-01", "2026-12-28")])], conditions=[REMISSION],
                observations=[weight(72), cd19("CD19 positive")],
                attestations=[attestation({"therapy-phase": "consolidation"})], **fb_base),
        FB, NOT_MET, indication="fb-consolidation-maintenance", cycle=1,
        not_met=["fb-consolidation-maintenance.dose-at-most-28"],
        dose_cards=[dose("above-plan-limit", None, None, None, suggestion=[(28, "2026-12-01", "2026-12-28")])])
    add("florida-blue-child-no-height-dose-above-label-at-any-height",
        # 18 kg without a height or BSA: the label dose is per m² and unknown, yet even at 280 cm (BSA 1.183 m²) it is
        # at most 5.915 mcg/day on days 1-7 and 17.745 after: the adult step-dose order is above it at any height. The
        # plan's own limit (28 mcg/day) is met: covered, with a dose warning that asks for a height and suggests no
        # dose (docs/dosing.md); the approval opens with "Dose above label" and is a warning too (label_safety.py).
        request("f12", [blinatumomab(STEP)], conditions=[b_all()],
                observations=[weight(18), ph("negative"), cd19("CD19+ B lymphoblasts")],
                **{**fb_base, "birth": "2021-06-01"}),
        FB, MEETS, indication="fb-relapsed-refractory-ph-negative", cycle=1, indicator="warning",
        authorization=authorized(months=6), dose_cards=[dose("above-maximum", 9, 5.915, (1, 7))])
    add("florida-blue-cd19-missing",
        request("f6", [blinatumomab(STEP)], conditions=[b_all()], observations=[weight(80), ph("negative")],
                **fb_base),
        FB, INFO, indication=None, cycle=1,
        unknown=["fb-relapsed-refractory-ph-negative.cd19-positive"], fetch=True)
    add("florida-blue-cd19-negative-relapse",
        request("f7", [blinatumomab(STEP)], conditions=[b_all()],
                observations=[weight(80), ph("negative"), cd19("CD19 positive", "cd19-dx", "2025-06-01"),
                              cd19("CD19 negative blasts", "cd19-relapse", "2026-11-12")], **fb_base),
        FB, NOT_MET, indication=None, cycle=1,
        not_met=["fb-relapsed-refractory-ph-negative.cd19-positive"])
    add("florida-blue-dose-above-28",
        request("f8", [blinatumomab([line(30, "2026-12-01", "2026-12-28")])], conditions=[REMISSION],
                observations=[weight(90), mrd(0.5), cd19("CD19 positive")], **fb_base),
        FB, NOT_MET, indication="fb-mrd-positive", cycle=1,
        not_met=["fb-mrd-positive.dose-at-most-28"],
        dose_cards=[dose("above-label", 30, 28, (1, 28), suggestion=[(28, "2026-12-01", "2026-12-28")])])
    add("florida-blue-continuation",
        request("f9", [blinatumomab(FULL)], conditions=[REMISSION], observations=[weight(72)],
                attestations=[attestation({"prior-authorization-on-file": True})], **fb_base),
        FB, MEETS, indication="fb-continuation", request="renewal", cycle=1,
        authorization=authorized(months=12))
    add("florida-blue-other-compendia-lymphoblastic-lymphoma",
        request("f10", [blinatumomab(FULL)],
                conditions=[condition("lbl-1", "C83.51", "Lymphoblastic lymphoma, head and neck nodes",
                                      "active", "2026-10-01", "B-lymphoblastic lymphoma")],
                observations=[weight(72)], attestations=[attestation({"compendia-supported-use": True})],
                **fb_base),
        FB, MEETS, indication="fb-other-compendia", cycle=1,
        authorization=authorized(months=6))
    # --- No decision, protocol variants -----------------------------------------------------------------------
    add("no-coverage-dose-check-only",
        request("n1", [blinatumomab(FULL)], payer=None, **RR_ADULT),
        None, None,
        dose_cards=[dose("above-label", 28, 9, (1, 7),
                         suggestion=[(9, "2026-12-01", "2026-12-07"), (28, "2026-12-08", "2026-12-28")])])
    add("unknown-payer",
        request("n2", [blinatumomab(STEP)], payer="Acme Health Insurance", **RR_ADULT),
        None, None)
    add("not-blinatumomab-order",
        request("n3", [med_request("imatinib-draft", "282388", "imatinib", "2026-12-01", "2027-06-01", "draft")],
                payer=aspirus, **RR_ADULT),
        None, None, empty=True)
    add("order-select-aspirus",
        request("n4", [blinatumomab(STEP)], payer=aspirus, hook="order-select", **RR_ADULT),
        ASP, MEETS, indication="adult-relapsed-refractory", cycle=1,
        authorization=authorized(weeks=30, cycles=5))
    add("what-if-unsolicited-determ-false",
        request("n5", [blinatumomab(STEP)], payer=aspirus, extension={
            "davinci-crd.configuration": {"unsolicited-determ": False}}, **RR_ADULT),
        ASP, MEETS, indication="adult-relapsed-refractory", cycle=1,
        authorization=authorized(weeks=30, cycles=5), what_if=True)
    return c


def files() -> dict[str, str]:
    """File name -> text of every file this tool writes: each example, and expected.json (tests compare them with
    fhir_examples/, so a case edited by hand there and not here is caught before this tool would undo it)."""
    generated = cases()
    built = {f"{name}.json": json.dumps(body, indent=2) + "\n" for name, (body, _) in generated.items()}
    expected = {name: outcome for name, (_, outcome) in generated.items()}
    return {**built, "expected.json": json.dumps(expected, indent=2, sort_keys=True) + "\n"}


def main() -> None:
    # No options: --help says what the tool does instead of writing the examples.
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    written = files()
    for name, text in written.items():
        (OUT / name).write_text(text)
    print(f"wrote {len(written) - 1} examples to {OUT}")


if __name__ == "__main__":
    main()
