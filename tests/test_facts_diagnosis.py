"""Diagnosis facts from Conditions: ALL / lymphoblastic lymphoma, lineage, infant ALL, status, remission number."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from cds_service.facts.attestations import Attestations
from cds_service.facts.diagnosis import RELAPSE_EPISODE_GAP_DAYS, Diagnosis, StatusRecord, read_diagnosis
from cds_service.facts.model import Fact
from cds_service.record import PatientRecord

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SCT = "https://snomed.info/sct"  # https on purpose: both forms are accepted
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "2020-06-15"}


def condition(cid: str, code: str | None = None, *, system: str = ICD, text: str | None = None,
              clinical: str | None = "active", recorded: str | None = None, onset: str | None = None,
              verification: str | None = None) -> dict:
    concept: dict = {}
    if code:
        concept["coding"] = [{"system": system, "code": code}]
    if text:
        concept["text"] = text
    resource: dict = {"resourceType": "Condition", "id": cid, "code": concept}
    if clinical:
        resource["clinicalStatus"] = {"coding": [{"code": clinical}]}
    if verification:
        resource["verificationStatus"] = {"coding": [{"code": verification}]}
    if recorded:
        resource["recordedDate"] = recorded
    if onset:
        resource["onsetDateTime"] = onset
    return resource


def answer_response(authored: str = "2026-01-01", **answers) -> dict:
    items = [{"linkId": link, "answer": [{("valueInteger" if isinstance(v, int) and not isinstance(v, bool)
                                           else "valueBoolean"): v}]} for link, v in answers.items()]
    return {"resourceType": "QuestionnaireResponse", "id": "qr", "status": "completed", "authored": authored,
            "questionnaire": "Questionnaire/blinatumomab-coverage-attestation", "subject": {"reference": "Patient/p1"},
            "item": [dict(i, linkId=i["linkId"].replace("_", "-")) for i in items]}


def diagnosis(*conditions: dict, received: bool = True, authored: str = "2026-01-01", **answers) -> Diagnosis:
    lists = {"conditions": list(conditions) if received else None,
             "attestations": [answer_response(authored, **answers)] if answers else []}
    record = PatientRecord(PATIENT, lists)
    return read_diagnosis(record, Attestations.from_record(record))


def test_all_and_lymphoma_met_unknown_not_received():
    found = diagnosis(condition("c1", "C91.00", recorded="2025-01-01"), condition("c2", "C83.51"))
    assert found.all_diagnosis == Fact(True, ("Condition/c1",), note="ALL (C91.00)")
    assert found.lymphoblastic_lymphoma.value is True and found.lymphoblastic_lymphoma.evidence == ("Condition/c2",)
    # A received list without the diagnosis does not rule it out (an inclusion criterion): unknown, never not-met.
    none = diagnosis(condition("c3", "C92.00"))
    assert none.all_diagnosis == Fact(note="no ALL diagnosis in the record") and none.all_diagnosis.received
    assert none.lymphoblastic_lymphoma == Fact(note="no lymphoblastic lymphoma diagnosis in the record")
    # No ALL but a lymphoblastic lymphoma: still unknown, and the lymphoma is named (Florida Blue reads it only under
    # its indication 2: a card asking for "ALL diagnosis" alone invited coding the lymphoma as ALL).
    lymphoma = diagnosis(condition("c4", "C83.51"))
    assert lymphoma.all_diagnosis == Fact(evidence=("Condition/c4",),
                                          note="no ALL diagnosis in the record; lymphoblastic lymphoma on record "
                                               "(C83.51)",
                                          missing="ALL diagnosis, if ALL (lymphoblastic lymphoma on record)")
    missing = diagnosis(received=False)
    assert missing.all_diagnosis == Fact(received=False)
    assert missing.lymphoblastic_lymphoma.received is False


def test_snomed_codes_and_ignored_verification():
    assert diagnosis(condition("c1", "91857003", system=SCT)).all_diagnosis.value is True
    # Ignored Conditions leave the diagnosis undocumented: unknown, asked for, not denied.
    for status in ("refuted", "entered-in-error"):
        assert diagnosis(condition("c1", "C91.00", verification=status)).all_diagnosis == Fact(
            note="no ALL diagnosis in the record")
    assert diagnosis(condition("c1", "C91.00", clinical="entered-in-error")).all_diagnosis.value is None


@pytest.mark.parametrize("cond,expected", [
    (condition("c", "277571004", system=SCT), True),
    (condition("c", "C91.00", text="Precursor B-lymphoblastic leukemia"), True),
    (condition("c", "C91.00", text="B-cell ALL"), True),
    (condition("c", "C91.00", text="T-lymphoblastic leukemia"), False),
    (condition("c", "C91.00", text="ALL, not T-cell"), None),
    (condition("c", "C91.00", text="acute lymphoblastic leukemia"), None),
    (condition("c", None, text="T-cell acute lymphoblastic leukemia"), False),  # uncoded, but lymphoblastic
    (condition("c", "C84.40", text="Peripheral T-cell lymphoma"), None),  # not a lymphoblastic disease
    # a therapy named after T cells is not the lineage
    (condition("c", "C91.02", text="Acute lymphoblastic leukemia in relapse after CAR T-cell therapy"), None),
    (condition("c", "C91.02", text="ALL, relapsed post CAR-T cell"), None),
    (condition("c", "C91.02", text="ALL refractory to bispecific T-cell engager"), None),
    (condition("c", "C91.02", text="B-ALL relapsed after CAR-T"), True),
    (condition("c", "C91.02", text="T-lymphoblastic leukemia relapsed after CAR-T"), False),
])
def test_lineage_from_codes_and_text(cond, expected):
    assert diagnosis(cond).b_lineage.value is expected


def test_lineage_attested_and_cd19():
    attested = diagnosis(condition("c", "C91.00", text="T-ALL"), b_cell_precursor=True).b_lineage
    assert attested.value is True and attested.attested
    plain = diagnosis(condition("c", "C91.00"))
    assert plain.lineage_with_cd19(Fact(True, ("Observation/f1",))).evidence == ("Observation/f1",)
    assert plain.lineage_with_cd19(Fact(False)).value is None
    t_cell = diagnosis(condition("c", "C91.00", text="T-lymphoblastic"))
    assert t_cell.lineage_with_cd19(Fact(False)).value is False
    # T-lineage words against CD19+ blasts: the profile does not rank them, so the conflict is unknown
    conflict = t_cell.lineage_with_cd19(Fact(True, ("Observation/f1",), note="CD19 positive (2026-09-01)"))
    assert conflict.value is None and conflict.evidence == ("Condition/c", "Observation/f1")
    assert diagnosis(received=False).b_lineage.received is False


def test_infant_all():
    birth = date(2020, 6, 15)
    assert diagnosis(condition("c", "C91.00", onset="2021-06-14")).infant_all(birth).value is True
    assert diagnosis(condition("c", "C91.00", onset="2021-06-15")).infant_all(birth).value is False
    # onset wins over recordedDate for the diagnosis date; the earliest ALL Condition decides
    found = diagnosis(condition("c1", "C91.02", onset="2023-01-01"),
                      condition("c2", "C91.00", onset="2021-01-01", recorded="2022-01-01"))
    assert found.infant_all(birth) == Fact(True, ("Condition/c2",), note="ALL onset 2021-01-01, before age 1 (C91.00)")
    assert diagnosis(condition("c", "C91.00", recorded="2021-01")).infant_all(birth).value is True
    assert diagnosis(condition("c", "C91.00", onset="2021-01-01")).infant_all(None).value is None
    attested = diagnosis(condition("c", "C91.00", onset="2024-01-01"), diagnosed_before_age_1=True)
    assert attested.infant_all(birth).attested
    assert diagnosis(received=False).infant_all(birth).received is False


@pytest.mark.parametrize(("age", "born", "infant"), [
    ({"value": 8, "code": "mo"}, None, True),
    ({"value": 0.5, "code": "a"}, None, True),
    ({"value": 1, "code": "a"}, None, False),
    ({"value": 52, "unit": "weeks"}, None, True),  # read by facts/quantities.py, as boundsDuration is
    ({"value": 53, "unit": "wk", "system": "http://unitsofmeasure.org", "code": "wk"}, None, False),
    ({"value": 8759, "unit": "hours"}, None, True),
    ({"value": 365, "code": "d"}, None, None),  # a year is 365 or 366 days: which needs the birth date
    ({"value": 365, "code": "d"}, date(2024, 2, 29), False),  # one year old on 2025-02-28, day 365
    ({"value": 365, "code": "d"}, date(2023, 3, 1), True),  # the first year holds Feb 29, 2024: 366 days
])
def test_infant_all_from_onset_age(age: dict, born: date | None, infant: bool | None) -> None:
    onset_age = condition("c", "C91.00")
    onset_age["onsetAge"] = age
    assert diagnosis(onset_age).infant_all(born).value is infant


@pytest.mark.parametrize(("onset", "infant"), [("2025-02-27", True), ("2025-02-28", False), ("2025-02", None)])
def test_a_leap_day_baby_turns_one_on_the_last_day_of_february(onset: str, infant: bool | None) -> None:
    """The age in months of read_birth (codes.completed_months): born 2024-02-29, 12 months old on 2025-02-28, so
    ALL diagnosed that day is not an infant's. A partial onset spanning the birthday leaves it unknown."""
    found = diagnosis(condition("c", "C91.00", onset=onset)).infant_all(date(2024, 2, 29))
    assert found.value is infant


