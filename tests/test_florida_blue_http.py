"""Florida Blue guideline 09-J2000-26 over HTTP, criterion by criterion: requests for Florida Blue members (the
examples, edited) whose record makes a criterion met, not met or unknown, and what the decision card shows a
pharmacist checking it: the criterion's status, its section, the evidence, and what to document. The decisions
themselves are policy-rules.md §3; test_policy_florida_blue.py reads the same criteria without HTTP."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from cds_service.policies import load_policy
from cds_service.policies.model import CriterionSpec
from tests.live_server import LiveClient

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
POLICY = load_policy("florida-blue")
Body = dict[str, Any]
Edit = Callable[[Body], None]


def _spec(result_id: str) -> CriterionSpec:
    indication_id, _, local = result_id.partition(".")
    [indication] = [i for i in POLICY.indications if i.id == indication_id]
    [spec] = [c for c in indication.criteria if c.id == local]
    return spec


def _resources(body: Body, key: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in body["prefetch"][key]["entry"]]


def _keep(body: Body, key: str, keep: Callable[[dict[str, Any]], bool]) -> None:
    bundle = body["prefetch"][key]
    bundle["entry"] = [e for e in bundle["entry"] if keep(e["resource"])]
    bundle["total"] = len(bundle["entry"])


def drop(resource_id: str) -> Edit:
    def edit(body: Body) -> None:
        for key in ("observations", "medicationRequests", "attestations"):
            if key in body["prefetch"]:
                _keep(body, key, lambda r: r["id"] != resource_id)
    return edit


def diagnosis(text: str, code: str | None = None, status: str | None = None) -> Edit:
    def edit(body: Body) -> None:
        [condition] = _resources(body, "conditions")
        condition["code"]["text"] = text
        if code:
            condition["code"]["coding"][0]["code"] = code
        if status:
            condition["clinicalStatus"]["coding"][0]["code"] = status
    return edit


def result(resource_id: str, **value: Any) -> Edit:
    """The Observation's value replaced (valueQuantity or valueCodeableConcept)."""
    def edit(body: Body) -> None:
        [found] = [r for r in _resources(body, "observations") if r["id"] == resource_id]
        for key in ("valueQuantity", "valueCodeableConcept"):
            found.pop(key, None)
        found.update(value)
    return edit


def mrd(percent: float) -> Edit:
    """An MRD result of `percent` % two weeks before the order's start (2026-12-01)."""
    def edit(body: Body) -> None:
        body["prefetch"]["observations"]["entry"].append({"resource": {
            "resourceType": "Observation", "id": "mrd-added", "status": "final",
            "subject": {"reference": "Patient/example-patient"}, "code": {"text": "MRD by flow cytometry"},
            "effectiveDateTime": "2026-11-15",
            "valueQuantity": {"value": percent, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}}})
        body["prefetch"]["observations"]["total"] += 1
    return edit


def attest(**answers: Any) -> Edit:
    """Answers (linkId with "_" for "-") given 2026-11-25, added to the example's attestation or a new one."""
    def edit(body: Body) -> None:
        items = [{"linkId": k.replace("_", "-"), "answer": [{_value_key(v): v}]} for k, v in answers.items()]
        bundle = body["prefetch"]["attestations"]
        if bundle["entry"]:
            bundle["entry"][0]["resource"]["item"] = [
                i for i in bundle["entry"][0]["resource"]["item"] if i["linkId"] not in {n["linkId"] for n in items}
            ] + items
            return
        bundle["entry"].append({"resource": {
            "resourceType": "QuestionnaireResponse", "id": "attestation-added", "status": "completed",
            "questionnaire": "http://example.org/fhir/Questionnaire/blinatumomab-coverage-attestation",
            "subject": {"reference": "Patient/example-patient"}, "authored": "2026-11-25", "item": items}})
        bundle["total"] = 1
    return edit


def _value_key(value: Any) -> str:
    return {bool: "valueBoolean", str: "valueString", float: "valueDecimal"}[type(value)]


def stopped_for(reason: str) -> Edit:
    def edit(body: Body) -> None:
        [tki] = _resources(body, "medicationRequests")
        tki["statusReason"] = {"text": reason}
    return edit


