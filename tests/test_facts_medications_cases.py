"""Medication history at its edges (fhir-data-profile.md §Medications): premedication that names the drug it
precedes, intrathecal written only in a dosage line's words, and the drug names a note shows. Each case was a mutant
of facts/medications.py that the other tests let live."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_service.facts.attestations import Attestations
from cds_service.facts.extract import extract_facts
from cds_service.facts.medications import (MedOrder, combination, induction_ino_mini_hyper_cvd, read_med_orders,
                                           tki_failure, unreadable_relevance)
from tests.factories import RXNORM, medication, medication_request, questionnaire_response, record

START = date(2026, 3, 1)
METHOTREXATE, VINCRISTINE, INOTUZUMAB = "6851", "11202", "1942950"


def _orders(*resources: dict[str, Any]) -> list[MedOrder]:
    return read_med_orders(resources, lambda reference: None, START)


def _note(*resources: dict[str, Any]) -> str:
    return combination(_orders(*resources), START, True, Attestations(), None).note


def _active(text: str, **extra: Any) -> dict[str, Any]:
    return medication_request(None, text=text, start="2026-02-28", end="2026-03-02", **extra)


def test_dexamethasone_premedication_naming_blinatumomab_is_no_blinatumomab_order() -> None:
    """Premedication written against the drug it precedes is still premedication: read as blinatumomab, it was an
    earlier cycle."""
    assert _orders(medication_request(None, text="dexamethasone 20 mg IV 1 hour before blinatumomab",
                                      start="2026-01-01", end="2026-01-01", status="completed")) == []


def test_an_order_whose_dosage_line_says_intrathecal_is_no_systemic_chemotherapy() -> None:
    intrathecal = medication_request(METHOTREXATE, start="2026-03-01", end="2026-03-01")
    intrathecal["dosageInstruction"][0]["text"] = "12 mg intrathecal via lumbar puncture"
    fact = combination(_orders(intrathecal), START, True, Attestations(), None)
    assert fact.value == "single-agent"


def test_a_drug_named_only_by_its_medication_reference_display_is_named_in_the_note() -> None:
    referenced = medication_request(None, start="2026-02-28", end="2026-03-02",
                                    medicationReference={"reference": "Medication/v", "display": "vinCRIStine"})
    del referenced["medicationCodeableConcept"]
    assert _note(referenced) == "other antineoplastics active at the start date: vinCRIStine"


def test_two_drugs_are_named_and_the_others_counted() -> None:
    note = _note(_active("cytarabine"), _active("methotrexate"), _active("etoposide"))
    assert note == "other antineoplastics active at the start date: cytarabine, methotrexate and 1 other"


@pytest.mark.parametrize(("name", "shown"), [
    ("cytarabine 100 mg/m2 in dextrose 5% 50mL", "cytarabine 100 mg/m2 in dextrose 5% 50mL"),  # 40 characters
    ("cytarabine 100 mg/m2 in dextrose 5% 50 mL", "cytarabine 100 mg/m2 in dextrose 5% 50…"),  # 41
])
def test_a_drug_name_is_shown_whole_up_to_40_characters(name: str, shown: str) -> None:
    assert _note(_active(name)) == f"other antineoplastics active at the start date: {shown}"


def test_an_intrathecal_order_named_so_in_its_drug_text_is_no_systemic_chemotherapy() -> None:
    assert combination(_orders(_active("methotrexate 12 mg intrathecal injection")), START, True, Attestations(),
                       None).value == "single-agent"


def test_a_medication_reference_whose_display_says_intrathecal_is_no_systemic_chemotherapy() -> None:
    """The Medication names the drug, the reference's display the route: either word is enough."""
    order = medication_request(None, start="2026-03-01", end="2026-03-01", medicationReference={
        "reference": "Medication/m", "display": "methotrexate 12 mg intrathecal"})
    del order["medicationCodeableConcept"]
    server = {"Medication/m": medication(METHOTREXATE, id="m")}
    assert combination(read_med_orders([order], server.get, START), START, True, Attestations(),
                       None).value == "single-agent"


def test_inotuzumab_alone_at_the_start_is_multiagent_chemotherapy_not_mini_hyper_cvd() -> None:
    assert combination(_orders(medication_request(INOTUZUMAB, start="2026-02-28", end="2026-03-02")), START, True,
                       Attestations(), None).value == "with-multiagent-chemo"


def test_a_completed_order_whose_days_cover_the_start_is_active_on_it() -> None:
    vincristine = medication_request(VINCRISTINE, start="2026-02-28", end="2026-03-02", status="completed")
    assert combination(_orders(vincristine), START, True, Attestations(), None).value == "with-multiagent-chemo"


@pytest.mark.parametrize("text", [None, "  "])
def test_a_drug_named_only_by_its_coding_display_is_named_in_the_note(text: str | None) -> None:
    coding = {"system": RXNORM, "code": VINCRISTINE, "display": "vincristine sulfate"}
    concept = {"coding": [coding]} | ({"text": text} if text else {})
    coded = medication_request(start="2026-02-28", end="2026-03-02", medicationCodeableConcept=concept)
    assert _note(coded) == "other antineoplastics active at the start date: vincristine sulfate"