def test_status_codes_then_clinical_status_then_text():
    day = date(2026, 12, 31)
    cases = [
        (condition("c", "C91.02", recorded="2026-09-02"), "relapsed"),
        (condition("c", "C91.01", clinical="active", recorded="2026-09-02"), "remission"),
        (condition("c", "C91.00", clinical="recurrence", recorded="2026-09-02"), "relapsed"),
        (condition("c", "C91.00", clinical="relapse", recorded="2026-09-02"), "relapsed"),
        (condition("c", "C91.00", clinical="remission", recorded="2026-09-02"), "remission"),
        (condition("c", "C91.00", text="Refractory B-ALL", recorded="2026-09-02"), "refractory"),
        (condition("c", "C91.00", recorded="2026-09-02"), "active"),
    ]
    for cond, expected in cases:
        assert diagnosis(cond).status_as_of(day).value == expected
    assert diagnosis(condition("c", "C91.02", recorded="2026-09-02")).status_as_of(day).note == \
        "ALL in relapse (C91.02), recorded 2026-09-02"


def test_status_most_recent_on_or_before_day_and_qualifying_only():
    found = diagnosis(
        condition("rel", "C91.02", recorded="2026-03-01"),
        condition("rem", "C91.01", recorded="2026-06-01"),
        condition("old", "C91.02", clinical="resolved", recorded="2026-08-01"),  # not a qualifying clinicalStatus
        condition("none", "C91.02", clinical=None, recorded="2026-08-02"),
        condition("future", "C91.02", recorded="2027-01-01"),
    )
    assert found.status_as_of(date(2026, 5, 31)).evidence == ("Condition/rel",)
    assert found.status_as_of(date(2026, 6, 1)).value == "remission"
    assert found.status_as_of(date(2026, 12, 1)).value == "remission"
    assert found.status_as_of(date(2026, 1, 1)).value is None and found.status_as_of(date(2026, 1, 1)).received
    assert found.status_records() == (
        StatusRecord(date(2026, 3, 1), "relapsed", "Condition/rel"),
        StatusRecord(date(2026, 6, 1), "remission", "Condition/rem"),
        StatusRecord(date(2027, 1, 1), "relapsed", "Condition/future"),
    )
    assert diagnosis(received=False).status_as_of(date(2026, 1, 1)) == Fact(received=False)


