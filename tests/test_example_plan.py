"""A third payer as data alone: tests/example_plan/ holds a synthetic plan ("Example Health Plan", policy
EHP-RX-042, invented) written from the vocabulary of docs/policy-reading.md, not copied from a shipped file, and its
payer routing. Loaded beside the shipped policies through CDS_POLICY_DIR and CDS_VALUESET_DIR, as an operator would,
it must be recognised, decide, be cited, audited and announced, with no change to the code."""
from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest
from flask import Flask

from cds_service.cli import main
from cds_service.policies import loading
from cds_service.valuesets import ENV_DIR as VALUESET_DIR
from cds_service.valuesets import get_valuesets
from tests.conftest import close_app, local_settings, make_app
from tests.crd_invariants import check_crd_invariants
from tests.live_server import LiveClient, serving

PLAN = Path(__file__).resolve().parent / "example_plan"
POLICY_FILE = PLAN / "policies" / "example-health.toml"
SERVICE = "/cds-services/blinatumomab-coverage"
CRD_COVERAGE = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
PAYER_ID = {"system": "http://plan.example.org/fhir/sid/payer-id", "value": "EHP-001"}


def _examples() -> ModuleType:
    """tools/build_examples.py, whose builders make the requests (a tool, not a package: loaded by path)."""
    path = Path(__file__).resolve().parents[1] / "tools" / "build_examples.py"
    spec = importlib.util.spec_from_file_location("build_examples", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


X = _examples()


def _clear_caches() -> None:
    loading.load_policy.cache_clear()
    loading.policy_files.cache_clear()
    get_valuesets.cache_clear()


@pytest.fixture
def plan_dirs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The example plan's folders in the environment, the caches read afresh before and after."""
    monkeypatch.setenv(loading.ENV_DIR, str(PLAN / "policies"))
    monkeypatch.setenv(VALUESET_DIR, str(PLAN / "valuesets"))
    _clear_caches()
    yield
    monkeypatch.delenv(loading.ENV_DIR)
    monkeypatch.delenv(VALUESET_DIR)
    _clear_caches()


@pytest.fixture
def served(tmp_path: Path, plan_dirs: None) -> Iterator[tuple[Flask, LiveClient]]:
    app = make_app(local_settings(tmp_path))
    try:
        with serving(app) as client:
            yield app, client
    finally:
        close_app(app)


def _request(name: str, payor: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """An adult's order-sign request (relapsed Ph- B-ALL, cycle 1, step dosing) with `changes` to its builder's
    arguments, the Coverage's payor set to `payor`."""
    arguments: dict[str, Any] = {**X.RR_ADULT, "payer": "placeholder", **changes}
    orders = arguments.pop("orders", [X.blinatumomab(X.STEP)])
    body: dict[str, Any] = X.request(name, orders, **arguments)
    body["prefetch"]["coverage"]["entry"][0]["resource"]["payor"] = [payor]
    return body


BY_NAME = {"display": "Example Health Plan"}
BY_IDENTIFIER = {"display": "EHP Commercial PPO", "identifier": PAYER_ID}  # a name no routing entry holds
MRD_POSITIVE_IN_REMISSION = {"conditions": [X.REMISSION], "orders": [X.blinatumomab(X.FULL)],
                             "attestations": [X.attestation({"remission-number": 1})],
                             "observations": [X.weight(72), X.ph("negative"), X.mrd(0.02)]}


def _decision(answer: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The decision card and its contract extension."""
    card = next(c for c in answer["cards"] if "coverage-decision" in c.get("extension", {}))
    return card, card["extension"]["coverage-decision"]


def _coverage_information(answer: dict[str, Any]) -> dict[str, Any]:
    """The sub-extensions of the one coverage-information action, by url (a list for each)."""
    [action] = answer["systemActions"]
    [extension] = [e for e in action["resource"]["extension"] if e["url"] == CRD_COVERAGE]
    assert check_crd_invariants(extension) == []
    values: dict[str, Any] = {}
    for sub in extension["extension"]:
        values[sub["url"]] = next((v for k, v in sub.items() if k.startswith("value")),
                                  sub.get("extension"))  # `detail`: its parts
    return values


def _post(client: LiveClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(SERVICE, json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.get_json()
    return answer


@pytest.mark.parametrize("payor", [BY_NAME, BY_IDENTIFIER], ids=["by-name", "by-identifier"])
def test_a_member_meeting_the_plans_criteria_is_approved_under_it_and_audited(
        served: tuple[Flask, LiveClient], payor: dict[str, Any]) -> None:
    app, client = served
    body = _request("ehp-met", payor, **MRD_POSITIVE_IN_REMISSION)
    card, decided = _decision(_post(client, body))
    assert (decided["policy"], decided["decision"], decided["indication"]) == (
        "example-health", "meets-criteria", "ehp-mrd-positive")
    assert card["source"]["label"] == "Example Health Plan"
    assert card["summary"].startswith("Example Health Plan: meets criteria (adult B-ALL in remission, MRD 0.01%")
    assert "(_EHP-RX-042 §2.1(c)_)" in card["detail"] and "(_EHP-RX-042 §3 (dosing limit)_)" in card["detail"]
    assert {"label": "Example Health Plan policy", "url": "https://plan.example.org/policies/EHP-RX-042",
            "type": "absolute"} in card["links"]
    # 24 weeks from the course start (this order's), 4 cycles: the file's authorization, not a shipped plan's.
    assert decided["authorization"] == {"start": "2026-12-01", "end": "2027-05-18", "cycles": 4}
    info = _coverage_information(_post(client, {**body, "hookInstance": "5f0c1a9e-4f7e-4c55-9d1b-0e7a3c2b8d61"}))
    assert (info["covered"], info["pa-needed"], info["expiry-date"]) == ("covered", "satisfied", "2027-05-18")
    store = app.extensions["cds_service"].store
    store.flush()
    [outcome] = store.show(body["hookInstance"])[0].record.outcomes
    assert (outcome.policy, outcome.policy_version, outcome.policy_source, outcome.indication) == (
        "example-health", "EHP-RX-042 (2026-01)", "CDS_POLICY_DIR", "ehp-mrd-positive")
    assert outcome.policy_digest == hashlib.sha256(POLICY_FILE.read_bytes()).hexdigest()[:16]


def test_the_plans_own_criteria_decide_not_met_and_information_needed(served: tuple[Flask, LiveClient]) -> None:
    _, client = served
    ph_positive_alone = _request("ehp-ph", BY_NAME, observations=[X.weight(80), X.ph("positive")])
    card, decided = _decision(_post(client, ph_positive_alone))
    assert decided["decision"] == "criteria-not-met"
    assert "ehp-relapsed-refractory.ph-negative-or-tki" in {c["id"] for c in decided["criteria"]
                                                             if c["status"] == "not-met"}
    assert "Ph-, or Ph+ with a TKI" in card["summary"] and "EHP-RX-042 §2.2(b)" in card["detail"]
    assert _coverage_information(_post(client, ph_positive_alone))["covered"] == "not-covered"

    under_18 = _request("ehp-age", BY_NAME, birth="2010-05-10")
    card, decided = _decision(_post(client, under_18))
    assert decided["decision"] == "criteria-not-met" and "requires age 18 years or older" in card["summary"]

    no_mrd = _request("ehp-mrd", BY_NAME, **{**MRD_POSITIVE_IN_REMISSION,
                                              "observations": [X.weight(72), X.ph("negative")]})
    answer = _post(client, no_mrd)
    card, decided = _decision(answer)
    assert decided["decision"] == "information-needed"
    assert card["summary"] == "Example Health Plan: document quantitative MRD result (%) to confirm coverage"
    info = _coverage_information(answer)
    assert (info["covered"], info["doc-needed"]) == ("conditional", "clinical")


def test_the_plans_renewal_criterion_and_period_apply_from_its_cycle(served: tuple[Flask, LiveClient]) -> None:
    """Cycle 3 is the plan's first renewal (from_cycle = 3): its response criterion applies, and a met renewal is
    authorized for 16 weeks and 2 cycles from this cycle's start."""
    _, client = served
    cycle_3 = {"meds": X.prior_cycles(2, "2026-08-25"), "conditions": [X.b_all(recorded="2026-08-01")]}
    card, decided = _decision(_post(client, _request("ehp-renewal-open", BY_NAME, **cycle_3)))
    assert (decided["decision"], decided["request"], decided["cycle"]) == ("information-needed", "renewal", 3)
    assert "response or stable disease" in card["summary"]
    answered = {**cycle_3, "attestations": [X.attestation({"response-or-stabilization": True})]}
    card, decided = _decision(_post(client, _request("ehp-renewal-met", BY_NAME, **answered)))
    assert (decided["decision"], decided["request"]) == ("meets-criteria", "renewal")
    assert decided["authorization"] == {"start": "2026-12-01", "end": "2027-03-23", "cycles": 2}


def test_the_plans_dose_limit_makes_its_plan_limit_card(served: tuple[Flask, LiveClient]) -> None:
    """28.4 mcg/day is within the label's rounding but above the plan's 28 mcg/day."""
    _, client = served
    body = _request("ehp-ceiling", BY_NAME, **{**MRD_POSITIVE_IN_REMISSION, "orders": [
        X.blinatumomab([X.line(28.4, "2026-12-01", "2026-12-28")])]})
    answer = _post(client, body)
    card, decided = _decision(answer)
    assert decided["decision"] == "criteria-not-met" and "dose-at-most-28" in {
        c["id"] for c in decided["criteria"] if c["status"] == "not-met"}
    [limit] = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "limits"]
    assert "Example Health Plan" in limit["summary"] + limit["detail"]
    assert limit["suggestions"][0]["actions"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][0][
        "rateQuantity"]["value"] == 28


def test_discovery_and_the_no_plan_card_name_the_plan(served: tuple[Flask, LiveClient]) -> None:
    _, client = served
    services = client.get("/cds-services").get_json()["services"]
    assert all("Example Health Plan" in s["description"] for s in services)
    [limits] = [o for o in services[-1]["extension"]["davinci-crd.configuration-options"] if o["code"] == "limits"]
    assert "Example Health Plan: 28 mcg/day" in limits["description"]
    card = _post(client, _request("ehp-other", {"display": "Other Mutual"}))["cards"][0]
    assert card["summary"].startswith("No supported health plan") and "Example Health Plan" in card["detail"]


def test_cds_service_check_lists_the_plan_as_routed(plan_dirs: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    listed = capsys.readouterr().out
    digest = hashlib.sha256(POLICY_FILE.read_bytes()).hexdigest()[:16]
    assert (f"policy example-health: Example Health Plan, version EHP-RX-042 (2026-01), file {digest} "
            "(CDS_POLICY_DIR)\n") in listed


def test_the_fixture_is_not_among_the_shipped_policies() -> None:
    assert not (loading.POLICY_DIR / POLICY_FILE.name).exists()
    shipped_routing = json.loads((Path(loading.__file__).parents[1] / "valuesets" / "payers.json").read_text())
    assert "example-health" not in json.dumps(shipped_routing)