@pytest.mark.parametrize("first", [
    medication_request(None, text="ondansetron 8 mg", start="2026-03-01"),  # supportive care
    medication_request(None, text="imatinib", start="2026-03-01", status="entered-in-error"),
    {"resourceType": "Medication", "id": "m"},
    "text",
])
def test_a_tki_is_found_after_an_order_no_rule_reads(first: Any) -> None:
    tki = medication_request(None, text="dasatinib 100 mg", start="2026-02-01")
    assert combination(_orders(first, tki), START, True, Attestations(), None).value == "with-tki"


def test_the_orders_being_signed_are_not_read_from_the_history() -> None:
    signed = medication_request(None, text="cytarabine", start="2026-03-01", id="signed")
    assert read_med_orders([signed], lambda reference: None, START, skipped_ids={"signed"}) == []


def test_a_recorded_order_of_a_named_drug_no_rule_reads_is_supportive_care_not_an_unknown_drug() -> None:
    ondansetron = medication_request(None, text="ondansetron 8 mg", start="2026-03-01")
    assert read_med_orders([ondansetron], lambda reference: None, START, recorded=True) == []


def test_a_partner_given_before_inotuzumab_but_not_with_it_is_no_induction() -> None:
    vincristine = medication_request(VINCRISTINE, start="2025-09-01", end="2025-09-03", status="completed")
    ino = medication_request(INOTUZUMAB, start="2025-10-01", end="2025-10-22", status="completed")
    assert induction_ino_mini_hyper_cvd(_orders(vincristine, ino), START, True, Attestations()).value is None


def test_a_partner_begun_on_the_last_day_of_inotuzumab_was_given_with_it() -> None:
    ino = medication_request(INOTUZUMAB, start="2025-10-01", end="2025-10-22", status="completed")
    vincristine = medication_request(VINCRISTINE, start="2025-10-22", end="2025-10-24", status="completed")
    assert induction_ino_mini_hyper_cvd(_orders(vincristine, ino), START, True, Attestations()).value is True


def test_each_dosage_lines_words_are_read_for_intrathecal_not_only_its_route() -> None:
    """Two lines with the same route (none) but other words: the one saying intrathecal is CNS prophylaxis."""
    earlier = medication_request(METHOTREXATE, start="2025-06-01", end="2025-06-01", status="completed")
    earlier["dosageInstruction"][0]["text"] = "30 mg IV push"
    intrathecal = medication_request(METHOTREXATE, start="2026-03-01", end="2026-03-01")
    intrathecal["dosageInstruction"][0]["text"] = "12 mg intrathecal"
    assert combination(_orders(earlier, intrathecal), START, True, Attestations(), None).value == "single-agent"


@pytest.mark.parametrize("status", ["stopped", "cancelled", "on-hold"])
def test_an_order_not_active_or_completed_is_not_taken_at_the_start_whatever_its_days(status: str) -> None:
    vincristine = medication_request(VINCRISTINE, start="2026-02-28", end="2026-03-02", status=status)
    assert combination(_orders(vincristine), START, True, Attestations(), None).value == "single-agent"


def test_an_active_order_without_any_date_is_not_placed_at_the_start() -> None:
    assert combination(_orders(medication_request(None, text="cytarabine")), START, True, Attestations(),
                       None).value == "single-agent"


def test_another_draft_order_without_an_end_runs_on_from_today() -> None:
    """A TKI signed in the same call, today, before the blinatumomab start: still being taken at that start."""
    tki = medication_request(None, text="dasatinib 100 mg", status="draft")
    orders = read_med_orders([tki], lambda reference: None, date(2026, 2, 20))
    assert combination(orders, START, True, Attestations(), None).value == "with-tki"


def test_an_unidentified_drug_active_at_the_start_says_so() -> None:
    unread = medication_request(None, start="2026-02-28", end="2026-03-02",
                                medicationReference={"reference": "Medication/unread"})
    del unread["medicationCodeableConcept"]
    fact = combination(_orders(unread), START, True, Attestations(), None)
    assert fact.note == "the drug of an order active at the start date could not be identified"


def _failure(*resources: dict[str, Any]) -> bool | None:
    return tki_failure(_orders(*resources), True, Attestations()).value


def test_another_drug_stopped_for_toxicity_is_no_tki_failure() -> None:
    vincristine = medication_request(VINCRISTINE, start="2025-10-01", status="stopped",
                                     statusReason={"text": "toxicity (neuropathy)"})
    assert _failure(vincristine) is None


def test_a_tki_failure_is_found_after_another_drugs_order() -> None:
    vincristine = medication_request(VINCRISTINE, start="2025-10-01", status="completed")
    dasatinib = medication_request(None, text="dasatinib", start="2025-06-01", status="stopped",
                                   statusReason={"text": "intolerance"})
    assert _failure(vincristine, dasatinib) is True