def test_onset_dates_status_when_no_recorded_date():
    found = diagnosis(condition("a", "C91.01", onset="2026-02-01"), condition("b", "C91.02", onset="2026-01-01"))
    assert found.status_as_of(date(2026, 3, 1)).value == "remission"


@pytest.mark.parametrize(("gap_days", "episodes"), [(30, 1), (31, 2)])
def test_relapse_records_more_than_30_days_apart_are_two_episodes(gap_days: int, episodes: int) -> None:
    """Relapse records within 30 days are one episode (EHRs re-code at admissions); a longer gap is a second relapse,
    and the remission after it the third."""
    second = (date(2025, 1, 1) + timedelta(days=gap_days)).isoformat()
    found = diagnosis(condition("r1", "C91.02", recorded="2025-01-01"), condition("r2", "C91.02", recorded=second),
                      condition("m", "C91.01", recorded="2025-06-01"))
    assert found.remission_number(date(2025, 12, 31)).value == episodes + 1


def test_remission_number_counts_relapse_episodes():
    found = diagnosis(
        condition("r1", "C91.02", recorded="2025-01-01"),
        condition("r1b", "C91.02", recorded="2025-01-20"),  # re-coded at admission: same episode
        condition("r1c", "C91.02", recorded="2025-02-15"),  # 26 days after the previous record: same episode
        condition("m", "C91.01", recorded="2025-06-01"),
        condition("r2", "C91.02", recorded="2026-01-01"),
    )
    assert found.remission_number(date(2024, 12, 31)).value is None  # no disease status recorded yet
    number = found.remission_number(date(2025, 12, 31))
    assert number.value == 2 and number.evidence == ("Condition/m", "Condition/r1")
    assert number.note == "ALL in remission (C91.01), recorded 2025-06-01; 1 earlier relapse episode"
    # In relapse, or never in remission (C91.00), the patient is in no remission: "first or second" is not met.
    relapsed = found.remission_number(date(2026, 6, 1))
    assert relapsed.value == 0 and relapsed.evidence == ("Condition/r2",)
    assert relapsed.note.startswith("not in remission: ALL in relapse")
    assert diagnosis(condition("a", "C91.00", recorded="2025-01-01")).remission_number(date(2026, 1, 1)).value == 0
    first = diagnosis(condition("a", "C91.01", recorded="2025-01-01")).remission_number(date(2026, 1, 1))
    assert (first.value, first.note) == (1, "ALL in remission (C91.01), recorded 2025-01-01; no earlier relapse")
    assert diagnosis(condition("x", "C92.00")).remission_number(date(2026, 1, 1)).value is None
    # The answer decides; a record in relapse at the course start is named beside it, for the pharmacist.
    attested = diagnosis(condition("r", "C91.02", recorded="2025-01-01"), remission_number=1)
    assert attested.remission_number(date(2026, 1, 1)) == Fact(
        1, ("QuestionnaireResponse/qr", "Condition/r"), attested=True,
        note="remission 1 attested (answered 2026-01-01); the record says ALL in relapse (C91.02), recorded 2025-01-01")
    in_remission = diagnosis(condition("m", "C91.01", recorded="2025-01-01"), remission_number=1)
    assert in_remission.remission_number(date(2026, 1, 1)) == Fact(1, ("QuestionnaireResponse/qr",), attested=True,
                                                                    note="remission 1 attested (answered 2026-01-01)")
    assert diagnosis(received=False).remission_number(date(2026, 1, 1)).received is False


