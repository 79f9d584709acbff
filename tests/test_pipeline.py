"""The pipeline's own rules: card configuration (Da Vinci CRD), order-select, several orders, faults."""
from __future__ import annotations

import copy
import cProfile
import json
import logging
import pstats
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

import pytest

from cds_service.card_kinds import kind_of
from cds_service import order_validation, pipeline, prefetch
from cds_service.card_config import DEFAULT_MAX_CARDS, CardConfig
from cds_service.log_format import WithheldMessage
from cds_service.order_validation import MAX_ORDERS
from tests.fhir_server import FhirTestServer, fhir_server  # noqa: F401 (the fixture)

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
URL = "/cds-services/blinatumomab-coverage"
CRD_COVERAGE = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def post(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(URL, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def topics(answer: dict[str, Any]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in answer["cards"]]


def with_configuration(body: dict[str, Any], **settings: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    changed["extension"] = {"davinci-crd.configuration": settings}
    return changed


def covered_value(action: dict[str, Any]) -> str:
    [info] = [e for e in action["resource"]["extension"] if e["url"] == CRD_COVERAGE]
    return next(s["valueCode"] for s in info["extension"] if s["url"] == "covered")


def test_card_config_reads_settings_and_ignores_unknown_ones() -> None:
    config = CardConfig.from_request({"coverage-info": False, "max-cards": 1, "colour": "blue",
                                      "unsolicited-determ": False})
    assert not config.wants("coverage-info") and config.wants("off-guideline")
    assert config.max_cards == 1 and config.unsolicited_determ is False
    assert CardConfig.from_request({"max-cards": "two"}).max_cards == DEFAULT_MAX_CARDS


def test_coverage_info_false_drops_decision_cards_and_actions(client: Any) -> None:
    body = with_configuration(example("aspirus-relapsed-refractory-single-line-dose-too-high"),
                              **{"coverage-info": False})
    answer = post(client, body)
    assert answer["systemActions"] == []
    assert topics(answer) == ["off-guideline"]


@pytest.mark.parametrize(("settings", "dose_card"), [
    ({"off-guideline": False}, False),
    ({"off-label": False}, False),  # the option's former name, still honoured (deprecated)
    ({"off-label": False, "off-guideline": True}, True),  # the current name wins
    ({"off-label": "no"}, True),  # of the wrong type: ignored like any setting
])
def test_off_guideline_false_drops_dose_cards(client: Any, settings: dict[str, Any], dose_card: bool) -> None:
    body = with_configuration(example("aspirus-relapsed-refractory-single-line-dose-too-high"), **settings)
    assert ("off-guideline" in topics(post(client, body))) is dose_card


def test_max_cards_keeps_the_decision_card_first(client: Any) -> None:
    body = with_configuration(example("aspirus-relapsed-refractory-single-line-dose-too-high"), **{"max-cards": 1})
    answer = post(client, body)
    assert topics(answer) == ["coverage-info"]
    assert len(answer["systemActions"]) == 1


def test_max_cards_keeps_a_dose_warning_before_the_no_plan_note(client: Any) -> None:
    body = with_configuration(example("no-coverage-dose-check-only"), **{"max-cards": 1})
    [card] = post(client, body)["cards"]
    assert (card["indicator"], card["source"]["topic"]["code"]) == ("warning", "off-guideline")


def test_each_blinatumomab_order_gets_its_own_decision(client: Any) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    [entry] = body["context"]["draftOrders"]["entry"]
    step, full = copy.deepcopy(entry), copy.deepcopy(entry)
    step["resource"]["id"], full["resource"]["id"] = "step-order", "full-order"
    step["resource"]["dosageInstruction"] = entry["resource"]["dosageInstruction"][:1]
    full["resource"]["dosageInstruction"] = entry["resource"]["dosageInstruction"][1:]
    for part in (step, full):
        part["resource"]["dispenseRequest"]["quantity"]["value"] = 14
    body["context"]["draftOrders"]["entry"] = [step, full]
    answer = post(client, body)
    decisions = [c["extension"]["coverage-decision"] for c in answer["cards"] if c["source"]["topic"]["code"]
                 == "coverage-info"]
    assert [d["decision"] for d in decisions] == ["meets-criteria", "meets-criteria"]
    resources = [a["resource"]["id"] for a in answer["systemActions"]]
    assert resources == ["step-order", "full-order"]
    # Their cards say which order each answers, as the prescriber wrote it (CRD 2.2 dev-24; conformance review C1).
    details = [c["detail"] for c in answer["cards"] if c["source"]["topic"]["code"] == "coverage-info"]
    assert "Order: 9 mcg/day continuous IV infusion — starts 2026-12-01 (MedicationRequest/step-order)\n" in details[0]
    assert "Order: 28 mcg/day continuous IV infusion — starts 2026-12-08 (MedicationRequest/full-order)\n" in details[1]


def test_order_select_answers_only_the_selected_orders(client: Any) -> None:
    body = example("order-select-aspirus")
    other = copy.deepcopy(body["context"]["draftOrders"]["entry"][0])
    other["resource"]["id"] = "not-selected"
    body["context"]["draftOrders"]["entry"].append(other)
    answer = post(client, body)
    assert answer["systemActions"] == []
    refs = [c["extension"]["davinci-crd.associated-resource"][0]["reference"] for c in answer["cards"]
            if "coverage-decision" in c.get("extension", {})]
    assert refs == [body["context"]["selections"][0]]


def test_order_select_does_not_need_an_id_on_an_order_it_does_not_answer(client: Any) -> None:
    """An unselected draft gets no answer, so nothing has to name it: it was a 400 "has no id"."""
    body = example("order-select-aspirus")
    unselected = copy.deepcopy(body["context"]["draftOrders"]["entry"][0])
    del unselected["resource"]["id"]
    body["context"]["draftOrders"]["entry"].append(unselected)
    answer = post(client, body)
    refs = [c["extension"]["davinci-crd.associated-resource"][0]["reference"] for c in answer["cards"]
            if "coverage-decision" in c.get("extension", {})]
    assert refs == body["context"]["selections"]


@pytest.mark.parametrize("name", ["aspirus-adult-relapsed-refractory-cycle1", "order-select-aspirus"])
def test_two_blinatumomab_orders_with_one_id_are_a_400_naming_the_second(client: Any, name: str) -> None:
    """Answered as two orders, they got two cards and a dose summed as "this order and order <its own id>"; the
    coverage-information updates could not say which order each one is for."""
    body = example(name)
    entries = body["context"]["draftOrders"]["entry"]
    entries.insert(0, {"fullUrl": "urn:uuid:an-entry-without-a-resource"})  # counted in the positions named
    entries.append(copy.deepcopy(entries[1]))
    response = client.post(URL, json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    [issue] = response.get_json()["issue"]
    assert issue["expression"] == ["context.draftOrders.entry[2].resource.id"]
    assert "entry[1] and entry[2] have the same id" in issue["diagnostics"]


@pytest.mark.parametrize("broken_step", ["evaluate_policy", "quantity_card"])  # the quantity card is built last
def test_a_fault_in_evaluation_answers_indeterminate(client: Any, monkeypatch: pytest.MonkeyPatch,
                                                    broken_step: str) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(pipeline, broken_step, broken)
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    answer = post(client, body)
    [action] = answer["systemActions"]
    assert covered_value(action) == "indeterminate"
    assert_fault_card(answer, body["hookInstance"])


def assert_fault_card(answer: dict[str, Any], hook_instance: str) -> None:
    """Silence would read as "no problem": one info card says nothing was decided and the dose was not checked."""
    [card] = answer["cards"]
    assert card["indicator"] == "info" and "not checked" in card["summary"] and "not a denial" in card["summary"]
    assert f"hookInstance {hook_instance}" in card["detail"]


def test_a_fault_reading_facts_answers_indeterminate(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(pipeline, "extract_facts", broken)
    body = example("florida-blue-mrd-positive")
    answer = post(client, body)
    assert_fault_card(answer, body["hookInstance"])
    assert [covered_value(a) for a in answer["systemActions"]] == ["indeterminate"]


def test_a_fault_reading_facts_names_the_coverage_in_force_at_the_orders_start(
        client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(pipeline, "extract_facts", broken)
    body = example("florida-blue-mrd-positive")  # the order starts 2026-12-01
    body["prefetch"]["coverage"]["entry"][0]["resource"]["period"] = {"start": "2026-12-01", "end": "2026-12-31"}
    answer = post(client, body)
    assert [covered_value(a) for a in answer["systemActions"]] == ["indeterminate"]


def _clinical_content(body: dict[str, Any]) -> list[str]:
    """What the request says about the patient: birth date and name, diagnoses, results, doses, drugs."""
    prefetch = body["prefetch"]
    patient = prefetch["patient"]
    found = [patient["birthDate"], *(n["family"] for n in patient.get("name", []))]
    for entry in prefetch["conditions"]["entry"]:
        code = entry["resource"]["code"]
        found += [code["text"], *(c["code"] for c in code["coding"]), *(c["display"] for c in code["coding"])]
    for entry in prefetch["observations"]["entry"]:
        resource = entry["resource"]
        found.append(resource["code"]["text"])
        if "valueQuantity" in resource:
            found.append(f"{resource['valueQuantity']['value']} {resource['valueQuantity']['unit']}")
    for entry in body["context"]["draftOrders"]["entry"]:
        order = entry["resource"]
        found += [order["medicationCodeableConcept"]["text"], *(line["text"] for line in order["dosageInstruction"])]
    return found


@pytest.mark.parametrize(("broken_step", "name"), [("evaluate_policy", "aspirus-adult-relapsed-refractory-cycle1"),
                                                   ("extract_facts", "florida-blue-mrd-positive")])
def test_a_fault_is_logged_with_the_hook_instance_and_no_clinical_content(
        client: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, broken_step: str,
        name: str) -> None:
    """service-contract.md: a fault inside evaluation is logged with the hookInstance (what an operator looks the
    call up by) and its frames; the log is no place for the patient's record, which a fault's message can quote."""
    body = example(name)
    clinical = _clinical_content(body)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise KeyError("dose") from ValueError(f"cannot read {clinical[0]!r}")

    monkeypatch.setattr(pipeline, broken_step, broken)
    with caplog.at_level(logging.INFO, logger="cds_service"):
        post(client, body)
    faults = [r for r in caplog.records if r.exc_info and r.exc_info[0] is WithheldMessage]
    assert faults and all(body["hookInstance"] in r.getMessage() for r in faults)
    assert "KeyError from ValueError (message not logged" in caplog.text and "in broken" in caplog.text
    assert len(clinical) > 5 and [c for c in clinical if c in caplog.text] == []


def audited(client: Any, hook_instance: str) -> Any:
    store = client.application.extensions["cds_service"].store
    store.flush()
    [detail] = store.show(hook_instance)
    return detail.record


def test_a_fault_fetching_the_record_answers_indeterminate_and_is_audited(
        client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault outside the per-order steps was answered {"cards": [], "systemActions": []}, which the EHR reads as
    nothing to say, with no trace in the audit trail (CDS_FETCH_BUDGET_SECONDS=inf overflowed a thread wait)."""
    def broken(*args: Any) -> None:
        raise OverflowError("timestamp out of range for platform time_t")

    monkeypatch.setattr(prefetch, "_fetch_all", broken)
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    del body["prefetch"]["conditions"]
    body["fhirServer"] = "http://127.0.0.1:9/fhir"
    answer = post(client, body)
    assert_fault_card(answer, body["hookInstance"])
    [action] = answer["systemActions"]  # the Coverage is the prefetch's: nothing more is fetched
    assert covered_value(action) == "indeterminate"
    assert action["resource"]["id"] == body["context"]["draftOrders"]["entry"][0]["resource"]["id"]
    record = audited(client, body["hookInstance"])
    assert (record.status, record.reason) == (200, "evaluation failed (OverflowError): answered as a fault")
    [outcome] = record.outcomes
    assert (outcome.decision, outcome.covered) == ("evaluation-failed", "indeterminate")


def test_a_fault_after_the_record_was_fetched_names_the_fetched_coverage(
        client: Any, monkeypatch: pytest.MonkeyPatch, fhir_server: FhirTestServer) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(pipeline, "reconcile_corrections", broken)
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    fhir_server.add(*(entry["resource"] for entry in body["prefetch"].pop("coverage")["entry"]))
    body["fhirServer"] = fhir_server.base_url
    answer = post(client, body)
    assert_fault_card(answer, body["hookInstance"])
    [action] = answer["systemActions"]
    assert covered_value(action) == "indeterminate"
    assert fhir_server.paths() == ["/Coverage"]  # read once: the fault's answer used the record already built


def test_a_fault_answers_an_order_known_by_its_medication_on_the_server(
        client: Any, monkeypatch: pytest.MonkeyPatch, fhir_server: FhirTestServer) -> None:
    """Epic names the drug by a reference to a Medication on its server: the record read it, the fault's answer too."""
    def broken(*args: Any) -> None:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(pipeline, "reconcile_corrections", broken)
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    fhir_server.add({"resourceType": "Medication", "id": "e1", "code": order.pop("medicationCodeableConcept")})
    order["medicationReference"] = {"reference": "Medication/e1"}
    body["fhirServer"] = fhir_server.base_url
    answer = post(client, body)
    assert_fault_card(answer, body["hookInstance"])
    assert [covered_value(a) for a in answer["systemActions"]] == ["indeterminate"]
    assert fhir_server.paths() == ["/Medication/e1"]


def test_an_answer_that_cannot_be_serialized_is_answered_as_a_fault(
        client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def unserializable(cards: list[dict[str, Any]]) -> None:
        cards[0]["extension"]["not-json"] = {1j}

    monkeypatch.setattr(pipeline, "reconcile_corrections", unserializable)
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    answer = post(client, body)
    assert_fault_card(answer, body["hookInstance"])
    assert [covered_value(a) for a in answer["systemActions"]] == ["indeterminate"]
    assert audited(client, body["hookInstance"]).reason == "evaluation failed (TypeError): answered as a fault"


def test_a_fault_on_order_select_answers_the_selected_orders_with_the_fault_card_only(
        client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(pipeline, "reconcile_corrections", broken)
    body = example("order-select-aspirus")
    other = copy.deepcopy(body["context"]["draftOrders"]["entry"][0])
    other["resource"]["id"] = "not-selected"
    body["context"]["draftOrders"]["entry"].append(other)
    answer = post(client, body)
    assert_fault_card(answer, body["hookInstance"])
    assert answer["systemActions"] == []
    assert answer["cards"][0]["extension"]["davinci-crd.associated-resource"] == [
        {"reference": body["context"]["selections"][0]}]


def test_invalid_blinatumomab_order_is_a_400_naming_the_field(client: Any) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    body["context"]["draftOrders"]["entry"][0]["resource"]["status"] = 42
    response = client.post(URL, json=body)
    assert response.status_code == 400
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "draftOrders" in json.dumps(outcome)


def test_a_contained_resource_of_an_unknown_type_is_a_400_not_a_silent_fault(client: Any) -> None:
    """fhir_core raised a KeyError for it: the call was answered as the service's own fault, with no cards."""
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    body["context"]["draftOrders"]["entry"][0]["resource"]["contained"] = [{"resourceType": "Nope", "id": "x"}]
    response = client.post(URL, json=body)
    assert response.status_code == 400
    [issue] = response.get_json()["issue"]
    assert issue["expression"] == ["context.draftOrders.entry[0].resource.contained"]
    assert "unknown resourceType" in issue["diagnostics"]


@pytest.mark.parametrize(("element", "value", "diagnostics"), [
    ("status", "bogus", 'status "bogus" is not a MedicationRequest status code'),
    ("intent", "wish", 'intent "wish" is not a MedicationRequest intent code'),
    ("id", None, "has no id"),
])
def test_a_blinatumomab_order_with_a_code_outside_its_binding_or_no_id_is_a_400(
        client: Any, element: str, value: str | None, diagnostics: str) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    if value is None:
        del order[element]
    else:
        order[element] = value
    response = client.post(URL, json=body)
    assert response.status_code == 400
    [issue] = response.get_json()["issue"]
    assert diagnostics in issue["diagnostics"]
    assert issue["expression"] == [f"context.draftOrders.entry[0].resource.{element}"]


@pytest.mark.parametrize(("path", "value", "said"), [
    # fhir.resources takes each of these (a number as a Unix time, text for a number); FHIR JSON does not.
    ("authoredOn", 1.5, "is a number, not a date"),
    ("dosageInstruction[0].timing.repeat.boundsPeriod.start", 123, "is a number, not a date"),
    ("dispenseRequest.quantity.value", "28", "is text, not a number"),
    ("dosageInstruction[0].sequence", "1", "is text, not a whole number"),
    # fhir.resources' own words quoted Python: a pydantic "root", "<class 'list'>", its module over three lines, and
    # "Invalid JSON" for text, which it parses as JSON.
    ("dispenseRequest.quantity", [], "is a list, not an object"),
    ("dispenseRequest.quantity", "x", "is text, not an object"),
    ("dispenseRequest.quantity", {"resourceType": "Bundle"}, "has an element Quantity does not define: resourceType"),
    ("dispenseRequest", {"resourceType": "Bundle"}, "has an element FHIR does not define there: resourceType"),
    ("dosageInstruction[0].timing", True, "is true or false, not an object"),
    ("dosageInstruction[0].doseAndRate", "x", "is text, not a list"),
    ("dosageInstruction[0].doseAndRate", [None], "holds a null item"),
    ("medicationCodeableConcept.coding[0].code", ["x"], "is a list, not text"),
    ("dosageInstruction[0].sequence", 1.5, "is a number, not a whole number"),
    ("authoredOn", "2026-13-45", "is not a valid FHIR dateTime"),
    # pydantic quoted the pattern ("String should match pattern '^[^\\s]+(\\s[^\\s]+)*$'").
    ("intent", " order", "is not a valid FHIR code: no space at either end, none doubled"),
    ("id", "order 1", "is not a valid FHIR id: letters, digits, '-' and '.' only"),
    ("dosageInstruction[0].text", "", "is an empty string: FHIR leaves an element out rather than empty"),
    # Not empty: FHIR's string pattern fails whitespace other than space, tab and line breaks alone too.
    ("dosageInstruction[0].text", "\u00a0",
     "holds no text, only whitespace such as a no-break space: FHIR leaves an element out rather than blank"),
    ("dosageInstruction[0].sequence", 2**31, "is invalid: Input should be less than or equal to 2147483647"),
])
def test_a_blinatumomab_order_with_a_wrong_element_is_a_400_saying_so_in_plain_words(
        client: Any, path: str, value: Any, said: str) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    target = body["context"]["draftOrders"]["entry"][0]["resource"]
    *steps, last = re.findall(r"\w+|\d+", path)
    for step in steps:
        target = target[int(step) if step.isdigit() else step]
    target[last] = value
    response = client.post(URL, json=body)
    assert response.status_code == 400
    [issue] = response.get_json()["issue"]
    assert issue["diagnostics"] == f"Blinatumomab order is not a valid MedicationRequest: {path} {said}"
    assert issue["expression"] == [f"context.draftOrders.entry[0].resource.{path}"]


@pytest.mark.parametrize("junk", ["x", {"resource": None}, {"resource": {"resourceType": "MedicationRequest "}}])
def test_a_medication_history_with_an_entry_that_is_no_resource_decides_nothing(client: Any, junk: Any) -> None:
    """The tenth cycle is refused on the history as sent; with one of its earlier cycles unreadable, it had been
    approved as the ninth."""
    body = example("aspirus-relapsed-refractory-cycle10-exceeds-limit")
    body["prefetch"]["medicationRequests"]["entry"][4] = junk
    [decision] = [c["extension"]["coverage-decision"] for c in post(client, body)["cards"]
                  if "coverage-decision" in c.get("extension", {})]
    assert decision["decision"] not in ("meets-criteria", "criteria-not-met")


def with_unknown_elements(body: dict[str, Any]) -> dict[str, Any]:
    """An R5 element on the order and a vendor's key inside its first dosage line: neither is R4."""
    changed = copy.deepcopy(body)
    order = changed["context"]["draftOrders"]["entry"][0]["resource"]
    order["renderedDosageInstruction"] = "28 mcg/day continuous IV infusion"
    order["dosageInstruction"][0]["vendorPumpProgram"] = {"id": "p-7"}
    return changed


def decisions(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [c["extension"]["coverage-decision"] for c in answer["cards"]
            if "coverage-decision" in c.get("extension", {})]


def test_unknown_elements_of_the_order_are_ignored_and_returned_as_received(client: Any) -> None:
    """CRD 2.2.1: clients and servers SHALL ignore unexpected elements; the order comes back unchanged."""
    body = example("aspirus-relapsed-refractory-single-line-dose-too-high")
    answer, usual = post(client, with_unknown_elements(body)), post(client, body)
    assert decisions(answer) == decisions(usual) and topics(answer) == topics(usual)
    [dose] = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    [action] = answer["systemActions"]
    for resource in (action["resource"], dose["suggestions"][0]["actions"][0]["resource"]):
        assert resource["renderedDosageInstruction"] == "28 mcg/day continuous IV infusion"
        assert resource["dosageInstruction"][0]["vendorPumpProgram"] == {"id": "p-7"}


@pytest.mark.parametrize(("change", "expression", "diagnostics"), [
    (lambda order: order.update(status=42), "status", "status is a number, not text"),
    # Both medication[x]: the check an unknown key would have kept from running still runs.
    (lambda order: order.update(medicationReference={"reference": "Medication/m"}), "", "got multiple"),
    # List positions in brackets: the expression is FHIRPath, not "dosageInstruction.0.doseAndRate.0...".
    (lambda order: order["dosageInstruction"][0].update(doseAndRate=[{"rateQuantity": {"value": "fast"}}]),
     "dosageInstruction[0].doseAndRate[0].rateQuantity.value", "rateQuantity.value is not a valid FHIR decimal"),
], ids=["wrong-type", "two-medications", "nested-in-lists"])
def test_unknown_elements_do_not_hide_a_real_error(
        client: Any, change: Callable[[dict[str, Any]], None], expression: str, diagnostics: str) -> None:
    body = with_unknown_elements(example("aspirus-adult-relapsed-refractory-cycle1"))
    change(body["context"]["draftOrders"]["entry"][0]["resource"])
    response = client.post(URL, json=body)
    assert response.status_code == 400
    [issue] = response.get_json()["issue"]
    assert diagnostics in issue["diagnostics"] and "Extra inputs" not in issue["diagnostics"]
    assert issue["expression"] == ["context.draftOrders.entry[0].resource" + (f".{expression}" if expression else "")]


def test_an_invalid_order_that_is_not_blinatumomab_is_not_validated(client: Any) -> None:
    body = example("not-blinatumomab-order")
    body["context"]["draftOrders"]["entry"][0]["resource"]["status"] = 42
    assert post(client, body) == {"cards": [], "systemActions": []}


@pytest.mark.parametrize("name", ["what-if-unsolicited-determ-false", "order-select-aspirus"])
def test_no_approval_is_announced_where_none_is_issued(client: Any, name: str) -> None:
    [card] = [c for c in post(client, example(name))["cards"] if c["source"]["topic"]["code"] == "coverage-info"]
    assert card["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    assert "approved" not in card["summary"] and "no authorization issued yet" in card["summary"]


def test_an_order_sign_approval_names_its_end_date(client: Any) -> None:
    [card] = [c for c in post(client, example("aspirus-adult-maintenance"))["cards"]
              if c["source"]["topic"]["code"] == "coverage-info"]
    assert card["summary"].endswith("approved to " + card["extension"]["coverage-decision"]["authorization"]["end"])


def test_a_medication_signed_in_the_same_bundle_identifies_the_order(client: Any) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    medication = {"resourceType": "Medication", "id": "blincyto-vial", "code": order.pop("medicationCodeableConcept")}
    order["medicationReference"] = {"reference": "Medication/blincyto-vial"}
    body["context"]["draftOrders"]["entry"].append({"fullUrl": "urn:uuid:blincyto-vial", "resource": medication})
    [decision] = [c["extension"]["coverage-decision"] for c in post(client, body)["cards"]
                  if "coverage-decision" in c.get("extension", {})]
    assert decision["decision"] == "meets-criteria"


def test_without_a_reported_indication_the_dose_follows_the_phase(client: Any) -> None:
    """policy-rules.md §5: no matched indication (the age is unknown) → the relapsed/refractory cycle 1 step dose, so
    28 mcg/day on days 1-7 is still a warning with a correction, as it is when no plan is recognized. Every
    pathway's dose criterion reads that schedule too (a relapsed/refractory course takes the step dose whatever the
    indication), so no pathway covers the order as written: not covered as ordered, not a question about the age."""
    body = example("aspirus-relapsed-refractory-single-line-dose-too-high")
    del body["prefetch"]["patient"]["birthDate"]
    answer = post(client, body)
    [decision] = [c["extension"]["coverage-decision"] for c in answer["cards"]
                  if "coverage-decision" in c.get("extension", {})]
    assert decision["decision"] == "criteria-not-met" and decision.get("indication") is None
    [dose] = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert dose["indicator"] == "warning" and dose["suggestions"]


@pytest.mark.parametrize("name", ["aspirus-adult-relapsed-refractory-cycle1",
                                  "florida-blue-relapsed-refractory-ph-negative"])
def test_a_problem_list_without_all_asks_for_the_diagnosis_instead_of_denying(client: Any, name: str) -> None:
    body = example(name)
    body["prefetch"]["conditions"] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    [decision] = [c["extension"]["coverage-decision"] for c in post(client, body)["cards"]
                  if "coverage-decision" in c.get("extension", {})]
    assert decision["decision"] == "information-needed"
    assert any("ALL diagnosis" in item for item in decision["missing"])


def test_a_child_in_relapse_is_not_in_first_or_second_remission(client: Any) -> None:
    """Aspirus III pediatric MRD+: the child must be in CR1/CR2; in relapse the relapsed/refractory pathway applies."""
    body = example("aspirus-pediatric-mrd-positive")
    [entry] = body["prefetch"]["conditions"]["entry"]
    entry["resource"]["code"]["coding"][0].update(code="C91.02", display="ALL in relapse")
    entry["resource"]["clinicalStatus"]["coding"][0]["code"] = "relapse"
    [decision] = [c["extension"]["coverage-decision"] for c in post(client, body)["cards"]
                  if "coverage-decision" in c.get("extension", {})]
    assert decision["indication"] == "pediatric-relapsed-refractory"


def test_a_remission_attested_against_a_relapse_record_is_dosed_as_relapsed_on_both_cards(client: Any) -> None:
    """A child charted in relapse whose prescriber attests a second remission: the pediatric MRD+ pathway had approved
    14 mcg/day from day 1 (its dose criterion read the MRD+ schedule) while the dose card, reading the relapse, asked
    for the step dose. Both now read the step dose (the remission criterion names the record it contradicts:
    test_facts_diagnosis)."""
    body = example("aspirus-pediatric-mrd-positive")
    [entry] = body["prefetch"]["conditions"]["entry"]
    entry["resource"]["code"]["coding"][0].update(code="C91.02", display="ALL in relapse")
    entry["resource"]["clinicalStatus"]["coding"][0]["code"] = "relapse"
    body["prefetch"]["attestations"]["entry"] = [{"resource": {
        "resourceType": "QuestionnaireResponse", "id": "qr-1", "status": "completed", "authored": "2026-11-25",
        "subject": {"reference": f"Patient/{body['context']['patientId']}"},
        "item": [{"linkId": "remission-number", "answer": [{"valueInteger": 2}]}]}}]
    answer = post(client, body)
    [card] = [c for c in answer["cards"] if "coverage-decision" in c.get("extension", {})]
    decision = card["extension"]["coverage-decision"]
    assert decision["decision"] == "criteria-not-met" and card["summary"].endswith(
        "except dose above label on days 1–7")
    [mrd_positive] = [line for line in card["detail"].splitlines() if line.startswith("- pediatric MRD-positive ALL")]
    assert "a relapsed/refractory course takes the step dose (evidence: MedicationRequest/" in mrd_positive
    [dose] = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert "(relapsed/refractory schedule)" in dose["detail"] and dose["suggestions"]


def test_a_continuation_counted_as_cycle_1_says_the_cycle_number_can_be_attested(client: Any) -> None:
    """Florida Blue continuation attested, a relapse on record, no earlier blinatumomab order: the step dose of a first
    cycle is asked for, and the card says why and how to answer otherwise (clinical review)."""
    body = example("florida-blue-continuation")
    [entry] = body["prefetch"]["conditions"]["entry"]
    entry["resource"]["code"]["coding"][0].update(code="C91.02", display="ALL in relapse")
    entry["resource"]["clinicalStatus"]["coding"][0]["code"] = "relapse"
    entry["resource"]["recordedDate"] = "2026-06-10"
    [dose] = [c for c in post(client, body)["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert "days 1–7 of cycle 1" in dose["summary"]
    assert ("Cycle 1 as the record counts it (cycle 1 of the course that started 2026-12-01), though an earlier "
            "authorization is attested") in dose["detail"]
    first_cycle = post(client, example("aspirus-relapsed-refractory-single-line-dose-too-high"))
    [plain] = [c for c in first_cycle["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert "as the record counts it" not in plain["detail"]  # no earlier authorization: a first cycle, said nothing


@pytest.mark.parametrize("timing", [None, {"repeat": None}])
def test_a_null_timing_still_gets_its_dose_correction(client: Any, timing: Any) -> None:
    """JSON nulls pass the MedicationRequest validation; the correction must write around them, not fault."""
    body = example("aspirus-relapsed-refractory-single-line-dose-too-high")
    body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]["timing"] = timing
    answer = post(client, body)
    assert "coverage-info" in topics(answer)
    [dose] = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert dose["suggestions"][0]["actions"][0]["type"] == "update"


def test_coverage_not_received_is_said_on_the_no_plan_card(client: Any) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    del body["prefetch"]["coverage"]
    body.pop("fhirServer", None)
    body.pop("fhirAuthorization", None)
    answer = post(client, body)
    [card] = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "coverage-info"]
    assert card["summary"].startswith("Coverage data not received") and answer["systemActions"] == []


@pytest.mark.parametrize(("payor", "summary"), [
    ({"reference": "Organization/payer-1"}, "Payer data not received"),  # not included, no server to read it from
    ({"reference": "Organization/payer-1", "display": "Acme Health"}, "Payer data not received"),
    ({"display": "Acme Health"}, "No supported health plan found"),
])
def test_a_payer_organization_that_was_not_received_is_said_on_the_no_plan_card(
        client: Any, payor: dict[str, Any], summary: str) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    body["prefetch"]["coverage"]["entry"][0]["resource"]["payor"] = [payor]
    body.pop("fhirServer", None)
    body.pop("fhirAuthorization", None)
    answer = post(client, body)
    [card] = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "coverage-info"]
    assert card["summary"].startswith(summary)


@pytest.mark.parametrize(("period", "summary", "said"), [
    ({"start": "2026-01-01", "end": "2026-11-30"},
     "Florida Blue coverage ends 2026-11-30, before this order starts (2026-12-01): coverage not checked",
     "(Coverage/coverage-1, 2026-01-01 to 2026-11-30) ends before this order starts on 2026-12-01"),
    ({"start": "2027-01-01"},
     "Florida Blue coverage starts 2027-01-01, after this order starts (2026-12-01): coverage not checked",
     "(Coverage/coverage-1, from 2027-01-01) starts after this order starts on 2026-12-01"),
], ids=["ended", "not-yet"])
def test_a_supported_plan_out_of_force_at_the_order_start_is_named_on_the_no_plan_card(
        client: Any, period: dict[str, str], summary: str, said: str) -> None:
    """The clinicians' review (case 54): a Florida Blue Coverage ending the day before the order's start read "No
    supported health plan found". No plan decides (fhir-data-profile.md §Coverage and payer: the Coverages in force),
    so no coverage information is sent (service-contract.md, Response), but the card names the Coverage and its
    period, and says what to check."""
    body = example("florida-blue-relapsed-refractory-ph-negative")  # the order starts 2026-12-01
    [entry] = body["prefetch"]["coverage"]["entry"]
    entry["resource"] |= {"id": "coverage-1", "period": period}
    answer = post(client, body)
    [card] = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "coverage-info"]
    assert (card["summary"], card["indicator"]) == (summary, "info") and len(summary) < 140
    detail = " ".join(card["detail"].split())  # as Markdown shows it: its line breaks are spaces
    assert said in detail and "Check the patient's current coverage and eligibility" in detail
    assert answer["systemActions"] == []


@pytest.mark.parametrize(("period", "summary", "said"), [
    ({"start": "2026-01-01", "end": "2026-11-30"},
     "Florida Blue coverage ends 2026-11-30, before this order starts (2026-12-01); plan in force not supported: "
     "coverage not checked",
     "(Coverage/coverage-1, 2026-01-01 to 2026-11-30) ends before this order starts on 2026-12-01, so it is not in "
     "force for this order; the coverage in force on that day (Coverage/acme) is with a plan this service does not "
     "support (Aspirus Health Plan, Florida Blue), and no coverage decision is made"),
    ({"start": "2027-01-01"},
     "Florida Blue coverage starts 2027-01-01, after this order starts (2026-12-01); plan in force not supported: "
     "coverage not checked",
     "(Coverage/coverage-1, from 2027-01-01) starts after this order starts on 2026-12-01, so it is not in force"),
], ids=["ended", "not-yet"])
def test_a_supported_plan_out_of_force_is_named_beside_an_unsupported_plan_in_force(
        client: Any, period: dict[str, str], summary: str, said: str) -> None:
    """The clinical and pharmacy review: with another plan's Coverage in force, a lapsed Florida Blue Coverage was not
    named ("No supported health plan found"). No plan decides still, and no coverage information is sent; the card
    names the lapsed Coverage and the one in force, and the audit trail keeps the lapsed one."""
    body = example("florida-blue-relapsed-refractory-ph-negative")  # the order starts 2026-12-01
    [entry] = body["prefetch"]["coverage"]["entry"]
    entry["resource"] |= {"id": "coverage-1", "period": period}
    acme = copy.deepcopy(entry["resource"]) | {"id": "acme", "payor": [{"display": "Acme Health"}],
                                               "period": {"start": "2026-12-01"}}
    body["prefetch"]["coverage"]["entry"].append({"resource": acme})
    answer = post(client, body)
    [card] = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "coverage-info"]
    assert (card["summary"], card["indicator"]) == (summary, "info") and len(summary) < 140
    detail = " ".join(card["detail"].split())
    assert said in detail and "Check the patient's current coverage and eligibility" in detail
    assert answer["systemActions"] == []
    [outcome] = audited(client, body["hookInstance"]).outcomes
    assert (outcome.no_plan_reason, outcome.coverage_reference) == ("payer-not-supported", "Coverage/coverage-1")


def test_an_unsupported_plan_in_force_alone_is_still_no_supported_plan(client: Any) -> None:
    """Without a supported plan's Coverage out of force, the card is the plain one, as before."""
    body = example("florida-blue-relapsed-refractory-ph-negative")
    [entry] = body["prefetch"]["coverage"]["entry"]
    entry["resource"]["payor"] = [{"display": "Acme Health"}]
    [card] = [c for c in post(client, body)["cards"] if c["source"]["topic"]["code"] == "coverage-info"]
    assert card["summary"] == "No supported health plan found: coverage not checked"


def _with_coverage_period(body: dict[str, Any], period: dict[str, str]) -> dict[str, Any]:
    [entry] = body["prefetch"]["coverage"]["entry"]
    entry["resource"] |= {"id": "coverage-1", "period": period}
    return body


MID_CYCLE = ("Coverage ends mid-cycle: the patient's Florida Blue coverage (Coverage/coverage-1, 2026-01-01 to "
             "{end}) ends before this cycle's last infusion day, 2026-12-28.")


@pytest.mark.parametrize("end", ["2026-12-01", "2026-12-15", "2026-12-27"])
def test_a_coverage_ending_within_the_cycle_is_said_on_the_decision_card(client: Any, end: str) -> None:
    """The clinical and pharmacy review: a Coverage ending after the cycle's start (2026-12-01) and before its last
    infusion day (2026-12-28) gave no word of it. The decision stays the policy's (policy-rules.md: the criteria do
    not read the coverage period), with its coverage information; the summary and the detail say when the coverage
    ends."""
    body = _with_coverage_period(example("florida-blue-relapsed-refractory-ph-negative"),
                                 {"start": "2026-01-01", "end": end})
    answer = post(client, body)
    card = answer["cards"][0]
    decision = card["extension"]["coverage-decision"]
    assert (decision["decision"], decision["authorization"]["end"]) == ("meets-criteria", "2027-06-01")
    assert card["indicator"] == "info" and covered_value(answer["systemActions"][0]) == "covered"
    assert card["summary"] == ("Florida Blue: meets criteria (relapsed/refractory Ph- B-ALL), approved to 2027-06-01; "
                               f"coverage ends {end}, mid-cycle")
    detail = " ".join(card["detail"].replace("*", "").split())
    assert MID_CYCLE.format(end=end) in detail
    assert "check the patient's eligibility and coverage for the rest of the cycle" in detail


@pytest.mark.parametrize("end", ["2026-12-28", "2026-12", "2027-01-31", None])
def test_a_coverage_in_force_to_the_cycles_last_infusion_day_says_nothing_of_its_end(client: Any,
                                                                                     end: str | None) -> None:
    """Ending on the last infusion day, in its month (a partial date is its last day), later, or never."""
    period = {"start": "2026-01-01", **({"end": end} if end else {})}
    card = post(client, _with_coverage_period(example("florida-blue-relapsed-refractory-ph-negative"), period))
    card = card["cards"][0]
    assert card["summary"] == "Florida Blue: meets criteria (relapsed/refractory Ph- B-ALL), approved to 2027-06-01"
    assert "mid-cycle" not in card["detail"]


def test_a_coverage_ending_within_the_cycle_is_said_on_every_card_of_the_cycle_and_not_only_when_met(
        client: Any) -> None:
    """Two orders of one cycle (days 1-7, days 8-28) and a coverage ending on day 10: the first order's own days end
    before it, the cycle's do not. A card that is no approval says it in its detail."""
    body = _with_coverage_period(example("aspirus-adult-relapsed-refractory-cycle1"),
                                 {"start": "2026-01-01", "end": "2026-12-10"})
    [entry] = body["context"]["draftOrders"]["entry"]
    step, full = copy.deepcopy(entry), copy.deepcopy(entry)
    step["resource"]["id"], full["resource"]["id"] = "step-order", "full-order"
    step["resource"]["dosageInstruction"] = entry["resource"]["dosageInstruction"][:1]
    full["resource"]["dosageInstruction"] = entry["resource"]["dosageInstruction"][1:]
    body["context"]["draftOrders"]["entry"] = [step, full]
    cards = [c for c in post(client, body)["cards"] if "coverage-decision" in c["extension"]]
    assert len(cards) == 2
    for card in cards:
        assert "Coverage ends mid-cycle" in card["detail"] and "(Coverage/coverage-1, 2026-01-01 to 2026-12-10)" \
            in " ".join(card["detail"].split())
    needed = _with_coverage_period(example("florida-blue-cd19-missing"), {"start": "2026-01-01", "end": "2026-12-10"})
    [card] = [c for c in post(client, needed)["cards"] if "coverage-decision" in c["extension"]]
    assert card["extension"]["coverage-decision"]["decision"] == "information-needed"
    assert "Coverage ends mid-cycle" in card["detail"] and "mid-cycle" not in card["summary"]


def _with_coverages(body: dict[str, Any], order: int | None, *others: tuple[str, str, int | None]) -> dict[str, Any]:
    """The example's Coverage (id coverage-1) with `order`, and other Coverages in force: (id, payer, order)."""
    [entry] = body["prefetch"]["coverage"]["entry"]
    entry["resource"]["id"] = "coverage-1"
    if order is not None:
        entry["resource"]["order"] = order
    for other_id, payer, other_order in others:
        other = copy.deepcopy(entry["resource"]) | {"id": other_id, "payor": [{"display": payer}]}
        other.pop("order", None)
        other |= {"order": other_order} if other_order is not None else {}
        body["prefetch"]["coverage"]["entry"].append({"resource": other})
    return body


SECONDARY = ("Secondary coverage: this decision is Florida Blue's, the patient's secondary coverage "
             "(Coverage/coverage-1{order}); {primary}, and its rules apply before Florida Blue's: check them first "
             "(coordination of benefits).")
UNCHECKED = ": a plan this service does not check"  # the primary's plan named, and said to be one not checked here
ACME_FIRST = f"the primary coverage, Acme Health (Coverage/acme{UNCHECKED}), pays first"


@pytest.mark.parametrize(("order", "others", "said"), [
    (2, [("acme", "Acme Health", 1)], ("", ACME_FIRST)),
    (2, [], ("", "the primary coverage is not among the Coverages received")),
    (None, [("acme", "Acme Health", 1)], ("", ACME_FIRST)),
    (3, [("acme", "Acme Health", 2), ("other", "Other Health", 1)],
     (", ranked 3rd", f"the primary coverage, Other Health (Coverage/other{UNCHECKED}), pays first")),
], ids=["below-an-unsupported-primary", "order-2-alone", "unranked-beside-a-primary", "third"])
def test_a_secondary_coverage_is_said_to_be_secondary_and_still_decided(
        client: Any, order: int | None, others: list[tuple[str, str, int | None]], said: tuple[str, str]) -> None:
    """The clinical and pharmacy review: a Florida Blue Coverage with order 2, below another plan's primary one,
    gave a card that did not say so. fhir-data-profile.md §Coverage and payer chooses among the recognized Coverages,
    so Florida Blue still decides (its decision and coverage information are unchanged); the card says it is the
    secondary coverage and that the primary's rules come first."""
    body = _with_coverages(example("florida-blue-relapsed-refractory-ph-negative"), order, *others)
    answer = post(client, body)
    card = answer["cards"][0]
    assert card["summary"] == ("Florida Blue (secondary coverage): meets criteria (relapsed/refractory Ph- B-ALL), "
                               "approved to 2027-06-01")
    assert card["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    assert covered_value(answer["systemActions"][0]) == "covered"
    assert answer["systemActions"][0]["description"] == (
        "Coverage information from Florida Blue (secondary coverage): meets criteria")
    detail = " ".join(card["detail"].replace("*", "").split())
    assert SECONDARY.format(order=said[0], primary=said[1]) in detail


@pytest.mark.parametrize(("order", "others"), [
    (None, []), (1, []), (1, [("acme", "Acme Health", 2)]), (1, [("acme", "Acme Health", 1)]),
    (None, [("acme", "Acme Health", None)]),
], ids=["alone", "order-1", "primary", "tied", "unranked"])
def test_a_primary_or_only_coverage_is_not_said_to_be_secondary(
        client: Any, order: int | None, others: list[tuple[str, str, int | None]]) -> None:
    body = _with_coverages(example("florida-blue-relapsed-refractory-ph-negative"), order, *others)
    answer = post(client, body)
    card = answer["cards"][0]
    assert card["summary"].startswith("Florida Blue: meets criteria") and "secondary" not in card["detail"].lower()
    assert answer["systemActions"][0]["description"] == "Coverage information from Florida Blue: meets criteria"


def test_a_supported_secondary_coverage_the_order_names_is_decided_and_names_the_supported_primary(
        client: Any) -> None:
    """Aspirus primary, Florida Blue secondary, the order's insurance naming Florida Blue's: Florida Blue decides (the
    rules' first step), and its card names the Aspirus Coverage as the primary. Without the reference Aspirus
    decides, as the primary, and nothing is said."""
    body = _with_coverages(example("florida-blue-relapsed-refractory-ph-negative"), 2,
                           ("aspirus", "Aspirus Health Plan", 1))
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    unnamed = copy.deepcopy(body)
    order["insurance"] = [{"reference": "Coverage/coverage-1"}]
    card = post(client, body)["cards"][0]
    assert card["summary"].startswith("Florida Blue (secondary coverage): ")
    detail = " ".join(card["detail"].split())
    assert "the primary coverage, Aspirus Health Plan (Coverage/aspirus), pays first" in detail
    card = post(client, unnamed)["cards"][0]
    assert card["source"]["label"] == "Aspirus Health Plan" and "secondary" not in card["summary"]


def test_a_secondary_coverage_card_asking_for_documentation_keeps_its_summary_short(client: Any) -> None:
    body = _with_coverages(example("florida-blue-cd19-missing"), 2, ("acme", "Acme Health", 1))
    card = [c for c in post(client, body)["cards"] if "coverage-decision" in c["extension"]][0]
    assert card["extension"]["coverage-decision"]["decision"] == "information-needed"
    assert card["summary"].startswith("Florida Blue (secondary coverage): document ")
    assert len(card["summary"]) < 140 and not card["summary"].endswith("…")


def test_an_unreadable_primary_coverage_is_said_on_the_no_plan_card_not_decided_by_the_secondary(
        client: Any) -> None:
    """A primary Coverage with a wrong JSON type where the payer routing reads may be of a supported plan: another
    plan's policy does not decide in its place, and the card names the Coverage (fhir-data-profile.md §Coverage and
    payer)."""
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    [entry] = body["prefetch"]["coverage"]["entry"]
    secondary = {**copy.deepcopy(entry["resource"]), "id": "secondary", "order": 2,
                 "payor": [{"display": "Florida Blue"}]}
    entry["resource"]["order"] = "1"
    body["prefetch"]["coverage"]["entry"].append({"resource": secondary})
    answer = post(client, body)
    [card] = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "coverage-info"]
    assert card["summary"] == "Coverage data unreadable: health plan unknown, coverage not checked"
    assert f"Coverage/{entry['resource']['id']}" in card["detail"] and "order is text" in card["detail"]
    assert answer["systemActions"] == []


def test_an_answer_from_before_the_course_is_named_where_the_card_asks_again(client: Any) -> None:
    """end-of-consolidation-response counts from 30 days before the course start (docs/data-requirements.md
    §Attestations): an older answer is not counted, and the criterion says why it is asked again."""
    body = example("aspirus-pediatric-less-than-cr-ph-positive")  # order starts 2026-12-01
    body["prefetch"]["attestations"]["entry"][0]["resource"]["authored"] = "2026-10-31"
    [card] = [c for c in post(client, body)["cards"] if "coverage-decision" in c.get("extension", {})]
    decision = card["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed"
    [response] = [c for c in decision["criteria"] if c["id"] == "pediatric-less-than-cr-ph-positive.less-than-cr"]
    said = "the answer of 2026-10-31 was given before this course"
    assert (response["status"], response["note"]) == ("unknown", said) and said in card["detail"]


@pytest.mark.parametrize("where,member", [((), "fhirServer"), ((), "fhirAuthorization"), ((), "extension"),
                                          (("context",), "userId"), (("context",), "encounterId")])
def test_a_null_optional_member_is_read_as_absent(client: Any, where: tuple[str, ...], member: str) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    expected = post(client, body)["cards"][0]["extension"]["coverage-decision"]["decision"]
    parent = body
    for key in where:
        parent = parent[key]
    parent[member] = None
    assert post(client, body)["cards"][0]["extension"]["coverage-decision"]["decision"] == expected


def test_null_prefetch_and_entries_are_empty_not_a_400(client: Any) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    body["context"]["draftOrders"]["entry"] = None
    assert post(client, body) == {"cards": [], "systemActions": []}
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    body["prefetch"] = None
    body.pop("fhirServer", None)
    assert client.post(URL, json=body).status_code == 412  # the patient is needed, and now unobtainable


def test_florida_blue_continuation_names_the_initial_approval_it_relies_on(client: Any) -> None:
    """policy-rules.md §3: another order's order-sign initial approval proves the initiation criteria; the
    continuation cites it, and is itself a reauthorization the next cycle's order may cite (Florida Blue Position,
    continuation 1)."""
    first = example("florida-blue-relapsed-refractory-ph-negative")
    [card] = post(client, first)["cards"][:1]
    assert card["extension"]["coverage-decision"]["indication"] == "fb-relapsed-refractory-ph-negative"
    first_order = first["context"]["draftOrders"]["entry"][0]["resource"]["id"]

    def sign_another(order_id: str, days_later: int = 42) -> dict[str, Any]:
        body = example("florida-blue-cd19-missing")  # alone it needs documentation (information-needed)
        body["hookInstance"] = f"hi-{order_id}"
        order = body["context"]["draftOrders"]["entry"][0]["resource"]
        order["id"] = order_id
        for line in order["dosageInstruction"]:  # the next cycle
            bounds = line["timing"]["repeat"]["boundsPeriod"]
            for key in ("start", "end"):
                bounds[key] = (date.fromisoformat(bounds[key]) + timedelta(days=days_later)).isoformat()
        return post(client, body)["cards"][0]["extension"]["coverage-decision"]

    # A duplicate or replacement of the approved order, for the same start, proves no earlier authorization.
    duplicate = sign_another("duplicate-order", days_later=0)
    assert (duplicate["decision"], duplicate["indication"]) == ("information-needed", None)
    second = sign_another("second-order")
    assert (second["decision"], second["indication"]) == ("meets-criteria", "fb-continuation")
    [prior] = [c for c in second["criteria"] if c["id"] == "fb-continuation.prior-approval"]
    assert prior["evidence"] == [f"MedicationRequest/{first_order}"]
    assert first["hookInstance"] in prior["note"]
    # The second order's continuation began when this one does: the initial approval is the one cited.
    third = sign_another("third-order")
    [prior] = [c for c in third["criteria"] if c["id"] == "fb-continuation.prior-approval"]
    assert prior["evidence"] == [f"MedicationRequest/{first_order}"] and prior["note"].startswith("initiation")
    fourth = sign_another("fourth-order", days_later=84)  # the newest approval that began earlier: a continuation
    [prior] = [c for c in fourth["criteria"] if c["id"] == "fb-continuation.prior-approval"]
    assert prior["evidence"] == ["MedicationRequest/third-order"] and prior["note"].startswith("continuation")


def test_a_prior_authorization_attested_years_ago_does_not_make_a_florida_blue_continuation(client: Any) -> None:
    """Florida Blue continuation 1 needs an authorization in the past two years: an answer authored in 2021 for an
    order starting 2026-12-01 cannot show one, so initiation is evaluated (6 months, its own criteria)."""
    body = example("florida-blue-continuation")
    [attestation] = [e["resource"] for e in body["prefetch"]["attestations"]["entry"]]
    attestation["authored"] = "2021-03-01"
    decision = post(client, body)["cards"][0]["extension"]["coverage-decision"]
    assert decision["indication"] != "fb-continuation" and decision["request"] == "initial"
    assert "fb-continuation.prior-approval" not in [c["id"] for c in decision["criteria"]]


NOT_COUNTED = ("Attestation answer not counted: blinatumomab authorized by a health plan in the past 2 years: yes, "
               "answered {authored}, {why}; continuation of therapy not applied (Florida Blue Position, continuation "
               "1): the other indications are evaluated.")


@pytest.mark.parametrize(("authored", "why"), [
    ("2024-11-30", "more than 2 years before this order's start (2026-12-01)"),
    ("2024-12-01", "before this course's window (answers count from 2026-11-01, 30 days before its start)"),
    ("2026-10-31", "before this course's window (answers count from 2026-11-01, 30 days before its start)"),
])
def test_a_prior_authorization_attested_outside_its_window_is_named_on_the_card(client: Any, authored: str,
                                                                               why: str) -> None:
    """The clinical and pharmacy review: an authorization attested two years and one day before the course start
    (2026-12-01) was dropped without a word. It still does not count (Florida Blue continuation 1, "in the past two
    years", as of an answer given for this order: docs/data-requirements.md §Attestations), and initiation is
    evaluated; the card now names the answer, its date, the window it falls outside and the continuation it did not
    open. Exactly two years before the start, it is the course's window that leaves it out."""
    body = example("florida-blue-continuation")
    [attestation] = [e["resource"] for e in body["prefetch"]["attestations"]["entry"]]
    attestation["authored"] = authored
    card = post(client, body)["cards"][0]
    decision = card["extension"]["coverage-decision"]
    assert (decision["request"], decision["indication"]) == ("initial", None)
    assert NOT_COUNTED.format(authored=authored, why=why) in " ".join(card["detail"].replace("*", "").split())
    assert "Attested by the prescriber" not in card["detail"]


@pytest.mark.parametrize("authored", ["2026-11-01", "2026-11-25"])
def test_a_prior_authorization_attested_within_its_window_is_counted_and_not_said_to_be_left_out(
        client: Any, authored: str) -> None:
    body = example("florida-blue-continuation")
    [attestation] = [e["resource"] for e in body["prefetch"]["attestations"]["entry"]]
    attestation["authored"] = authored
    card = post(client, body)["cards"][0]
    assert card["extension"]["coverage-decision"]["indication"] == "fb-continuation"
    assert "not counted" not in card["detail"]


def test_an_old_prior_authorization_is_not_named_under_a_plan_that_does_not_read_it(client: Any) -> None:
    """Aspirus has no continuation by attestation: the answer bears on nothing of its decision."""
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    old = {"resourceType": "QuestionnaireResponse", "id": "old-pa", "status": "completed",
           "subject": body["prefetch"]["patient"] and {"reference": f"Patient/{body['prefetch']['patient']['id']}"},
           "questionnaire": "http://127.0.0.1:8080/fhir/Questionnaire/blinatumomab-coverage-attestation",
           "authored": "2024-11-30",
           "item": [{"linkId": "prior-authorization-on-file", "answer": [{"valueBoolean": True}]}]}
    body["prefetch"]["attestations"] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": old}]}
    card = post(client, body)["cards"][0]
    assert card["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    assert "not counted" not in card["detail"]


def test_a_response_attested_before_the_course_does_not_renew_it(client: Any) -> None:
    """Aspirus IV: the renewal needs a response on this course (from 2026-01-05); an answer authored before it, during
    an earlier course, is no evidence of one."""
    body = example("aspirus-relapsed-refractory-cycle6-renewal")
    [attestation] = [e["resource"] for e in body["prefetch"]["attestations"]["entry"]]
    attestation["authored"] = "2025-11-25"
    decision = post(client, body)["cards"][0]["extension"]["coverage-decision"]
    assert (decision["decision"], decision["indication"], decision["cycle"]) == (
        "information-needed", "adult-relapsed-refractory", 6)
    [response] = [c for c in decision["criteria"] if c["id"].endswith(".response-or-stabilization")]
    assert response["status"] == "unknown"


def _cycle_8(answer: bool, authored: str) -> dict[str, Any]:
    """The cycle 6 renewal example moved on to cycle 8 (the second renewal, 2027-05-18): cycles 6 (2026-12-01) and 7
    (2027-02-23) on record, a current weight, one `response-or-stabilization` answer."""
    body = example("aspirus-relapsed-refractory-cycle6-renewal")
    for entry in body["prefetch"]["observations"]["entry"]:
        if entry["resource"]["id"] in ("weight-1", "height-1"):
            entry["resource"]["effectiveDateTime"] = "2027-05-10"
    entries = body["prefetch"]["medicationRequests"]["entry"]
    [fifth] = [e["resource"] for e in entries if e["resource"]["id"] == "prior-cycle-5"]
    [draft] = [e["resource"] for e in body["context"]["draftOrders"]["entry"]]
    for number, (first, last) in ((6, ("2026-12-01", "2026-12-28")), (7, ("2027-02-23", "2027-03-22")),
                                  (8, ("2027-05-18", "2027-06-14"))):
        order = draft if number == 8 else copy.deepcopy(fifth) | {"id": f"prior-cycle-{number}"}
        order["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": first, "end": last}
        if number < 8:
            order["authoredOn"] = first
            entries.append({"resource": order})
    [attestation] = [e["resource"] for e in body["prefetch"]["attestations"]["entry"]]
    attestation["authored"] = authored
    attestation["item"] = [{"linkId": "response-or-stabilization", "answer": [{"valueBoolean": answer}]}]
    return body


@pytest.mark.parametrize(("answer", "authored", "decided", "status"), [
    (True, "2026-11-25", "information-needed", "unknown"),  # the answer given for cycle 6's renewal
    (True, "2027-04-20", "meets-criteria", "met"),
    (False, "2027-04-20", "criteria-not-met", "not-met"),
])
def test_the_second_renewal_needs_a_current_response_answer(client: Any, answer: bool, authored: str, decided: str,
                                                            status: str) -> None:
    """Aspirus IV at cycle 8: the "yes" given for cycle 6 is stale (renewal answers count from 30 days before cycle
    7's start, 2027-01-24); the card asks for a current answer and names the stale one's date."""
    card = post(client, _cycle_8(answer, authored))["cards"][0]
    decision = card["extension"]["coverage-decision"]
    assert (decision["decision"], decision["cycle"], decision["request"]) == (decided, 8, "renewal")
    [response] = [c for c in decision["criteria"] if c["id"].endswith(".response-or-stabilization")]
    assert response["status"] == status
    if status == "unknown":
        assert "the answer of 2026-11-25 is not current (renewal answers count from 2027-01-24)" in card["detail"]
        assert "a current answer on response or stable disease (last answered 2026-11-25)" in card["summary"]


def test_an_mrd_unavailable_answer_older_than_the_mrd_result_does_not_open_maintenance(client: Any) -> None:
    """Aspirus III maintenance needs MRD negative or unavailable: a detectable MRD of 2026-11-15 on record is not made
    unavailable by an answer of 2024."""
    body = example("aspirus-adult-maintenance")
    [mrd] = [e["resource"] for e in body["prefetch"]["observations"]["entry"] if e["resource"]["id"] == "mrd-1"]
    del mrd["valueCodeableConcept"]
    mrd["valueQuantity"] = {"value": 0.5, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}
    [attestation] = [e["resource"] for e in body["prefetch"]["attestations"]["entry"]]
    old = copy.deepcopy(attestation) | {"id": "attestation-2024", "authored": "2024-03-01",
                                        "item": [{"linkId": "mrd-unavailable", "answer": [{"valueBoolean": True}]}]}
    body["prefetch"]["attestations"]["entry"].append({"resource": old})
    decision = post(client, body)["cards"][0]["extension"]["coverage-decision"]
    assert decision["decision"] == "criteria-not-met"
    [criterion] = [c for c in decision["criteria"] if c["id"] == "adult-maintenance.mrd-negative-or-unavailable"]
    assert (criterion["status"], criterion["evidence"]) == ("not-met", ["Observation/mrd-1"])


def test_a_tki_stop_reason_that_negates_failure_asks_for_the_attestation(client: Any) -> None:
    """Florida Blue 1.b.iii: "no intolerance or resistance" is not a TKI failure; unknown, not met."""
    body = example("florida-blue-relapsed-refractory-ph-positive-tki-failure")
    [dasatinib] = [e["resource"] for e in body["prefetch"]["medicationRequests"]["entry"]]
    dasatinib["statusReason"] = {"text": "Formulary switch; no intolerance or resistance"}
    decision = post(client, body)["cards"][0]["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed"
    [failure] = [c for c in decision["criteria"] if c["id"] == "fb-relapsed-refractory-ph-positive.tki-failure"]
    assert failure["status"] == "unknown"
    assert "TKI intolerance, inadequate response or contraindication" in decision["missing"]


def test_an_infant_born_on_the_31st_is_one_month_old_on_the_last_day_of_the_next_month(client: Any) -> None:
    """Aspirus III pediatric "at least 1 month": born 2026-10-31, the order starting 2026-11-30 meets it."""
    body = example("aspirus-infant-interfant")
    body["prefetch"]["patient"]["birthDate"] = "2026-10-31"
    body["prefetch"]["conditions"]["entry"][0]["resource"].update(onsetDateTime="2026-11-05",
                                                                  recordedDate="2026-11-10")
    line = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]
    line["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-11-30", "end": "2026-12-27"}
    decision = post(client, body)["cards"][0]["extension"]["coverage-decision"]
    [age] = [c for c in decision["criteria"] if c["id"] == "infant-interfant.pediatric-age"]
    assert age["status"] == "met"
    assert (decision["decision"], decision["indication"]) == ("meets-criteria", "infant-interfant")


def test_a_live_vaccine_without_a_readable_date_asks_for_its_date(client: Any) -> None:
    """Aspirus III universal criterion (U1): a live vaccine recorded as "last week" cannot be placed outside the
    window, so U1 is unknown, neither met nor a critical denial."""
    body = example("aspirus-live-vaccine-critical")
    [mmr] = [e["resource"] for e in body["prefetch"]["immunizations"]["entry"]]
    del mmr["occurrenceDateTime"]
    mmr["occurrenceString"] = "last week"
    [card] = post(client, body)["cards"][:1]
    decision = card["extension"]["coverage-decision"]
    [u1] = [c for c in decision["criteria"] if c["id"] == "U1"]
    assert (decision["decision"], u1["status"], card["indicator"]) == ("information-needed", "unknown", "warning")
    assert any(item.startswith("the date ") and item.endswith(" was given") for item in decision["missing"])


@pytest.mark.parametrize(("authored", "continuation"), [("2026-11-01", True), ("2026-10-31", False)])
def test_a_prior_authorization_counts_and_is_listed_when_given_for_this_order(client: Any, authored: str,
                                                                              continuation: bool) -> None:
    """Florida Blue continuation 1: an authorization in the past 2 years, as of an answer given for this order (the
    course starts 2026-12-01: from 30 days before it). An older answer is not counted, nor listed among the answers
    used."""
    body = example("florida-blue-continuation")
    [answer] = [e["resource"] for e in body["prefetch"]["attestations"]["entry"]]
    answer["authored"] = authored
    [card] = post(client, body)["cards"][:1]
    assert (card["extension"]["coverage-decision"]["indication"] == "fb-continuation") is continuation
    listed = "Attested by the prescriber (attestation questionnaire): blinatumomab authorized by a health plan in " \
             "the past 2 years." in card["detail"]
    assert listed is continuation


def test_what_only_another_indication_needs_is_asked_as_an_alternative(client: Any) -> None:
    """The closest indication (relapsed/refractory Ph-) needs CD19 only; the MRD route's result is an alternative,
    so the clinician does not read both as required."""
    [card] = post(client, example("florida-blue-cd19-missing"))["cards"][:1]
    decision = card["extension"]["coverage-decision"]
    assert decision["missing"] == ["laboratory result showing CD19+ blasts", "quantitative MRD result (%)"]
    # The other indication's items do not fit beside: left to the detail, not counted ("1 more item" read as all
    # that route needs, though it needs the CD19 result too).
    assert card["summary"] == "Florida Blue: document laboratory result showing CD19+ blasts to confirm coverage"
    needed, alternatives = card["detail"].split("Other indications of the policy would need:")
    assert "- laboratory result showing CD19+ blasts" in needed and "MRD" not in needed.split("What to document")[1]
    assert alternatives.lstrip().startswith("- quantitative MRD result (%)")


@pytest.mark.parametrize("text,expected", [
    ("28 ug/d continuous IV infusion", ["9 ug/d continuous IV infusion (days 1–7)",
                                        "28 ug/d continuous IV infusion (days 8–28)"]),
    ("28 ug/d continuous IV infusion, days 1-28", ["9 ug/d continuous IV infusion, days 1–7",
                                                   "28 ug/d continuous IV infusion, days 8–28"]),
])
def test_a_split_dose_line_names_its_own_days_in_the_text(client: Any, text: str, expected: list[str]) -> None:
    """The text is what a nurse reads: a days 1-7 line must not keep saying days 1-28."""
    body = example("aspirus-relapsed-refractory-single-line-dose-too-high")
    body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]["text"] = text
    [dose] = [c for c in post(client, body)["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    corrected = dose["suggestions"][0]["actions"][0]["resource"]
    assert [line["text"] for line in corrected["dosageInstruction"]] == expected


def _consolidation_cycle_2(later_mrd: dict[str, Any] | None) -> dict[str, Any]:
    """The MRD+ consolidation example moved to its second cycle: cycle 1 ran 2026-11-17 to 12-14 after the MRD+
    result of 11-15; the draft starts 2026-12-29. `later_mrd` is the valueQuantity of a result during cycle 1."""
    body = example("aspirus-adult-consolidation-mrd-positive")
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    draft["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-12-29", "end": "2027-01-25"}
    cycle_1 = copy.deepcopy(draft)
    cycle_1.update(id="cycle-1", status="completed", authoredOn="2026-11-16")
    cycle_1["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-11-17", "end": "2026-12-14"}
    body["prefetch"]["medicationRequests"]["entry"] = [{"resource": cycle_1}]
    for entry in body["prefetch"]["observations"]["entry"]:
        if entry["resource"]["id"] == "weight-1":
            entry["resource"]["effectiveDateTime"] = "2026-12-27"  # a current weight for the new cycle's dose
    if later_mrd is not None:
        later = copy.deepcopy(body["prefetch"]["observations"]["entry"][-1]["resource"])
        later.update(id="mrd-2", effectiveDateTime="2026-12-20", valueQuantity=later_mrd)
        body["prefetch"]["observations"]["entry"].append({"resource": later})
    return body


@pytest.mark.parametrize("later_mrd", [None, {"value": 0.01, "comparator": "<", "unit": "%", "code": "%",
                                              "system": "http://unitsofmeasure.org"}])
def test_an_mrd_response_during_the_course_does_not_end_its_authorization(client: Any,
                                                                          later_mrd: dict[str, Any] | None) -> None:
    """MRD is judged as of the course start like the phase (policy-rules.md §1): the undetectable MRD that the
    consolidation cycle aimed for must not turn cycle 2 of the same 24-week course into information-needed."""
    [card] = [c for c in post(client, _consolidation_cycle_2(later_mrd))["cards"]
              if "coverage-decision" in c.get("extension", {})]
    decision = card["extension"]["coverage-decision"]
    assert (decision["decision"], decision["indication"], decision["cycle"]) == (
        "meets-criteria", "adult-consolidation-mrd-positive", 2)
    [mrd] = [c for c in decision["criteria"] if c["id"] == "adult-consolidation-mrd-positive.mrd-positive"]
    assert mrd["evidence"] == ["Observation/mrd-1"]
    assert ("the latest by the course start 2026-11-17" in card["detail"]) is (later_mrd is not None)


def test_an_order_after_its_course_authorization_ended_is_not_approved(client: Any) -> None:
    """Aspirus consolidation: 24 weeks from the course start (2026-04-01, so to 2026-09-16). Cycle 4, delayed to
    2026-12-01, must not be answered 'approved to 2026-09-16' with a CRD assertion already expired."""
    body = example("aspirus-adult-consolidation-mrd-positive")
    prefetch = body["prefetch"]
    prefetch["conditions"]["entry"][0]["resource"]["recordedDate"] = "2026-03-20"
    for entry in prefetch["observations"]["entry"]:
        resource = entry["resource"]
        resource["effectiveDateTime"] = {"mrd-1": "2026-03-25", "bcr-abl-1": "2025-06-01"}.get(resource["id"],
                                                                                               "2026-11-28")
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    prior = []
    for number, (start, end) in enumerate([("2026-04-01", "2026-04-28"), ("2026-05-13", "2026-06-09"),
                                           ("2026-06-24", "2026-07-21")], start=1):
        cycle = copy.deepcopy(draft)
        cycle.update(id=f"cycle-{number}", status="completed", authoredOn=start)
        cycle["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": start, "end": end}
        prior.append({"resource": cycle})
    prefetch["medicationRequests"]["entry"] = prior
    answer = post(client, body)
    [card] = [c for c in answer["cards"] if "coverage-decision" in c.get("extension", {})]
    decision = card["extension"]["coverage-decision"]
    assert (decision["decision"], decision["indication"], decision["cycle"], decision["authorization"]) == (
        "criteria-not-met", "adult-consolidation-mrd-positive", 4, None)
    assert "order starts after the authorization ended (2026-09-16): new request needed" in card["summary"]
    assert "2026-04-01 to 2026-09-16" in card["detail"]
    assert covered_value(answer["systemActions"][0]) == "not-covered"


@pytest.mark.parametrize(("start", "lapsed"), [("2027-05-18", False), ("2027-05-19", True)])
def test_an_order_after_its_renewal_period_ended_is_not_approved(client: Any, start: str, lapsed: bool) -> None:
    """Aspirus relapsed/refractory renewal 1 (cycles 6-7) runs 24 weeks from cycle 6's start (policy-rules.md §4):
    the renewal example's cycle 6 given 2026-12-01 to 12-28, so to 2027-05-18. A cycle 7 starting on that day is
    within it; one starting the day after must not be answered 'approved to 2027-05-18'."""
    body = example("aspirus-relapsed-refractory-cycle6-renewal")
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    cycle_6 = copy.deepcopy(draft)
    cycle_6.update(id="prior-cycle-6", status="completed", authoredOn="2026-11-30")
    body["prefetch"]["medicationRequests"]["entry"].append({"resource": cycle_6})
    first = date.fromisoformat(start)
    draft["authoredOn"] = (first - timedelta(days=1)).isoformat()
    draft["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {
        "start": start, "end": (first + timedelta(days=27)).isoformat()}
    for entry in body["prefetch"]["observations"]["entry"]:
        if entry["resource"]["id"] == "weight-1":  # a current weight for the new cycle's dose
            entry["resource"]["effectiveDateTime"] = (first - timedelta(days=2)).isoformat()
    answer = post(client, body)
    [card] = [c for c in answer["cards"] if "coverage-decision" in c.get("extension", {})]
    decision = card["extension"]["coverage-decision"]
    assert (decision["indication"], decision["cycle"], decision["request"]) == ("adult-relapsed-refractory", 7,
                                                                                "renewal")
    if lapsed:
        assert (decision["decision"], decision["authorization"]) == ("criteria-not-met", None)
        assert "order starts after the authorization ended (2027-05-18): new request needed" in card["summary"]
        assert "2026-12-01 to 2027-05-18" in card["detail"]
        assert covered_value(answer["systemActions"][0]) == "not-covered"
    else:
        assert (decision["decision"], decision["authorization"]) == (
            "meets-criteria", {"start": "2026-12-01", "end": "2027-05-18", "cycles": 2})
        assert covered_value(answer["systemActions"][0]) == "covered"


def _status_record(body: dict[str, Any], id: str, code: str, status: str, recorded: str) -> None:
    """Another record of the example's ALL Condition, with this ICD-10-CM code and clinicalStatus."""
    entries = body["prefetch"]["conditions"]["entry"]
    condition = copy.deepcopy(entries[0]["resource"])
    condition.update(id=id, recordedDate=recorded)
    condition["code"]["coding"] = [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]
    condition["clinicalStatus"]["coding"][0]["code"] = status
    entries.append({"resource": condition})


@pytest.mark.parametrize("active_at_start", [False, True])
def test_a_relapse_after_a_consolidation_course_is_a_new_relapsed_course(client: Any, active_at_start: bool) -> None:
    """Four consolidation cycles given in remission (recorded 2026-05-01, before them), a relapse recorded
    2026-11-10, a step-dose order: cycle 1 of a relapsed/refractory course, not consolidation cycle 5, and no
    "below label" note on the 9 mcg/day step (docs/policy-reading.md). Active disease recorded between the remission
    and the course start leaves the cycle for the clinician to give: information needed, not a denial."""
    body = example("aspirus-consolidation-cycle5-not-renewable")
    _status_record(body, "all-relapse", "C91.02", "relapse", "2026-11-10")
    if active_at_start:
        _status_record(body, "all-active", "C91.00", "active", "2026-05-05")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    step = example("aspirus-adult-relapsed-refractory-cycle1")["context"]["draftOrders"]["entry"][0]["resource"]
    order["dosageInstruction"] = step["dosageInstruction"]
    answer = post(client, body)
    [decision] = [c["extension"]["coverage-decision"] for c in answer["cards"]
                  if "coverage-decision" in c.get("extension", {})]
    assert "off-label" not in topics(answer)
    if active_at_start:
        assert (decision["decision"], decision["cycle"]) == ("information-needed", None)
        assert "cycle number of this order" in decision["missing"]
    else:
        assert (decision["decision"], decision["indication"], decision["cycle"]) == (
            "meets-criteria", "adult-relapsed-refractory", 1)
        assert decision["authorization"]["start"] == "2026-12-01"


@pytest.mark.parametrize("member", [{"medicationReference": "Medication/ondansetron"},
                                    {"medicationCodeableConcept": {"coding": ["x", 5]}},
                                    {"dosageInstruction": "x"}, {"contained": [5]}, {"id": 5}])
def test_another_order_of_any_shape_leaves_the_blinatumomab_decision_alone(client: Any,
                                                                          member: dict[str, Any]) -> None:
    """service-contract.md: orders that are not blinatumomab are not validated, so nothing may assume their shape
    (a string medicationReference once emptied the whole answer)."""
    body = example("aspirus-adult-maintenance")
    other = {"resourceType": "MedicationRequest", "id": "ondansetron", "status": "draft", "intent": "order", **member}
    body["context"]["draftOrders"]["entry"].insert(0, {"resource": other})
    answer = post(client, body)
    [decision] = [c["extension"]["coverage-decision"] for c in answer["cards"]
                  if "coverage-decision" in c.get("extension", {})]
    assert decision["decision"] == "meets-criteria" and len(answer["systemActions"]) == 1


def test_a_relapsed_lymphoblastic_lymphoma_takes_the_aspirus_relapsed_pathway(client: Any) -> None:
    """Aspirus Appendix 1 covers lymphoblastic lymphoma like ALL: its relapse record is disease status."""
    body = example("florida-blue-other-compendia-lymphoblastic-lymphoma")
    body["prefetch"]["coverage"] = example("aspirus-adult-relapsed-refractory-cycle1")["prefetch"]["coverage"]
    condition = body["prefetch"]["conditions"]["entry"][0]["resource"]
    condition["clinicalStatus"]["coding"][0]["code"] = "relapse"
    [card] = [c for c in post(client, body)["cards"] if "coverage-decision" in c.get("extension", {})]
    decision = card["extension"]["coverage-decision"]
    [phase] = [c for c in decision["criteria"] if c["id"] == "adult-relapsed-refractory.relapsed-refractory-phase"]
    assert decision["policy"] == "aspirus-magellan"
    assert (phase["status"], phase["evidence"]) == ("met", ["Condition/lbl-1"])


def test_a_quantity_in_a_unit_that_cannot_be_counted_asks_for_it(client: Any) -> None:
    """Aspirus II unknown: 40 mL cannot be counted in vials, so the limit is neither met nor exceeded: information
    needed, and no quantity card (which would correct an amount it cannot read)."""
    body = example("aspirus-quantity-over-limit")
    for entry in body["context"]["draftOrders"]["entry"]:
        entry["resource"]["dispenseRequest"]["quantity"] = {"value": 40, "unit": "mL",
                                                            "system": "http://unitsofmeasure.org", "code": "mL"}
    answer = post(client, body)
    [decision] = [c["extension"]["coverage-decision"] for c in answer["cards"] if "coverage-decision" in c["extension"]]
    assert decision["decision"] == "information-needed"
    assert [c["status"] for c in decision["criteria"] if c["id"] == "quantity"] == ["unknown"]
    assert "dispensed quantity in vials or mcg" in decision["missing"]
    assert not [c for c in answer["cards"] if c["summary"].startswith("Quantity above")]


def test_dose_and_quantity_suggestions_on_one_order_each_carry_both_corrections(client: Any) -> None:
    """Each suggestion replaces the whole order: accepted together, the later must not undo the earlier."""
    body = example("aspirus-relapsed-refractory-single-line-dose-too-high")
    body["context"]["draftOrders"]["entry"][0]["resource"]["dispenseRequest"]["quantity"]["value"] = 40
    cards = {c["source"]["topic"]["code"]: c for c in post(client, body)["cards"]}
    dose, quantity = cards["off-guideline"]["suggestions"][0], cards["limits"]["suggestions"][0]
    [dose_resource] = [a["resource"] for a in dose["actions"]]
    [quantity_resource] = [a["resource"] for a in quantity["actions"]]
    assert dose_resource == quantity_resource
    assert [line["doseAndRate"][0]["rateQuantity"]["value"] for line in dose_resource["dosageInstruction"]] == [9, 28]
    assert dose_resource["dispenseRequest"]["quantity"]["value"] == 28
    assert dose["label"].endswith("(and quantity to 28 vials)")
    assert quantity["label"] == "Change quantity to 28 vials (and the dose to the label dose)"


def test_a_dose_within_the_label_but_above_florida_blues_28_gets_a_one_click_correction(client: Any) -> None:
    """1.18 mcg/h is 28.32 mcg/day: within the label's +0.5 rounding, above Florida Blue's strict 28 (policy-rules.md
    §3). The denial used to come with nothing to accept."""
    body = example("florida-blue-relapsed-refractory-ph-negative")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    full = order["dosageInstruction"][1]
    full["doseAndRate"] = [{"rateQuantity": {"value": 1.18, "unit": "ug/h", "system": "http://unitsofmeasure.org",
                                             "code": "ug/h"}}]
    full["text"] = "1.18 ug/h continuous IV infusion"
    answer = post(client, body)
    decision = answer["cards"][0]["extension"]["coverage-decision"]
    assert decision["decision"] == "criteria-not-met"
    [card] = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "limits"]
    assert card["indicator"] == "warning"
    assert card["summary"] == "Dose above Florida Blue's 28 mcg/day limit: 28.32 mcg/day on days 8–28"
    [suggestion] = card["suggestions"]
    assert suggestion["label"] == "Change dose to 1.16 mcg/h, within the plan's 28 mcg/day"  # as the action writes it
    corrected = suggestion["actions"][0]["resource"]
    assert corrected["dosageInstruction"][1]["doseAndRate"][0]["rateQuantity"]["value"] == 1.16
    assert corrected["dosageInstruction"][0] == order["dosageInstruction"][0]  # the 9 mcg/day line is untouched
    body["context"]["draftOrders"]["entry"][0]["resource"] = corrected
    again = post(client, body)
    assert again["cards"][0]["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    assert "limits" not in topics(again)


@pytest.mark.parametrize("where", ["contained", "draftOrders"])
def test_an_order_whose_medication_in_the_request_is_not_blinatumomab_needs_no_record(client: Any, where: str) -> None:
    body = example("not-blinatumomab-order")
    del body["prefetch"]  # and no fhirServer: the record cannot be had, and is not needed
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    medication = {"resourceType": "Medication", "id": "m1", "code": {"text": "acetaminophen 500 mg tablet"}}
    del order["medicationCodeableConcept"]
    if where == "contained":
        order["contained"], order["medicationReference"] = [medication], {"reference": "#m1"}
    else:
        body["context"]["draftOrders"]["entry"].append({"resource": medication})
        order["medicationReference"] = {"reference": "Medication/m1"}
    response = client.post("/cds-services/blinatumomab-coverage", json=body)
    assert (response.status_code, response.get_json()) == (200, {"cards": [], "systemActions": []})


def test_an_audit_trail_that_cannot_be_read_leaves_the_prior_approval_unknown_and_the_dose_checked() -> None:
    from cds_service.evaluation import EvaluationContext
    from cds_service.pipeline import evaluate
    from cds_service.prefetch import RecordLoader
    from cds_service.validation import hook_request

    def database_down(*args: Any) -> None:
        raise ConnectionRefusedError("the audit database is down")

    def answers(prior_approval: Any) -> list[tuple[str, str]]:
        request = hook_request(example("florida-blue-dose-above-28"), "blinatumomab-coverage")
        load_record = RecordLoader(request, lambda server: False, 1.0)
        context = EvaluationContext(today=date(2026, 11, 21), base_url="http://127.0.0.1", prior_approval=prior_approval)
        return [(c["source"]["topic"]["code"], c["indicator"]) for c in evaluate(request, load_record, context).cards]

    # A Florida Blue initial request needs no prior approval: the same cards, the dose warning among them (was a
    # "technical problem" note alone).
    assert answers(database_down) == answers(lambda *args: ())
    assert ("off-guideline", "warning") in answers(database_down)


def test_two_orders_of_a_cycle_on_the_same_days_are_judged_on_their_sum(client: Any) -> None:
    """Two 28 mcg/day orders signed together for days 1-28 give 56 mcg/day: neither is covered under Florida Blue's
    28 mcg/day (which has no quantity limit to catch them), and the dose warning says so. With the same lines they are
    a likely duplicate: the decision, the same for both, is shown once for both, beside the duplicate card; the dose
    warning, which the duplicate card's removal leaves nothing to say, is not shown (tests/test_duplicate_orders.py)."""
    body = example("florida-blue-consolidation")
    [entry] = body["context"]["draftOrders"]["entry"]
    second = copy.deepcopy(entry)
    second["resource"]["id"] = "second-order"
    body["context"]["draftOrders"]["entry"].append(second)
    answer = post(client, body)
    [decision] = [c["extension"]["coverage-decision"] for c in answer["cards"] if "coverage-decision" in c["extension"]]
    assert [covered_value(action) for action in answer["systemActions"]] == ["not-covered", "not-covered"]
    [dose_criterion] = [c for c in decision["criteria"] if c["id"].endswith("dose-at-most-28")]
    assert dose_criterion["status"] == "not-met"
    assert dose_criterion["evidence"] == ["MedicationRequest/blinatumomab-order", "MedicationRequest/second-order"]
    assert dose_criterion["note"] == ("56 mcg/day on days 1–28 (this order and the other blinatumomab order being "
                                      "signed, which has the same dosage lines: likely a duplicate order): above 28 "
                                      "mcg/day")
    doses = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert [(kind_of(c), c["indicator"], "suggestions" in c) for c in doses] == [
        ("duplicate-order", "warning", True)]
    assert "limits" not in topics(answer)  # no plan-limit correction of one line: the sum is the problem


def many_orders(name: str, count: int) -> dict[str, Any]:
    """The example's request with `count` copies of its blinatumomab order (ids order-0, order-1, ...), all on the
    same days: what a buggy or hostile EHR may send."""
    body = example(name)
    [entry] = body["context"]["draftOrders"]["entry"]
    body["context"]["draftOrders"]["entry"] = [{**entry, "resource": {**entry["resource"], "id": f"order-{i}"}}
                                               for i in range(count)]
    return body


def evaluate_directly(body: dict[str, Any], prior_approval: Callable[..., Any] = lambda *args: ()) -> Any:
    from cds_service.evaluation import EvaluationContext
    from cds_service.pipeline import evaluate
    from cds_service.prefetch import RecordLoader
    from cds_service.validation import hook_request

    request = hook_request(body, "blinatumomab-coverage")
    load_record = RecordLoader(request, lambda server: False, 1.0)
    return evaluate(request, load_record, EvaluationContext(today=date(2026, 11, 21), base_url="http://127.0.0.1",
                                                            prior_approval=prior_approval))


def test_many_orders_of_a_cycle_on_the_same_days_are_each_answered_with_bounded_notes(client: Any) -> None:
    """50 copies of a 28 mcg/day order (the most one call answers): each is not covered (1400 mcg/day), and its dose
    criterion counts the other orders and its evidence cites four, in the card and in the audit record alike (it named
    the 49 others, on each of the 50 answers). Copies, they are told once: one decision card for the 50, the duplicate
    card removing 49 of them."""
    answer = post(client, many_orders("florida-blue-consolidation", MAX_ORDERS))
    assert [covered_value(action) for action in answer["systemActions"]] == ["not-covered"] * MAX_ORDERS
    assert len(answer["cards"]) == 2 < DEFAULT_MAX_CARDS
    assert len(answer["cards"][0]["extension"]["davinci-crd.associated-resource"]) == MAX_ORDERS
    assert len(answer["cards"][1]["suggestions"][0]["actions"]) == MAX_ORDERS - 1
    decision = answer["cards"][0]["extension"]["coverage-decision"]
    [dose_criterion] = [c for c in decision["criteria"] if c["id"].endswith("dose-at-most-28")]
    assert dose_criterion["note"] == ("1400 mcg/day on days 1–28 (this order and 49 other blinatumomab orders being "
                                      "signed, which have the same dosage lines: likely duplicate orders): above 28 "
                                      "mcg/day")
    assert dose_criterion["evidence"] == [f"MedicationRequest/order-{i}" for i in range(5)]

    def last_criteria(count: int) -> str:
        outcomes = evaluate_directly(many_orders("florida-blue-consolidation", count)).outcomes
        assert len(outcomes) == count
        return re.sub(r"\d+", "#", json.dumps(outcomes[-1].criteria))

    assert last_criteria(MAX_ORDERS) == last_criteria(20)  # the same record, numbers aside


def test_the_prior_approval_of_many_orders_is_looked_up_once() -> None:
    asked: list[tuple[Any, ...]] = []
    evaluation = evaluate_directly(many_orders("florida-blue-consolidation", 30), lambda *args: asked.append(args))
    assert len(evaluation.outcomes) == 30
    [(_, _, _, policy, excluded, _)] = asked  # was one lookup per order, each passing every order's id
    assert policy == "florida-blue" and len(excluded) == 30


@pytest.mark.parametrize("facts_fail", [False, True])
def test_the_work_of_many_orders_grows_linearly(monkeypatch: pytest.MonkeyPatch, facts_fail: bool) -> None:
    """Counted in function calls, not time: twice the orders, about twice the calls. Every order used to read every
    other order's lines on each of its days and name them all, and the group's ids were listed for each order; after
    a fault reading the facts, each order read the cycle's start from every order."""
    if facts_fail:
        monkeypatch.setattr(pipeline, "extract_facts", lambda *args, **kwargs: 1 / 0)
    monkeypatch.setattr(order_validation, "MAX_ORDERS", 1000)  # the cap per call aside: how the work grows

    def calls(count: int) -> int:
        body = many_orders("florida-blue-consolidation", count)
        profile = cProfile.Profile()
        profile.runcall(evaluate_directly, body)
        return pstats.Stats(profile).total_calls  # type: ignore[attr-defined, no-any-return]

    calls(2)  # the process's caches (units, value sets, templates) filled first
    assert calls(200) / calls(100) < 2.1


def test_two_lines_of_one_order_on_the_same_days_are_judged_on_their_sum(client: Any) -> None:
    body = example("aspirus-adult-consolidation-mrd-positive")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    extra = copy.deepcopy(order["dosageInstruction"][0])
    extra["sequence"], extra["text"] = 2, "20 ug/d continuous IV infusion"
    extra["doseAndRate"][0]["rateQuantity"]["value"] = 20
    order["dosageInstruction"].append(extra)
    answer = post(client, body)
    decision = answer["cards"][0]["extension"]["coverage-decision"]
    assert decision["decision"] == "criteria-not-met"
    [schedule] = [c for c in decision["criteria"] if c["id"].endswith("dose-schedule")]
    assert (schedule["status"], schedule["note"]) == ("not-met", "48 mcg/day on days 1–28 (lines 1 and 2 together); "
                                                                 "label 28 mcg/day (for weight 72 kg on 2026-11-20)")
    [dose] = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert dose["indicator"] == "warning" and "suggestions" not in dose
    assert dose["summary"].startswith("Dose above label: 48 mcg/day (lines 1 and 2 together) on days 1–28")


def test_a_childs_hourly_rate_corrected_and_signed_again_is_covered_without_a_dose_card(client: Any) -> None:
    """A review case: the adult's step dose in mcg/h for a 25 kg child (BSA 0.932 m²), corrected to 0.191 and 0.579
    mcg/h (rounded down to what a nurse programs); the corrected order, signed again, meets the dose criterion."""
    body = example("aspirus-pediatric-relapsed-refractory-bsa-step")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    for written, value in zip(order["dosageInstruction"], (0.375, 1.1666)):
        written["doseAndRate"][0]["rateQuantity"] = {"value": value, "unit": "ug/h",
                                                     "system": "http://unitsofmeasure.org", "code": "ug/h"}
        written["text"] = f"{value} ug/h continuous IV infusion"
    first = post(client, body)["cards"]
    assert first[0]["extension"]["coverage-decision"]["decision"] == "criteria-not-met"
    [suggestion] = [s for card in first for s in card.get("suggestions") or ()]
    assert suggestion["label"].startswith("Change dose to 0.191 mcg/h (4.584 mcg/day: 5 mcg/m²/day × 0.932 m² = 4.66")
    corrected = suggestion["actions"][0]["resource"]
    assert [d["doseAndRate"][0]["rateQuantity"]["value"] for d in corrected["dosageInstruction"]] == [0.191, 0.579]
    body["context"]["draftOrders"]["entry"][0]["resource"] = corrected
    again = post(client, body)
    assert topics(again) == ["coverage-info"]
    assert again["cards"][0]["extension"]["coverage-decision"]["decision"] == "meets-criteria"


def test_a_weight_too_old_to_use_is_named_beside_the_request_for_a_current_one(client: Any) -> None:
    """A review case: asked only to "document current weight", the clinician was not told that an 80 kg weight was on
    file, two months before the start."""
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    for entry in body["prefetch"]["observations"]["entry"]:
        if entry["resource"]["id"] == "weight-1":
            entry["resource"]["effectiveDateTime"] = "2026-10-01"
    decision = post(client, body)["cards"][0]["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed" and decision["missing"] == ["current weight (within 30 days)"]
    [schedule] = [c for c in decision["criteria"] if c["id"].endswith("dose-schedule")]
    assert schedule["note"] == ("label dose not known without a usable body size (latest weight 80 kg on 2026-10-01 "
                                "is older than 30 days before the start)")
    assert "Observation/weight-1" in schedule["evidence"]


@pytest.mark.parametrize(("name", "one_line", "dose_cards"), [
    # Relapsed, with MRD 0.5%: Florida Blue reports fb-mrd-positive (listed first).
    ("florida-blue-relapsed-refractory-ph-negative", True,
     ["Dose above label: 28 mcg/day on days 1–7 of cycle 1; label is 9 mcg/day"]),
    ("florida-blue-relapsed-refractory-ph-negative", False, []),  # the step dose is not "below label" (28)
    ("florida-blue-mrd-positive", True, []),  # in remission with MRD 0.5%: the MRD-positive regimen, no step dose
])
def test_a_relapsed_course_takes_the_step_dose_whatever_indication_the_payer_reports(
        client: Any, name: str, one_line: bool, dose_cards: list[str]) -> None:
    """The label's MRD-positive regimen is for patients in remission: a relapsed patient matched to it still needs
    9 mcg/day on days 1-7 of cycle 1 (review r7a C1)."""
    body = example(name)
    mrd = example("florida-blue-mrd-positive")["prefetch"]["observations"]["entry"][2]
    assert mrd["resource"]["id"] == "mrd-1"
    observations = body["prefetch"]["observations"]["entry"]
    observations[:] = [e for e in observations if e["resource"]["id"] != "mrd-1"] + [mrd]
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    if one_line:  # one 28 mcg/day line for days 1-28 of cycle 1
        full = copy.deepcopy(order["dosageInstruction"][-1])
        full["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-12-01", "end": "2026-12-28"}
        order["dosageInstruction"] = [full]
    answer = post(client, body)
    decision = answer["cards"][0]["extension"]["coverage-decision"]
    # Florida Blue's own dose criterion is its 28 mcg/day ceiling, whatever the schedule: still covered.
    assert (decision["decision"], decision["indication"]) == ("meets-criteria", "fb-mrd-positive")
    doses = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert [c["summary"] for c in doses] == dose_cards
    if doses:
        label = doses[0]["suggestions"][0]["label"]
        assert label == "Change dose to 9 mcg/day on days 1–7, then 28 mcg/day on days 8–28"
