"""One rule for a text written to stand alone read on inside a sentence (cds_service/sentences.py): the attested
answers' notes, the questions not answered, the attested list and a TKI's stop reason all lowercase a plain first word
and keep an abbreviation's or a proper noun's capitals."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service.facts.attestations import Attestations
from cds_service.facts.medications import read_med_orders, tki_failure
from cds_service.record import PatientRecord
from cds_service.sentences import PROPER_NOUNS, mid_sentence
from tests.factories import medication_request, questionnaire_response
from tests.test_pipeline import example
from tests.test_words34_card_wording import _decision


@pytest.mark.parametrize(("text", "read_on"), [
    ("Therapy phase of this blinatumomab course", "therapy phase of this blinatumomab course"),
    ("A start on or after 2026-12-09", "a start on or after 2026-12-09"),
    ("Mini-hyper-CVD before this course", "mini-hyper-CVD before this course"),
    ("Weight, recorded 2026-11-20", "weight, recorded 2026-11-20"),
    ("Intolerance: pleural effusion", "intolerance: pleural effusion"),
    ("In first remission", "in first remission"),
])
def test_a_plain_first_word_is_lowercased(text: str, read_on: str) -> None:
    assert mid_sentence(text) == read_on


@pytest.mark.parametrize("text", [
    "Philadelphia chromosome positive", "Ph+ clone at relapse", "Ph status", "Ph-negative", "CD19 negative blasts",
    "MRD 0.5%", "T315I mutation", "B-cell precursor", "BCR::ABL1 positive", "Sprycel intolerance", "Blincyto bag",
    "Interfant-06 protocol", "FDA-labeled or NCCN category 1/2A use", "I", "", "2026-12-01", "Hb 9 g/dL",
])
def test_an_abbreviation_or_a_proper_noun_keeps_its_capitals(text: str) -> None:
    assert mid_sentence(text) == text


def test_every_proper_noun_is_a_capitalized_word_the_rule_would_otherwise_lowercase() -> None:
    """An entry the rule keeps anyway (an abbreviation, a short word) would be dead weight in the list."""
    for noun in PROPER_NOUNS:
        assert noun[0].isupper() and noun[1:].islower() and len(noun) > 2


def test_an_attested_answer_reads_on_after_a_semicolon() -> None:
    record = PatientRecord({"resourceType": "Patient", "id": "p1"}, {"attestations": [
        questionnaire_response({"complete-response-to-induction": True, "compendia-supported-use": True},
                               authored="2026-11-25")]})
    answers = Attestations.from_record(record)
    response = answers.fact("complete-response-to-induction", cast=bool)
    compendia = answers.fact("compendia-supported-use", cast=bool)
    assert response is not None and compendia is not None
    assert response.note == "complete response after the induction therapy before this course: yes (answered " \
                            "2026-11-25)"
    assert compendia.note == "FDA-labeled or NCCN category 1/2A use: yes (answered 2026-11-25)"


def test_the_decision_card_reads_attested_answers_on_in_its_sentences(client: FlaskClient) -> None:
    detail = _decision(client, example("aspirus-adult-consolidation-mrd-negative-ph-positive-tki"))["detail"]
    assert "; complete response after the induction therapy before this course: yes (answered 2026-11-25)" in detail
    assert "; candidate for multi-agent chemotherapy now: no (answered 2026-11-25)" in detail
    assert ("Attested by the prescriber (attestation questionnaire): therapy phase of this blinatumomab course; "
            "complete response after the induction therapy before this course") in detail


def test_a_question_not_answered_reads_on_after_a_semicolon(client: FlaskClient) -> None:
    """A remission recorded only to its year leaves 'in first or second remission' open: its alternative, the
    response at the end of consolidation, is said not answered."""
    body = example("aspirus-pediatric-mrd-positive")
    [condition] = [e["resource"] for e in body["prefetch"]["conditions"]["entry"] if e["resource"]["id"] == "all-1"]
    condition["recordedDate"] = "2026"
    detail = _decision(client, body)["detail"]
    assert "; response at the end of the consolidation before this course: not answered in the attestation " \
           "questionnaire" in detail
    assert "; Response at the end" not in detail


@pytest.mark.parametrize(("reason", "said"), [
    ("Stopped for intolerance: pleural effusion", "dasatinib stopped for intolerance: pleural effusion"),
    ("Sprycel intolerance: pleural effusion", "dasatinib stopped for Sprycel intolerance: pleural effusion"),
    ("Ph+ relapse despite therapy: resistance", "dasatinib stopped for Ph+ relapse despite therapy: resistance"),
    ("T315I mutation: resistance", "dasatinib stopped for T315I mutation: resistance"),
])
def test_a_tki_stop_reason_reads_on_by_the_same_rule(reason: str, said: str) -> None:
    stopped = medication_request(None, text="dasatinib", start="2025-01-01", status="stopped",
                                 statusReason={"text": reason})
    fact = tki_failure(read_med_orders([stopped], lambda _: None, date(2026, 3, 1)), True, Attestations())
    assert fact.value is True and fact.note == said
