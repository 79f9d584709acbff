"""The Codings of the coverage information as their code systems define them, and crd-ci-q5 read from the code
asserted: each display is the code system's own word for its code (a validator checks it against the system), the
extension is a valid FHIR R4 Extension, and `satisfied` always comes with its `satisfied-pa-id`."""
from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.extension import Extension

from cds_service import pipeline
from cds_service.coverage_info import EXTENSION_URL
from tests.crd_invariants import check_crd_invariants
from tests.test_coverage_info import action, decision, subs
from tests.test_crd_examples import NAMES
from tests.test_pipeline import example, post

# Each (system, code) this service sends with the display its code system gives it: CRD 2.2's temporary code system
# (coverage assertion reasons), HL7's crd-coverage-detail, CMS's HCPCS (J9039's long descriptor).
DISPLAYS = {
    ("http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp", "technical"): "Technical issues",
    ("http://terminology.hl7.org/CodeSystem/crd-coverage-detail", "instructions"): "Instructions",
    ("http://terminology.hl7.org/CodeSystem/crd-coverage-detail", "allowed-quantity"): "Maximum quantity",
    ("http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "J9039"): "Injection, blinatumomab, 1 microgram",
}


def _codings(value: Any) -> list[dict[str, Any]]:
    """Every Coding within a parsed JSON value (an object with a system and a code; a Quantity has a value too)."""
    if isinstance(value, list):
        return [coding for item in value for coding in _codings(item)]
    if not isinstance(value, dict):
        return []
    own = [value] if {"system", "code"} <= value.keys() and "value" not in value else []
    return own + [coding for item in value.values() for coding in _codings(item)]


def _coverage_information(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [extension for action in answer["systemActions"] for extension in action["resource"]["extension"]
            if extension["url"] == EXTENSION_URL]


def _check(extension: dict[str, Any]) -> None:
    assert check_crd_invariants(extension) == []
    Extension.model_validate(extension)  # value[x] types and formats as FHIR R4 has them (a date, a canonical)
    for coding in _codings(extension["extension"]):
        assert coding.get("display") == DISPLAYS[(coding["system"], coding["code"])], coding


@pytest.mark.parametrize("name", NAMES)
def test_every_coverage_information_of_the_examples_is_a_valid_extension_with_the_code_systems_displays(
        client: Any, name: str) -> None:
    for extension in _coverage_information(post(client, example(name))):
        _check(extension)


def _broken(*args: Any) -> None:
    raise RuntimeError("injected fault")


def test_a_fault_gives_the_technical_reason_with_its_code_systems_display(
        client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """CRD 2.2's temporary code system says `technical` "Technical issues": the reason said "Technical issue", a
    display of no code of the system, which a validator reports as a wrong display."""
    monkeypatch.setattr(pipeline, "reconcile_corrections", _broken)
    [extension] = _coverage_information(post(client, example("aspirus-adult-relapsed-refractory-cycle1")))
    _check(extension)
    [reason] = [part["valueCodeableConcept"] for part in extension["extension"] if part["url"] == "reason"]
    assert reason["coding"] == [{"system": "http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp",
                                 "code": "technical", "display": "Technical issues"}]


def test_data_not_received_gives_the_technical_reason_with_its_code_systems_display() -> None:
    values = subs(action(decision("information-needed", not_received=["immunization history (live vaccines)"])))
    assert values["covered"] == "indeterminate"
    assert values["reason"]["coding"][0]["display"] == "Technical issues"


def test_a_met_decision_without_an_authorization_period_still_names_the_authorization_it_satisfies() -> None:
    """crd-ci-q5: satisfied-pa-id exactly when pa-needed is `satisfied`. The id was added only beside an
    authorization period, so a met decision without one asserted `satisfied` with no id; now the id follows the
    code, and only the expiry-date, which the period gives, is left out."""
    values = subs(action(decision("meets-criteria", authorization=None)))
    assert (values["pa-needed"], values["satisfied-pa-id"]) == ("satisfied", "assert-1")
    assert "expiry-date" not in values and "detail" not in values


@pytest.mark.parametrize("unsolicited", [True, False])
def test_satisfied_pa_id_follows_pa_needed_satisfied_for_every_outcome(unsolicited: bool) -> None:
    outcomes = [None, *(decision(kind) for kind in ("meets-criteria", "information-needed", "criteria-not-met"))]
    for outcome in outcomes:
        values = subs(action(outcome, unsolicited))
        assert (values.get("pa-needed") == "satisfied") == ("satisfied-pa-id" in values)
        assert ("expiry-date" in values) == ("satisfied-pa-id" in values)
