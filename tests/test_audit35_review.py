"""The trail as a payer pharmacist reads it: the listings' one form of filters (a Selection), and what `show` says of
the indication of a decision not met."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from cds_service.audit import AuditStore
from cds_service.audit_queries import InvocationDetail, Selection
from cds_service.audit_rows import FeedbackEntry
from cds_service.cli import main
from cds_service.cli_audit_record import format_detail
from cds_service.override_reasons import OVERRIDE_REASON_SYSTEM, OVERRIDE_REASONS
from tests.test_audit import CLIENT, NOW, invocation, outcome, store  # noqa: F401  (fixture)
from tests.test_db import database_url  # noqa: F401  (fixture)

QUANTITY = {"id": "quantity", "status": "not-met", "citation": "Aspirus II", "evidence": []}
U1 = {"id": "U1", "status": "met", "citation": "Aspirus III", "evidence": []}


def _criterion(indication: str, name: str, status: str) -> dict[str, Any]:
    return {"id": f"{indication}.{name}", "status": status, "citation": "Aspirus III", "evidence": []}


def test_every_listing_takes_its_filters_as_a_selection(store: AuditStore) -> None:  # noqa: F811
    refused = [replace(invocation(f"hi-{patient}", patient, time=NOW - timedelta(hours=hours)), status=400,
                       outcomes=[]) for patient, hours in (("p1", 3), ("p2", 2), ("p1", 1))]
    for record in refused:
        store.record_invocation(record)
    store.record_invocation(invocation("hi-decided", "p1", outcome("mr-1", "criteria-not-met")))
    store.flush()
    assert [row.patient_id for row in store.rejected(Selection(patient="p1"))] == ["p1", "p1"]
    assert [row.patient_id for row in store.rejected(Selection(since=NOW - timedelta(hours=2, minutes=30)))] == [
        "p1", "p2"]
    assert [row.patient_id for row in store.rejected(Selection(until=NOW - timedelta(hours=2, minutes=30)))] == ["p1"]
    assert [row.order_id for row in store.recent(Selection(patient="p1", decision="criteria-not-met"))] == ["mr-1"]
    assert store.recent(Selection(patient="p2")) == []


def _indication_line(**changes: Any) -> str:
    detail = InvocationDetail(invocation("hi-1", "p1", replace(outcome(), **changes)), [])
    [line] = [line for line in format_detail(detail).splitlines() if line.startswith("  indication ")]
    return line.removeprefix("  indication").strip()


@pytest.mark.parametrize(("changes", "said"), [
    ({"decision": "meets-criteria", "criteria": [U1]}, "adult-consolidation-mrd-positive"),
    # denied on the quantity, its indication's clinical criteria met: not a contradiction
    ({"decision": "criteria-not-met", "indication": "adult-relapsed-refractory", "criteria": [U1, QUANTITY]},
     "adult-relapsed-refractory (clinical criteria met; not-met: quantity)"),
    ({"decision": "information-needed", "indication": "fb-mrd-positive",
      "criteria": [_criterion("fb-mrd-positive", "dose-at-most-28", "not-met"),
                   _criterion("fb-mrd-positive", "mrd", "unknown")]},
     "fb-mrd-positive (clinical criteria met; not-met: dose-at-most-28; unknown: mrd)"),
    # none met: the criteria listed are the closest indication's, which the line names
    ({"decision": "criteria-not-met", "indication": None,
      "criteria": [U1, _criterion("adult-relapsed-refractory", "b-cell-precursor-all", "not-met")]},
     "none met; the card showed adult-relapsed-refractory's criteria"),
    ({"decision": "information-needed", "indication": None, "criteria": [U1]}, "none met"),
    ({"decision": None, "indication": None, "policy": None, "no_plan_reason": "payer-not-supported"}, "-"),
])
def test_show_says_which_criteria_a_decision_not_met_failed_on(changes: dict[str, Any], said: str) -> None:
    assert _indication_line(**changes) == said


def test_the_feedback_table_shows_every_override_reason_the_service_offers_whole(
        store: AuditStore, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    """The reason and its code are what a pharmacist reviewing overrides came for: the longest one lost its code's
    end to the column's cut."""
    store.record_feedback("blinatumomab-coverage", [
        FeedbackEntry(f"card-{code}", "overridden", override_system=OVERRIDE_REASON_SYSTEM, override_code=code,
                      override_display=display) for code, display in OVERRIDE_REASONS], CLIENT)
    store.flush()
    assert main(["audit", "--database-url", store.engine.url.render_as_string(hide_password=False), "--feedback"]) == 0
    table = capsys.readouterr().out
    assert all(f"{display} ({code})" in table for code, display in OVERRIDE_REASONS)
