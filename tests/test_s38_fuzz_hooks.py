"""Property-based fuzzing of the hook endpoint: each request of fhir_examples/, mutated (a key deleted, a value of
another JSON type, odd numbers and strings, impossible dates, an entry repeated, prefetch keys swapped, a code,
system or unit taken from another place), is answered 200 with well-formed cards or 4xx with an OperationOutcome
naming the problem: never a 5xx, never the fault card, never an error logged (service-contract.md §Errors).

The mutator draws through a `Chooser`, so that the same code runs under hypothesis here (a bounded, derandomized
run: deterministic, shrinking a failure to a minimal request) and under a seeded `random.Random` for long runs
outside the suite (`run_seeded`).
"""
from __future__ import annotations

import copy
import json
import logging
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bench import workload
from cds_service import pipeline
from cds_service.coverage_info import EXTENSION_URL
from cds_service.discovery import CONFIGURATION_OPTIONS
from tests.conftest import close_app, local_settings, make_app
from tests.crd_invariants import check_crd_invariants
from tests.live_server import LiveClient, serving
from tests.test_crd_examples import _check_card
from tests.test_metamorphic import BENCH_START

Json = dict[str, Any]
Path_ = tuple[str | int, ...]

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
SERVICE = "/cds-services/blinatumomab-coverage"
# service-contract.md §Errors: what a client's request may be answered with (401 needs auth configured; 413 a body
# above 10 MB, which no mutation here reaches; 404 and 405 are not reachable on this path and method).
ALLOWED_STATUSES = (200, 400, 412, 415)
CASES = 300  # the suite's bounded run: well under a minute on a 2-core machine
# How the refusals of a body as a whole begin (validation.py: no JSON, empty, not an object, too deep): no field to name.
WHOLE_BODY_REFUSALS = ("Request body ", "JSON nested deeper")
OPTIONS = {option["code"] for option in CONFIGURATION_OPTIONS}  # a card's topic is one of them


