"""A payer's policy as data: an operator adds a plan with a policy file (CDS_POLICY_DIR) and its payer identifiers
(CDS_VALUESET_DIR), no code; mistakes in either stop the start-up with a message naming the file."""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from cds_service.card_kinds import kind_of
from cds_service.cli import main
from cds_service.config import ConfigError
from cds_service.policies import loading
from cds_service.valuesets import ENV_DIR as VALUESET_DIR
from cds_service.valuesets import get_valuesets
from tests.conftest import close_app, local_settings, make_app
from tests.live_server import serving

EXAMPLE = Path(__file__).resolve().parents[1] / "fhir_examples" / "florida-blue-mrd-positive.json"
SERVICE = "/cds-services/blinatumomab-coverage"


@pytest.fixture
def operator_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """(policy dir, value-set dir) set in the environment; the caches are reset before and after."""
    policies, valuesets = tmp_path / "policies", tmp_path / "valuesets"
    policies.mkdir()
    valuesets.mkdir()
    monkeypatch.setenv(loading.ENV_DIR, str(policies))
    monkeypatch.setenv(VALUESET_DIR, str(valuesets))
    loading.load_policy.cache_clear()
    loading.policy_files.cache_clear()
    get_valuesets.cache_clear()
    yield policies, valuesets
    monkeypatch.delenv(loading.ENV_DIR)
    monkeypatch.delenv(VALUESET_DIR)
    loading.load_policy.cache_clear()
    loading.policy_files.cache_clear()
    get_valuesets.cache_clear()


def _with_mrd_threshold(text: str, threshold: str) -> str:
    """A policy file's text with its MRD threshold (`at_least` of the `mrd_percent` test) set to `threshold`,
    whatever the file states now."""
    changed, count = re.subn(r'(fact = "mrd_percent"\s*\n\s*at_least = )[0-9.]+', rf"\g<1>{threshold}", text)
    assert count == 1, "the policy file has no single mrd_percent threshold"
    return changed


def _example_plan(threshold: str = "0.01") -> str:
    """Florida Blue's file as another plan would write it: its own id and name, MRD of 0.01% or more."""
    text = (loading.POLICY_DIR / "florida-blue.toml").read_text(encoding="utf-8")
    for old, new in (('id = "florida-blue"', 'id = "example-plan"'),
                     ('payer_label = "Florida Blue"', 'payer_label = "Example Health Plan"')):
        assert old in text
        text = text.replace(old, new, 1)
    return _with_mrd_threshold(text, threshold)


def _route(valuesets: Path, policy_id: str) -> None:
    routing = {"name": "payers", "codes": [], "text": [{"text": "example health plan", "policy": policy_id}]}
    (valuesets / "payers.json").write_text(json.dumps(routing), encoding="utf-8")
    get_valuesets.cache_clear()  # read once per process, as the service does at start-up


def _request(payer: str, mrd_percent: float) -> dict[str, Any]:
    body = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    for entry in body["prefetch"]["coverage"]["entry"]:
        entry["resource"]["payor"] = [{"display": payer}]
    for entry in body["prefetch"]["observations"]["entry"]:
        quantity = entry["resource"].get("valueQuantity", {})
        if quantity.get("value") == 0.5:  # the example's MRD result
            quantity["value"] = mrd_percent
    return body


def test_an_operator_adds_a_plan_with_a_policy_file_and_a_payer_entry(
        tmp_path: Path, operator_dirs: tuple[Path, Path]) -> None:
    policies, valuesets = operator_dirs
    (policies / "example-plan.toml").write_text(_example_plan(), encoding="utf-8")
    _route(valuesets, "example-plan")
    app = make_app(local_settings(tmp_path))
    try:
        with serving(app) as client:
            decided = {payer: client.post(SERVICE, json=_request(payer, 0.05)).get_json()
                       for payer in ("Example Health Plan", "Florida Blue", "Other Plan")}
            discovery = client.get("/cds-services").get_json()
    finally:
        close_app(app)
    example, florida = (_extension(decided[p]) for p in ("Example Health Plan", "Florida Blue"))
    assert (example["policy"], example["decision"], example["indication"]) == (
        "example-plan", "meets-criteria", "fb-mrd-positive")
    # The same MRD of 0.05% is below Florida Blue's 0.1%: only the threshold in the file differs.
    assert florida["policy"] == "florida-blue" and florida["indication"] != "fb-mrd-positive"
    # Where the service names the plans it supports, the new one is among them.
    assert "Example Health Plan" in discovery["services"][0]["description"]
    no_plan = decided["Other Plan"]["cards"][0]
    assert no_plan["summary"].startswith("No supported health plan") and "Example Health Plan" in no_plan["detail"]


def test_a_policy_file_no_payer_is_routed_to_is_named_at_start_up(
        tmp_path: Path, operator_dirs: tuple[Path, Path], caplog: pytest.LogCaptureFixture) -> None:
    policies, _ = operator_dirs
    (policies / "example-plan.toml").write_text(_example_plan(), encoding="utf-8")
    app = make_app(local_settings(tmp_path))
    close_app(app)
    assert "no payer is routed to the policies example-plan" in caplog.text


