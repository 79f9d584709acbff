"""Live vaccines in the Aspirus U1 window (policy-rules.md §2 U1, fhir-data-profile.md §Immunizations), its numbers read
from the policy file."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from cds_service.facts.immunizations import live_vaccine_in_window
from cds_service.facts.model import Fact, read_within
from cds_service.policies import load_policy
from cds_service.record import PatientRecord
from cds_service.valuesets import ValueSets
from tests.factories import immunization, record

COURSE_START = date(2026, 3, 1)
START = date(2026, 4, 12)  # a later cycle of the course
U1 = dict(load_policy("aspirus-magellan").windows)["live_vaccine_in_window"]  # 14 days before, 28 after


def _fact(rec: PatientRecord) -> Fact[bool]:
    return read_within(live_vaccine_in_window(rec, COURSE_START, START), U1)


def _in_window(*immunizations: dict) -> bool | None:
    return _fact(record(*immunizations)).value


@pytest.mark.parametrize(("day", "expected"), [
    (COURSE_START - timedelta(days=15), False),
    (COURSE_START - timedelta(days=14), True),
    (START + timedelta(days=28), True),
    (START + timedelta(days=29), False),
])
def test_window_boundaries(day: date, expected: bool) -> None:
    assert _in_window(immunization("03", day)) is expected


@pytest.mark.parametrize("cvx", ["56", "204"])  # live dengue (Dengvaxia), live Ebola Zaire (Ervebo)
def test_live_vaccines_beyond_the_profiles_list_count(cvx: str) -> None:
    assert _in_window(immunization(cvx, COURSE_START - timedelta(days=7))) is True


def test_live_vaccine_in_window_has_evidence() -> None:
    mmr = immunization("03", "2026-03-10")
    fact = _fact(record(mmr))
    assert fact.value is True and fact.evidence == (f"Immunization/{mmr['id']}",)


def test_inactivated_and_not_completed_vaccines_do_not_count() -> None:
    flu_inactivated = immunization("141", "2026-03-10")
    not_done = immunization("03", "2026-03-10", status="not-done")
    assert _in_window(flu_inactivated, not_done) is False


def test_unspecified_formulation_is_unknown_unless_a_live_one_is_there() -> None:
    zoster_unspecified = immunization("188", "2026-03-10")
    fact = _fact(record(zoster_unspecified))
    assert fact.value is None and fact.received and fact.evidence
    assert _in_window(zoster_unspecified, immunization("21", "2026-03-11")) is True


@pytest.mark.parametrize("system", ["https://hl7.org/fhir/sid/cvx/", "urn:oid:2.16.840.1.113883.12.292"])
def test_a_cvx_code_written_with_another_form_of_its_system_still_identifies_the_vaccine(system: str) -> None:
    flu = immunization("141", "2026-03-10")
    flu["vaccineCode"]["coding"][0]["system"] = system
    assert _in_window(flu) is False  # inactivated influenza, not "no CVX code"


@pytest.mark.parametrize("vaccine_code", [
    {"text": "MMR live vaccine"},
    {"coding": [{"system": "urn:oid:1.2.3.4", "code": "MMR-LOCAL", "display": "MMR"}]},
    None,
])
def test_a_vaccine_without_a_cvx_code_in_the_window_leaves_u1_unknown(vaccine_code: dict | None) -> None:
    """Which vaccine it was cannot be told, nor whether it was live: passed over, an MMR written as text cleared U1."""
    unnamed = immunization("03", "2026-03-10")
    del unnamed["vaccineCode"]
    if vaccine_code is not None:
        unnamed["vaccineCode"] = vaccine_code
    fact = _fact(record(unnamed))
    assert fact.value is None and fact.evidence == (f"Immunization/{unnamed['id']}",)
    assert "(no CVX code)" in fact.note and "was a live vaccine" in fact.missing
    assert _in_window(unnamed, immunization("21", "2026-03-11")) is True  # a live one in the window decides
    unnamed["occurrenceDateTime"] = "2025-01-10"
    assert _in_window(unnamed) is False  # outside the window, whatever it was


def test_notes_name_the_vaccine_and_its_date_and_an_unclear_one_says_what_to_confirm() -> None:
    mmr = immunization("03", "2026-03-10")
    mmr["vaccineCode"]["text"] = "MMR"
    live = _fact(record(mmr))
    assert live.note == "MMR dated 2026-03-10; window between 2026-02-15 and 2026-05-10"
    zoster = immunization("188", "2026-03-10")
    unclear = _fact(record(zoster))
    name = zoster["vaccineCode"]["coding"][0].get("display") or "zoster vaccine, unspecified formulation (CVX 188)"
    assert unclear.missing == f"whether {name} (2026-03-10) was a live vaccine"
    assert unclear.note.startswith(f"{name} dated 2026-03-10 (formulation unspecified); window between")
    partial = _fact(record(immunization("03", "2026-02")))
    assert "dated 2026-02 (date uncertain)" in partial.note and partial.missing == "the date MMR (CVX 03) was given"
    none = _fact(record())
    assert none.note == "no live vaccine recorded between 2026-02-15 and 2026-05-10"


@pytest.mark.parametrize(("coding", "name"), [
    ({"system": "http://hl7.org/fhir/sid/cvx", "code": "88"}, "influenza, unspecified formulation (CVX 88)"),
    ({"system": "http://hl7.org/fhir/sid/cvx", "code": "88", "display": "flu"}, "flu"),
    ({"system": "urn:oid:2.16.840.1.113883.12.292", "code": "03"}, "MMR (CVX 03)"),
    ({"system": "http://example.org/local-vaccines", "code": "88"}, "vaccine code 88"),
])
def test_a_vaccine_sent_without_a_display_is_named_by_its_value_set_never_a_bare_code(coding: dict,
                                                                                      name: str) -> None:
    """A bare "88" on a card reads as a number: a code is named with its system, and the name a value set gives it."""
    vaccine = immunization("03", "2026-03-10") | {"vaccineCode": {"coding": [coding]}}
    assert _fact(record(vaccine)).note.startswith(f"{name} dated 2026-03-10")


def test_a_cvx_code_no_value_set_names_is_named_by_its_system(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ValueSets, "display", lambda self, coding: "")
    vaccine = immunization("88", "2026-03-10")
    assert _fact(record(vaccine)).note.startswith("CVX 88 dated 2026-03-10")


def test_not_received_is_unknown() -> None:
    fact = _fact(record(not_received=("immunizations",)))
    assert fact.value is None and fact.received is False


@pytest.mark.parametrize(("occurrence", "expected"), [
    ("2026-03", True),  # the whole month lies in the window (2026-02-15 to 2026-05-10)
    ("2026-02", None),  # part of February is before the window: may or may not be in it
    ("2026", None),
    ("2025-12", False),  # wholly before the window
])
def test_a_partial_date_counts_only_when_every_possible_day_is_known(occurrence: str, expected: bool | None) -> None:
    assert _in_window(immunization("03", occurrence)) is expected


def _undated(cvx: str = "03", **occurrence: str) -> dict:
    vaccine = immunization(cvx)
    del vaccine["occurrenceDateTime"]
    return vaccine | occurrence


@pytest.mark.parametrize("occurrence", [{"occurrenceString": "last spring"}, {"occurrenceDateTime": "2026-13-45"},
                                        {"occurrenceDateTime": "0001-01-01"}, {}])
def test_a_live_vaccine_without_a_readable_date_leaves_u1_unknown(occurrence: dict) -> None:
    """U1 is an exclusion: a live vaccine may clear it only when its date places it outside the window. One whose
    date cannot be read may be in it, so the card asks for the date (never met)."""
    mmr = _undated(**occurrence)
    fact = _fact(record(mmr))
    assert (fact.value, fact.evidence, fact.missing) == (None, (f"Immunization/{mmr['id']}",),
                                                        "the date MMR (CVX 03) was given")
    assert fact.note.startswith("MMR (CVX 03) dated" if occurrence else "MMR (CVX 03) with no date")


@pytest.mark.parametrize(("recorded", "expected"), [
    ("2026-02-14", False),  # recorded the day before the window (2026-02-15): given before it
    ("2026-02-15T09:00:00Z", None),
    ("2026-02", None),  # a partial date may be a day in the window
])
def test_the_recorded_date_of_an_undated_vaccine_can_place_it_before_the_window(recorded: str,
                                                                                expected: bool | None) -> None:
    assert _in_window(_undated(occurrenceString="childhood", recorded=recorded)) is expected


def test_an_undated_vaccine_of_unspecified_formulation_is_unknown_and_an_inactivated_one_does_not_count() -> None:
    zoster = _fact(record(_undated("188")))
    assert zoster.value is None and zoster.missing.endswith("(no date) was a live vaccine")
    assert _in_window(_undated("141", occurrenceString="last autumn")) is False


def _first_cycle(start: date, *immunizations: dict) -> Fact[bool]:
    """U1 for an order that begins its course on `start`."""
    return read_within(live_vaccine_in_window(record(*immunizations), start, start), U1)


def test_a_live_vaccine_before_a_first_cycle_says_from_when_a_start_would_be_clear_of_it() -> None:
    """Clinician review: the denial named the vaccine and the window, not what would change it. For an order that
    begins its course, the earliest start placing the vaccines more than the window's 14 days before it, as
    information: that start is clear of the window, the day before it is not (both ends included)."""
    mmr = immunization("03", "2026-11-24")
    mmr["vaccineCode"]["text"] = "MMR"
    assert _first_cycle(date(2026, 12, 1), mmr).note == (
        "MMR dated 2026-11-24; window between 2026-11-17 and 2026-12-29; a start on or after 2026-12-09 would be "
        "more than 14 days after it")
    assert (_first_cycle(date(2026, 12, 9), mmr).value, _first_cycle(date(2026, 12, 8), mmr).value) == (False, True)
    varicella = immunization("21", "2026-11-20")
    assert _first_cycle(date(2026, 12, 1), varicella, mmr).note.endswith(
        "a start on or after 2026-12-09 would be more than 14 days after them")


def test_no_later_start_is_offered_for_a_vaccine_during_treatment_or_before_a_course_begun_earlier() -> None:
    start = date(2026, 12, 1)
    assert "a start on or after" not in _first_cycle(start, immunization("03", "2026-12-05")).note
    assert "a start on or after" not in _first_cycle(start, immunization("03", "2026-11-24"),
                                                     immunization("21", "2026-12-01")).note
    later_cycle = read_within(live_vaccine_in_window(record(immunization("03", "2026-11-24")), date(2026, 11, 30),
                                                     date(2027, 1, 11)), U1)
    assert later_cycle.value is True and "a start on or after" not in later_cycle.note
