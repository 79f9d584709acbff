"""A relapse or remission recorded only to a month or a year, which may fall either side of the course start: the
disease status is unknown, and the card that needs it asks for that record's full date (facts/diagnosis.py
`_unordered`), not for the phase or the remission in general, nor for the date of a record dated in full."""
from __future__ import annotations

import copy
from datetime import date
from typing import Any

from flask.testing import FlaskClient

from cds_service.facts.attestations import Attestations
from cds_service.facts.diagnosis import read_diagnosis
from cds_service.summary_items import summary_item
from tests.dates_support import added, answer, example, prefetched, service  # noqa: F401
from tests.factories import condition, record
from tests.test_words34_card_wording import _line

COURSE_START = date(2026, 12, 1)


def _decision(found: dict[str, Any]) -> dict[str, Any]:
    [card] = [c for c in found["cards"] if "coverage-decision" in c["extension"]]
    return card


def _with_status(name: str, recorded: str, status: str, code: str, rid: str = "status-2") -> dict[str, Any]:
    """Example `name` with a second ALL status record (`status`, ICD-10-CM `code`) dated `recorded`."""
    request = example(name)
    extra = copy.deepcopy(prefetched(request, "conditions")["all-1"]) | {"id": rid, "recordedDate": recorded}
    extra["code"]["coding"][0]["code"] = code
    extra["clinicalStatus"]["coding"][0]["code"] = status
    added(request, "conditions", extra)
    return request


def test_a_relapse_dated_by_month_asks_for_its_full_date_on_the_card(service: FlaskClient) -> None:
    """In remission since 2026-10-20, a relapse recorded "2026-12": relapsed for a course from Dec 1, or not."""
    card = _decision(answer(service, _with_status("aspirus-adult-consolidation-mrd-positive", "2026-12", "relapse",
                                                  "C91.02")))
    assert card["summary"] == ("Aspirus Health Plan: document the full date of the ALL relapse recorded 2026-12 to "
                               "confirm coverage")
    line = _line(card, "Used as consolidation therapy")
    assert line.startswith("- ❓ unknown")
    assert line.endswith("; **document:** the full date of the ALL relapse recorded 2026-12 (Condition/status-2)")
    assert "ALL in relapse (C91.02), recorded 2026-12: may be after 2026-12-01" in line
    assert "therapy phase of this course" not in card["detail"]


def test_a_remission_dated_by_month_asks_for_its_full_date_on_the_card(service: FlaskClient) -> None:
    """In relapse (recorded 2026-10-20 here), a remission recorded "2026-12": the phase and the response to
    induction both wait on its date, and the card asks for it once."""
    request = _with_status("aspirus-adult-consolidation-mrd-positive", "2026-12", "remission", "C91.01")
    first = prefetched(request, "conditions")["all-1"]
    first["code"]["coding"][0]["code"], first["clinicalStatus"]["coding"][0]["code"] = "C91.02", "relapse"
    card = _decision(answer(service, request))
    assert card["summary"] == ("Aspirus Health Plan: document the full date of the ALL remission recorded 2026-12 to "
                               "confirm coverage")
    assert "**document:** the full date of the ALL remission recorded 2026-12 (Condition/status-2)" in card["detail"]


def test_a_remission_dated_by_year_reaches_the_pediatric_remission_criterion(service: FlaskClient) -> None:
    """Pediatric MRD+: 'in first or second remission' unknown by a remission recorded "2026"; its alternative, the
    end-of-consolidation answer, still asked for beside it, and the summary names neither resource id."""
    request = example("aspirus-pediatric-mrd-positive")
    prefetched(request, "conditions")["all-1"]["recordedDate"] = "2026"
    card = _decision(answer(service, request))
    asked = "the full date of the ALL remission recorded 2026"
    assert card["summary"] == (f"Aspirus Health Plan: document {asked}, or response at the end of consolidation to "
                               "confirm coverage")
    line = _line(card, "In first or second complete remission")
    assert line.endswith(f"**document:** {asked} (Condition/all-1), or response at the end of consolidation")


def test_a_full_dated_record_is_evidence_not_a_request() -> None:
    remission = condition("C91.01", recorded="2026-10-20", clinical_status="remission", id="all-1")
    relapse = condition("C91.02", recorded="2026", clinical_status="relapse", id="relapse-1")
    status = read_diagnosis(record(remission, relapse), Attestations()).status_as_of(COURSE_START)
    assert status.value is None and set(status.evidence) == {"Condition/relapse-1", "Condition/all-1"}
    assert status.missing == "the full date of the ALL relapse recorded 2026 (Condition/relapse-1)"
    # Both dated in part: both asked for.
    remission = condition("C91.01", recorded="2026-10", clinical_status="remission", id="all-1")
    status = read_diagnosis(record(remission, relapse), Attestations()).status_as_of(COURSE_START)
    assert summary_item(status.missing) == ("the full date of the ALL remission recorded 2026-10 and the ALL relapse "
                                            "recorded 2026")


def test_references_closing_an_alternative_are_left_to_the_detail() -> None:
    asked = "the full date of the ALL remission recorded 2026 (Condition/all-1), or response at the end of " \
            "consolidation"
    assert summary_item(asked) == "the full date of the ALL remission recorded 2026, or response at the end of " \
                                  "consolidation"
    # Words in parentheses that are no reference stay.
    kept = "MRD result (or that it is unavailable), or X"
    assert summary_item(kept) == kept
