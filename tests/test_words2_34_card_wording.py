"""What the last card-reading rounds left in the record's or the code's words: a TKI failure said once, a full date
asked for by the order's drug and date (its id in the detail), what a course's date is, a dose check's note read
within its line, and the Florida Blue 2.a question in short on the card (whole in the Questionnaire)."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_service.facts.attestations import Attestations
from cds_service.facts.medications import combination, read_med_orders, tki_failure
from cds_service.questionnaire import ITEMS, QUESTIONS, attestation_questionnaire
from cds_service.summary_items import summary_item
from tests.factories import medication_request
from tests.test_pipeline import example
from tests.test_words34_card_wording import _decision, _line, _resource

DASATINIB, VINCRISTINE, CYTARABINE = "475342", "11202", "3041"
START = date(2026, 12, 1)


# --- 1. A TKI failure said once, as a clinician says it


def test_a_tki_failure_is_said_once_with_its_drug_date_and_reason(client: Any) -> None:
    card = _decision(client, example("florida-blue-relapsed-refractory-ph-positive-tki-failure"))
    line = _line(card, "at least one TKI")
    assert line.endswith("; evidence: MedicationRequest/dasatinib-1; dasatinib stopped 2026-09-01 for intolerance: "
                         "pleural effusion")
    assert "TKI stopped:" not in card["detail"] and "Stopped for" not in card["detail"]


@pytest.mark.parametrize(("reason", "end", "said"), [
    ("Intolerance", "2026-09-01", "dasatinib stopped 2026-09-01 for intolerance"),
    ("discontinued due to resistance (T315I)", "2026-09", "dasatinib stopped 2026-09 for resistance (T315I)"),
    ("T315I resistance", None, "dasatinib stopped for T315I resistance"),  # open-ended: no day to name
    ("Grade 3 pleural effusion: intolerant", "2026-09-01",
     "dasatinib stopped 2026-09-01 for grade 3 pleural effusion: intolerant"),
])
def test_a_stop_reason_is_read_without_its_own_opening(reason: str, end: str | None, said: str) -> None:
    stopped = medication_request(DASATINIB, text="dasatinib", start="2026-03-01", end=end, status="stopped",
                                 statusReason={"text": reason})
    fact = tki_failure(read_med_orders([stopped], lambda _: None, START), True, Attestations())
    assert fact.value is True and fact.note == said


# --- 2. A full date asked for by the order's drug and date; its id in the detail


def test_an_order_dated_by_month_is_asked_for_by_its_drug_and_date(client: Any) -> None:
    body = example("florida-blue-induction-ph-positive-with-tki")
    _resource(body, "medicationRequests", "dasatinib-1")["dosageInstruction"][0]["timing"]["repeat"][
        "boundsPeriod"] = {"start": "2026-12"}
    card = _decision(client, body)
    assert "the full date of the dasatinib order started 2026-12" in card["summary"]
    assert "MedicationRequest" not in card["summary"]
    assert "the full date of the dasatinib order started 2026-12 (MedicationRequest/dasatinib-1)" in card["detail"]


def test_several_orders_dated_by_month_are_named_a_few() -> None:
    orders = [medication_request(code, text=name, start="2026-12", id=f"{name}-1")
              for code, name in ((VINCRISTINE, "vincristine"), (CYTARABINE, "cytarabine"), (None, "methotrexate"))]
    fact = combination(read_med_orders(orders, lambda _: None, START), START, True, Attestations(), None)
    asked = ("the full date of the vincristine order started 2026-12, the cytarabine order started 2026-12 and 1 "
             "other order")
    assert fact.value is None
    assert fact.missing == (f"{asked} (MedicationRequest/vincristine-1, MedicationRequest/cytarabine-1, "
                            "MedicationRequest/methotrexate-1)")
    assert summary_item(fact.missing) == asked


def _renewal(period: dict[str, str]) -> dict[str, Any]:
    """The Aspirus cycle 6 renewal (from 2026-12-01), its cycle 5 order dated by `period`."""
    body = example("aspirus-relapsed-refractory-cycle6-renewal")
    _resource(body, "medicationRequests", "prior-cycle-5")["dosageInstruction"][0]["timing"]["repeat"][
        "boundsPeriod"] = period
    return body


@pytest.mark.parametrize(("period", "asked"), [
    ({"start": "2026-06", "end": "2026-07-19"}, "the full date of the blinatumomab order started 2026-06"),
    ({"start": "2026-11-01", "end": "2026-11"}, "the full date of the blinatumomab order ended 2026-11"),
])
def test_an_earlier_cycle_dated_by_month_is_asked_for_by_its_date(client: Any, period: dict[str, str],
                                                                   asked: str) -> None:
    card = _decision(client, _renewal(period))
    assert asked in card["summary"] and "MedicationRequest" not in card["summary"], card["summary"]
    assert f"{asked} (MedicationRequest/prior-cycle-5)" in card["detail"]


# --- 3. What the course's date is


def test_the_cycle_count_says_the_course_started_on_its_date(client: Any) -> None:
    line = _line(_decision(client, example("aspirus-consolidation-cycle5-not-renewable")), "At most 4 cycles")
    assert line.endswith("; cycle 5 of the course that started 2026-05-10")


# --- 4. A dose check's note read within its line


def test_a_dose_note_unknown_for_a_weight_reads_on_after_the_semicolon(client: Any) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    _resource(body, "observations", "weight-1")["effectiveDateTime"] = "2026-10-01"
    line = _line(_decision(client, body), "Daily dose per the label schedule")
    assert "; label dose not known without a usable body size (latest weight 80 kg on 2026-10-01" in line
    assert "; Label" not in line


def test_a_dose_note_of_days_past_the_cycle_reads_on_after_the_semicolon(client: Any) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    line = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][1]
    line["timing"]["repeat"]["boundsPeriod"]["end"] = "2027-01-04"  # days 8-35
    detail = _line(_decision(client, body), "Daily dose per the label schedule")
    assert "; runs to day 35: the label gives 28 infusion days" in detail and "; Runs" not in detail


def test_no_dose_note_opens_with_a_capital_after_a_semicolon(client: Any) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    del body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"]
    line = _line(_decision(client, body), "Daily dose per the label schedule")
    assert line.endswith("; no dosage instruction; **document:** each dosage line's dose written in mcg/day (or "
                         "mcg/m²/day)")


# --- 5. The Florida Blue 2.a question in short on the card, whole in the Questionnaire


def test_the_compendia_question_is_short_on_the_card(client: Any) -> None:
    card = _decision(client, example("florida-blue-other-compendia-lymphoblastic-lymphoma"))
    assert _line(card, "attested by the prescriber (_Florida Blue Position 2.a_)").endswith(
        "; FDA-labeled or NCCN category 1/2A use: yes (answered 2026-11-25)")  # "; attested" said it twice
    assert ("Attested by the prescriber (attestation questionnaire): FDA-labeled or NCCN category 1/2A use."
            in card["detail"])
    assert QUESTIONS["compendia-supported-use"] not in card["detail"]
    assert "Compendium" not in card["detail"]


def test_the_questionnaire_keeps_the_whole_question() -> None:
    [item] = [i for i in attestation_questionnaire("http://x")["item"] if i["linkId"] == "compendia-supported-use"]
    assert item["text"] == QUESTIONS["compendia-supported-use"]
    assert "NCCN Drugs and Biologics Compendium" in item["text"]


def test_every_question_a_card_names_fits_a_line() -> None:
    """A card names each answer used by its question: none so long it buries the line it is on."""
    from cds_service.questionnaire import card_question  # the card's form of a question, added with this test
    assert all(len(card_question(link_id)) <= 100 for link_id, _, _, _ in ITEMS)
    assert card_question("therapy-phase") == QUESTIONS["therapy-phase"]
