"""The examples read as a busy oncologist and a payer pharmacist (round 35): a fact said once within a card, and the
card's closing line on the data not received agreeing with the criteria above it."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cds_service.cards import decision_card
from cds_service.decision import CriterionResult
from tests.test_cards import BASE, CHECKED, ORDER, pick
from tests.test_pipeline import example, post
from tests.test_words34_card_wording import _decision, _line

EXAMPLES = Path(__file__).resolve().parents[1] / "fhir_examples"


def test_an_answer_with_its_date_is_not_marked_attested_again(client: Any) -> None:
    card = _decision(client, example("aspirus-adult-consolidation-mrd-positive"))
    line = _line(card, "Complete response to induction therapy")
    assert line.endswith("; complete response after the induction therapy before this course: yes (answered "
                         "2026-11-25)")


def test_an_attested_criterion_whose_note_does_not_say_so_is_marked_attested() -> None:
    decision, facts = pick("meets-criteria")
    attested = CriterionResult("phase", "met", "Aspirus III", "Relapsed or refractory disease",
                               note="in relapse at the course start", attested=True)
    card = decision_card(replace(decision, criteria=[attested]), facts, ORDER, BASE, CHECKED)
    assert "Relapsed or refractory disease (_Aspirus III_); in relapse at the course start; attested" in card["detail"]


def test_a_denial_with_data_not_received_says_what_it_leaves_unknown(client: Any) -> None:
    """Florida Blue, 30 mcg/day: not covered whatever the diagnosis says; the diagnoses were not sent. The closing line
    had said "no criterion was left unknown by it" below a criterion marked "not received from the EHR"."""
    body = example("florida-blue-dose-above-28")
    del body["prefetch"]["conditions"]
    card = _decision(client, body)
    assert card["extension"]["coverage-decision"]["decision"] == "criteria-not-met"
    assert "**not received from the EHR:** ALL diagnosis" in card["detail"]
    detail = " ".join(card["detail"].split())
    assert ('Data not received: diagnoses. The criteria marked "not received from the EHR" wait on it, but would not '
            "change this decision.") in detail
    assert "no criterion was left unknown" not in detail


def test_data_not_received_that_no_criterion_reads_is_said_so(client: Any) -> None:
    body = example("florida-blue-mrd-positive")  # Florida Blue has no live-vaccine criterion
    del body["prefetch"]["immunizations"]
    card = _decision(client, body)
    assert "Data not received (no criterion was left unknown by it): immunizations." in card["detail"]



def test_the_compendia_question_not_answered_is_said_in_short(client: Any) -> None:
    """Florida Blue 2.a, not answered: the criterion beside it says it whole; the note had repeated it word for word
    (tests/test_cards.py checks the line's end)."""
    body = example("florida-blue-other-compendia-lymphoblastic-lymphoma")
    body["prefetch"]["attestations"]["entry"] = []
    card = _decision(client, body)
    assert "FDA-labeled or NCCN category 1/2A use: not answered in the attestation questionnaire" in card["detail"]
    assert "Compendium" not in card["detail"]


_HYPHEN_RANGE = re.compile(r"\b(?:days?|cycles?) \d+-\d+")


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.json") if p.stem != "expected"))
def test_ranges_of_days_and_cycles_are_written_alike(client: Any, name: str) -> None:
    """"days 1–7" on the dose cards, "cycles 1-5" in the quantity criterion: one way, the en dash. The order's own
    line is the prescriber's text, shown as written."""
    for card in post(client, example(name))["cards"]:
        lines = [card["summary"], *(line for line in card["detail"].splitlines() if not line.startswith("Order: "))]
        assert [line for line in lines if _HYPHEN_RANGE.search(line)] == []