def test_a_stop_reason_opening_with_its_negation_is_no_failure() -> None:
    dasatinib = medication_request(None, text="dasatinib", start="2025-06-01", status="stopped",
                                   statusReason={"text": "No intolerance, stopped for cost"})
    assert _failure(dasatinib) is None


def _induction(*resources: dict[str, Any]) -> bool | None:
    return induction_ino_mini_hyper_cvd(_orders(*resources), START, True, Attestations()).value


@pytest.mark.parametrize(("ino_end", "partner_end"), [(None, "2025-10-05"), ("2025-10-22", None)])
def test_an_ongoing_order_overlaps_what_began_while_it_ran(ino_end: str | None, partner_end: str | None) -> None:
    ino = medication_request(INOTUZUMAB, start="2025-10-01", end=ino_end)
    vincristine = medication_request(VINCRISTINE, start="2025-10-03", end=partner_end)
    fact = induction_ino_mini_hyper_cvd(_orders(ino, vincristine), START, True, Attestations())
    assert fact.value is True and fact.note == "inotuzumab with mini-hyper-CVD before this course"


def test_a_partner_ending_the_day_inotuzumab_begins_was_given_with_it() -> None:
    vincristine = medication_request(VINCRISTINE, start="2025-09-29", end="2025-10-01", status="completed")
    ino = medication_request(INOTUZUMAB, start="2025-10-01", end="2025-10-22", status="completed")
    assert _induction(ino, vincristine) is True


def test_orders_begun_on_the_course_start_are_this_course_not_its_induction() -> None:
    ino = medication_request(INOTUZUMAB, start=START, end="2026-03-05", status="completed")
    vincristine = medication_request(VINCRISTINE, start=START, end="2026-03-02", status="completed")
    assert _induction(ino, vincristine) is None


def test_an_undated_earlier_order_is_no_induction() -> None:
    ino = medication_request(INOTUZUMAB, status="completed")
    vincristine = medication_request(VINCRISTINE, status="completed")
    assert _induction(ino, vincristine) is None


def _bears(resource: dict[str, Any]) -> tuple[str, list[str]] | None:
    """What unreadable.py is told of a MedicationRequest it cannot read: what it is, and the facts it bears on."""
    found = unreadable_relevance(resource, lambda reference: None)
    return (found.what, [bearing.fact for bearing in found.bearings]) if found else None


def test_an_unreadable_vincristine_order_bears_on_the_combination_and_the_induction() -> None:
    broken = medication_request(VINCRISTINE, start="2025-10-01", status="completed", authoredOn=20251001)
    assert _bears(broken) == ("a cyclophosphamide or vincristine order", ["combination",
                                                                           "induction_ino_mini_hyper_cvd"])


def test_an_unreadable_chemotherapy_order_bears_on_the_combination() -> None:
    broken = medication_request(None, text="cytarabine", status="active", authoredOn=20260301)
    assert _bears(broken) == ("a chemotherapy order", ["combination"])
    broken["dosageInstruction"] = ["100 mg/m2", {"text": "intrathecal"}]  # a line that is no object is passed over
    assert _bears(broken) is None


@pytest.mark.parametrize(("broken", "answers", "fact"), [
    (medication_request(INOTUZUMAB, start="2025-10-01", end="2025-10-03", status="completed", authoredOn=20251001),
     {"induction-ino-mini-hyper-cvd": False}, "induction_ino_mini_hyper_cvd"),
    (medication_request(None, text="dasatinib", start="2025-06-01", status="stopped", authoredOn=20250601),
     {"tki-failure": False}, "tki_failure"),
])
def test_the_prescribers_answer_stands_against_an_order_that_cannot_be_read(broken: dict[str, Any],
                                                                           answers: dict[str, Any],
                                                                           fact: str) -> None:
    """unreadable.py: an attested induction or TKI failure decides, whatever an unreadable order would have said."""
    draft = medication_request(start=START, end="2026-03-28", status="draft", id="draft")
    answer = questionnaire_response(answers, authored="2026-02-25")
    found = getattr(extract_facts(record(broken, answer), [draft], START), fact)
    assert (found.value, found.attested) == (False, True)


def test_an_induction_or_tki_failure_on_record_stays_one_whatever_an_unreadable_order_says() -> None:
    ino = medication_request(INOTUZUMAB, start="2025-10-01", end="2025-10-22", status="completed")
    vincristine = medication_request(VINCRISTINE, start="2025-10-03", end="2025-10-05", status="completed")
    broken_ino = medication_request(INOTUZUMAB, start="2025-11-01", status="completed", authoredOn=20251101)
    failed = medication_request(None, text="dasatinib", start="2025-06-01", status="stopped",
                                statusReason={"text": "intolerance"})
    broken_tki = medication_request(None, text="imatinib", start="2025-01-01", status="stopped", authoredOn=20250101)
    draft = medication_request(start=START, end="2026-03-28", status="draft", id="draft")
    facts = extract_facts(record(ino, vincristine, broken_ino, failed, broken_tki), [draft], START)
    assert (facts.induction_ino_mini_hyper_cvd.value, facts.tki_failure.value) == (True, True)
