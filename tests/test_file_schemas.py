"""The JSON Schemas of the operator's files (cds_service/schemas/policy.schema.json, valueset.schema.json,
auth-config.schema.json): the shipped files and documented examples satisfy them under any Draft 2020-12 validator,
their enums and bounds are the code's, and a mistake is refused in one line naming the file and the key."""
from __future__ import annotations

import copy
import json
import re
import tomllib
from pathlib import Path
from typing import Any, Callable

import pytest
from jsonschema import Draft202012Validator

from cds_service.config import ConfigError, parse_auth_config
from cds_service.db_models import OrderOutcomeRow
from cds_service.decision import KINDS
from cds_service.evaluation import INITIAL, RENEWAL
from cds_service.dosing.api import SCHEDULES
from cds_service.facts.model import WINDOWS
from cds_service.file_schemas import file_schema
from cds_service.policies import PolicyFileError, load_policy, parse_policy
from cds_service.policies import loading
from cds_service.policies.vocabulary import TEST_KEYS
from cds_service.valuesets import BUILTIN_DIR, load_valuesets

ROOT = Path(__file__).resolve().parents[1]
POLICY_FILES = sorted(loading.POLICY_DIR.glob("*.toml"))
VALUESET_FILES = sorted(BUILTIN_DIR.glob("*.json"))


def _documented_auth_configs() -> list[dict[str, Any]]:
    """The auth configuration examples of docs/configuration.md and README.md."""
    blocks = [m for doc in ("docs/configuration.md", "README.md")
              for m in re.findall(r"```json\n(\{.*?\n\})\n```", (ROOT / doc).read_text(encoding="utf-8"), re.S)]
    return [json.loads(block) for block in blocks if '"clients"' in block]