def not_received(key: str) -> Edit:
    def edit(body: Body) -> None:
        del body["prefetch"][key]
    return edit


def dose(mcg_per_day: float, unit: str = "ug/d") -> Edit:
    """Every dosage line at `mcg_per_day` in `unit`."""
    def edit(body: Body) -> None:
        [order] = [e["resource"] for e in body["context"]["draftOrders"]["entry"]]
        for line in order["dosageInstruction"]:
            line["text"] = f"{mcg_per_day} {unit} continuous IV infusion"
            line["doseAndRate"][0]["rateQuantity"].update(value=mcg_per_day, unit=unit, code=unit)
    return edit


NEGATIVE = {"valueCodeableConcept": {"text": "negative"}}
POSITIVE = {"valueCodeableConcept": {"text": "positive"}}
CD19_NEGATIVE = {"valueString": "CD19 negative blasts"}
RR, PH_POSITIVE, INDUCTION, MRD = ("florida-blue-relapsed-refractory-ph-negative",
                                  "florida-blue-relapsed-refractory-ph-positive-tki-failure",
                                  "florida-blue-induction-ph-positive-with-tki", "florida-blue-mrd-positive")
CONSOLIDATION, COMPENDIA, CONTINUATION = ("florida-blue-consolidation",
                                          "florida-blue-other-compendia-lymphoblastic-lymphoma",
                                          "florida-blue-continuation")
STATUS_MARK = {"met": "✅ met:", "not-met": "❌ not met:", "unknown": "❓ unknown:"}
RR_PH_NEG, RR_PH_POS = "fb-relapsed-refractory-ph-negative", "fb-relapsed-refractory-ph-positive"

