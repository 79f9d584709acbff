"""Da Vinci CRD 2.2 `detail` of the coverage information, coded from HL7's crd-coverage-detail code system in the
`cat-limitation` category an EHR shows clinicians: an `info-needed` of `OTH` says in an `instructions` detail what is
needed (the extension's info-needed comment); a satisfied authorization counted in cycles says how many in an
`allowed-quantity` detail (a qualifier of the assertion, CRD 2.2 cards); no other outcome has one. Checked on the
action and over HTTP, with FHIR R4 validating the order the EHR stores."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest

from cds_service.cli import main
from cds_service.config import VARIABLES
from cds_service.coverage_info import EXTENSION_URL
from tests.crd_invariants import check_crd_invariants
from tests.test_coverage_info import action, decision, extension_of
from tests.test_pipeline import example, post, with_configuration

INSTRUCTIONS = {"system": "http://terminology.hl7.org/CodeSystem/crd-coverage-detail", "code": "instructions",
                "display": "Instructions"}


def _coverage_information(resource: dict[str, Any]) -> dict[str, Any]:
    [extension] = [e for e in resource["extension"] if e["url"] == EXTENSION_URL]
    assert check_crd_invariants(extension) == []
    return extension


def _details(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """Each `detail` as {part: value}."""
    parts = _coverage_information(resource)["extension"]
    return [{p["url"]: next(v for k, v in p.items() if k.startswith("value")) for p in part["extension"]}
            for part in parts if part["url"] == "detail"]


def test_information_needed_says_what_to_document_in_an_instructions_detail() -> None:
    [detail] = _details(action(decision("information-needed"))["resource"])
    assert detail == {"category": "cat-limitation", "code": {"coding": [INSTRUCTIONS]},
                      "value": "Document: MRD result; current weight"}


def test_the_detail_names_what_to_document_without_the_failure_the_reason_puts_first() -> None:
    """The order fails its indication's dose: the reason says so first; the detail holds the documentation only."""
    failed = decision("information-needed", indication="adult-relapsed-refractory",
                      criteria=[*decision("criteria-not-met").criteria])
    parts = {p["url"]: p for p in _coverage_information(action(failed)["resource"])["extension"]}
    assert parts["reason"]["valueCodeableConcept"]["text"].startswith("Not met as ordered: ")
    [detail] = _details(action(failed)["resource"])
    assert detail["value"] == "Document: MRD result; current weight"


def test_a_satisfied_authorization_counted_in_cycles_says_how_many_in_an_allowed_quantity_detail() -> None:
    """A qualifier of the assertion beside its expiry-date (CRD 2.2 cards: qualifiers SHALL be included)."""
    [detail] = _details(action(decision("meets-criteria"))["resource"])
    assert detail == {
        "category": "cat-limitation",
        "code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/crd-coverage-detail",
                             "code": "allowed-quantity", "display": "Maximum quantity"}]},
        "value": {"value": 5, "unit": "cycles", "system": "http://unitsofmeasure.org", "code": "{cycle}"},
        "qualification": "Blinatumomab cycles authorized from 2026-12-01 to 2027-06-29"}


def test_one_authorized_cycle_is_said_in_the_singular() -> None:
    one = decision("meets-criteria", authorization={"start": "2026-12-01", "end": "2026-12-29", "cycles": 1})
    [detail] = _details(action(one)["resource"])
    assert detail["value"]["unit"] == "cycle" and detail["value"]["value"] == 1


@pytest.mark.parametrize(("outcome", "unsolicited"), [
    (decision("meets-criteria", authorization={"start": "2026-12-01", "end": "2027-06-01", "cycles": None}), True),
    (decision("meets-criteria"), False), (decision("criteria-not-met"), True),
    (decision("information-needed", not_received=["MRD result", "current weight"]), True), (None, True),
])
def test_no_other_outcome_has_a_detail(outcome: Any, unsolicited: bool) -> None:
    """A plan counting no cycles (Florida Blue), a what-if call (no authorization issued), not covered, not
    received, a fault: none."""
    assert _details(action(outcome, unsolicited)["resource"]) == []


def test_the_detail_comes_after_the_reason_and_before_the_questionnaire() -> None:
    urls = [p["url"] for p in _coverage_information(action(decision("information-needed"))["resource"])["extension"]]
    assert urls.index("reason") < urls.index("detail") < urls.index("questionnaire")