def _plain_validator(name: str) -> Draft202012Validator:
    """The schema as any JSON Schema tool reads it (the service's validator only reads integers more strictly)."""
    schema = json.loads((ROOT / "cds_service" / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


# --- what ships satisfies the schemas -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.name)
def test_every_shipped_policy_file_satisfies_the_policy_schema(path: Path) -> None:
    _plain_validator("policy").validate(tomllib.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", VALUESET_FILES, ids=lambda p: p.name)
def test_every_shipped_value_set_file_satisfies_the_value_set_schema(path: Path) -> None:
    _plain_validator("valueset").validate(json.loads(path.read_text(encoding="utf-8")))


def test_the_documented_auth_configurations_satisfy_the_auth_schema() -> None:
    examples = _documented_auth_configs()
    assert len(examples) == 2
    for example in examples:
        _plain_validator("auth-config").validate(example)
        parse_auth_config(example)


def test_the_schemas_ship_with_the_package() -> None:
    assert POLICY_FILES and VALUESET_FILES
    for name in ("policy", "valueset", "auth-config"):
        assert file_schema(name)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


# --- the schemas say what the code reads ---------------------------------------------------------------------------

def test_the_policy_schema_enums_and_bounds_are_the_codes() -> None:
    defs = file_schema("policy")["$defs"]
    fields, test_types = defs["criterionFields"]["properties"], defs["testTypes"]["properties"]
    indication = defs["indication"]["properties"]
    assert tuple(fields["kind"]["enum"]) == KINDS
    assert tuple(indication["label_schedule"]["enum"]) == SCHEDULES
    assert indication["request"]["enum"] == [INITIAL, RENEWAL]
    windows = {key: maximum for numbers in WINDOWS.values() for key, maximum in numbers.items()}
    assert {key: test_types[key]["maximum"] for key in windows} == windows
    assert all(test_types[key]["minimum"] == 0 for key in windows)
    # Every test key is typed, and allowed in a criterion and in a test of any/all.
    assert set(test_types) == set(defs["test"]["properties"]) == TEST_KEYS
    assert TEST_KEYS < set(fields)


def test_the_policy_schema_bounds_the_names_the_audit_trail_stores_to_its_columns() -> None:
    """A longer policy id, version or indication id would load, and then every audit record of the plan would be
    refused by a database that enforces the column's length (PostgreSQL): the file is refused at load instead."""
    schema = file_schema("policy")
    bounds = {"policy": schema["properties"]["id"]["maxLength"],
              "policy_version": schema["properties"]["version"]["maxLength"],
              "indication": schema["$defs"]["indication"]["properties"]["id"]["maxLength"]}
    assert bounds == {name: OrderOutcomeRow.__table__.c[name].type.length for name in bounds}


# --- mistakes are refused with the key named -----------------------------------------------------------------------

def _florida_blue() -> dict[str, Any]:
    return tomllib.loads((loading.POLICY_DIR / "florida-blue.toml").read_text(encoding="utf-8"))


def _criterion(raw: dict[str, Any], indication: int, criterion: int) -> dict[str, Any]:
    found: dict[str, Any] = raw["indications"][indication]["criteria"][criterion]
    return found


POLICY_MISTAKES: list[tuple[Callable[[dict[str, Any]], Any], str]] = [
    (lambda raw: raw.pop("url"), "^required key 'url' missing$"),
    (lambda raw: raw.update(payer="x"), "^unknown key 'payer'; did you mean 'payer_label'\\?$"),
    (lambda raw: raw.update(url="mcgs.bcbsfl.com"), r"^url: must match .*, got 'mcgs.bcbsfl.com' \(the policy's page"),
    (lambda raw: raw.update(payer_label="Example Health Plan of the Greater Metropolitan Area"),
     r"^payer_label: does not satisfy the schema's maxLength 40, .*\(at most 40 characters: each card summary"),
    (lambda raw: raw.update(version="v" * 101),
     r"^version: does not satisfy the schema's maxLength 100, .*\(at most 100 characters: the audit trail's column "
     r"holds no more\)$"),
    (lambda raw: raw["indications"][0].update(id="i" * 201), r"^indications\[0\]\.id: does not satisfy the schema's "
     "maxLength 200"),
    (lambda raw: raw["indications"][0].update(renewal={"from_cycle": 6, "cycles_per_renewal": 0, "weeks": 24}),
     r"^indications\[0\]\.renewal\.cycles_per_renewal: must be at least 1, got 0$"),
    (lambda raw: raw["indications"][0].update(request="renewl"),
     r"^indications\[0\]\.request: must be one of 'initial', 'renewal', got 'renewl'$"),
    (lambda raw: raw["indications"][0]["authorization"].update(anchor="moon"),
     r"^indications\[0\]\.authorization\.anchor: must be one of 'course', 'order', got 'moon'$"),
    (lambda raw: raw["indications"][0]["authorization"].update(month=6),
     r"^indications\[0\]\.authorization: unknown key 'month'; did you mean 'months'\?$"),
    (lambda raw: _criterion(raw, 0, 2).update(fact=["mrd_percent"]),
     r"^indications\[0\]\.criteria\[2\]\.fact: must be a string$"),
    (lambda raw: _criterion(raw, 0, 2).update(any=[{"fact": "ph_positive", "equals": True}]),
     r"^indications\[0\]\.criteria\[2\]: needs exactly one of the keys fact, any, all, dose, quantity, cycle_at_most$"),
    (lambda raw: _criterion(raw, 0, 2).pop("at_least"),
     r"^indications\[0\]\.criteria\[2\]: needs one of the keys equals, in, at_least, at_most$"),
    (lambda raw: _criterion(raw, 0, 2).pop("citation"), r"^indications\[0\]\.criteria\[2\]: required key 'citation'"),
    (lambda raw: _criterion(raw, 6, 0)["any"][0].update(look_back_years=-1),
     r"^indications\[6\]\.criteria\[0\]\.any\[0\]\.look_back_years: must be at least 0, got -1$"),
    (lambda raw: _criterion(raw, 6, 0)["any"][0].update(text="x"),
     r"^indications\[6\]\.criteria\[0\]\.any\[0\]: unknown key 'text'"),
    (lambda raw: _criterion(raw, 6, 0).update(any=[]), r"^indications\[6\]\.criteria\[0\]\.any: must not be empty$"),
    (lambda raw: raw["common"]["dose-at-most-28"].update(mcg_per_day=0),
     r"^common\.dose-at-most-28\.mcg_per_day: must be above 0, got 0$"),
    # A criterion that uses a shared one is checked whole: here with two tests.
    (lambda raw: _criterion(raw, 0, 3).update(cycle_at_most=4),
     r"^indications\[0\]\.criteria\[3\] \(use = 'dose-at-most-28'\): needs exactly one of the keys fact, any"),
    (lambda raw: _criterion(raw, 0, 3).update(use="dose-at-most-82"),
     r"^indications\[0\]\.criteria\[3\] \(use = 'dose-at-most-82'\): no \[common\.dose-at-most-82\] in the file$"),
]


@pytest.mark.parametrize(("mistake", "message"), POLICY_MISTAKES, ids=[m for _, m in POLICY_MISTAKES])
def test_a_policy_mistake_is_refused_naming_the_key(mistake: Callable[[dict[str, Any]], Any], message: str) -> None:
    raw = _florida_blue()
    mistake(raw)
    with pytest.raises(PolicyFileError, match=message):
        parse_policy(raw)


def test_a_policy_file_mistake_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (loading.POLICY_DIR / "florida-blue.toml").read_text(encoding="utf-8")
    (tmp_path / "florida-blue.toml").write_text(text.replace("shown_last = true", 'shown_last = "yes"'))
    monkeypatch.setenv(loading.ENV_DIR, str(tmp_path))
    loading.policy_files.cache_clear()
    loading.load_policy.cache_clear()
    try:
        with pytest.raises(PolicyFileError, match=re.escape(
                f"{tmp_path / 'florida-blue.toml'}: indications[5].shown_last: must be true or false, got 'yes'")):
            load_policy("florida-blue")
    finally:
        monkeypatch.delenv(loading.ENV_DIR)
        loading.policy_files.cache_clear()
        loading.load_policy.cache_clear()


VALUESET_MISTAKES: list[tuple[dict[str, Any], str]] = [
    ({"codes": []}, "required key 'name' missing"),
    ({"name": "mrd", "prefix": []}, "unknown key 'prefix'; did you mean 'prefixes'\\?"),
    ({"name": "mrd", "codes": {"system": "http://loinc.org", "code": "1"}}, "codes: must be a list"),
    ({"name": "mrd", "codes": [{"code": "1"}]}, r"codes\[0\]: required key 'system' missing"),
    ({"name": "mrd", "codes": [{"system": "http://loinc.org", "code": None}]},
     r"codes\[0\]\.code: must be a string or a number"),
    ({"name": "mrd", "prefixes": [{"system": "http://loinc.org", "code": "1", "policy": "x"}]},
     r"prefixes\[0\]: unknown key 'policy' \(known: system, code, display\)"),
    ({"name": "mrd", "text": ["residual", " "]}, r"text\[1\]: must match '\\\\S', got ' ' \(a word or phrase, not blank\)"),
    ({"name": "payers", "text": [{"txt": "acme", "policy": "florida-blue"}]}, r"text\[0\]: required key 'text' missing"),
    ({"name": "payers", "text": [7]}, r"text\[0\]: must be a string or an object, got 7"),
]


@pytest.mark.parametrize(("document", "message"), VALUESET_MISTAKES, ids=[m for _, m in VALUESET_MISTAKES])
def test_a_value_set_mistake_is_refused_naming_the_file_and_key(tmp_path: Path, document: dict[str, Any],
                                                                message: str) -> None:
    (tmp_path / "site.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ValueError, match=f"^value set file {re.escape(str(tmp_path / 'site.json'))}: {message}$"):
        load_valuesets(str(tmp_path))


EHR = "https://ehr.example.org"
GOOD_AUTH: dict[str, Any] = {"clients": [{"iss": EHR, "jwks_url": f"{EHR}/jwks.json"}]}


def _auth(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    config = copy.deepcopy(GOOD_AUTH)
    change(config)
    return config


AUTH_MISTAKES: list[tuple[dict[str, Any] | list[Any], str]] = [
    ([], "^auth configuration: must be an object$"),
    (_auth(lambda c: c.update(require_jwt="false")), "^auth configuration require_jwt: must be true or false$"),
    (_auth(lambda c: c["clients"][0].pop("iss")), r"^auth configuration clients\[0\]: required key 'iss' missing$"),
    (_auth(lambda c: c["clients"][0].update(jwks={"keys": []})),
     rf"^auth configuration clients\[0\] \(iss {EHR}\): needs exactly one of the keys jwks_url, jwks$"),
    (_auth(lambda c: c["clients"][0].update(jwks_url=None)),  # null is as absent
     rf"^auth configuration clients\[0\]\.jwks_url \(iss {EHR}\): must be a string$"),
    (_auth(lambda c: c["clients"][0].update(jwks_url=None, jwks={"key": []})),
     rf"^auth configuration clients\[0\]\.jwks \(iss {EHR}\): required key 'keys' missing \(a JWK Set\)$"),
    (_auth(lambda c: c["clients"][0].update(tenants=[])),
     rf"^auth configuration clients\[0\]\.tenants \(iss {EHR}\): must not be empty \(the tenants allowed; omit the "
     "key to allow any\\)$"),
    (_auth(lambda c: c["clients"].append("https://other.example.org")),
     r"^auth configuration clients\[1\]: must be an object$"),
]


@pytest.mark.parametrize(("config", "message"), AUTH_MISTAKES, ids=[m for _, m in AUTH_MISTAKES])
def test_an_auth_configuration_mistake_is_refused_naming_the_key(config: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_auth_config(config)


def test_an_auth_configuration_message_never_quotes_the_files_strings() -> None:
    """A URL may carry a password: the rule is said, not the value."""
    secret = "https://user:s3cret@ehr.example.org/fhir"
    for config in (_auth(lambda c: c["clients"][0].update(fhir_servers=secret)),
                   _auth(lambda c: c["clients"][0].update(fhir_servers=[[secret]])),
                   _auth(lambda c: c["clients"][0].update(jwks_url=[secret]))):
        with pytest.raises(ConfigError) as raised:
            parse_auth_config(config)
        assert "s3cret" not in str(raised.value) and "clients[0]" in str(raised.value)
