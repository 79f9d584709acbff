"""Finds and reads the payer policy files (policies/*.toml, then those of CDS_POLICY_DIR) and parses each into a
Policy, checked against the file format and test vocabulary of docs/policy-reading.md (PolicyFileError at load, never
during an evaluation): first its structure against schemas/policy.schema.json, then what a schema cannot say. At
start-up, checks that every policy the payer routing names has a file. The files encode the readings of
policy-rules.md; this module knows no payer.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import replace
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from cds_service.card_text import Wording
from cds_service.decision import CLINICAL
from cds_service.evaluation import INITIAL
from cds_service.exceptions import path_expression
from cds_service.facts.model import ATTESTED_BY, WINDOWS
from cds_service.file_schemas import file_validator, schema_problem
from cds_service.policies.model import (
    AuthorizationSpec, CriterionSpec, IndicationSpec, Policy, RenewalSpec, fact_tests, mentions,
)
from cds_service.policies.vocabulary import (
    TEST_KEYS, PolicyFileError, Test, check_test, compile_test, is_plan_limit,
)

POLICY_DIR = Path(__file__).resolve().parent
ENV_DIR = "CDS_POLICY_DIR"
SHIPPED = "shipped"  # Policy.source of a file shipped with the service; an operator's says ENV_DIR
DIGEST_LENGTH = 16  # hex digits of the sha256 kept: enough to tell files apart, short enough to read


@lru_cache(maxsize=1)
def policy_files() -> dict[str, Path]:
    """Policy id -> file: the files shipped with the service, then those of CDS_POLICY_DIR (an operator's plan, or
    a newer version of a shipped policy: the same id replaces the shipped file). Listed once per process: the
    no-plan card and discovery name the plans on the request path."""
    files = {p.stem: p for p in POLICY_DIR.glob("*.toml")}
    directory = os.environ.get(ENV_DIR, "")
    if directory:
        if not Path(directory).is_dir():
            raise PolicyFileError(f"{ENV_DIR}={directory} is not a directory")
        files |= {p.stem: p for p in Path(directory).glob("*.toml")}
    return files


def policy_ids() -> list[str]:
    """The ids of the policies this service applies."""
    return sorted(policy_files())


@lru_cache(maxsize=None)
def load_policy(policy_id: str) -> Policy:
    """Read and check `<policy_id>.toml` once; later calls return the same Policy, with the digest of the bytes read
    (the audit trail records which file decided)."""
    path = policy_files().get(policy_id)
    if path is None:
        raise KeyError(f"no policy file for {policy_id!r}")
    try:
        data = path.read_bytes()
        policy = parse_policy(tomllib.loads(data.decode("utf-8")))
        if policy.id != policy_id:
            raise PolicyFileError(f"id {policy.id!r} does not match the file name")
        return replace(policy, digest=hashlib.sha256(data).hexdigest()[:DIGEST_LENGTH],
                       source=SHIPPED if path.parent == POLICY_DIR else ENV_DIR)
    except ValueError as exc:  # TOML syntax, UTF-8 and PolicyFileError
        raise PolicyFileError(f"{path}: {exc}") from exc


def payer_labels() -> list[str]:
    """The plans this service applies, by name, for cards and the discovery document."""
    return [load_policy(policy_id).payer_label for policy_id in policy_ids()]


def check_policies(routed: Iterable[str]) -> None:
    """Load every policy file and check that each policy id the payer routing names (`routed`) has one: a mistake
    stops the service at start-up instead of failing the first order of that plan (PolicyFileError)."""
    for policy_id in policy_ids():
        load_policy(policy_id)
    unknown = sorted(set(routed) - set(policy_ids()))
    if unknown:
        raise PolicyFileError(f"the payer routing (payers value set) names policies with no file: {unknown}")


def parse_policy(raw: dict[str, Any]) -> Policy:
    """Build a Policy from a parsed TOML document, checking it against the vocabulary (PolicyFileError)."""
    _check_schema(raw)
    common = raw.get("common", {})
    cite = Wording(raw.get("authorization_citation", ""))
    compiled: dict[str, Test] = {}  # the file's tests compiled so far, by canonical form (_parse_criterion)
    indications = tuple(_parse_indication(i, common, cite, n, compiled)
                        for n, i in enumerate(raw.get("indications", [])))
    universal = tuple(_parse_criterion(_resolved(c, common, ("universal", n)), "", None, compiled)
                      for n, c in enumerate(raw.get("universal", [])))
    _check_plan_limits(universal, indications)
    # The words the cards print (title, label, URL here; titles, citations, criterion texts below) are Wordings:
    # escaped for Markdown once, here, not on every card.
    return Policy(
        id=raw["id"], version=str(raw["version"]), title=Wording(raw["title"]),
        payer_label=Wording(raw["payer_label"]), url=Wording(raw["url"]), universal=universal,
        indications=indications,
    )


def _check_plan_limits(universal: tuple[CriterionSpec, ...], indications: tuple[IndicationSpec, ...]) -> None:
    """A dose ceiling and a quantity limit also make a card with a corrected order (Policy.dose_ceiling,
    Policy.quantity_limit) for every order under the policy, not only where the criterion is evaluated: a shape
    whose card would say something else than the policy (a limit of one indication, of some cycles) is refused."""
    specs = [(c.id, c) for c in universal] + [(c.result_id, c) for i in indications for c in i.criteria]
    for where, spec in specs:
        if is_plan_limit(spec.test) and spec.from_cycle is not None:
            raise PolicyFileError(f"criterion {where!r}: a dose ceiling or a quantity limit cannot have from_cycle: "
                                  "its card applies it in every cycle")
    misplaced = [c.result_id for i in indications for c in i.criteria if "quantity" in c.test]
    if misplaced:
        raise PolicyFileError(f"criterion {misplaced[0]!r}: a quantity limit belongs in [[universal]]: its card "
                              "applies it to the cycle's orders whatever the indication")
    quantity = [c.id for c in universal if "quantity" in c.test]
    if len(quantity) > 1:
        raise PolicyFileError(f"criteria {quantity}: one quantity limit per policy (its card applies one)")
    ceilings = {Decimal(str(spec.test["mcg_per_day"])) for _, spec in specs if spec.test.get("dose") == "ceiling"}
    if len(ceilings) > 1:
        raise PolicyFileError(f"dose ceilings {sorted(map(str, ceilings))}: one daily ceiling per policy (its card "
                              "applies one)")
    if ceilings and not any(c.test.get("dose") == "ceiling" for c in universal):
        lacking = [i.id for i in indications if not any(c.test.get("dose") == "ceiling" for c in i.criteria)]
        if lacking:
            raise PolicyFileError(f"indication {lacking[0]!r} has no dose ceiling though others have: its card "
                                  "applies the ceiling to every order, so it goes in [[universal]] or in every "
                                  "indication")


def _check_schema(raw: dict[str, Any], definition: str = "", where: str = "") -> None:
    """The structure (keys, types, enums, bounds) against schemas/policy.schema.json, or one of its $defs."""
    problem = schema_problem(file_validator("policy", definition), raw)
    if problem:
        raise PolicyFileError(f"{where}: {problem}" if where else str(problem))


def _resolved(raw: dict[str, Any], common: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    """A criterion, its [common.<name>] entry merged in when it has `use = "<name>"` (its own keys win): the schema
    checked each part alone, so the whole is checked as a criterion."""
    if "use" not in raw:
        return raw
    name = raw["use"]
    where = f"{path_expression(path)} (use = {name!r})"
    if name not in common:
        raise PolicyFileError(f"{where}: no [common.{name}] in the file")
    merged = {"id": name, **common[name], **{k: v for k, v in raw.items() if k != "use"}}
    _check_schema(merged, "criterion", where)
    return merged


def _parse_indication(raw: dict[str, Any], common: dict[str, Any], authorization_citation: str,
                      index: int, compiled: dict[str, Test]) -> IndicationSpec:
    criteria = tuple(_parse_criterion(_resolved(c, common, ("indications", index, "criteria", n)), raw["id"],
                                      raw.get("label_schedule"), compiled)
                     for n, c in enumerate(raw["criteria"]))
    renewal = raw.get("renewal")
    spec = IndicationSpec(
        id=raw["id"], title=Wording(raw["title"]), citation=Wording(raw["citation"]),
        authorization=AuthorizationSpec(**raw["authorization"], citation=authorization_citation), criteria=criteria,
        label_schedule=raw.get("label_schedule"), request=raw.get("request", INITIAL),
        renewal=RenewalSpec(**renewal) if renewal else None, exclusive_when=raw.get("exclusive_when"),
        shown_last=raw.get("shown_last", False),
    )
    _check_indication(spec)
    return spec


def _check_indication(spec: IndicationSpec) -> None:
    ids = [c.id for c in spec.criteria]
    if len(ids) != len(set(ids)):
        raise PolicyFileError(f"{spec.id}: criterion ids must be unique")
    if spec.exclusive_when is not None and spec.exclusive_when not in ids:
        raise PolicyFileError(f"{spec.id}: exclusive_when names no criterion of the indication")
    gate = next((c for c in spec.criteria if c.id == spec.exclusive_when), None)
    if gate is not None and gate.from_cycle is not None:
        raise PolicyFileError(f"criterion {gate.result_id!r}: the exclusive_when criterion cannot have from_cycle: "
                              "it decides which indications are evaluated, in every cycle")
    if spec.label_schedule is None and any(c.uses_schedule for c in spec.criteria):
        raise PolicyFileError(f"{spec.id}: a dose schedule criterion needs the indication's label_schedule")


def _parse_criterion(raw: dict[str, Any], indication: str, label_schedule: str | None,
                     compiled: dict[str, Test]) -> CriterionSpec:
    """A criterion (its `use` resolved) whose structure the schema checked: its test is checked against the facts.
    `label_schedule`: its indication's, which a dose schedule test checks (compiled in). `compiled`: the tests of
    the file compiled so far, which a criterion with the same test shares."""
    kind = raw.get("kind", CLINICAL)
    test = {k: v for k, v in raw.items() if k in TEST_KEYS and k not in ("id", "missing")}
    check_test(test, raw["id"])
    uses_schedule = mentions(test, "dose", "schedule")
    schedule = label_schedule if uses_schedule else None
    # The outcome depends on the test and, for a dose schedule test, on the schedule (never a key of a test).
    # Indications repeat the same tests (age, lineage, dose): each is compiled once, and the one function run once
    # per evaluation (vocabulary.Context memoizes the outcome by the test).
    test_key = json.dumps({**test, "label_schedule": schedule} if uses_schedule else test, sort_keys=True)
    if test_key not in compiled:
        compiled[test_key] = compile_test(test, schedule)
    name = raw["id"]
    return CriterionSpec(
        id=name, kind=kind, text=Wording(_with_numbers(raw["text"], test, name)), citation=Wording(raw["citation"]),
        missing=Wording(_with_numbers(raw["missing"], test, name)), test=test,
        summary=_with_numbers(raw.get("summary", ""), test, name), critical=raw.get("critical", False),
        from_cycle=raw.get("from_cycle"),
        uses_schedule=uses_schedule, run=compiled[test_key],
        result_id=f"{indication}.{raw['id']}" if indication else raw["id"],
        askable=_reads_attestable(test),
    )


def _reads_attestable(test: Mapping[str, Any]) -> bool:
    """Whether a test (or one of its sub-tests) reads a fact the attestation Questionnaire asks about: only then can
    the card say the Questionnaire answers what it leaves unknown."""
    if "fact" in test:
        return test["fact"] in ATTESTED_BY
    return any(_reads_attestable(sub) for sub in (*test.get("any", ()), *test.get("all", ())))


_NUMBER = re.compile(r"\{(\w+)\}")


def _with_numbers(words: str, test: Mapping[str, Any], criterion: str) -> str:
    """A criterion's words with `{days_before_course}` (a key of its test's windows, facts/model.py WINDOWS)
    replaced by the test's number: written once, what the card says cannot differ from what is evaluated."""
    if "{" not in words:
        return words
    numbers: dict[str, set[int]] = {}
    for fact_test in fact_tests(test):
        for key in WINDOWS.get(fact_test["fact"], {}):
            numbers.setdefault(key, set()).add(fact_test[key])

    def number(found: re.Match[str]) -> str:
        values = numbers.get(found.group(1), set())
        if len(values) != 1:
            raise PolicyFileError(f"criterion {criterion!r}: {found.group(0)} names no single window number of its "
                                  "test")
        return str(next(iter(values)))
    return _NUMBER.sub(number, words)
