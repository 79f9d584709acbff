"""MedicationRequests naming their drug only through `medicationReference` (fhir-data-profile.md §The order,
§Medications), over HTTP: Epic writes `{"reference": "Medication/e...", "display": "BLINATUMOMAB 35 MCG IV SOLR"}`
and the Medication is often neither in the prefetch nor readable (no fhirServer, or the read fails). The examples
used here carry no fhirServer."""
from __future__ import annotations

from typing import Any

import pytest

from tests.fhir_server import FhirTestServer, fhir_server  # noqa: F401 (the fixture)
from tests.test_pipeline import example, post, with_configuration

CYCLE_10 = "aspirus-relapsed-refractory-cycle10-exceeds-limit"
BLINATUMOMAB = "BLINATUMOMAB 35 MCG IV SOLR"


def epic_shape(order: dict[str, Any], display: str | None, medication_id: str = "eprior-cycle-1") -> None:
    """Replace the order's medicationCodeableConcept with a reference to a Medication the request does not carry."""
    del order["medicationCodeableConcept"]
    order["medicationReference"] = {"reference": f"Medication/{medication_id}"}
    if display is not None:
        order["medicationReference"]["display"] = display


def history(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in body["prefetch"]["medicationRequests"]["entry"]]


def the_draft(body: dict[str, Any]) -> dict[str, Any]:
    return body["context"]["draftOrders"]["entry"][0]["resource"]


def decisions(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [c["extension"]["coverage-decision"] for c in answer["cards"] if "coverage-decision" in c["extension"]]


def test_prior_cycles_named_by_their_reference_display_are_counted(client: Any) -> None:
    """The reviewer's case: these nine prior cycles were invisible, and cycle 10 was taken for cycle 1."""
    body = example(CYCLE_10)
    for prior in history(body):
        epic_shape(prior, BLINATUMOMAB)
    [decision] = decisions(post(client, body))
    assert (decision["cycle"], decision["decision"]) == (10, "criteria-not-met")


def test_a_step_dose_for_what_is_really_cycle_10_is_not_approved_as_cycle_1(client: Any) -> None:
    """The reviewer's approval: a cycle 1 step dose (9 then 28 mcg/day) fits the label for cycle 1 only."""
    body = example(CYCLE_10)
    for prior in history(body):
        epic_shape(prior, BLINATUMOMAB)
    step = the_draft(example("aspirus-adult-relapsed-refractory-cycle1"))
    step["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-12-01", "end": "2026-12-07"}
    step["dosageInstruction"][1]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-12-08", "end": "2026-12-28"}
    body["context"]["draftOrders"]["entry"][0]["resource"] = step
    [decision] = decisions(post(client, body))
    assert (decision["cycle"], decision["decision"]) == (10, "criteria-not-met")


def test_a_draft_order_named_by_its_reference_display_is_evaluated(client: Any) -> None:
    """It used to get no card at all: not even the note that nothing was checked."""
    body = example(CYCLE_10)
    epic_shape(the_draft(body), BLINATUMOMAB, "eblinatumomab")
    answer = post(client, body)
    [decision] = decisions(answer)
    assert (decision["cycle"], decision["decision"]) == (10, "criteria-not-met")
    assert len(answer["systemActions"]) == 1

def test_a_draft_order_whose_medication_came_in_the_history_bundle_is_evaluated(client: Any) -> None:
    """A prefetch with `_include=MedicationRequest:medication` carries the Medication (resolve.py); the draft must be
    recognized from it as the history is, not only from a FHIR server."""
    body = example(CYCLE_10)
    draft = the_draft(body)
    medication = {"resourceType": "Medication", "id": "eblinatumomab", "code": draft["medicationCodeableConcept"]}
    epic_shape(draft, None, "eblinatumomab")
    body["prefetch"]["medicationRequests"]["entry"].append({"resource": medication})
    [decision] = decisions(post(client, body))
    assert (decision["cycle"], decision["decision"]) == (10, "criteria-not-met")


def test_prior_orders_whose_drug_cannot_be_identified_ask_for_the_cycle_number(client: Any) -> None:
    """No Medication and no display: each may be a prior cycle. The count is not guessed (least of all as cycle 1,
    which the step dose would then approve); the clinician attests it (policy-rules.md §1)."""
    body = example(CYCLE_10)
    for prior in history(body):
        epic_shape(prior, None)
    [decision] = decisions(post(client, body))
    assert (decision["cycle"], decision["decision"]) == (None, "information-needed")
    assert "cycle number of this order" in decision["missing"]
    [answer] = [e["resource"] for e in body["prefetch"]["attestations"]["entry"]]
    answer["item"].append({"linkId": "cycle-number", "answer": [{"valueInteger": 10}]})
    [decision] = decisions(post(client, body))
    assert (decision["cycle"], decision["decision"]) == (10, "criteria-not-met")


def test_an_unidentified_order_signed_with_blinatumomab_leaves_the_combination_to_attest(client: Any) -> None:
    """It may be a TKI or chemotherapy given with it: "single agent" (which this Ph- pathway needs) is not assumed."""
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    # Starting with the blinatumomab order (2026-12-01), whatever day the test runs: an order with no start starts
    # the day it is signed, which after that date no longer overlaps it.
    other = {"resourceType": "MedicationRequest", "id": "other", "status": "draft", "intent": "order",
             "subject": {"reference": "Patient/example-patient"},
             "medicationReference": {"reference": "Medication/e777"},
             "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": "2026-12-01"}}}}]}
    body["context"]["draftOrders"]["entry"].append({"resource": other})
    [decision] = decisions(post(client, body))
    assert decision["decision"] == "information-needed"
    assert decision["missing"] and all("how blinatumomab is used" in m for m in decision["missing"])


