"""Every request in fhir_examples/ through the real HTTP endpoint, checked against the outcome written beside it."""
from __future__ import annotations

import importlib.util
import json
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from cds_service.card_kinds import kind_of
from tests.crd_invariants import check_crd_invariants
from tests.fhir_server import FhirTestServer, prefetched_resources, without_prefetch

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
EXPECTED: dict[str, dict[str, Any]] = json.loads((EXAMPLES / "expected.json").read_text())
CRD_COVERAGE = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
CARD_TYPES = "http://terminology.hl7.org/CodeSystem/cdshooks-card-type"
# The topic (card type) of each kind of card the examples expect: which cards a client turns off with a type.
KIND_TOPICS = {"decision": "coverage-info", "no-plan": "coverage-info", "dose": "off-guideline",
               "plan-dose-limit": "limits", "quantity-limit": "limits"}
# The codes of that code system (HL7 Terminology), copied so the test checks the cards against it, not themselves.
CARD_TYPE_CODES = frozenset((
    "coverage-info", "unsolicited-determ", "claim", "insurance", "limits", "network", "appropriate-use", "cost",
    "therapy-alternatives-opt", "therapy-alternatives-req", "clinical-reminder", "duplicate-therapy",
    "contraindication", "guideline", "off-guideline"))


def _topic(card: dict[str, Any]) -> str:
    return card["source"]["topic"]["code"]


def _post(base_url: str, name: str) -> dict[str, Any]:
    body = (EXAMPLES / f"{name}.json").read_text()
    response = requests.post(f"{base_url}/cds-services/blinatumomab-coverage", data=body,
                             headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) >= {"cards", "systemActions"}
    return answer


def _configuration_options(base_url: str) -> set[str]:
    services = requests.get(f"{base_url}/cds-services", timeout=30).json()["services"]
    return {o["code"] for s in services for o in s["extension"]["davinci-crd.configuration-options"]}


def _sub_extensions(resource: dict[str, Any]) -> dict[str, Any]:
    [coverage] = [e for e in resource.get("extension", []) if e["url"] == CRD_COVERAGE]
    values = {}
    for sub in coverage["extension"]:
        value = next((v for k, v in sub.items() if k.startswith("value")), sub.get("extension"))  # detail: parts
        values[sub["url"]] = value
    return {"extension": coverage, "values": values}


def test_there_are_enough_examples() -> None:
    assert len(EXPECTED) >= 25
    assert {p.stem for p in EXAMPLES.glob("*.json")} - {"expected"} == set(EXPECTED)


