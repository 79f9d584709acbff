"""An 'MRD not available' record (dataAbsentReason) dated only to a month or a year that may be after the course start
(deletion_sweep's `date-year` variant of Observation/mrd-1): read at its first day it had shown MRD unavailable as of
the start, and approved the MRD-unavailable consolidation. It counts only by the course start (fhir-data-profile.md
§Labs), so when it may be later the criterion is unknown and the card asks for its full date."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.live_server import LiveClient

# Consolidation from 2026-12-01; Observation/mrd-1, 'Not performed', dated 2026-11-15.
EXAMPLE = Path(__file__).resolve().parents[1] / "fhir_examples" / "aspirus-adult-consolidation-mrd-unavailable.json"
CRITERION = "adult-consolidation-mrd-unavailable.mrd-unavailable"


@pytest.mark.parametrize(("dated", "status", "decision"), [
    ("2026-11-15", "met", "meets-criteria"),
    ("2026-11", "met", "meets-criteria"),  # all of November is before the course start
    ("2026-12", "unknown", "information-needed"),  # Dec 1, or later: was met
    ("2026", "unknown", "information-needed"),  # was met, 'MRD not available (2026-01-01)'
])
def test_an_unavailable_mrd_counts_only_when_dated_by_the_course_start(client: LiveClient, dated: str, status: str,
                                                                       decision: str) -> None:
    body = json.loads(EXAMPLE.read_text())
    [mrd] = [e["resource"] for e in body["prefetch"]["observations"]["entry"] if e["resource"]["id"] == "mrd-1"]
    mrd["effectiveDateTime"] = dated
    response = client.post("/cds-services/blinatumomab-coverage", json=body)
    [found] = [c["extension"]["coverage-decision"] for c in response.get_json()["cards"]
               if "coverage-decision" in c.get("extension", {})]
    [criterion] = [c for c in found["criteria"] if c["id"] == CRITERION]
    assert (criterion["status"], found["decision"]) == (status, decision)
    if status == "unknown":
        assert criterion["evidence"] == ["Observation/mrd-1"]
        assert "may be after the course start 2026-12-01" in criterion["note"]