@pytest.mark.parametrize("name", ["aspirus-consolidation-mrd-missing", "florida-blue-cd19-missing"])
def test_over_http_the_documentation_needed_order_is_a_valid_r4_medication_request_with_its_detail(
        client: Any, name: str) -> None:
    [system_action] = post(client, example(name))["systemActions"]
    MedicationRequest.model_validate(system_action["resource"])
    [detail] = _details(system_action["resource"])
    assert detail["category"] == "cat-limitation" and detail["value"].startswith("Document: ")


@pytest.mark.parametrize(("name", "printed"), [
    ("aspirus-consolidation-mrd-missing", "detail=cat-limitation / instructions / Document: MRD result"),
    ("aspirus-adult-maintenance", "detail=cat-limitation / allowed-quantity / 5 cycles / Blinatumomab cycles"),
])
def test_cds_service_evaluate_prints_the_detail_by_its_parts(capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch, name: str,
                                                            printed: str) -> None:
    """A complex sub-extension has no value[x]: `evaluate` printed "detail=None"."""
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    assert main(["evaluate", str(Path(__file__).resolve().parents[1] / "fhir_examples" / f"{name}.json")]) == 0
    assert printed in capsys.readouterr().out


@pytest.mark.parametrize(("name", "cycles"), [("aspirus-adult-consolidation-mrd-positive", 4),
                                             ("aspirus-relapsed-refractory-cycle6-renewal", 2)])
def test_over_http_an_aspirus_approval_says_its_cycles(client: Any, name: str, cycles: int) -> None:
    [system_action] = post(client, example(name))["systemActions"]
    MedicationRequest.model_validate(system_action["resource"])
    [detail] = _details(system_action["resource"])
    assert detail["value"]["value"] == cycles


def test_a_what_if_call_needing_documentation_keeps_its_detail(client: Any) -> None:
    body = with_configuration(example("aspirus-consolidation-mrd-missing"), **{"unsolicited-determ": False})
    [system_action] = post(client, body)["systemActions"]
    assert len(_details(system_action["resource"])) == 1


def _detail(*parts: tuple[str, str, Any]) -> dict[str, Any]:
    return {"url": "detail", "extension": [{"url": url, kind: value} for url, kind, value in parts]}


CATEGORY = ("category", "valueCode", "cat-limitation")
CODE = ("code", "valueCodeableConcept", {"coding": [INSTRUCTIONS]})
VALUE = ("value", "valueString", "Document: MRD result")
NEEDING = (("covered", "conditional"), ("pa-needed", "auth-needed"), ("doc-needed", "clinical"),
           ("info-needed", "OTH"), ("reason", {"text": "Document: MRD result"}))


@pytest.mark.parametrize(("detail", "problem"), [
    (None, "info-needed OTH needs a detail"),
    (_detail(CODE, VALUE), "detail.category must occur exactly once"),
    (_detail(CATEGORY, CODE), "detail.value must occur exactly once"),
    (_detail(("category", "valueCode", "limitation"), CODE, VALUE), "not a CRD detail category"),
    (_detail(CATEGORY, ("code", "valueCoding", INSTRUCTIONS), VALUE), "detail.code: ['valueCoding']"),
    (_detail(CATEGORY, CODE, ("value", "valueCode", "x")), "detail.value: ['valueCode']"),
    (_detail(CATEGORY, CODE, VALUE, ("note", "valueString", "x")), "detail.note is no part"),
    ({"url": "detail", "valueString": "Document: MRD result"}, "detail is complex"),
])
def test_the_oracle_refuses_a_missing_or_malformed_detail(detail: dict[str, Any] | None, problem: str) -> None:
    extension = extension_of(*NEEDING)
    if detail is not None:
        extension["extension"].append(detail)
    problems = check_crd_invariants(extension)
    assert any(problem in found for found in problems), problems


def test_the_oracle_accepts_a_well_formed_detail() -> None:
    extension = extension_of(*NEEDING)
    extension["extension"].append(_detail(CATEGORY, CODE, VALUE, ("qualification", "valueString", "per cycle")))
    assert check_crd_invariants(extension) == []
