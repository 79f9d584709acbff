"""Data the EHR holds but did not send (a prefetch key not answered, its FHIR server failing) is a technical gap, not
documentation the chart lacks (service-contract.md §Prefetch; Da Vinci CRD 2.2 resp-43): the card says what did not
arrive, the coverage information is `indeterminate` with reason `technical`, and documentation is asked only for
what the received record does not show. Over real HTTP, with a FHIR server standing in for the EHR's."""
from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.crd_invariants import check_crd_invariants
from tests.fhir_server import FhirTestServer, fhir_server  # noqa: F401 (the fixture)
from tests.test_pipeline import example

SERVICE = "/cds-services/blinatumomab-coverage"
ADULT = "aspirus-adult-relapsed-refractory-cycle1"
TECHNICAL = {"system": "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp", "code": "technical",
             "display": "Technical issues"}


def _post(base_url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(base_url + SERVICE, json=body, timeout=20)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _decision_card(answer: dict[str, Any]) -> dict[str, Any]:
    [card] = [c for c in answer["cards"] if "coverage-decision" in c["extension"]]
    return card


def _coverage(answer: dict[str, Any]) -> dict[str, Any]:
    [action] = answer["systemActions"]
    [extension] = [e for e in action["resource"]["extension"] if e["url"].endswith("ext-coverage-information")]
    assert check_crd_invariants(extension) == []
    # A complex sub-extension (`detail`) by its parts.
    return {part["url"]: next((v for k, v in part.items() if k.startswith("value")), part.get("extension"))
            for part in extension["extension"]}


def _fetched_from(server: FhirTestServer, *keys: str) -> dict[str, Any]:
    """The adult example with `keys` left out of the prefetch, to be read from `server`."""
    body = example(ADULT)
    for key in keys:
        del body["prefetch"][key]
    body["fhirServer"] = server.base_url
    return body


def test_a_failing_fhir_server_is_a_technical_gap_not_documentation(live_service: str,
                                                                     fhir_server: FhirTestServer) -> None:
    """The reviewer's case: the EHR's server answered 500, and the order was marked "clinical documentation needed"
    with a list of items already in the chart."""
    for path in ("/Observation", "/Immunization"):
        fhir_server.fault(path, status=500)
    answer = _post(live_service, _fetched_from(fhir_server, "observations", "immunizations"))
    card = _decision_card(answer)
    decision = card["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed"
    assert "immunization history (live vaccines)" in decision["not-received"]
    assert "current weight (within 30 days)" in decision["not-received"]  # the dose needs the weight
    assert set(decision["not-received"]) <= set(decision["missing"])
    # The data by the name a clinician knows, not the criteria's items (a therapy phase is worked out, not sent).
    assert card["summary"] == ("Aspirus Health Plan: coverage not determined, EHR did not send immunizations, lab "
                               "results and vital signs")
    assert "**Not received from the EHR**: immunizations, lab results and vital signs (" in card["detail"]
    assert "**document:** immunization history" not in card["detail"]
    coverage = _coverage(answer)
    assert coverage["covered"] == "indeterminate"
    assert coverage["reason"]["coding"] == [TECHNICAL]
    assert coverage["reason"]["text"].startswith("Not received from the EHR: ")
    assert not {"pa-needed", "doc-needed", "questionnaire"} & set(coverage)


def test_a_server_refusing_a_search_with_and_without_count_is_a_technical_gap(live_service: str,
                                                                              fhir_server: FhirTestServer) -> None:
    """A 400 asked again without `_count` (the Observations narrowed too, with and without it), and a 400 again: the
    keys are not received, never read as nothing recorded (which would let a live vaccine through)."""
    for path in ("/Observation", "/Immunization"):
        fhir_server.fault(path, status=400)
    answer = _post(live_service, _fetched_from(fhir_server, "observations", "immunizations"))
    decision = _decision_card(answer)["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed"
    assert {"immunization history (live vaccines)", "current weight (within 30 days)"} <= set(decision["not-received"])
    assert (fhir_server.paths().count("/Immunization"), fhir_server.paths().count("/Observation")) == (2, 6)
    assert _coverage(answer)["reason"]["coding"] == [TECHNICAL]


def test_the_criteria_say_which_unknowns_were_not_received(live_service: str, fhir_server: FhirTestServer) -> None:
    fhir_server.fault("/Immunization", status=500)
    decision = _decision_card(_post(live_service, _fetched_from(fhir_server, "immunizations")))
    [vaccines] = [c for c in decision["extension"]["coverage-decision"]["criteria"] if c["id"] == "U1"]
    assert (vaccines["status"], vaccines["received"]) == ("unknown", False)
    assert all(c["received"] for c in decision["extension"]["coverage-decision"]["criteria"] if c["id"] != "U1")


def test_what_the_received_record_lacks_is_still_asked_as_documentation(live_service: str,
                                                                        fhir_server: FhirTestServer) -> None:
    """Observations received without a weight: the weight is documentation; immunizations that did not arrive are
    named apart, in the card and in the coverage information's reason."""
    fhir_server.fault("/Immunization", status=500)
    body = _fetched_from(fhir_server, "immunizations")
    entries = body["prefetch"]["observations"]["entry"]
    body["prefetch"]["observations"]["entry"] = [e for e in entries if e["resource"]["code"]["coding"][0]["code"]
                                                 != "29463-7"]
    answer = _post(live_service, body)
    decision = _decision_card(answer)["extension"]["coverage-decision"]
    assert decision["not-received"] == ["immunization history (live vaccines)"]
    assert "current weight (within 30 days)" in decision["missing"]
    reason = _coverage(answer)["reason"]["text"]
    assert reason.startswith("Not received from the EHR: immunization history (live vaccines). Also to document: ")
    assert "current weight (within 30 days)" in reason


def test_attestations_not_sent_leave_missing_chart_data_as_documentation(live_service: str) -> None:
    """Many EHRs send no QuestionnaireResponses: that alone must not turn a missing MRD into a technical gap."""
    body = example("aspirus-consolidation-mrd-missing")
    body["prefetch"].pop("attestations", None)
    answer = _post(live_service, body)
    decision = _decision_card(answer)["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed"
    assert decision["not-received"] == []
    coverage = _coverage(answer)
    assert (coverage["covered"], coverage["doc-needed"]) == ("conditional", "clinical")


_SHORT_OF_TOTAL = {"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": []}
_OTHER_TYPE = {"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [{"resource": {
    "resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "weight"}}}]}


@pytest.mark.parametrize("answer", [_SHORT_OF_TOTAL, _OTHER_TYPE], ids=["short of its total", "of another type"])
def test_a_search_answer_that_cannot_be_whole_is_not_received(live_service: str, fhir_server: FhirTestServer,
                                                              answer: dict[str, Any]) -> None:
    """The tester's hostile server: a searchset saying it matched an Immunization and holding none, or holding an
    Observation instead, read as "no live vaccine recorded" and approved the order. Fetched, or prefetched."""
    fhir_server.fault("/Immunization", body=json.dumps({**answer, "total": 0, "entry": []}).encode())
    decision = _decision_card(_post(live_service, _fetched_from(fhir_server, "immunizations")))
    assert decision["extension"]["coverage-decision"]["decision"] == "meets-criteria"  # a whole empty answer
    fhir_server.fault("/Immunization", body=json.dumps(answer).encode())
    prefetched = example(ADULT)
    prefetched["prefetch"]["immunizations"] = answer
    for body in (_fetched_from(fhir_server, "immunizations"), prefetched):
        decision = _decision_card(_post(live_service, body))["extension"]["coverage-decision"]
        assert decision["decision"] == "information-needed"
        [vaccines] = [c for c in decision["criteria"] if c["id"] == "U1"]
        assert (vaccines["status"], vaccines["received"]) == ("unknown", False)