@pytest.mark.parametrize(("gap_days", "remission"), [(RELAPSE_EPISODE_GAP_DAYS, 2), (RELAPSE_EPISODE_GAP_DAYS + 1, 3)])
def test_relapse_records_more_than_the_gap_apart_are_two_episodes(gap_days: int, remission: int) -> None:
    """fhir-data-profile.md: distinct relapse episodes are relapse records *more than* 30 days apart; records exactly
    that far apart are one episode re-coded (then one earlier relapse: second remission)."""
    first = date(2025, 1, 1)
    found = diagnosis(
        condition("r1", "C91.02", recorded=first.isoformat()),
        condition("r2", "C91.02", recorded=(first + timedelta(days=gap_days)).isoformat()),
        condition("m", "C91.01", recorded="2025-06-01"),
    )
    number = found.remission_number(date(2025, 12, 31))
    assert number.value == remission
    assert number.evidence == ("Condition/m", "Condition/r1", "Condition/r2")[:remission]


@pytest.mark.parametrize(("authored", "attested"), [("2025-12-01", False), ("2025-12-02", True)])
def test_remission_number_attested_for_an_earlier_course_does_not_count(authored: str, attested: bool) -> None:
    """The answer names the remission the patient was in when written: "first remission" from an earlier course,
    before a relapse, is not this course's (from 30 days before its start, 2026-01-01). The record decides then:
    in relapse at the course start, the patient is in no remission."""
    found = diagnosis(condition("r", "C91.02", recorded="2025-11-01"), authored=authored, remission_number=1)
    number = found.remission_number(date(2026, 1, 1))
    assert (number.value, number.attested) == ((1, True) if attested else (0, False))