def test_cds_service_check_lists_an_operators_plan_and_says_when_it_is_never_applied(
        operator_dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    policies, valuesets = operator_dirs
    (policies / "example-plan.toml").write_text(_example_plan(), encoding="utf-8")
    assert main(["check"]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("policy example-plan: ")]
    assert line.startswith("policy example-plan: Example Health Plan, version ") and line.endswith("never applied")
    _route(valuesets, "example-plan")
    assert main(["check"]) == 0
    listed = capsys.readouterr().out
    assert "(CDS_POLICY_DIR)\n" in listed and "never applied" not in listed


_QUANTITY_LIMIT = """
[[universal]]
id = "quantity"
kind = "quantity"
text = "At most 28 vials per cycle"
citation = "Example II"
missing = "dispensed quantity with a unit (vials or mcg)"
quantity = { vials = 28, units = 980, days = 42, days_continued = 84, continued_from_cycle = 6 }
"""


def test_a_plan_with_a_dose_limit_and_a_quantity_limit_gets_both_corrections_in_each_suggestion(
        tmp_path: Path, operator_dirs: tuple[Path, Path]) -> None:
    """The plan-limit card and the quantity card share the topic `limits`, yet correct different things: each
    suggestion replaces the whole order, so each carries both corrections (dosing/cards.py reconcile_corrections),
    as a dose card and a quantity card do."""
    policies, valuesets = operator_dirs
    (policies / "example-plan.toml").write_text(_example_plan() + _QUANTITY_LIMIT, encoding="utf-8")
    _route(valuesets, "example-plan")
    body = json.loads((EXAMPLE.parent / "florida-blue-relapsed-refractory-ph-negative.json").read_text())
    body["prefetch"]["coverage"]["entry"][0]["resource"]["payor"] = [{"display": "Example Health Plan"}]
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["dispenseRequest"]["quantity"]["value"] = 40
    order["dosageInstruction"][1]["doseAndRate"] = [{"rateQuantity": {  # 28.32 mcg/day: within the label only
        "value": 1.18, "unit": "ug/h", "system": "http://unitsofmeasure.org", "code": "ug/h"}}]
    app = make_app(local_settings(tmp_path))
    try:
        cards = app.test_client().post(SERVICE, json=body).get_json()["cards"]
    finally:
        close_app(app)
    limits = {kind_of(c): c["suggestions"][0] for c in cards
              if c["source"]["topic"]["code"] == "limits"}
    dose, quantity = limits["plan-dose-limit"], limits["quantity-limit"]
    [dose_resource], [quantity_resource] = ([a["resource"] for a in s["actions"]] for s in (dose, quantity))
    assert dose_resource == quantity_resource
    assert dose_resource["dispenseRequest"]["quantity"]["value"] == 28
    assert dose_resource["dosageInstruction"][1]["doseAndRate"][0]["rateQuantity"]["value"] != 1.18
    assert dose["label"].endswith("(and quantity to 28 vials)")
    assert quantity["label"] == "Change quantity to 28 vials (and the dose to the plan's dose limit)"


def test_the_questionnaire_asks_within_the_shortest_look_back_of_the_plans(
        tmp_path: Path, operator_dirs: tuple[Path, Path]) -> None:
    """The prior-authorization question takes its look-back from the policy files: with a plan that looks back one
    year beside Florida Blue's two, a yes must hold for both, so it is asked for the past year."""
    policies, valuesets = operator_dirs
    plan = _example_plan().replace("look_back_years = 2", "look_back_years = 1")
    (policies / "example-plan.toml").write_text(plan, encoding="utf-8")
    _route(valuesets, "example-plan")
    app = make_app(local_settings(tmp_path))
    try:
        served = app.test_client().get("/fhir/Questionnaire/blinatumomab-coverage-attestation").get_json()
    finally:
        close_app(app)
    [item] = [i for i in served["item"] if i["linkId"] == "prior-authorization-on-file"]
    assert item["text"] == "Blinatumomab authorized by a health plan in the past 1 year"
    assert loading.load_policy("florida-blue").windows == (("prior_authorization_on_file", {"look_back_years": 2}),
                                                           ("prior_approval", {"look_back_years": 2}))


def _extension(response: dict[str, Any]) -> dict[str, Any]:
    """The contract's decision extension of the response's decision card."""
    card = next(c for c in response["cards"] if "coverage-decision" in c.get("extension", {}))
    return card["extension"]["coverage-decision"]


# The plans are written when each test runs, not at collection: a change of the shipped file fails a test, never the
# collection of the module.
@pytest.mark.parametrize(("mistake", "message"), [
    (lambda: _example_plan().replace('at_least = 0.01', 'at_least_ever = 0.01'),
     r"example-plan.toml: indications\[0\]\.criteria\[2\]: unknown key 'at_least_ever'; did you mean 'at_least'\?"),
    (lambda: _example_plan().replace('payer_label = "Example Health Plan"\n', ''),
     "required key 'payer_label' missing"),
    (lambda: _example_plan().replace('id = "example-plan"', 'id = "other"'), "does not match the file name"),
    (lambda: "id = [", "example-plan.toml"),
], ids=["unknown-key", "missing-key", "wrong-id", "not-toml"])
def test_a_policy_file_mistake_stops_the_start_up(
        tmp_path: Path, operator_dirs: tuple[Path, Path], mistake: Callable[[], str], message: str) -> None:
    policies, _ = operator_dirs
    (policies / "example-plan.toml").write_text(mistake(), encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        make_app(local_settings(tmp_path))


def test_a_policy_file_that_cannot_be_read_is_named(tmp_path: Path, operator_dirs: tuple[Path, Path]) -> None:
    """Unreadable for the service's user (here a folder in its place: the tests may run as root): a traceback."""
    policies, _ = operator_dirs
    (policies / "example-plan.toml").mkdir()
    with pytest.raises(ConfigError, match=f"^cannot read {policies / 'example-plan.toml'}: Is a directory$"):
        make_app(local_settings(tmp_path))


@pytest.mark.parametrize("variable", ["CDS_POLICY_DIR", "CDS_VALUESET_DIR"])
def test_an_operators_folder_that_cannot_be_read_stops_the_start_up(
        tmp_path: Path, operator_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    """Mode 000 for the service's user (refused here by hand: the tests may run as root): its files were not found,
    silently, and the shipped policies and value sets applied instead."""
    policies, valuesets = operator_dirs
    folder = policies if variable == "CDS_POLICY_DIR" else valuesets
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != folder and real_access(path, mode))
    with pytest.raises(ConfigError, match=f"^{variable}={folder} cannot be read by this user: its files would be "
                                          "left out$"):
        make_app(local_settings(tmp_path))


def test_a_payer_routed_to_a_policy_with_no_file_stops_the_start_up(
        tmp_path: Path, operator_dirs: tuple[Path, Path]) -> None:
    _, valuesets = operator_dirs
    _route(valuesets, "example-plna")
    with pytest.raises(ConfigError, match="no file: \\['example-plna'\\]"):
        make_app(local_settings(tmp_path))


def test_the_audit_trail_and_the_card_name_the_policy_file_and_the_value_sets_that_decided(
        tmp_path: Path, operator_dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """A replacement file of a shipped policy may keep its `version`: only the digest tells the decisions apart."""
    policies, valuesets = operator_dirs
    shipped = _decide(tmp_path / "shipped", "hi-shipped")
    edited = _with_mrd_threshold((loading.POLICY_DIR / "florida-blue.toml").read_text(encoding="utf-8"), "0.01")
    (policies / "florida-blue.toml").write_text(edited, encoding="utf-8")
    _route(valuesets, "florida-blue")
    loading.load_policy.cache_clear()
    loading.policy_files.cache_clear()
    replaced = _decide(tmp_path / "replaced", "hi-replaced")

    assert shipped["policy_version"] == replaced["policy_version"]
    assert shipped["policy_digest"] != replaced["policy_digest"]
    assert (shipped["policy_source"], replaced["policy_source"]) == ("shipped", "CDS_POLICY_DIR")
    assert shipped["policy_digest"] == hashlib.sha256(
        (loading.POLICY_DIR / "florida-blue.toml").read_bytes()).hexdigest()[:16]
    assert replaced["policy_digest"] == hashlib.sha256(edited.encode()).hexdigest()[:16]
    assert shipped["valueset_digest"] != replaced["valueset_digest"]  # payers.json added in CDS_VALUESET_DIR
    for decided in (shipped, replaced):
        assert decided["card_digest"] == decided["policy_digest"]  # the card names the file too
    database = f"sqlite:///{tmp_path / 'replaced' / 'cds.db'}"
    assert main(["audit", "show", "hi-replaced", "--database-url", database]) == 0
    shown = capsys.readouterr().out
    assert f"(file {replaced['policy_digest']}, CDS_POLICY_DIR)" in shown
    assert f"value sets   {replaced['valueset_digest']}" in shown


def _decide(data_dir: Path, hook_instance: str) -> dict[str, Any]:
    """The Florida Blue example's audited outcome, and the policy digest its decision card carries."""
    app = make_app(local_settings(data_dir))
    try:
        with serving(app) as client:
            answer = client.post(SERVICE, json={**_request("Florida Blue", 0.5), "hookInstance": hook_instance})
        store = app.extensions["cds_service"].store
        store.flush()
        [outcome] = store.show(hook_instance)[0].record.outcomes
    finally:
        close_app(app)
    return {**asdict(outcome), "card_digest": _extension(answer.get_json())["policy-digest"]}