def _build_examples() -> ModuleType:
    path = EXAMPLES.parent / "tools" / "build_examples.py"
    spec = importlib.util.spec_from_file_location("build_examples", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_examples_are_what_tools_build_examples_writes() -> None:
    """README: "edit a case there and run tools/build_examples.py". An example or expected outcome edited here by
    hand and not in the tool would be undone by its next run (an expected.json entry dropped: the example untested)."""
    built = _build_examples().files()
    assert sorted(built) == sorted(p.name for p in EXAMPLES.glob("*.json"))
    changed = [name for name, text in built.items() if (EXAMPLES / name).read_text() != text]
    assert changed == [], "fhir_examples/ differs from tools/build_examples.py: put the change in the tool"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example(live_service: str, name: str) -> None:
    body = _example(name)
    answer = _post(live_service, name)
    _check_answer(live_service, body, EXPECTED[name], answer)


FETCHED = sorted(name for name, expected in EXPECTED.items() if expected["fetched_from_fhir_server"])
TOKEN = "example-access-token"
# The paths of the reads and searches of service-contract.md §Prefetch, when no key is answered.
RECORD_PATHS = {"/Patient/example-patient", "/Coverage", "/Condition", "/Observation", "/MedicationRequest",
                "/Immunization", "/QuestionnaireResponse"}


def test_some_examples_are_also_read_from_a_fhir_server() -> None:
    assert len(FETCHED) >= 2


@pytest.mark.parametrize("refuse_count", [False, True], ids=["", "refusing _count"])
@pytest.mark.parametrize("name", FETCHED)
def test_example_read_from_a_fhir_server(live_service: str, name: str, refuse_count: bool) -> None:
    """service-contract.md §Prefetch: without a prefetch the service reads the same record from the EHR's FHIR server
    (with the bearer token, following `next` links), and answers exactly as with the prefetch; from a server refusing
    `_count` (400) too, asked again without it."""
    body = _example(name)
    prefetched = _post(live_service, name)
    with FhirTestServer(page_size=2, token=TOKEN, refuse_count=refuse_count) as server:
        server.add(*prefetched_resources(body["prefetch"]))
        fetched = _post_body(live_service, without_prefetch(body, server.base_url, TOKEN))
    assert RECORD_PATHS <= set(server.paths()), server.paths()
    assert {r.authorization for r in server.requests} == {f"Bearer {TOKEN}"}
    _check_answer(live_service, body, EXPECTED[name], fetched)
    assert _comparable(fetched) == _comparable(prefetched)


# The examples' Observations carry no category (the readers need none); Epic files each under one: the body size as
# vital signs, the MRD, Ph and CD19 results as laboratory results.
VITAL_SIGNS = frozenset(("29463-7", "3141-9", "8302-2", "8306-3", "8277-6"))
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
MRD_BY_TEXT = "aspirus-adult-consolidation-mrd-positive"  # its MRD result has no code, only text


@pytest.mark.parametrize("name", [*FETCHED, MRD_BY_TEXT])
def test_example_read_from_a_fhir_server_refusing_observation_searches_by_patient_alone(live_service: str,
                                                                                       name: str) -> None:
    """The integration engineer's case: Epic answers 400 to `Observation?patient=<id>`, and every such call ended
    "coverage not determined, EHR did not send lab results and vital signs". The service asks again by category and
    answers exactly as with the prefetch."""
    body = _example(name)
    prefetched = _post(live_service, name)
    with FhirTestServer(page_size=2, token=TOKEN, narrowed_observations=True) as server:
        server.add(*(_filed_under_a_category(r) for r in prefetched_resources(body["prefetch"])))
        fetched = _post_body(live_service, without_prefetch(body, server.base_url, TOKEN))
    searches = [r.query.get("category", ["none"])[0] for r in server.requests
                if r.path == "/Observation" and "_page" not in r.query]
    assert searches[0] == "none" and sorted(searches[1:]) == ["laboratory", "vital-signs"], searches
    _check_answer(live_service, body, EXPECTED[name], fetched)
    assert _comparable(fetched) == _comparable(prefetched)


def _filed_under_a_category(resource: dict[str, Any]) -> dict[str, Any]:
    if resource["resourceType"] != "Observation":
        return resource
    codes = {coding["code"] for coding in resource["code"].get("coding", [])}
    category = "vital-signs" if codes & VITAL_SIGNS else "laboratory"
    return resource | {"category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": category}]}]}


def test_a_long_chart_is_read_whole_from_a_fhir_server(live_service: str) -> None:
    """A busy oncology chart: 1,200 routine results besides those the decision reads. At a server's default of 20 a
    page they took 60 pages, past the page cap, and the whole list was not received; asked for 200 a page, the
    server sends them in 7, and the answer is the prefetch's."""
    body = _example(MRD_BY_TEXT)
    prefetched = _post(live_service, MRD_BY_TEXT)
    routine = [{"resourceType": "Observation", "id": f"hemoglobin-{i}", "status": "final",
                "subject": {"reference": f"Patient/{body['context']['patientId']}"},
                "code": {"coding": [{"system": "http://loinc.org", "code": "718-7", "display": "Hemoglobin"}]},
                "effectiveDateTime": "2026-10-01", "valueQuantity": {"value": 11.2, "unit": "g/dL"}}
               for i in range(1200)]
    with FhirTestServer(page_size=20, max_page_size=1000, token=TOKEN) as server:
        server.add(*prefetched_resources(body["prefetch"]), *routine)
        fetched = _post_body(live_service, without_prefetch(body, server.base_url, TOKEN))
    assert server.paths().count("/Observation") == 7
    _check_answer(live_service, body, EXPECTED[MRD_BY_TEXT], fetched)
    assert _comparable(fetched) == _comparable(prefetched)


SAME_DAY_CONFLICT = "aspirus-consolidation-mrd-same-day-conflict"