def _requests() -> dict[str, Json]:
    found = {p.stem: json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json")) if p.stem != "expected"}
    found["bench-workload"] = workload.order_sign_request(start=BENCH_START)
    return found


REQUESTS = _requests()
NAMES = sorted(REQUESTS)


def _values_by_key() -> dict[str, list[Any]]:
    """Every value the examples hold under each key name, for "the same field, another example's value": codes,
    systems, units, dates, references and statuses from elsewhere."""
    seen: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if isinstance(key, str):
                seen.setdefault(key, {})[json.dumps(value, sort_keys=True)] = value
            walk(value)

    for request in REQUESTS.values():
        walk(request)
    return {key: [values[k] for k in sorted(values)] for key, values in sorted(seen.items())}


VALUES_BY_KEY = _values_by_key()
KEYS = sorted(VALUES_BY_KEY)
ODD_NUMBERS: tuple[Any, ...] = (0, -1, -0.0, 1e308, -1e308, 1e-320, 2 ** 63, 10 ** 30, 0.5, 999999999, float("nan"),
                                float("inf"))
ODD_STRINGS = ("", " ", "\t\n", "\u00a0", "é€😀", "\u0000", "\ud800", "x" * 20000, "-1", "1e400", "NaN", "true",
               "MedicationRequest/", "#", "urn:uuid:", "Patient/p1", "http://", "2026-02-30", "2026-13", "2026",
               "2026-11", "2026-00-10", "2026-W48", "20261125", "2026-11-25 10:00:00", "2026-11-25T25:00:00Z",
               "2026-11-25T24:00:00Z", "2026-11-25T10:00Z", "2026-11-25T10:00:00", "2026-11-25T10:00:00+25:00",
               "2026-11-25T10:00:00.123456789+14:00", "0000-01-01", "0001-01-01T00:00:00+14:00", "9999-12-31",
               "9999-12-31T23:59:59-14:00", "1900-01-01", "2100-01-01")
OTHER_TYPES: tuple[Any, ...] = (None, 0, 1.5, "", "x", [], {}, True, False, [None], {"": None})


class Chooser(Protocol):
    """Where the mutator's choices come from: hypothesis's draws, or a seeded random generator."""

    def integer(self, low: int, high: int) -> int: ...


class DrawChooser:
    """Choices drawn from hypothesis (st.data()), so that a failure shrinks."""

    def __init__(self, data: st.DataObject) -> None:
        self._data = data

    def integer(self, low: int, high: int) -> int:
        return self._data.draw(st.integers(low, high))


class RandomChooser:
    """Choices from a seeded generator, for long runs outside the suite."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        return self._random.randint(low, high)


def pick(chooser: Chooser, options: tuple[Any, ...] | list[Any]) -> Any:
    return options[chooser.integer(0, len(options) - 1)]


# --- The mutations ----------------------------------------------------------------------------------------------------


def paths(node: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """The path of every value below the root (a dict's key or a list's index at each step)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield prefix + (key,)
        yield from paths(value, prefix + (key,))


def parent_of(body: Json, path: Path_) -> Any:
    node: Any = body
    for key in path[:-1]:
        node = node[key]
    return node


def delete(chooser: Chooser, body: Json, path: Path_) -> str:
    del parent_of(body, path)[path[-1]]
    return f"delete {path}"


def replace_with(values: Callable[[Chooser, Path_], tuple[Any, ...] | list[Any]], what: str) -> Callable[..., str]:
    def mutate(chooser: Chooser, body: Json, path: Path_) -> str:
        value = copy.deepcopy(pick(chooser, values(chooser, path)))
        parent_of(body, path)[path[-1]] = value
        return f"{what} {path} = {value!r:.60}"
    return mutate


def _same_key(chooser: Chooser, path: Path_) -> list[Any]:
    key = next((k for k in reversed(path) if isinstance(k, str)), "")
    return VALUES_BY_KEY.get(key) or list(OTHER_TYPES)


def rename(chooser: Chooser, body: Json, path: Path_) -> str:
    """The key at `path` renamed to a key the examples use elsewhere: a choice type's other name (effectiveDateTime
    for effectivePeriod) or another element's, its value kept."""
    parent = parent_of(body, path)
    if not isinstance(parent, dict):
        return "rename nothing: a list entry"
    key = pick(chooser, KEYS)
    parent[key] = parent.pop(path[-1])
    return f"rename {path} to {key}"


def add(chooser: Chooser, body: Json, path: Path_) -> str:
    """A key the examples use elsewhere, with one of its values there, added to the object holding `path`: a second
    value[x] beside the first, a modifierExtension, an element no rule reads."""
    parent = parent_of(body, path)
    if not isinstance(parent, dict):
        return "add nothing: a list entry"
    key = pick(chooser, KEYS)
    parent[key] = copy.deepcopy(pick(chooser, VALUES_BY_KEY[key]))
    return f"add {path[:-1] + (key,)}"


def repeat(chooser: Chooser, body: Json, path: Path_) -> str:
    """The nearest list above `path` gets a copy of one of its entries again."""
    for depth in range(len(path), 0, -1):
        parent = parent_of(body, path[:depth])
        if isinstance(parent, list):
            parent.insert(chooser.integer(0, len(parent)), copy.deepcopy(parent[path[depth - 1]]))  # type: ignore[index]
            return f"repeat {path[:depth]}"
    return "repeat nothing: no list above"


def swap_prefetch(chooser: Chooser, body: Json, path: Path_) -> str:
    prefetch = body.get("prefetch")
    if not isinstance(prefetch, dict) or len(prefetch) < 2:
        return "swap nothing: fewer than two prefetch keys"
    keys = sorted(prefetch)
    first, second = pick(chooser, keys), pick(chooser, keys)
    prefetch[first], prefetch[second] = prefetch[second], prefetch[first]
    return f"swap prefetch {first} <-> {second}"


MUTATIONS: tuple[Callable[[Chooser, Json, Path_], str], ...] = (
    delete,
    replace_with(lambda chooser, path: OTHER_TYPES, "retype"),
    replace_with(lambda chooser, path: ODD_NUMBERS, "number"),
    replace_with(lambda chooser, path: ODD_STRINGS, "string"),
    replace_with(_same_key, "elsewhere"),
    replace_with(_same_key, "elsewhere"),  # twice: the likeliest to reach deep clinical reading
    repeat,
    rename,
    add,
    swap_prefetch,
)


def mutated(chooser: Chooser) -> tuple[str, Json, list[str]]:
    """An example's request with one to four mutations; its name, and what was done (for the failure's message)."""
    name = pick(chooser, NAMES)
    body = copy.deepcopy(REQUESTS[name])
    return name, body, mutate(chooser, body)


def mutate(chooser: Chooser, body: Json) -> list[str]:
    """One to four mutations of `body`, in place; what was done."""
    done = []
    for _ in range(chooser.integer(1, 4)):
        found = list(paths(body))
        if not found:
            break
        done.append(pick(chooser, MUTATIONS)(chooser, body, pick(chooser, found)))
    return done


# --- What every answer must be ----------------------------------------------------------------------------------------


class ErrorRecords(logging.Handler):
    """Every record logged at ERROR or above, or with a traceback at any level, while it is attached: a fault the
    service caught is one of them."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    @classmethod
    @contextmanager
    def attached(cls) -> Iterator[ErrorRecords]:
        """A new one, attached to the root logger for the block."""
        errors = cls()
        logging.getLogger().addHandler(errors)
        try:
            yield errors
        finally:
            logging.getLogger().removeHandler(errors)


def problems(status: int, mimetype: str | None, text: str, errors: list[logging.LogRecord]) -> list[str]:
    """What is wrong with one answer: empty when it keeps the contract."""
    found = [f"logged {r.levelname}: {r.getMessage()} {r.exc_info[0] if r.exc_info else ''}" for r in errors]
    if status not in ALLOWED_STATUSES:
        return found + [f"status {status}: {text[:2000]}"]
    try:
        answer = json.loads(text)
    except ValueError:
        return found + [f"status {status}, not JSON: {text[:200]!r}"]
    return found + outcome_problems(answer, mimetype) if status != 200 else found + _answer_problems(answer)


def outcome_problems(outcome: Any, mimetype: str | None) -> list[str]:
    """What is wrong with a refusal's body: an OperationOutcome whose first issue says what was refused."""
    if mimetype != "application/fhir+json" or not isinstance(outcome, dict) \
            or outcome.get("resourceType") != "OperationOutcome":
        return [f"not an OperationOutcome: {mimetype} {str(outcome)[:200]}"]
    issue = (outcome.get("issue") or [{}])[0]
    if issue.get("severity") != "error" or not issue.get("diagnostics"):
        return [f"an issue that names no problem: {issue}"]
    # A body read as a JSON object is refused for one of its fields, which the issue names (service-contract.md).
    if not issue.get("expression") and not issue["diagnostics"].startswith(WHOLE_BODY_REFUSALS):
        return [f"an issue that names no field: {issue}"]
    return []


def _answer_problems(answer: Any) -> list[str]:
    if not isinstance(answer, dict) or set(answer) != {"cards", "systemActions"}:
        return [f"not a CDS Hooks response: {str(answer)[:200]}"]
    found = []
    for card in answer["cards"]:
        if "not checked" in card.get("summary", "") and "not a denial" in card.get("summary", ""):
            found.append(f"the fault card: {card['summary']}")
        try:
            _check_card(card, OPTIONS)
        except ValidationError as exc:
            # The service ignores an order's unknown elements (order_validation.py) and a suggestion gives the order
            # back as received: fhir.resources, which forbids them, refuses what the client itself sent.
            if any(error["type"] != "extra_forbidden" for error in exc.errors()):
                found.append(f"ill-formed suggestion ({exc}): {json.dumps(card)[:300]}")
        except (AssertionError, KeyError, TypeError, ValueError) as exc:
            found.append(f"ill-formed card ({type(exc).__name__}: {exc}): {json.dumps(card)[:300]}")
    for action in answer["systemActions"]:
        information = [e for e in action.get("resource", {}).get("extension", []) if e.get("url") == EXTENSION_URL]
        if action.get("type") != "update" or len(information) != 1:
            found.append(f"ill-formed system action: {json.dumps(action)[:300]}")
        else:
            found += check_crd_invariants(information[0])
    return found


def send(client: Any, body: Json) -> tuple[int, str | None, str]:
    """`body` as JSON text; NaN and Infinity as Python's json writes them, bare words that are no JSON (a 400)."""
    response = client.post(SERVICE, data=json.dumps(body), headers={"Content-Type": "application/json"})
    return response.status_code, response.mimetype, response.get_data(as_text=True)


def check(client: Any, errors: ErrorRecords, chooser: Chooser) -> tuple[str, list[str], list[str]]:
    """One mutated request sent; its example's name, the mutations, and what is wrong with the answer."""
    name, body, done = mutated(chooser)
    errors.records.clear()
    status, mimetype, text = send(client, body)
    return name, done, problems(status, mimetype, text, list(errors.records))


def fuzzed_app(tmp_path: Path) -> Flask:
    """The app in local mode, its answers depending on the request alone (no earlier approvals looked up)."""
    application = make_app(local_settings(tmp_path))
    application.extensions["cds_service"].store.prior_approval = lambda *_: ()
    return application


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveClient, ErrorRecords]]:
    application = fuzzed_app(tmp_path_factory.mktemp("fuzz"))
    with ErrorRecords.attached() as errors, serving(application) as client:
        yield client, errors
    close_app(application)


