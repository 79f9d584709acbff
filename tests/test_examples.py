"""Every request in fhir_examples/ through the real HTTP endpoint, checked against the outcome written beside it."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from tests.crd_invariants import check_crd_invariants

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
EXPECTED: dict[str, dict[str, Any]] = json.loads((EXAMPLES / "expected.json").read_text())
CRD_COVERAGE = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
COVERED = {"meets-criteria": "covered", "information-needed": "conditional", "criteria-not-met": "not-covered"}
CARD_TYPES = "http://terminology.hl7.org/CodeSystem/cdshooks-card-type"
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
        value = next(v for k, v in sub.items() if k.startswith("value"))
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
    expected = EXPECTED[name]
    answer = _post(live_service, name)
    if expected.get("empty"):
        assert answer == {"cards": [], "systemActions": []}
        return
    cards = answer["cards"]
    offered = _configuration_options(live_service)
    for card in cards:
        assert len(card["summary"]) < 140, card["summary"]
        assert card["indicator"] in {"info", "warning", "critical"}
        # service-contract.md §Response: a card type of the code system, which discovery offers to turn off.
        assert card["source"]["topic"]["system"] == CARD_TYPES
        assert _topic(card) in CARD_TYPE_CODES and _topic(card) in offered, _topic(card)
    decision_cards = [c for c in cards if "coverage-decision" in c.get("extension", {})]
    if expected["policy"] is None:
        assert decision_cards == []
        assert answer["systemActions"] == []
    else:
        _check_decision(expected, decision_cards, answer["systemActions"])
    _check_dose_and_quantity(expected, cards)


def _check_decision(expected: dict[str, Any], decision_cards: list[dict[str, Any]],
                    actions: list[dict[str, Any]]) -> None:
    [card] = decision_cards
    decision = card["extension"]["coverage-decision"]
    assert decision["policy"] == expected["policy"]
    assert decision["decision"] == expected["decision"], json.dumps(decision["criteria"], indent=1)
    assert decision["indication"] == expected["indication"]
    for key in ("request", "cycle"):
        if key in expected:
            assert decision[key] == expected[key]
    if "authorization_end" in expected:
        assert decision["authorization"]["end"] == expected["authorization_end"]
    default_indicator = "info" if expected["decision"] == "meets-criteria" else "warning"
    assert card["indicator"] == expected.get("indicator", default_indicator)
    assert all(c["status"] in {"met", "not-met", "unknown"} for c in decision["criteria"])
    if expected["decision"] == "information-needed":
        assert decision["missing"], "information-needed must say what to document"
    if expected.get("no_actions"):
        assert actions == []
        return
    [action] = actions
    assert action["type"] == "update"
    coverage = _sub_extensions(action["resource"])
    assert check_crd_invariants(coverage["extension"]) == []
    pa_needed = expected.get("pa_needed")
    if pa_needed:
        assert coverage["values"]["pa-needed"] == pa_needed
    else:
        assert coverage["values"]["covered"] == expected.get("covered", COVERED[expected["decision"]])
    # What the EHR did not send is said as such, never as documentation the chart lacks.
    assert decision["not-received"] == expected.get("not_received", [])


def _check_dose_and_quantity(expected: dict[str, Any], cards: list[dict[str, Any]]) -> None:
    if "dose_card" in expected:
        dose_cards = [c for c in cards if _topic(c) == "off-guideline"]
        if expected["dose_card"] is None:
            assert dose_cards == []
        else:
            [dose] = dose_cards
            assert dose["indicator"] == expected["dose_card"]
            assert "dose-check" in dose["extension"]
            if expected.get("dose_suggestion_lines") == 0:  # the patient's own label dose is not known
                assert "suggestions" not in dose
            elif expected["dose_card"] == "warning":
                [suggestion] = dose["suggestions"]
                [action] = suggestion["actions"]
                lines = action["resource"]["dosageInstruction"]
                assert len(lines) == expected.get("dose_suggestion_lines", len(lines))
    if "quantity_card" in expected:
        [quantity] = [c for c in cards if _topic(c) == "limits"]
        assert quantity["indicator"] == expected["quantity_card"]
