"""A history order whose end is recorded only to a month or a year (leftover 2 of the order review). FHIR's
Period.end covers its last day, which says the period may run to December 31; it does not say the order did. Read
so, a vincristine completed "2026" was active at a start of Dec 1 (with multi-agent chemotherapy) and a dasatinib
completed "2026" made a Ph+ induction "with a TKI", approved. Whether it ran to the start is not known: the fact is
unknown and the card asks for the order's full date, as for a start so recorded; where every day of the end gives
the same answer (an end in November before a December start, an end in December after its first day), nothing is
asked."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service.facts.attestations import Attestations
from cds_service.facts.medications import combination, induction_ino_mini_hyper_cvd, read_med_orders
from tests.dates_support import answer, covered, example, prefetched, service, summaries
from tests.factories import medication_request

__all__ = ["service"]

Json = dict[str, Any]
START = date(2026, 12, 1)
VINCRISTINE, INOTUZUMAB = "11202", "1942950"


def _combination(*resources: Json) -> Any:
    return combination(read_med_orders(resources, lambda _: None, START), START, True, Attestations(), None)


@pytest.mark.parametrize(("end", "expected"), [
    ("2026", None),  # any day of 2026: ended in January, or still running on Dec 1 (was: with multi-agent chemo)
    ("2026-12", "with-multiagent-chemo"),  # its first day is the start: active on it whichever day it ended
    ("2026-11", "single-agent"),  # every day of November is before the start
    ("2027", "with-multiagent-chemo"),
    ("2026-12-31", "with-multiagent-chemo"),
])
def test_a_completed_vincristine_ending_in_a_month_or_a_year(end: str, expected: str | None) -> None:
    fact = _combination(medication_request(VINCRISTINE, start="2026-06-01", end=end, status="completed"))
    assert fact.value == expected
    if expected is None:
        assert "ended 2026: may be active at the start date" in fact.note, fact.note


def test_the_note_names_the_end_as_recorded() -> None:
    order = medication_request(None, text="vincristine", start="2026-06-01", end="2026", status="completed")
    assert _combination(order).note == "vincristine ended 2026: may be active at the start date (2026-12-01)"


def test_a_validity_period_ending_in_a_year_is_read_alike() -> None:
    order = medication_request(None, text="vincristine", start="2026-06-01", status="completed",
                               dispenseRequest={"validityPeriod": {"end": "2026"}})
    order["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"].pop("end", None)
    assert _combination(order).value is None


def test_an_induction_overlap_decided_by_an_end_so_recorded_is_asked_for() -> None:
    """Inotuzumab from Oct 10; a vincristine from Oct 1 ending "2026-10" overlapped it only if it ran to Oct 10."""
    ino = medication_request(INOTUZUMAB, start="2026-10-10", end="2026-10-31", status="completed")
    vcr = medication_request(VINCRISTINE, start="2026-10-01", end="2026-10", status="completed")
    fact = induction_ino_mini_hyper_cvd(read_med_orders([ino, vcr], lambda _: None, START), START, True,
                                        Attestations())
    assert fact.value is None and "ended 2026-10" in fact.note, fact.note


def _with_tki(period: Json) -> Json:
    request = example("florida-blue-induction-ph-positive-with-tki")
    dasatinib = prefetched(request, "medicationRequests")["dasatinib-1"]
    dasatinib["status"] = "completed"
    dasatinib["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = period
    return request


@pytest.mark.parametrize(("end", "expected"), [
    ("2026", "conditional"),  # was read to Dec 31: "with a TKI" at a Dec 1 start, approved
    ("2026-12", "covered"),
    ("2027-01-15", "covered"),
])
def test_a_completed_tki_ending_in_a_year_is_asked_for_through_http(service: FlaskClient, end: str,
                                                                    expected: str) -> None:
    found = answer(service, _with_tki({"start": "2026-06-01", "end": end}))
    assert covered(found) == expected, summaries(found)
    assert ("the full date of the dasatinib order ended 2026" in summaries(found)) is (expected == "conditional")