def test_mrd_results_of_one_day_that_disagree_give_one_answer_whichever_is_listed_first(live_service: str) -> None:
    """Clinical review: 0.05% and "not detected" on one day met the MRD+ indication listed one way and read MRD
    negative the other. Both orders now ask which result is current, with the same answer."""
    body = _example(SAME_DAY_CONFLICT)
    listed = body["prefetch"]["observations"]
    reversed_body = {**body, "prefetch": {**body["prefetch"],
                                          "observations": {**listed, "entry": listed["entry"][::-1]}}}
    answer = _post_body(live_service, reversed_body)
    _check_answer(live_service, body, EXPECTED[SAME_DAY_CONFLICT], answer)
    assert _comparable(answer) == _comparable(_post(live_service, SAME_DAY_CONFLICT))
    [decision] = [c["extension"]["coverage-decision"] for c in answer["cards"]
                  if "coverage-decision" in c.get("extension", {})]
    assert "which MRD result of 2026-11-15 is current (0.05% or negative)" in decision["missing"]


def _example(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return body


def _post_body(base_url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{base_url}/cds-services/blinatumomab-coverage", json=body, timeout=30)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _comparable(answer: dict[str, Any]) -> Any:
    """The answer without what is new on every call: uuids and the coverage assertion id."""
    text = json.dumps(answer, sort_keys=True)
    for value in _values_of(answer, "uuid"):
        text = text.replace(value, "<uuid>")
    for action in answer["systemActions"]:
        text = text.replace(_sub_extensions(action["resource"])["values"]["coverage-assertion-id"], "<assertion>")
    return json.loads(text)


def _values_of(node: Any, key: str) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == key and isinstance(v, str)] + [
            found for v in node.values() for found in _values_of(v, key)]
    if isinstance(node, list):
        return [found for v in node for found in _values_of(v, key)]
    return []


def _blinatumomab_order(body: dict[str, Any]) -> dict[str, Any]:
    [order] = [e["resource"] for e in body["context"]["draftOrders"]["entry"]]
    return order


def _check_answer(base_url: str, body: dict[str, Any], expected: dict[str, Any], answer: dict[str, Any]) -> None:
    if expected["empty"]:
        assert answer == {"cards": [], "systemActions": []}
        return
    order = _blinatumomab_order(body)
    cards = answer["cards"]
    offered = _configuration_options(base_url)
    for card in cards:
        assert len(card["summary"]) < 140, card["summary"]
        assert card["indicator"] in {"info", "warning", "critical"}
        # service-contract.md §Response: a card type of the code system, which discovery offers to turn off.
        assert card["source"]["topic"]["system"] == CARD_TYPES
        assert _topic(card) in CARD_TYPE_CODES and _topic(card) in offered, _topic(card)
    assert len({card["uuid"] for card in cards}) == len(cards)
    kinds = [_card_kind(card, order) for card in cards]
    # Every card is one the example expects: its decision, its dose and quantity cards, and without a plan at most the
    # "no supported plan" note.
    assert kinds.count("decision") == (expected["policy"] is not None)
    assert kinds.count("no-plan") <= (expected["policy"] is None)
    assert kinds.count("quantity") == (expected["quantity_card"] is not None)
    dose_kinds = [k for k in kinds if k not in ("decision", "no-plan", "quantity")]
    assert dose_kinds == [d["kind"] for d in expected["dose_cards"]], kinds
    if expected["policy"] is None:
        assert answer["systemActions"] == []
    else:
        [card] = [c for c, kind in zip(cards, kinds) if kind == "decision"]
        _check_decision(expected, card, order)
        _check_coverage_information(expected, card, answer["systemActions"], body, order)
    doses = [c for c, kind in zip(cards, kinds) if kind in dose_kinds]
    for card, dose in zip(doses, expected["dose_cards"]):
        _check_dose_card(expected, dose, card, order)
    if expected["quantity_card"] is not None:
        [card] = [c for c, kind in zip(cards, kinds) if kind == "quantity"]
        _check_quantity_card(expected, card, order)


def _card_kind(card: dict[str, Any], order: dict[str, Any]) -> str:
    """What a card is, from its machine-readable parts (its `card-kind` extension, indicator, `dose-check` extension
    and what its suggestion changes), never its wording: a kind the examples do not expect (days, rest, split,
    duplicate) is named by its own code, not read as a dose or quantity card as a topic shared with them was."""
    extension, kind = card.get("extension", {}), kind_of(card)
    assert _topic(card) == KIND_TOPICS.get(kind, _topic(card)), (kind, _topic(card))
    if kind == "decision":
        assert "coverage-decision" in extension
        return "decision"
    if kind == "no-plan":
        assert card["indicator"] == "info" and "suggestions" not in card
        return "no-plan"
    if kind == "plan-dose-limit":
        return "above-plan-limit"  # the dose within the label, above the plan's own maximum
    if kind == "quantity-limit":
        return "quantity"
    if kind != "dose":
        return f"unexpected card kind {kind}"
    check = extension.get("dose-check")
    if card["indicator"] == "info":
        return "below" if check else "unreadable"
    if card.get("suggestions"):
        return "above-label"
    weight, bsa = check["weightKg"], check["bsaM2"]
    body_size_known = weight is not None and (weight >= 45 or bsa is not None)
    return "above-together" if body_size_known else "above-maximum"


def _check_decision(expected: dict[str, Any], card: dict[str, Any], order: dict[str, Any]) -> None:
    decision = card["extension"]["coverage-decision"]
    assert decision["policy"] == expected["policy"]
    assert decision["decision"] == expected["decision"], json.dumps(decision["criteria"], indent=1)
    for key in ("indication", "request", "cycle", "authorization"):
        assert decision[key] == expected[key], key
    assert card["indicator"] == expected["indicator"]
    assert _topic(card) == "coverage-info"
    assert card["source"]["label"] == expected["source_label"]
    assert card["extension"]["davinci-crd.associated-resource"] == [{"reference": f"MedicationRequest/{order['id']}"}]
    statuses = [(c["id"], c["status"]) for c in decision["criteria"]]
    assert len(dict(statuses)) == len(statuses), "a criterion shown twice"
    assert {status for _, status in statuses} <= {"met", "not-met", "unknown"}
    # Exactly the criteria the example is about are not met (unknown); every other one shown is met.
    for status in ("not-met", "unknown"):
        assert sorted(i for i, s in statuses if s == status) == expected["criteria"][status], status
    if expected["decision"] == "information-needed":
        assert decision["missing"], "information-needed must say what to document"
    else:
        assert decision["missing"] == []
    if expected["decision"] == "criteria-not-met":
        assert card.get("overrideReasons")
    questionnaire = (expected["coverage_information"] or {}).get("questionnaire")
    if questionnaire:
        assert questionnaire in [link["url"] for link in card.get("links", [])]
    # What the EHR did not send is said as such, never as documentation the chart lacks.
    assert decision["not-received"] == expected["not_received"]


# The coded sub-extensions of the coverage information (service-contract.md §Response item 2).
_CODES = ("covered", "pa-needed", "doc-needed", "doc-purpose", "info-needed")


def _check_coverage_information(expected: dict[str, Any], card: dict[str, Any], actions: list[dict[str, Any]],
                                body: dict[str, Any], order: dict[str, Any]) -> None:
    wanted = expected["coverage_information"]
    if wanted is None:  # order-select: cards only
        assert actions == []
        return
    [action] = actions
    assert action["type"] == "update"
    resource = action["resource"]
    coverage = _sub_extensions(resource)
    assert check_crd_invariants(coverage["extension"]) == []
    values = coverage["values"]
    # The order as received, unchanged but for the added extension.
    others = [e for e in resource.get("extension", []) if e is not coverage["extension"]]
    assert {k: v for k, v in resource.items() if k != "extension"} | ({"extension": others} if others else {}) \
        == order
    [covered] = [e["resource"] for e in body["prefetch"]["coverage"]["entry"]]
    assert values["coverage"] == {"reference": f"Coverage/{covered['id']}"}
    for url in _CODES:
        assert values.get(url) == wanted[url], url
    assert values.get("expiry-date") == wanted["expiry-date"]
    if expected["authorization"] is not None and wanted["expiry-date"] is not None:
        assert values["expiry-date"] == expected["authorization"]["end"]
    assert values.get("questionnaire") == wanted["questionnaire"]
    assert ("satisfied-pa-id" in values) == wanted["satisfied-pa-id"]
    if wanted["satisfied-pa-id"]:
        assert values["satisfied-pa-id"]
    assert {k: values["billingCode"][k] for k in ("system", "code")} == wanted["billingCode"]
    assert values["coverage-assertion-id"]
    assert date.fromisoformat(values["date"]) - date.today() in (timedelta(0), timedelta(days=-1))
    _check_reason(expected, wanted["reason"], values.get("reason"), card)
    present = {"coverage", "billingCode", "date", "coverage-assertion-id"} | {
        url for url, value in wanted.items() if value not in (None, False) and url != "billingCode"}
    # CRD 2.2 details (their parts checked by the invariants): what an info-needed of OTH needs, and the cycles a
    # satisfied authorization covers when the plan counts them.
    cycles = wanted["satisfied-pa-id"] and (expected["authorization"] or {}).get("cycles")
    assert set(values) == present | ({"detail"} if wanted["info-needed"] == "OTH" or cycles else set())


def _check_reason(expected: dict[str, Any], wanted: str | None, reason: dict[str, Any] | None,
                  card: dict[str, Any]) -> None:
    if wanted is None:
        assert reason is None
        return
    assert reason is not None and reason.get("text")
    codes = [c["code"] for c in reason.get("coding", [])]
    assert codes == (["technical"] if wanted == "technical" else [])
    decision = card["extension"]["coverage-decision"]
    # The reason names what it is about: what was found for the criteria not met (their evidence notes), what to
    # document, what the EHR did not send.
    if wanted == "technical":
        named = expected["not_received"]
    elif expected["decision"] == "criteria-not-met":
        named = [c["note"] for c in decision["criteria"] if c["status"] == "not-met"]
    else:
        named = decision["missing"]
    # A note's closing verdict that its finding says already ("...: above 28 mcg/day") is said once, by the finding.
    assert named and all(item and any(said and said in reason["text"] for said in (item, item.rpartition(": ")[0]))
                         for item in named), (named, reason["text"])


def _check_dose_card(expected: dict[str, Any], dose: dict[str, Any], card: dict[str, Any],
                     order: dict[str, Any]) -> None:
    assert card["indicator"] == ("info" if dose["kind"] in ("below", "unreadable") else "warning")
    assert card["extension"]["davinci-crd.associated-resource"] == [{"reference": f"MedicationRequest/{order['id']}"}]
    if expected["source_label"] is not None:
        assert card["source"]["label"] == expected["source_label"]
    check = card["extension"].get("dose-check")
    if dose["kind"] == "above-plan-limit":
        assert check is None
    else:
        assert check is not None
        first = {"ordered": dose["ordered"], "expected": dose["expected"], "days": dose["days"]}
        assert {k: check[k] for k in first} == first
        assert {k: check["findings"][0][k] for k in first} == first
    if dose["suggestion"] is None:
        assert not card.get("suggestions")
        return
    assert card["selectionBehavior"] == "at-most-one"
    [suggestion] = card["suggestions"]
    assert suggestion["isRecommended"] is True
    [action] = suggestion["actions"]
    assert action["type"] == "update"
    corrected = action["resource"]
    # The whole order with the corrected dose, and no coverage information (the next order-sign gives a fresh one).
    assert {k: v for k, v in corrected.items() if k != "dosageInstruction"} == \
        {k: v for k, v in order.items() if k != "dosageInstruction"}
    lines = [[line["doseAndRate"][0]["rateQuantity"]["value"], line["timing"]["repeat"]["boundsPeriod"]["start"],
              line["timing"]["repeat"]["boundsPeriod"]["end"]] for line in corrected["dosageInstruction"]]
    assert lines == dose["suggestion"]
    # In mcg/day, as the expected lines are: an order written per m² too, for a patient from 45 kg.
    assert {line["doseAndRate"][0]["rateQuantity"]["code"] for line in corrected["dosageInstruction"]} == {"ug/d"}


def _check_quantity_card(expected: dict[str, Any], card: dict[str, Any], order: dict[str, Any]) -> None:
    wanted = expected["quantity_card"]
    assert card["indicator"] == wanted["indicator"]
    assert card["source"]["label"] == expected["source_label"]
    assert card["extension"]["davinci-crd.associated-resource"] == [{"reference": f"MedicationRequest/{order['id']}"}]
    assert card["selectionBehavior"] == "at-most-one"
    [suggestion] = card["suggestions"]
    [action] = suggestion["actions"]
    corrected = action["resource"]
    quantity = corrected["dispenseRequest"]["quantity"]
    assert {"value": quantity["value"], "code": quantity["code"]} == wanted["suggested"]
    # The whole order, only its quantity changed.
    unchanged = json.loads(json.dumps(corrected))
    unchanged["dispenseRequest"]["quantity"]["value"] = order["dispenseRequest"]["quantity"]["value"]
    assert unchanged == order
