"""An earlier blinatumomab order whose start is dated only to a month or a year (deletion_sweep's `date-year-month`
and `date-year` variants): read at its first day it had joined the cycle before it, and a tenth cycle (not met: at
most 9) had been approved as the ninth. Which cycle it began is unknown when its first and last possible day count
differently; the count stands when they agree."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import LiveClient

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"
EXAMPLE = EXAMPLES / "aspirus-relapsed-refractory-cycle10-exceeds-limit.json"


def _decision(client: LiveClient, index: int, start: str) -> dict[str, Any]:
    body = json.loads(EXAMPLE.read_text())
    prior = body["prefetch"]["medicationRequests"]["entry"][index]["resource"]
    prior["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["start"] = start
    response = client.post("/cds-services/blinatumomab-coverage", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    [decision] = [c["extension"]["coverage-decision"] for c in response.get_json()["cards"]
                  if "coverage-decision" in c.get("extension", {})]
    return decision


def _cycles(decision: dict[str, Any]) -> dict[str, Any]:
    [criterion] = [c for c in decision["criteria"] if c["id"].endswith("at-most-9-cycles")]
    return criterion


@pytest.mark.parametrize("start", ["2026-03", "2026"])
def test_a_start_that_may_join_or_begin_a_cycle_leaves_the_count_unknown(client: LiveClient, start: str) -> None:
    """prior-cycle-5 (2026-03-18 to 2026-04-14) after cycle 4's last day, 2026-03-03: from March 1 it joins cycle 4,
    from March 31 (or any day of 2026 before the order) it begins one."""
    decision = _decision(client, 4, start)
    assert decision["decision"] == "information-needed"
    criterion = _cycles(decision)
    assert criterion["status"] == "unknown"
    assert criterion["evidence"] == ["MedicationRequest/prior-cycle-5"]
    assert "recorded only to a month or a year" in criterion["note"]


@pytest.mark.parametrize("index, start", [(4, "2026-03-18"), (0, "2025-10")])
def test_a_full_date_or_a_month_that_counts_alike_keeps_the_tenth_cycle(client: LiveClient, index: int,
                                                                       start: str) -> None:
    """prior-cycle-1 in October 2025 is the first cycle from any of its days."""
    decision = _decision(client, index, start)
    assert decision["decision"] == "criteria-not-met"
    assert _cycles(decision)["status"] == "not-met"
