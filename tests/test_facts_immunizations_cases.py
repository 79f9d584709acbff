"""Live vaccines in the Aspirus U1 window at their edges (policy-rules.md §2 U1, fhir-data-profile.md
§Immunizations): several vaccines, dates at the window's end, codes that are not quite CVX, names the record gives
oddly. Each case was a mutant of facts/immunizations.py that the other tests let live."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Iterator

import pytest

from cds_service.facts.immunizations import live_vaccine_in_window, unreadable_relevance
from cds_service.facts.model import Fact, read_within
from cds_service.policies import load_policy
from cds_service.record import PatientRecord
from tests.factories import CVX, immunization, record
from tests.operator_valuesets import operator_codes

COURSE_START = date(2026, 3, 1)
START = date(2026, 4, 12)  # the window: 2026-02-15 to 2026-05-10
U1 = dict(load_policy("aspirus-magellan").windows)["live_vaccine_in_window"]


def _fact(*immunizations: dict[str, Any]) -> Fact[bool]:
    return read_within(live_vaccine_in_window(record(*immunizations), COURSE_START, START), U1)


def _named(text: str, cvx: str = "03", occurrence: str = "2026-03-10") -> dict[str, Any]:
    vaccine = immunization(cvx, occurrence)
    vaccine["vaccineCode"]["text"] = text
    return vaccine


def test_a_live_vaccine_in_the_window_counts_after_one_long_before_it() -> None:
    """A childhood MMR listed first must not end the search before this spring's varicella vaccine."""
    assert _fact(immunization("03", "1990-05-01"), immunization("21", "2026-03-10")).value is True


def test_a_month_running_past_the_windows_end_leaves_u1_unknown() -> None:
    fact = _fact(immunization("03", "2026-05"))  # May 11 to 31 are after the window
    assert fact.value is None and "dated 2026-05 (date uncertain)" in fact.note


def test_every_live_vaccine_in_the_window_is_named() -> None:
    fact = _fact(_named("MMR"), _named("Varicella", "21", "2026-03-20"))
    assert fact.note == "MMR dated 2026-03-10; Varicella dated 2026-03-20; window between 2026-02-15 and 2026-05-10"
    assert len(fact.evidence) == 2


def test_every_vaccine_that_cannot_be_judged_is_named_with_what_to_confirm() -> None:
    fact = _fact(_named("MMR", occurrence="2026-02"), _named("Zoster", "188"))
    assert fact.value is None
    assert fact.note == ("MMR dated 2026-02 (date uncertain); Zoster dated 2026-03-10 (formulation unspecified); "
                         "window between 2026-02-15 and 2026-05-10")
    assert fact.missing == "the date MMR was given; whether Zoster (2026-03-10) was a live vaccine"


@pytest.mark.parametrize(("vaccine_code", "name"), [
    ({"text": "", "coding": [{"system": CVX, "code": "03", "display": "MMR II"}]}, "MMR II"),
    ({"coding": [{"system": CVX, "code": "03", "display": ""}]}, "MMR (CVX 03)"),
])
def test_a_vaccine_without_its_own_words_is_called_by_its_coding(vaccine_code: dict[str, Any], name: str) -> None:
    mmr = immunization("03", "2026-03-10", vaccineCode=vaccine_code)
    assert _fact(mmr).note.startswith(f"{name} dated 2026-03-10;")


def test_a_vaccine_with_no_code_at_all_is_called_a_vaccine() -> None:
    unnamed = immunization("03", "2026-03-10")
    del unnamed["vaccineCode"]
    assert _fact(unnamed).missing == "whether vaccine (2026-03-10) was a live vaccine"


def test_a_date_with_a_time_is_named_by_its_day() -> None:
    assert _fact(_named("MMR", occurrence="2026-03-10T09:30:00Z")).note.startswith("MMR dated 2026-03-10;")


def test_a_blank_occurrence_string_is_no_date() -> None:
    undated = _named("MMR")
    del undated["occurrenceDateTime"]
    undated["occurrenceString"] = "  "
    fact = _fact(undated)
    assert fact.value is None and fact.note.startswith("MMR with no date (date uncertain)")


@pytest.mark.parametrize("coding", [
    {"system": CVX, "code": " "},
    {"system": CVX, "code": 3},
    {"code": "03"},
])
def test_a_coding_without_a_usable_cvx_code_and_system_leaves_u1_unknown(coding: dict[str, Any]) -> None:
    """Which vaccine it was cannot be told: it may have been a live one."""
    fact = _fact(immunization("03", "2026-03-10", vaccineCode={"coding": [coding]}))
    assert fact.value is None and "(no CVX code)" in fact.note


def _in(*entries: Any) -> PatientRecord:
    return PatientRecord(patient=None, lists={"immunizations": list(entries)})


def test_an_entry_that_is_not_an_immunization_is_not_read_as_a_vaccine() -> None:
    """A completed Procedure in the list (a server's extra entry) names no vaccine: not one whose CVX code is
    missing. Nor does it end the reading before a live vaccine after it."""
    procedure = {"resourceType": "Procedure", "status": "completed", "performedDateTime": "2026-03-10"}
    assert read_within(live_vaccine_in_window(_in(procedure), COURSE_START, START), U1).value is False
    after = _in("text", procedure, immunization("03", "2026-03-10"))
    assert read_within(live_vaccine_in_window(after, COURSE_START, START), U1).value is True


def test_a_live_vaccine_in_the_window_counts_after_an_inactivated_or_not_done_one() -> None:
    assert _fact(immunization("141", "2026-03-10"), immunization("03", "2026-03-12")).value is True
    assert _fact(immunization("03", "2026-03-10", status="not-done"), immunization("21", "2026-03-12")).value is True


def test_a_broken_vaccine_not_given_is_not_handed_on_as_unreadable() -> None:
    """Its status rules it out: only a vaccine that may have been given is shape-checked (live_vaccine_in_window)."""
    not_done = immunization("03", "2026-03-10", status="not-done", occurrenceDateTime=20260310)
    malformed: list[dict[str, Any]] = []
    live_vaccine_in_window(record(not_done), COURSE_START, START, malformed)
    assert malformed == []


@pytest.fixture
def local_live_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from operator_codes(tmp_path, monkeypatch, "vaccines-live",
                              [{"system": "urn:oid:1.2.3.4", "code": "MMR-LOCAL"}])


def test_a_live_vaccine_an_operator_lists_by_a_local_code_counts(local_live_code: None) -> None:
    local = immunization("03", "2026-03-10", vaccineCode={"coding": [{"system": "urn:oid:1.2.3.4",
                                                                      "code": "MMR-LOCAL"}]})
    assert _fact(local).value is True


@pytest.mark.parametrize("vaccine", [
    immunization("03", "2026-03-10", status="not-done"),
    immunization("141", "2026-03-10"),  # inactivated influenza
])
def test_an_unreadable_immunization_not_done_or_not_live_bears_on_nothing(vaccine: dict[str, Any]) -> None:
    """The reader never hands these to unreadable.py; asked directly, the answer is the same."""
    assert unreadable_relevance(vaccine, COURSE_START, START) is None