@settings(max_examples=CASES, derandomize=True, deadline=None, database=None, print_blob=False,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_mutated_request_is_answered_within_the_contract(fuzzed: tuple[LiveClient, ErrorRecords],
                                                           data: st.DataObject) -> None:
    client, errors = fuzzed
    name, done, found = check(client, errors, DrawChooser(data))
    assert found == [], f"{name} after {done}: {found}"


def test_a_fault_the_service_catches_is_a_problem_found(fuzzed: tuple[LiveClient, ErrorRecords],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A guard on the oracle: a fault answered with the fault card and logged at ERROR fails the fuzz test."""
    def broken(*args: Any) -> None:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(pipeline, "evaluate_policy", broken)
    client, errors = fuzzed
    errors.records.clear()
    found = problems(*send(client, REQUESTS["aspirus-adult-relapsed-refractory-cycle1"]), list(errors.records))
    assert found[0].startswith("logged ERROR: evaluation failed") and found[-1].startswith("the fault card")


def test_the_mutator_draws_every_kind_of_mutation() -> None:
    """A guard on the harness itself: over 200 seeds every kind of mutation is drawn, and the requests change."""
    kinds: set[str] = set()
    changed = 0
    for seed in range(200):
        name, body, done = mutated(RandomChooser(seed))
        kinds.update(step.split()[0] for step in done)
        changed += body != REQUESTS[name]
    assert kinds == {"delete", "retype", "number", "string", "elsewhere", "repeat", "rename", "add", "swap"}
    assert changed > 180


def run_seeded(client: Any, errors: ErrorRecords, seeds: range) -> Iterator[tuple[int, str, list[str], list[str]]]:
    """The failures among `seeds`, for a long run outside the suite: (seed, example, mutations, problems)."""
    for seed in seeds:
        name, done, found = check(client, errors, RandomChooser(seed))
        if found:
            yield seed, name, done, found
