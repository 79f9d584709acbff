"""Every example request answered as CDS Hooks 2.0 and Da Vinci CRD 2.2 require, over HTTP: the cards' and
suggestions' required fields, topics a client can turn off, suggested orders and coverage-information updates that are
valid FHIR R4 MedicationRequests, one coverage-information per answered order on order-sign (none on order-select),
the order otherwise as received, its Coverage, billing code, date and expiry as the contract says, and nothing of
the coverage information when the client turns it off (CRD: servers SHALL behave as configured)."""
from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest

from cds_service.coverage_info import EXTENSION_URL
from tests.crd_invariants import check_crd_invariants
from tests.test_pipeline import EXAMPLES, example, post, with_configuration

NAMES = sorted(p.stem for p in EXAMPLES.glob("*.json") if p.stem != "expected")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CARD_TYPES = "http://terminology.hl7.org/CodeSystem/cdshooks-card-type"
HCPCS_J9039 = {"system": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "code": "J9039"}


def _options(client: Any) -> set[str]:
    services = client.get("/cds-services").get_json()["services"]
    return {o["code"] for s in services for o in s["extension"]["davinci-crd.configuration-options"]}


def _drafts(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["resource"]["id"]: e["resource"] for e in body["context"]["draftOrders"].get("entry", [])
            if isinstance(e.get("resource"), dict) and "id" in e["resource"]}


def _check_card(card: dict[str, Any], options: set[str]) -> None:
    assert UUID.fullmatch(card["uuid"])
    assert 0 < len(card["summary"]) < 140
    assert card["indicator"] in ("info", "warning", "critical")
    topic = card["source"]["topic"]
    assert card["source"]["label"] and topic["system"] == CARD_TYPES and topic["code"] in options
    for link in card.get("links", []):
        assert link["label"] and link["url"] and link["type"] in ("absolute", "smart")
    for reason in card.get("overrideReasons", []):
        assert reason.keys() <= {"system", "code", "display"} and reason["code"] and reason["system"]
    if card.get("suggestions"):
        assert card["selectionBehavior"] in ("at-most-one", "any")
    for suggestion in card.get("suggestions", []):
        assert UUID.fullmatch(suggestion["uuid"]) and suggestion["label"]
        assert isinstance(suggestion.get("isRecommended", False), bool)
        for action in suggestion["actions"]:
            _check_suggested(action)


def _check_suggested(action: dict[str, Any]) -> None:
    assert action["type"] in ("create", "update", "delete") and action["description"]
    if action["type"] == "delete":
        assert re.fullmatch(r"MedicationRequest/[A-Za-z0-9\-.]{1,64}", action["resourceId"])
        return
    MedicationRequest.model_validate(action["resource"])
    # The next order-sign gives a fresh coverage information (service-contract.md, Response item 3).
    assert all(e.get("url") != EXTENSION_URL for e in action["resource"].get("extension", []))


@pytest.mark.parametrize("name", NAMES)
def test_every_card_and_suggestion_is_well_formed(client: Any, name: str) -> None:
    answer = post(client, example(name))
    assert set(answer) == {"cards", "systemActions"}
    options = _options(client)
    for card in answer["cards"]:
        _check_card(card, options)


def _coverage_information(action: dict[str, Any]) -> dict[str, Any]:
    [information] = [e for e in action["resource"]["extension"] if e["url"] == EXTENSION_URL]
    assert check_crd_invariants(information) == []
    return {p["url"]: next((v for k, v in p.items() if k.startswith("value")), p.get("extension"))
            for p in information["extension"]}


@pytest.mark.parametrize("name", NAMES)
def test_every_coverage_information_update_is_the_order_as_received_plus_its_assertion(client: Any,
                                                                                     name: str) -> None:
    body = example(name)
    answer = post(client, body)
    if body["hook"] == "order-select":
        assert answer["systemActions"] == []
        return
    drafts = _drafts(body)
    decisions = {c["extension"]["davinci-crd.associated-resource"][0]["reference"]:
                 c["extension"]["coverage-decision"] for c in answer["cards"]
                 if "coverage-decision" in c.get("extension", {})}
    assert len(answer["systemActions"]) == len(decisions)  # one for each decision, none without a plan
    coverages = [e["resource"]["id"] for e in (body["prefetch"].get("coverage") or {}).get("entry", [])]
    for action in answer["systemActions"]:
        assert action["type"] == "update" and action["description"]
        resource = action["resource"]
        MedicationRequest.model_validate(resource)
        others = [e for e in resource["extension"] if e["url"] != EXTENSION_URL]
        assert {k: v for k, v in resource.items() if k != "extension"} | ({"extension": others} if others else {}) \
            == drafts[resource["id"]]
        values = _coverage_information(action)
        assert values["coverage"]["reference"] in {f"Coverage/{c}" for c in coverages}
        assert {k: values["billingCode"][k] for k in ("system", "code")} == HCPCS_J9039
        assert date.fromisoformat(values["date"]) - date.today() in (timedelta(0), timedelta(days=-1))
        authorization = decisions[f"MedicationRequest/{resource['id']}"]["authorization"]
        if values.get("pa-needed") == "satisfied":
            assert values["satisfied-pa-id"] == values["coverage-assertion-id"]
            assert values["expiry-date"] == authorization["end"]
        else:
            assert "satisfied-pa-id" not in values and "expiry-date" not in values


def test_coverage_assertion_ids_are_unique_across_calls(client: Any) -> None:
    ids = [_coverage_information(action)["coverage-assertion-id"]
           for name in NAMES for action in post(client, example(name))["systemActions"]]
    assert len(ids) > 20 and len(set(ids)) == len(ids)


@pytest.mark.parametrize("name", NAMES)
def test_coverage_information_turned_off_leaves_no_trace_of_it(client: Any, name: str) -> None:
    answer = post(client, with_configuration(example(name), **{"coverage-info": False}))
    assert answer["systemActions"] == []
    assert all(c["source"]["topic"]["code"] != "coverage-info" for c in answer["cards"])


def test_the_examples_are_all_read() -> None:
    assert len(NAMES) == len(list(Path(EXAMPLES).glob("*.json"))) - 1 >= 25
