"""Conformance points of CDS Hooks 2.0 and Da Vinci CRD 2.2 checked over HTTP, each where an earlier answer broke it:
the client's configuration obeyed by the fault answer too (CRD dev-14), and a coverage-information whose `coverage`
is a valid FHIR Reference whatever Coverage the EHR sent."""
from __future__ import annotations

from typing import Any

import pytest

from cds_service import pipeline
from tests.crd_invariants import check_crd_invariants
from tests.test_pipeline import CRD_COVERAGE, example, post


def _broken(*args: Any) -> None:
    raise RuntimeError("injected fault")


def _configured(body: dict[str, Any], **settings: Any) -> dict[str, Any]:
    body["extension"] = {"davinci-crd.configuration": settings}
    return body


def test_a_fault_with_coverage_information_turned_off_returns_no_coverage_action(
        client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """CRD dev-14 and the contract: `coverage-info: false` drops the coverage-information actions, a fault's
    `indeterminate` one included (its card was already dropped, the action was not)."""
    monkeypatch.setattr(pipeline, "reconcile_corrections", _broken)
    answer = post(client, _configured(example("aspirus-adult-relapsed-refractory-cycle1"), **{"coverage-info": False}))
    assert answer == {"cards": [], "systemActions": []}


def test_a_fault_with_coverage_information_on_still_returns_the_indeterminate_action(
        client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "reconcile_corrections", _broken)
    answer = post(client, _configured(example("aspirus-adult-relapsed-refractory-cycle1"), **{"coverage-info": True}))
    [action] = answer["systemActions"]
    [info] = [e for e in action["resource"]["extension"] if e["url"] == CRD_COVERAGE]
    assert check_crd_invariants(info) == []
    assert {"url": "covered", "valueCode": "indeterminate"} in info["extension"]


def _coverage_value(answer: dict[str, Any]) -> dict[str, Any]:
    [action] = answer["systemActions"]
    [info] = [e for e in action["resource"]["extension"] if e["url"] == CRD_COVERAGE]
    assert check_crd_invariants(info) == []
    return next(part["valueReference"] for part in info["extension"] if part["url"] == "coverage")


@pytest.mark.parametrize("sent", [None, "cov 1", "x" * 65])
def test_a_coverage_without_a_fhir_id_is_named_without_a_broken_reference(client: Any, sent: str | None) -> None:
    """A hand-built prefetch's Coverage without an id (or with one FHIR forbids) gave {"reference": "Coverage/"}: no
    FHIR reference. The assertion still stands, naming the Coverage by a display."""
    body = example("aspirus-adult-consolidation-mrd-positive")
    coverage = body["prefetch"]["coverage"]["entry"][0]["resource"]
    coverage.pop("id")
    if sent is not None:
        coverage["id"] = sent
    value = _coverage_value(post(client, body))
    assert "reference" not in value and "Coverage" in value["display"]


def test_a_coverage_with_its_id_is_referenced_literally(client: Any) -> None:
    body = example("aspirus-adult-consolidation-mrd-positive")
    coverage_id = body["prefetch"]["coverage"]["entry"][0]["resource"]["id"]
    assert _coverage_value(post(client, body)) == {"reference": f"Coverage/{coverage_id}"}
