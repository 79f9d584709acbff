"""Unacceptable toxicity since the course start (policy-rules.md §2 renewal, fhir-data-profile.md §Toxicity), and the
grade 4-5 CRS or ICANS of earlier courses the label reads (label_safety.py)."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cds_service.facts.attestations import Attestations, RenewalWindow
from cds_service.facts.model import Fact
from cds_service.facts.toxicity import severe_toxicity_before_course, unacceptable_toxicity
from cds_service.valuesets import ENV_DIR, get_valuesets
from tests.factories import condition, questionnaire_response, record

COURSE_START = date(2026, 1, 1)
EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"


def _toxicity(*resources: dict, not_received: tuple[str, ...] = ()) -> Fact[bool]:
    rec = record(*resources, not_received=not_received)
    return unacceptable_toxicity(rec, COURSE_START, Attestations.from_record(rec))


def _attested(value: bool, authored: str = "2026-03-01") -> dict:
    return questionnaire_response({"unacceptable-toxicity": value}, authored=authored)


@pytest.mark.parametrize("code", ["D89.834", "D89.835", "G92.04", "G92.05"])
def test_grade_4_5_crs_or_icans_is_unacceptable_even_if_attested_false(code: str) -> None:
    crs = condition(code, recorded="2026-01-10")
    fact = _toxicity(crs, _attested(False))
    assert fact.value is True and not fact.attested and fact.evidence == (f"Condition/{crs['id']}",)


@pytest.mark.parametrize("code", ["D89.833", "D89.839", "G92.03", "G92.00", "K85.90", "E88.3", "D70.1", "R74.01",
                                  "A41.9", "R65.21"])
def test_listed_events_are_unknown_unless_attested(code: str) -> None:
    event = condition(code, recorded="2026-01-10")
    fact = _toxicity(event)
    assert fact.value is None and fact.evidence
    assert _toxicity(event, _attested(False)).value is False


def test_the_card_names_each_event_and_its_date() -> None:
    """Which event, and when, is what the clinician is asked to judge (or told stopped the renewal)."""
    crs = condition("D89.833", recorded="2026-01-07", text="Cytokine release syndrome, grade 3")
    asked = _toxicity(crs)
    assert asked.note == "since the course start: Cytokine release syndrome, grade 3 (2026-01-07)"
    icans = [condition("G92.04", recorded=f"2026-01-1{day}") for day in range(5)]
    severe = _toxicity(*icans)
    assert severe.value is True and len(severe.evidence) == 5
    assert severe.note.startswith("grade 4-5 CRS or ICANS since the course start: G92.04 (2026-01-10); G92.04 (")
    assert severe.note.endswith("; and 2 other events")


def test_leukoencephalopathy_by_text() -> None:
    assert _toxicity(condition("X", system="urn:local", text="Leukoencephalopathy", recorded="2026-01-10")).value \
        is None


@pytest.mark.parametrize("code", ["D89.831", "D89.832", "G92.01", "G92.02"])
def test_grades_1_2_do_not_count(code: str) -> None:
    assert _toxicity(condition(code, recorded="2026-01-10")).value is False


def test_events_before_the_course_or_refuted_do_not_count() -> None:
    before = condition("D89.834", recorded="2025-12-31")
    refuted = condition("G92.05", recorded="2026-01-10",
                        verificationStatus={"coding": [{"code": "refuted"}]})
    assert _toxicity(before, refuted).value is False


@pytest.mark.parametrize(("dated", "course_start"), [
    ({}, COURSE_START), ({"onsetString": "during admission"}, COURSE_START),
    ({"recordedDate": "2026-13-40"}, COURSE_START),
    ({"recordedDate": "2026"}, date(2026, 6, 1)), ({"onsetDateTime": "2026-06"}, date(2026, 6, 15)),
], ids=["no-date", "onset-string", "invalid-date", "year-spanning", "month-spanning"])
def test_a_grade_4_5_event_whose_date_cannot_place_it_before_the_course_leaves_the_toxicity_unknown(
        dated: dict[str, str], course_start: date) -> None:
    """Only events since the course start count, so one that may be of this course cannot be ignored: undated, or
    dated only to a year or month that spans the start. An answer cannot clear it; its date decides."""
    crs = condition("D89.834", recorded=None, **dated)
    for answers in ((), (_attested(False, authored=course_start.isoformat()),)):
        rec = record(crs, *answers)
        fact = unacceptable_toxicity(rec, course_start, Attestations.from_record(rec))
        assert fact.value is None and fact.evidence == (f"Condition/{crs['id']}",)
        assert fact.missing == f"the date of the grade 4-5 CRS or ICANS (Condition/{crs['id']})"
    assert _toxicity(crs, _attested(True)).value is True


def test_a_renewal_is_not_approved_over_an_undated_grade_4_crs(client: Any) -> None:
    """The Aspirus renewal example, met, with a grade 4 CRS Condition that has no date: information needed, its
    date asked for, never an approval over it (Aspirus IV)."""
    body = json.loads((EXAMPLES / "aspirus-relapsed-refractory-cycle6-renewal.json").read_text())
    crs = condition("D89.834", recorded=None, id="crs-undated", subject={"reference": "Patient/example-patient"})
    body["prefetch"]["conditions"]["entry"].append({"resource": crs})
    answer = client.post("/cds-services/blinatumomab-coverage", json=body).get_json()
    decision = answer["cards"][0]["extension"]["coverage-decision"]
    assert (decision["decision"], decision["request"]) == ("information-needed", "renewal")
    assert decision["missing"] == ["the date of the grade 4-5 CRS or ICANS (Condition/crs-undated)"]


def test_a_partial_date_before_the_course_start_still_places_the_event_before_it() -> None:
    assert _toxicity(condition("D89.834", recorded="2025-12")).value is False


def test_an_undated_event_to_judge_is_asked_about() -> None:
    event = condition("G92.03", recorded=None)
    assert _toxicity(event).value is None
    assert _toxicity(event, _attested(False)).value is False


def test_a_condition_entered_in_error_does_not_count() -> None:
    # codes.usable_condition, as the diagnosis reads Conditions: toxicity ignored the entered-in-error clinicalStatus
    wrong = condition("D89.834", recorded="2026-01-10", clinical_status="entered-in-error")
    assert _toxicity(wrong).value is False


@pytest.mark.parametrize(("code", "value"), [("D89.834", True), ("G92.03", None)])
def test_an_event_recorded_on_the_course_start_day_counts(code: str, value: bool | None) -> None:
    """"Recorded since the course start" (fhir-data-profile.md §Toxicity) includes its first day: a grade 4 CRS
    on day 1 of the course stops the drug, a grade 3 ICANS that day is asked about."""
    event = condition(code, recorded=COURSE_START.isoformat())
    fact = _toxicity(event)
    assert fact.value is value and fact.evidence == (f"Condition/{event['id']}",)


def test_attested_true_is_unacceptable() -> None:
    fact = _toxicity(_attested(True))
    assert fact.value is True and fact.attested


def test_an_answer_from_before_the_course_is_not_counted() -> None:
    """Aspirus IV: the renewal asks about toxicity on this course; an answer from an earlier one cannot clear the
    grade 3 CRS recorded since (COURSE_START 2026-01-01)."""
    crs = condition("D89.833", recorded="2026-01-10")
    assert _toxicity(crs, _attested(False, authored="2025-12-31")).value is None
    assert _toxicity(_attested(True, authored="2025-12-31")).value is False
    on_the_first_day = condition("D89.833", recorded="2026-01-01")
    assert _toxicity(on_the_first_day, _attested(False, authored="2026-01-01")).value is False


def test_answers_count_from_the_date_given() -> None:
    rec = record(condition("D89.833", recorded="2026-01-10"), _attested(True, authored="2025-12-20"))
    answers = Attestations.from_record(rec)
    window = RenewalWindow(date(2025, 12, 15), date(2025, 12, 15))
    assert unacceptable_toxicity(rec, COURSE_START, answers, window).value is True


def test_a_no_judges_only_the_events_recorded_by_its_day() -> None:
    """Aspirus IV asks at each renewal: the "no" given for cycle 6 cannot clear a grade 3 CRS recorded during cycle
    7 (it was never judged), while the events of its own day and before stay cleared. A "yes" stands either way."""
    before, same_day = condition("D89.833", recorded="2026-02-01"), condition("K85.90", recorded="2026-03-01")
    assert _toxicity(before, same_day, _attested(False, authored="2026-03-01")).value is False
    later = condition("G92.03", recorded="2026-03-02", text="ICANS, grade 3")
    fact = _toxicity(before, later, _attested(False, authored="2026-03-01"))
    assert fact.value is None and not fact.attested
    assert fact.evidence[0] == f"Condition/{later['id']}" and fact.evidence[1].startswith("QuestionnaireResponse/")
    assert len(fact.evidence) == 2
    said = "recorded after the answer of 2026-03-01 (no unacceptable toxicity): ICANS, grade 3 (2026-03-02)"
    assert fact.note == said
    assert _toxicity(later, _attested(True, authored="2026-03-01")).value is True
    # A partial date that may fall after the answer's day is not judged by it (tests/test_toxicity_partial_dates.py).
    assert _toxicity(condition("D89.833", recorded="2026-03"), _attested(False, authored="2026-03-15")).value is None


def test_conditions_not_received_is_unknown() -> None:
    fact = _toxicity(not_received=("conditions",))
    assert fact.value is None and fact.received is False


def test_grades_1_2_stay_ignored_when_an_operator_adds_a_broader_code_range(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # All CRS codes (D89.83x) asked about: grade 1-2 (D89.831) must still not count, grade 3 (D89.833) must.
    extension = {"name": "toxicity-asked", "prefixes": [
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "D89.83", "display": "Cytokine release syndrome"}]}
    (tmp_path / "toxicity-asked.json").write_text(json.dumps(extension))
    monkeypatch.setenv(ENV_DIR, str(tmp_path))
    get_valuesets.cache_clear()  # read again with the operator file
    try:
        assert _toxicity(condition("D89.831", recorded="2026-02-01")).value is False
        assert _toxicity(condition("D89.833", recorded="2026-02-01")).value is None
    finally:
        monkeypatch.delenv(ENV_DIR)
        get_valuesets.cache_clear()


def test_the_label_reads_grade_4_5_events_before_the_course_resolved_or_not() -> None:
    """The label discontinues blinatumomab permanently: a grade 4-5 CRS or ICANS of an earlier course counts, resolved
    and abated or not; one of this course is unacceptable_toxicity's, and entered-in-error, refuted or grade 3 none."""
    older = condition("D89.834", recorded="2024-06-02", text="CRS grade 4")
    resolved = condition("G92.04", recorded="2025-03-06", clinical_status="resolved", abatementDateTime="2025-03-12")
    this_course = condition("G92.05", recorded="2026-01-10")
    wrong = condition("G92.04", recorded="2025-04-01", clinical_status="entered-in-error")
    refuted = condition("D89.835", recorded="2025-04-01", verificationStatus={"coding": [{"code": "refuted"}]})
    grade_3 = condition("G92.03", recorded="2025-04-01")
    fact = severe_toxicity_before_course(record(older, resolved, this_course, wrong, refuted, grade_3), COURSE_START)
    assert fact.value == (date(2025, 3, 6), date(2024, 6, 2))  # the latest first: the card's summary names it
    assert fact.evidence == (f"Condition/{resolved['id']}", f"Condition/{older['id']}")
    assert fact.note == "grade 4-5 CRS or ICANS before this course: G92.04 (2025-03-06); CRS grade 4 (2024-06-02)"
    assert severe_toxicity_before_course(record(this_course), COURSE_START).value == ()
    assert severe_toxicity_before_course(record(not_received=("conditions",)), COURSE_START).received is False


def test_three_events_are_all_named_and_no_more_is_said() -> None:
    icans = [condition("G92.04", recorded=f"2026-01-1{day}") for day in range(3)]
    severe = _toxicity(*icans)
    assert (severe.value, len(severe.evidence)) == (True, 3)
    assert severe.note == ("grade 4-5 CRS or ICANS since the course start: G92.04 (2026-01-10); G92.04 (2026-01-11); "
                           "G92.04 (2026-01-12)")