# (example, edits, decision, indication shown on the card, {its criterion: status}, criteria of other indications
# the card lists as not met). Each case makes one criterion met, not met or unknown.
CASES: dict[str, tuple[str, list[Edit], str, str, dict[str, str], list[str]]] = {
    "b-cell-precursor-all unknown: ALL of unknown lineage, no CD19 result": (
        RR, [diagnosis("Acute lymphoblastic leukemia"), drop("cd19-1")], "information-needed", RR_PH_NEG,
        {"b-cell-precursor-all": "unknown", "cd19-positive": "unknown", "relapsed-refractory-phase": "met"}, []),
    "cd19-positive not met: the latest immunophenotype CD19 negative": (
        RR, [result("cd19-1", **CD19_NEGATIVE)], "criteria-not-met", RR_PH_NEG,
        {"cd19-positive": "not-met", "b-cell-precursor-all": "met"}, ["fb-mrd-positive.cd19-positive"]),
    "relapsed-refractory-phase unknown: in remission, phase not documented, no MRD": (
        RR, [diagnosis("B-cell precursor ALL", "C91.01", "remission")], "information-needed", RR_PH_NEG,
        {"relapsed-refractory-phase": "unknown", "ph-negative": "met"}, []),
    "relapsed-refractory-phase not met: induction attested": (
        RR, [attest(therapy_phase="induction"), mrd(0.05)], "criteria-not-met", RR_PH_NEG,
        {"relapsed-refractory-phase": "not-met"},
        ["fb-induction-ph-positive-tki.ph-positive", "fb-consolidation-maintenance.consolidation-or-maintenance",
         "fb-mrd-positive.mrd-at-least-0-1-percent"]),
    "ph-negative unknown: no Ph / BCR::ABL1 result": (
        RR, [drop("bcr-abl-1")], "information-needed", RR_PH_NEG, {"ph-negative": "unknown"}, []),
    "ph-negative not met: BCR::ABL1 positive, no TKI failure": (
        RR, [result("bcr-abl-1", **POSITIVE), attest(tki_failure=False), mrd(0.05)], "criteria-not-met", RR_PH_POS,
        {"ph-positive": "met", "tki-failure": "not-met"}, [f"{RR_PH_NEG}.ph-negative"]),
    "tki-failure unknown: TKI stopped for another reason": (
        PH_POSITIVE, [stopped_for("patient preference")], "information-needed", RR_PH_POS,
        {"tki-failure": "unknown", "ph-positive": "met"}, []),
    "induction-phase unknown: no phase attested, active disease": (
        INDUCTION, [drop("attestation-1")], "information-needed", "fb-induction-ph-positive-tki",
        {"induction-phase": "unknown", "ph-positive": "met", "with-tki": "met"}, []),
    "induction-phase not met: relapsed/refractory attested": (
        INDUCTION, [attest(therapy_phase="relapsed-refractory")], "information-needed", RR_PH_POS,
        {"relapsed-refractory-phase": "met", "tki-failure": "unknown"}, []),
    "with-tki not met: single agent attested": (
        INDUCTION, [attest(combination="single-agent"), mrd(0.05)], "criteria-not-met",
        "fb-induction-ph-positive-tki", {"with-tki": "not-met", "induction-phase": "met"},
        ["fb-mrd-positive.mrd-at-least-0-1-percent"]),
    "with-tki unknown: medication history not received": (
        INDUCTION, [not_received("medicationRequests")], "information-needed", "fb-induction-ph-positive-tki",
        {"with-tki": "unknown"}, []),
    "mrd unknown: a qualitative positive MRD, induction of Ph- disease": (
        MRD, [result("mrd-1", **POSITIVE), attest(therapy_phase="induction")], "information-needed",
        "fb-mrd-positive", {"mrd-at-least-0-1-percent": "unknown"}, []),
    "mrd not met: 0.05%, induction of Ph- disease": (
        MRD, [result("mrd-1", valueQuantity={"value": 0.05, "unit": "%", "system": "http://unitsofmeasure.org",
                                            "code": "%"}), attest(therapy_phase="induction")],
        "criteria-not-met", RR_PH_NEG, {"relapsed-refractory-phase": "not-met"},
        ["fb-mrd-positive.mrd-at-least-0-1-percent", "fb-induction-ph-positive-tki.ph-positive"]),
    "consolidation-or-maintenance not met: induction attested": (
        CONSOLIDATION, [attest(therapy_phase="induction"), mrd(0.05)], "criteria-not-met", "fb-mrd-positive",
        {"mrd-at-least-0-1-percent": "not-met"},
        ["fb-consolidation-maintenance.consolidation-or-maintenance"]),
    "consolidation-or-maintenance met: maintenance attested": (
        CONSOLIDATION, [attest(therapy_phase="maintenance")], "meets-criteria", "fb-consolidation-maintenance",
        {"consolidation-or-maintenance": "met"}, []),
    "dose-at-most-28 unknown: a dose per m2 without weight, height or BSA": (
        RR, [dose(15, "ug/m2/d"), drop("weight-1")], "information-needed", RR_PH_NEG,
        {"dose-at-most-28": "unknown"}, []),
    "compendia-supported-use not met: answered no": (
        COMPENDIA, [attest(compendia_supported_use=False)], "information-needed", "fb-mrd-positive", {}, []),
    "not-b-all not met: B-cell precursor ALL on record": (
        COMPENDIA, [diagnosis("B-cell precursor acute lymphoblastic leukemia", "C91.02", "relapse")],
        "information-needed", RR_PH_NEG, {"b-cell-precursor-all": "met", "cd19-positive": "unknown"},
        ["fb-other-compendia.not-b-all"]),
    "continuation dose not met: 30 mcg/day": (
        CONTINUATION, [dose(30)], "criteria-not-met", "fb-continuation",
        {"prior-approval": "met", "dose-at-most-28": "not-met"}, []),
}