def test_cd19_positive_blasts_make_the_lineage_b_when_the_diagnosis_names_none() -> None:
    found = diagnosis(condition("c", "C91.00")).lineage_with_cd19(
        Fact(True, ("Observation/f1",), note="CD19 positive (2026-09-01)"))
    assert found == Fact(True, ("Observation/f1",), note="CD19+ blasts: CD19 positive (2026-09-01)")


@pytest.mark.parametrize(("months", "infant"), [(11, True), (12, False)])
def test_an_onset_age_of_11_months_is_an_infants_and_12_is_not(months: int, infant: bool) -> None:
    onset_age = condition("c", "C91.00")
    onset_age["onsetAge"] = {"value": months, "code": "mo"}
    found = diagnosis(onset_age).infant_all(None)
    assert (found.value, found.evidence) == (infant, ("Condition/c",))


def test_status_records_are_ordered_by_date_then_time_whatever_the_order_received() -> None:
    """The latest record decides the status: a relapse recorded after a remission (the same day too, later in it)
    is the status however the server listed them."""
    later = condition("r", "C91.02", recorded="2026-09-02")
    earlier = condition("m", "C91.01", recorded="2026-03-01")
    found = diagnosis(later, earlier)
    assert [r.reference for r in found.status_records()] == ["Condition/m", "Condition/r"]
    assert found.status_as_of(date(2026, 12, 31)).value == "relapsed"
    evening = condition("r2", "C91.02", recorded="2026-09-02T18:00:00Z")
    morning = condition("m2", "C91.01", recorded="2026-09-02T08:00:00Z")
    same_day = diagnosis(evening, morning)
    assert [r.reference for r in same_day.status_records()] == ["Condition/m2", "Condition/r2"]
    assert same_day.status_as_of(date(2026, 12, 31)).value == "relapsed"


def test_status_records_are_ordered_by_the_day_as_written_before_the_time() -> None:
    """A record's day is its date as written (as `status_as_of` compares days): 08:00 on 2026-09-02 at UTC+14 is a
    later day than 20:00 UTC on 2026-09-01, though an earlier instant."""
    relapse = condition("r", "C91.02", recorded="2026-09-02T08:00:00+14:00")
    remission = condition("m", "C91.01", recorded="2026-09-01T20:00:00Z")
    found = diagnosis(relapse, remission)
    assert [r.reference for r in found.status_records()] == ["Condition/m", "Condition/r"]
    assert found.status_as_of(date(2026, 12, 31)).value == "relapsed"

