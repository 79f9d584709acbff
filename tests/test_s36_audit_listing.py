"""The decisions table as a payer pharmacist scans it: a decision not met beside an indication met says, in its own
row, which criteria failed (a universal one, the quantity, the dose), and a denial with no indication met says so."""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from cds_service.audit import AuditStore
from cds_service.cli import main
from tests.test_audit import invocation, outcome, store  # noqa: F401  (fixture)
from tests.test_db import database_url  # noqa: F401  (fixture)

ARR = "adult-relapsed-refractory"


def _criterion(criterion_id: str, status: str) -> dict[str, Any]:
    return {"id": criterion_id, "status": status, "citation": "Aspirus III", "evidence": []}


# hookInstance -> (decision, indication, criteria)
DECISIONS: dict[str, tuple[str, str | None, list[dict[str, Any]]]] = {
    "hi-met": ("meets-criteria", ARR, [_criterion("U1", "met"), _criterion(f"{ARR}.adult-age", "met")]),
    "hi-universal": ("criteria-not-met", ARR, [_criterion("U1", "not-met"), _criterion(f"{ARR}.adult-age", "met")]),
    "hi-dose": ("criteria-not-met", ARR, [_criterion("U1", "met"), _criterion(f"{ARR}.dose-schedule", "not-met")]),
    "hi-none": ("criteria-not-met", None, [_criterion("U1", "met"),
                                           _criterion(f"{ARR}.b-cell-precursor-all", "not-met")]),
    "hi-unknown": ("information-needed", ARR, [_criterion("U1", "unknown"), _criterion("quantity", "not-met")]),
}


@pytest.fixture
def url(store: AuditStore) -> str:  # noqa: F811
    for hook_instance, (decision, indication, criteria) in DECISIONS.items():
        decided = replace(outcome(f"mr-{hook_instance}", decision), indication=indication, criteria=criteria)
        store.record_invocation(invocation(hook_instance, "p1", decided))
    store.flush()
    return store.engine.url.render_as_string(hide_password=False)


def table_cells(output: str) -> list[dict[str, str]]:
    """A listing's table as its rows' cells by column (columns found by where the rule under the header starts
    them)."""
    header, rule, *lines = output.splitlines()
    starts = [index for index, char in enumerate(rule) if char == "-" and (index == 0 or rule[index - 1] == " ")]
    bounds = list(zip(starts, [*starts[1:], None]))
    return [{header[start:end].strip(): line[start:end].strip() for start, end in bounds} for line in lines]


def _table(url: str, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, str]]:
    """The table's cells by hookInstance and column."""
    assert main(["audit", "--database-url", url]) == 0
    return {row["hookInstance"]: row for row in table_cells(capsys.readouterr().out)}


@pytest.mark.parametrize(("hook_instance", "indication", "unmet"), [
    ("hi-met", ARR, "-"),
    # the universal criterion failed: named beside the indication whose own criteria were met
    ("hi-universal", ARR, "not-met: U1"),
    ("hi-dose", ARR, "not-met: dose-schedule"),
    # no indication met: the criterion named with its indication, whose criteria the card showed
    ("hi-none", "none met", f"not-met: {ARR}.b-cell-precursor-all"),
    ("hi-unknown", ARR, "not-met: quantity; unknown: U1"),
])
def test_the_table_names_the_criteria_a_decision_failed_on(
        url: str, capsys: pytest.CaptureFixture[str], hook_instance: str, indication: str, unmet: str) -> None:
    row = _table(url, capsys)[hook_instance]
    assert (row["decision"], row["indication"], row["unmet criteria"]) == (
        DECISIONS[hook_instance][0], indication, unmet)


def test_the_json_lines_carry_the_criteria_not_met_and_unknown(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--database-url", url, "--format", "jsonl"]) == 0
    rows = {row["hook_instance"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert {hook_instance: (row["criteria_not_met"], row["criteria_unknown"]) for hook_instance, row in rows.items()} \
        == {"hi-met": ([], []), "hi-universal": (["U1"], []), "hi-dose": ([f"{ARR}.dose-schedule"], []),
            "hi-none": ([f"{ARR}.b-cell-precursor-all"], []), "hi-unknown": (["quantity"], ["U1"])}
