"""Medication history facts: combination, TKI failure, induction regimen (fhir-data-profile.md §Medications)."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cds_service.facts.attestations import Attestations
from cds_service.facts.medications import (MedOrder, combination, induction_ino_mini_hyper_cvd,
                                           multiagent_chemo_candidate, read_med_orders, tki_failure)
from cds_service.facts.order import DosageBounds, dosage_bounds
from cds_service.valuesets import ENV_DIR, get_valuesets
from tests.factories import medication, medication_request, questionnaire_response, record

START = date(2026, 3, 1)
NO_ANSWERS = Attestations()
IMATINIB, DASATINIB, INOTUZUMAB = "282388", "475342", "1942950"
CYCLOPHOSPHAMIDE, VINCRISTINE, METHOTREXATE, DEXAMETHASONE = "3002", "11202", "6851", "3264"


def _none(reference: str) -> None:
    return None


def _orders(*resources: dict[str, Any]) -> list[MedOrder]:
    return read_med_orders(resources, _none, START)



def test_an_order_read_is_the_medorder_of_its_fields() -> None:
    """read_med_orders and dosage_bounds build their NamedTuples with tuple.__new__ (no generated __new__ frame):
    each must still be the tuple its class builds from the same fields, every field set."""
    resource = medication_request(VINCRISTINE, start=date(2026, 2, 1), end="2026-02-07", status="completed")
    order, = _orders(resource)
    assert len(order) == len(MedOrder._fields)
    assert order == MedOrder(order.status, order.kinds, order.start, order.end, order.resource, order.identified,
                             order.start_last, order.end_last)
    assert (order.start, order.end, order.identified, order.start_last, order.end_last) == (
        date(2026, 2, 1), date(2026, 2, 7), True, date(2026, 2, 1), date(2026, 2, 7))
    bounds = dosage_bounds(resource)
    assert len(bounds) == len(DosageBounds._fields)
    assert bounds == DosageBounds(date(2026, 2, 1), date(2026, 2, 7), (), True, date(2026, 2, 1), date(2026, 2, 7))


def test_the_bounds_name_the_last_day_a_start_of_a_month_or_a_year_may_be() -> None:
    """DosageBounds.first_last: the earliest of the lines' starts each read to its last day (MedOrder.start_last)."""
    resource = medication_request(VINCRISTINE, start=date(2026, 2, 1), end="2026-12-31", status="completed")
    period = resource["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]
    for start, first, last in (("2026-03", date(2026, 3, 1), date(2026, 3, 31)),
                               ("2026", date(2026, 1, 1), date(2026, 12, 31)),
                               ("2026-03-05", date(2026, 3, 5), date(2026, 3, 5))):
        period["start"] = start
        bounds = dosage_bounds(resource)
        assert (bounds.first, bounds.first_last) == (first, last)
        assert _orders(resource)[0].start_last == last

def _combination(*resources: dict[str, Any], received: bool = True, answers: Attestations = NO_ANSWERS,
                 since: date | None = None) -> str | None:
    return combination(_orders(*resources), START, received, answers, since).value


def _answers(**items: Any) -> Attestations:
    authored = items.pop("authored", "2026-02-20")
    link_items = {k.replace("_", "-"): v for k, v in items.items()}
    return Attestations.from_record(record(questionnaire_response(link_items, authored=authored)))


def test_active_tki_means_with_tki() -> None:
    fact = combination(_orders(medication_request(DASATINIB, start="2026-01-01")), START, True, NO_ANSWERS, None)
    assert fact.value == "with-tki" and fact.evidence and not fact.attested


def test_a_drug_whose_concept_orjson_cannot_write_is_still_classified() -> None:
    """The classification memo keys an order's concepts by their JSON text (observations.json_key); a concept
    orjson refuses (an integer beyond 64 bits in an element no reader uses) is keyed by its codes instead."""
    order = medication_request(DASATINIB, start="2026-01-01")
    order["medicationCodeableConcept"]["extension"] = [{"url": "http://example.org/big", "valueInteger": 2 ** 70}]
    assert _combination(order) == "with-tki"
    order["medicationCodeableConcept"]["coding"][0]["code"] = CYCLOPHOSPHAMIDE  # another drug: not the memo's TKI
    assert _combination(order) == "with-multiagent-chemo"


def test_tki_by_text_only() -> None:
    assert _combination(medication_request(None, text="ponatinib 45 mg tablet", authored="2026-02-01")) == "with-tki"


def test_inotuzumab_with_vincristine_is_mini_hyper_cvd() -> None:
    ino = medication_request(INOTUZUMAB, start="2026-02-25", end="2026-03-05")
    vcr = medication_request(VINCRISTINE, start="2026-02-28", end="2026-03-02")
    assert _combination(ino, vcr) == "with-ino-mini-hyper-cvd"


def test_other_antineoplastic_is_multiagent_chemo() -> None:
    assert _combination(medication_request(METHOTREXATE, start="2026-02-01", end="2026-03-10")) \
        == "with-multiagent-chemo"
    assert _combination(medication_request(None, text="cytarabine 100 mg", status="draft")) == "with-multiagent-chemo"


@pytest.mark.parametrize("drug", ["DAUNOrubicin 20 mg injection", "idarubicin", "mitoxantrone", "etoposide",
                                  "ifosfamide", "thioguanine 40 mg tablet", "nelarabine", "clofarabine",
                                  "pegaspargase", "asparaginase Erwinia chrysanthemi (recombinant)-rywn",
                                  "calaspargase pegol"])
def test_the_other_antineoplastics_of_all_regimens_by_name_are_multiagent_chemo(drug: str) -> None:
    # Beyond fhir-data-profile.md's list: with one of them active, the regimen is not single agent (Aspirus III).
    assert _combination(medication_request(None, text=drug, start="2026-02-20", end="2026-03-10")) \
        == "with-multiagent-chemo"


def test_asciminib_is_a_tki() -> None:
    assert _combination(medication_request(None, text="asciminib 40 mg tablet", authored="2026-02-01")) == "with-tki"


def test_dexamethasone_and_intrathecal_never_count() -> None:
    dex = medication_request(DEXAMETHASONE, start="2026-03-01", end="2026-03-02")
    intrathecal = medication_request(METHOTREXATE, start="2026-03-01", end="2026-03-01", route="Intrathecal")
    coded_route = medication_request(None, text="cytarabine", start="2026-03-01", end="2026-03-01")
    coded_route["dosageInstruction"][0]["route"] = {"coding": [{"system": "http://snomed.info/sct",
                                                                "code": "72607000"}]}
    assert _combination(dex, intrathecal, coded_route) == "single-agent"


def test_orders_not_active_at_the_start_do_not_count() -> None:
    ended = medication_request(METHOTREXATE, start="2026-01-01", end="2026-02-28")
    later = medication_request(METHOTREXATE, start="2026-03-02", end="2026-03-10")
    stopped = medication_request(IMATINIB, start="2026-01-01", status="stopped")
    completed_undated_end = medication_request(IMATINIB, authored="2026-02-01", status="completed")
    errored = medication_request(IMATINIB, start="2026-01-01", status="entered-in-error")
    assert _combination(ended, later, stopped, completed_undated_end, errored) == "single-agent"


def test_active_order_without_end_is_ongoing_and_validity_end_bounds_it() -> None:
    assert _combination(medication_request(IMATINIB, authored="2025-06-01")) == "with-tki"
    expired = medication_request(IMATINIB, authored="2025-06-01",
                                 dispenseRequest={"validityPeriod": {"end": "2026-01-01"}})
    assert _combination(expired) == "single-agent"


def test_medication_reference_is_resolved() -> None:
    order = medication_request(None, medicationReference={"reference": "Medication/tki"}, authored="2026-02-01")
    del order["medicationCodeableConcept"]
    server = {"Medication/tki": medication(IMATINIB, id="tki")}
    fact = combination(read_med_orders([order], server.get), START, True, NO_ANSWERS, None)
    assert fact.value == "with-tki"


def _referencing(display: str | None, **extra: Any) -> dict[str, Any]:
    """An order in Epic's shape: a reference to a Medication not in the request (no server to read it from)."""
    pointer = {"reference": "Medication/e1"} | ({"display": display} if display else {})
    order = medication_request(None, medicationReference=pointer, **extra)
    del order["medicationCodeableConcept"]
    return order


def test_the_display_of_an_unreadable_reference_names_the_drug() -> None:
    assert _combination(_referencing("IMATINIB 400 MG PO TABS", authored="2026-02-01")) == "with-tki"
    assert _combination(_referencing("ONDANSETRON 8 MG PO TABS", authored="2026-02-01")) == "single-agent"


def test_an_unidentified_order_active_at_the_start_leaves_the_combination_unknown() -> None:
    """It may be a TKI or chemotherapy: "single agent" would be read into data we could not read. Only a TKI, which
    decides the combination whatever else is given, still decides it."""
    unread = _referencing(None, authored="2026-02-01", id="unread")
    fact = combination(_orders(unread), START, True, NO_ANSWERS, None)
    assert fact.value is None and fact.evidence == ("MedicationRequest/unread",) and "identified" in fact.note
    assert _combination(unread, medication_request(IMATINIB, authored="2026-02-01")) == "with-tki"
    assert _combination(unread, answers=_answers(combination="single-agent")) == "single-agent"


def test_an_unidentified_order_not_active_or_intrathecal_leaves_single_agent() -> None:
    ended = _referencing(None, start="2026-01-01", end="2026-02-01")
    stopped = _referencing(None, authored="2026-02-01", status="stopped")
    intrathecal = _referencing(None, start="2026-03-01", end="2026-03-01", route="Intrathecal")
    assert _combination(ended, stopped, intrathecal) == "single-agent"


def test_nothing_received_is_unknown_and_nothing_recorded_is_single_agent() -> None:
    missing = combination([], START, False, NO_ANSWERS, None)
    assert missing.value is None and not missing.received
    assert _combination() == "single-agent"


def test_attested_combination_counts_only_after_the_latest_prior_order() -> None:
    answers = _answers(combination="alternating-with-pomp", authored="2026-02-20")
    fact = combination([], START, True, answers, date(2026, 2, 1))
    assert fact.value == "alternating-with-pomp" and fact.attested and fact.evidence[0].startswith("Question")
    assert _combination(answers=answers, since=date(2026, 2, 25)) == "single-agent"


def test_tki_failure_from_stopped_tki_with_qualifying_reason() -> None:
    stopped = medication_request(IMATINIB, start="2025-01-01", status="stopped",
                                 statusReason={"text": "Intolerance: grade 3 rash"})
    fact = tki_failure(_orders(stopped), True, NO_ANSWERS)
    assert fact.value is True and fact.evidence == (f"MedicationRequest/{stopped['id']}",)


def test_tki_failure_unknown_for_other_reasons_or_no_tki() -> None:
    other = medication_request(IMATINIB, start="2025-01-01", status="stopped",
                               statusReason={"text": "insurance change"})
    assert tki_failure(_orders(other), True, NO_ANSWERS).value is None
    assert tki_failure([], True, NO_ANSWERS).value is None
    assert tki_failure([], False, NO_ANSWERS).received is False


def test_the_combination_names_the_drugs_active_at_the_start() -> None:
    """The note names the drugs that decided the combination, as the orders name them: a reference alone
    (MedicationRequest/8841) tells the clinician nothing to act on (an order left active, a TKI given with it)."""
    vcr = medication_request(VINCRISTINE, text="vinCRIStine 1.4 mg/m2 in sodium chloride 0.9% 50 mL IVPB",
                             start="2026-02-28", end="2026-03-02")
    ara_c = medication_request(None, text="cytarabine", status="draft")
    chemo = combination(_orders(vcr, ara_c), START, True, NO_ANSWERS, None)
    assert chemo.value == "with-multiagent-chemo"
    assert chemo.note == ("other antineoplastics active at the start date: vinCRIStine 1.4 mg/m2 in sodium…, "
                          "cytarabine")
    tki = combination(_orders(medication_request(None, text="ponatinib 45 mg tablet", authored="2026-02-01")),
                      START, True, NO_ANSWERS, None)
    assert tki.value == "with-tki" and tki.note == "TKI active at the start date: ponatinib 45 mg tablet"
    unnamed = combination(_orders(medication_request(DASATINIB, start="2026-01-01")), START, True, NO_ANSWERS, None)
    assert unnamed.note == "TKI active at the start date"  # a coding without a display: the evidence points to it
    alone = combination(_orders(), START, True, NO_ANSWERS, None)
    assert alone.value == "single-agent" and alone.note == "no other antineoplastic active at the start date"


def test_tki_failure_unknown_names_the_tki_stopped_for_another_reason() -> None:
    """Unknown, and the pharmacist sees which stop was not read as a failure (and why), rather than no evidence."""
    other = medication_request(None, text="dasatinib 100 mg tablet", start="2025-01-01", status="stopped",
                               statusReason={"text": "Course completed"})
    silent = medication_request(IMATINIB, start="2025-01-01", status="stopped")
    fact = tki_failure(_orders(other, silent), True, NO_ANSWERS)
    assert fact.value is None and fact.evidence == (f"MedicationRequest/{other['id']}",
                                                    f"MedicationRequest/{silent['id']}")
    assert fact.note == "dasatinib 100 mg tablet stopped (reason: Course completed); TKI stopped (no reason given): " \
        "not read as intolerance or inadequate response"
    active = medication_request(DASATINIB, start="2026-01-01")
    assert tki_failure(_orders(active), True, NO_ANSWERS).note == ""  # no stop on record: nothing to show
    failed = medication_request(IMATINIB, start="2025-01-01", status="stopped", statusReason={"text": "resistance"})
    met = tki_failure(_orders(other, failed), True, NO_ANSWERS)
    assert met.value is True and met.evidence == (f"MedicationRequest/{failed['id']}",)


def _stopped_for(reason: dict[str, Any]) -> bool | None:
    stopped = medication_request(DASATINIB, start="2025-01-01", status="stopped", statusReason=reason)
    return tki_failure(_orders(stopped), True, NO_ANSWERS).value


@pytest.mark.parametrize(("text", "failure"), [
    ("Formulary switch; no intolerance or resistance", None),
    ("Stopped, not for intolerance", None),
    ("Switched to ponatinib without progression", None),
    ("T315I resistance mutation not detected", None),
    ("No insurance coverage; intolerance (pleural effusion)", True),
    ("Cost, then resistance (T315I)", True),
])
def test_tki_failure_is_not_read_from_a_negated_stop_reason(text: str, failure: bool | None) -> None:
    """Each clause of the reason is read with its negations (result_text.py): a negated failure is no failure,
    so it stays unknown and the attestation is asked for; a clause that states one still counts."""
    assert _stopped_for({"text": text}) is failure


def test_tki_failure_from_a_coded_stop_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An operator's failure code counts whatever the words beside it say."""
    extension = {"name": "medications-tki-failure-reasons",
                 "codes": [{"system": "urn:local:stop-reason", "code": "TKI-FAIL", "display": "TKI failure"}]}
    (tmp_path / "medications-tki-failure-reasons.json").write_text(json.dumps(extension))
    monkeypatch.setenv(ENV_DIR, str(tmp_path))
    get_valuesets.cache_clear()  # read again with the operator file
    try:
        coded = {"coding": [{"system": "urn:local:stop-reason", "code": "TKI-FAIL"}], "text": "no intolerance"}
        assert _stopped_for(coded) is True
    finally:
        monkeypatch.delenv(ENV_DIR)
        get_valuesets.cache_clear()


def test_tki_failure_attested_false_overrides() -> None:
    stopped = medication_request(IMATINIB, start="2025-01-01", status="stopped", statusReason={"text": "resistance"})
    fact = tki_failure(_orders(stopped), True, _answers(tki_failure=False))
    assert fact.value is False and fact.attested


def test_induction_inferred_from_overlapping_orders_before_the_course() -> None:
    ino = medication_request(INOTUZUMAB, start="2025-10-01", end="2025-10-22", status="completed")
    cyc = medication_request(CYCLOPHOSPHAMIDE, start="2025-10-03", end="2025-10-05", status="completed")
    fact = induction_ino_mini_hyper_cvd(_orders(ino, cyc), START, True, NO_ANSWERS)
    assert fact.value is True and len(fact.evidence) == 2


@pytest.mark.parametrize(("status", "counts"), [("completed", True), ("stopped", True), ("active", True),
                                                ("cancelled", False), ("draft", False), ("on-hold", False),
                                                ("entered-in-error", False)])
def test_induction_counts_inotuzumab_given_not_cancelled(status: str, counts: bool) -> None:
    """The statuses of an earlier cycle (fhir-data-profile.md §Course and cycles): a cancelled or never-signed
    inotuzumab order was not the induction."""
    ino = medication_request(INOTUZUMAB, start="2025-10-01", end="2025-10-22", status=status)
    cyc = medication_request(CYCLOPHOSPHAMIDE, start="2025-10-03", end="2025-10-05", status="completed")
    assert induction_ino_mini_hyper_cvd(_orders(ino, cyc), START, True, NO_ANSWERS).value is (True if counts else None)


def test_induction_does_not_count_a_cancelled_partner() -> None:
    ino = medication_request(INOTUZUMAB, start="2025-10-01", end="2025-10-22", status="completed")
    cyc = medication_request(CYCLOPHOSPHAMIDE, start="2025-10-03", end="2025-10-05", status="cancelled")
    assert induction_ino_mini_hyper_cvd(_orders(ino, cyc), START, True, NO_ANSWERS).value is None


def test_induction_unknown_without_overlap_or_after_course_start() -> None:
    ino = medication_request(INOTUZUMAB, start="2025-10-01", end="2025-10-22", status="completed")
    far = medication_request(VINCRISTINE, start="2025-12-01", end="2025-12-02", status="completed")
    assert induction_ino_mini_hyper_cvd(_orders(ino, far), START, True, NO_ANSWERS).value is None
    late_ino = medication_request(INOTUZUMAB, start="2026-03-02", end="2026-03-05")
    late_vcr = medication_request(VINCRISTINE, start="2026-03-02", end="2026-03-05")
    assert induction_ino_mini_hyper_cvd(_orders(late_ino, late_vcr), START, True, NO_ANSWERS).value is None


def test_induction_and_candidate_attested() -> None:
    answers = _answers(induction_ino_mini_hyper_cvd=False, multiagent_chemo_candidate=False)
    assert induction_ino_mini_hyper_cvd([], START, True, answers).value is False
    candidate = multiagent_chemo_candidate(START, answers)
    assert candidate.value is False and candidate.attested
    assert multiagent_chemo_candidate(START, NO_ANSWERS).value is None


def test_induction_and_candidate_answers_from_an_earlier_course_do_not_count() -> None:
    """Both describe this course (from 30 days before its start, 2026-01-30): the regimen of the induction that
    preceded it, and whether the patient is a candidate now. An older answer leaves the record to decide."""
    old = _answers(induction_ino_mini_hyper_cvd=False, multiagent_chemo_candidate=False, authored="2026-01-29")
    assert multiagent_chemo_candidate(START, old).value is None
    ino = medication_request(INOTUZUMAB, start="2025-10-01", end="2025-10-22", status="completed")
    cyc = medication_request(CYCLOPHOSPHAMIDE, start="2025-10-03", end="2025-10-05", status="completed")
    induction = induction_ino_mini_hyper_cvd(_orders(ino, cyc), START, True, old)
    assert induction.value is True and not induction.attested


def test_orders_starting_or_ending_on_the_start_date_are_active_on_it() -> None:
    ending = medication_request(METHOTREXATE, start="2026-02-01", end="2026-03-01")
    starting = medication_request(VINCRISTINE, start="2026-03-01", end="2026-03-07")
    for order in (ending, starting):
        fact = combination(_orders(order), START, True, NO_ANSWERS, None)
        assert (fact.value, fact.evidence) == ("with-multiagent-chemo", (f"MedicationRequest/{order['id']}",))


def test_a_route_other_than_intrathecal_keeps_the_drug_systemic() -> None:
    """medications._intrathecal_line: a route that is not intrathecal (a dict, as every route is) is no CNS
    prophylaxis."""
    iv = medication_request(METHOTREXATE, start="2026-03-01", end="2026-03-01", route="Intravenous")
    fact = combination(_orders(iv), START, True, NO_ANSWERS, None)
    assert (fact.value, fact.evidence) == ("with-multiagent-chemo", (f"MedicationRequest/{iv['id']}",))


def test_an_order_naming_no_drug_is_ignored_among_the_requests_drafts_and_unknown_in_the_record() -> None:
    """read_med_orders `recorded`: the other draft orders of the request (its default) may name no drug (the CDS
    Hooks sandbox); a recorded order naming none is of an unknown drug (module docstring)."""
    nameless = medication_request(None, start="2026-03-01", end="2026-03-07", status="draft")
    assert _orders(nameless) == []
    [recorded] = read_med_orders([nameless], _none, START, recorded=True)
    assert recorded.identified is False
    fact = combination([recorded], START, True, NO_ANSWERS, None)
    assert (fact.value, fact.evidence) == (None, (f"MedicationRequest/{nameless['id']}",))


def test_a_medication_or_an_order_entered_in_error_is_no_order() -> None:
    """read_med_orders: a history searched with _include holds Medications too; an order entered in error never
    was one."""
    included = medication(VINCRISTINE)
    errored = medication_request(METHOTREXATE, start="2026-03-01", end="2026-03-07", status="entered-in-error")
    assert read_med_orders([included, errored], _none, START, recorded=True) == []


def test_a_recorded_order_naming_no_drug_given_intrathecally_is_no_systemic_drug() -> None:
    nameless = medication_request(None, start="2026-03-01", end="2026-03-07", route="Intrathecal")
    assert read_med_orders([nameless], _none, START, recorded=True) == []