def assert_unidentified_card(answer: dict[str, Any], order: str = "MedicationRequest/blinatumomab-order") -> None:
    """Not silence (read as "not blinatumomab" or "no problem"), not a 400 (a valid MedicationRequest: the
    Medication is data we could not read, service-contract.md §Prefetch), not a coverage assertion (it may be
    another drug): a note that nothing was checked, and why."""
    [card] = answer["cards"]
    assert card["indicator"] == "info" and card["source"]["topic"]["code"] == "coverage-info"
    assert card["extension"]["davinci-crd.associated-resource"] == [{"reference": order}]
    assert "not checked" in card["summary"] and "could not be identified" in card["summary"]
    assert "display" in card["detail"] and "not a denial" in card["detail"]
    assert answer["systemActions"] == []


def test_a_draft_order_whose_drug_cannot_be_identified_gets_a_note_not_silence(client: Any) -> None:
    body = example(CYCLE_10)
    epic_shape(the_draft(body), None, "eblinatumomab")
    assert_unidentified_card(post(client, body))
    assert post(client, with_configuration(body, **{"coverage-info": False})) == {"cards": [], "systemActions": []}


@pytest.mark.parametrize("status", [404, 500])
def test_a_failed_medication_read_gets_the_same_note(client: Any, fhir_server: FhirTestServer, status: int) -> None:
    body = example(CYCLE_10)
    epic_shape(the_draft(body), None, "eblinatumomab")
    body["fhirServer"] = fhir_server.base_url
    fhir_server.fault("/Medication/eblinatumomab", status=status)
    assert_unidentified_card(post(client, body))
    assert fhir_server.paths() == ["/Medication/eblinatumomab"]


def test_order_select_notes_only_a_selected_unidentified_order(client: Any) -> None:
    body = example("order-select-aspirus")
    selected = the_draft(body)
    epic_shape(selected, None, "eblinatumomab")
    body["context"]["draftOrders"]["entry"].append({"resource": {**selected, "id": "not-selected"}})
    assert_unidentified_card(post(client, body), f"MedicationRequest/{selected['id']}")