def _answer(client: LiveClient, example: str, edits: list[Edit]) -> dict[str, Any]:
    body = json.loads((EXAMPLES / f"{example}.json").read_text())
    for edit in edits:
        edit(body)
    response = client.post("/cds-services/blinatumomab-coverage", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    [card] = [c for c in response.get_json()["cards"] if "coverage-decision" in c.get("extension", {})]
    return card  # type: ignore[no-any-return]


def _line(detail: str, criterion: dict[str, Any]) -> str:
    """The detail's line for a criterion of the indication shown: its status, text and section."""
    spec = _spec(criterion["id"])
    shown = detail.split("**Other indications")[0].splitlines()
    [line] = [line for line in shown if f"{spec.text} (_{spec.citation}_)" in line]
    assert line.startswith(f"- {STATUS_MARK[criterion['status']]}")
    return line


@pytest.mark.parametrize("case", list(CASES))
def test_each_criterion_is_shown_with_its_status_section_and_evidence(client: LiveClient, case: str) -> None:
    example, edits, outcome, shown, statuses, others = CASES[case]
    card = _answer(client, example, edits)
    decision = card["extension"]["coverage-decision"]
    assert decision["decision"] == outcome
    assert {c["id"].partition(".")[0] for c in decision["criteria"]} == {shown}
    found = {c["id"].partition(".")[2]: c for c in decision["criteria"]}
    assert {local: found[local]["status"] for local in statuses} == statuses
    for criterion in decision["criteria"]:  # every one cites its section, on the card as in the extension
        assert criterion["citation"] == _spec(criterion["id"]).citation
        line = _line(card["detail"], criterion)
        if criterion["status"] == "unknown":  # what to document, or that the EHR did not send it
            assert "**document:**" in line or "not received from the EHR" in line
        else:
            assert criterion["evidence"] and f"evidence: {criterion['evidence'][0]}" in line
    listed = card["detail"].split("**Other indications, not met**")[-1]
    for result_id in others:  # a criterion of another indication failing: named, with its section and evidence
        spec = _spec(result_id)
        title = next(i.title for i in POLICY.indications if i.id == result_id.partition(".")[0])
        [line] = [line for line in listed.splitlines() if f"❌ {spec.text} (_{spec.citation}_)" in line]
        assert title in line.split(": ❌")[0]
    assert decision["authorization"] is None if outcome != "meets-criteria" else decision["authorization"] == {
        "start": "2026-12-01", "end": "2027-06-01", "cycles": None}


def test_a_dose_per_m2_without_a_weight_asks_for_the_weight_too(client: LiveClient) -> None:
    """Florida Blue's 28 mcg/day reads a dose per m² through a BSA: with no weight on record, a height alone gives
    none, and asking for "height or BSA" had the prescriber record one and be asked again."""
    card = _answer(client, RR, [dose(15, "ug/m2/d"), drop("weight-1")])
    # An adult: the height counts for 12 months.
    assert "weight (within 30 days) and height (within 12 months), or BSA (within 30 days)" in card["extension"][
        "coverage-decision"]["missing"]
    weighed = _answer(client, RR, [dose(15, "ug/m2/d")])  # 80 kg: only a height or BSA is missing
    assert "height (within 12 months) or BSA (within 30 days)" in weighed["extension"]["coverage-decision"]["missing"]


@pytest.mark.parametrize(("edits", "summary"), [
    ([result("bcr-abl-1", **POSITIVE), attest(tki_failure=False), mrd(0.05)],
     "Florida Blue: not covered — requires TKI intolerance, inadequate response or contraindication; chart: no "
     "(answered 2026-11-25)"),
    ([attest(therapy_phase="induction"), mrd(0.05)],
     "Florida Blue: not covered — requires relapsed or refractory disease; chart: induction (answered 2026-11-25)"),
])
def test_a_denial_says_what_the_guideline_requires_in_words(client: LiveClient, edits: list[Edit],
                                                           summary: str) -> None:
    """The summary reads "requires <the criterion's summary>": "requires Intolerance, inadequate response or ..."
    had kept the capital of a text written to stand alone, and "requires given with a TKI" its verb."""
    assert _answer(client, RR, edits)["summary"] == summary


def test_with_tki_denial_summary(client: LiveClient) -> None:
    card = _answer(client, INDUCTION, [attest(combination="single-agent"), mrd(0.05)])
    assert card["summary"].startswith("Florida Blue: not covered — requires use with a TKI; chart: ")


def test_indication_2_names_the_lymphoma_it_is_met_on(client: LiveClient) -> None:
    """"A diagnosis other than B-ALL", met on a lymphoblastic lymphoma: the card named its code only, not the
    Condition a pharmacist would open."""
    card = _answer(client, COMPENDIA, [])
    criteria = card["extension"]["coverage-decision"]["criteria"]
    [other] = [c for c in criteria if c["id"] == "fb-other-compendia.not-b-all"]
    assert (other["status"], other["evidence"]) == ("met", ["Condition/lbl-1"])
