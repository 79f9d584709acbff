"""The tightest decision summaries say in words what they leave to the detail: never "(+1 more)", which had left the
clinician to guess one more of what (a schedule problem, a drug, a label warning)."""
from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from cds_service.cards import _parts_fitted, decision_card
from cds_service.dosing.checks import DoseReading
from tests.test_card_summaries import decision_card as answered_decision_card
from tests.test_cards import _ICANS, _LABEL_FINDINGS, _STANDINGS, _VACCINE, _WHICH, BASE, CASES, CHECKED, ORDER
from tests.test_dosing_rest import cycle_2
from tests.test_pipeline import example, post
from tests.test_schedule_finding import schedule_of


@pytest.mark.parametrize("room, said", [
    (60, "dose above label on days 1–7; infusion past day 28"),
    (40, "dose above label; infusion past day 28"),
    (30, "dose above label; past day 28"),
])
def test_infusion_past_day_28_is_said_in_fewest_words_before_it_is_counted(room: int, said: str) -> None:
    finding = schedule_of((28, "2026-12-01", "2027-01-04")).finding  # the dose check's own words
    assert finding == "dose above label on days 1–7; infusion past day 28"
    assert _parts_fitted(finding, room) == said


def test_a_cycle_overlapping_the_one_before_is_said_in_fewest_words() -> None:
    overlap = cycle_2(-3).schedule("standard").finding
    assert _parts_fitted(f"dose above label on days 1–28; {overlap}", 45) == "dose above label; overlaps previous cycle"


@pytest.mark.parametrize("room, said", [
    (46, "dose above label and 2 other schedule problems"),
    (38, "dose above label + 2 schedule problems"),
    (19, "3 schedule problems"),
])
def test_findings_left_out_are_counted_as_schedule_problems(room: int, said: str) -> None:
    three = "dose above label on days 1–7 and 8–33; dose below label on days 30–33; rest too short (2 of 14 days)"
    assert _parts_fitted(three, room) == said


def test_drugs_a_chart_note_leaves_unnamed_are_counted_in_words(client: Any) -> None:
    """Three other antineoplastics: the fact's note names two and "and 1 other", in the summary as in the detail."""
    body = example("aspirus-adult-consolidation-mrd-positive")
    history = body["prefetch"]["medicationRequests"]
    for index, drug in enumerate(("cytarabine", "methotrexate", "vincristine")):
        history.setdefault("entry", []).append({"resource": {
            "resourceType": "MedicationRequest", "id": f"chemo-{index}", "status": "active", "intent": "order",
            "subject": {"reference": "Patient/example-patient"}, "medicationCodeableConcept": {"text": drug},
            "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": "2026-11-20",
                                                                          "end": "2026-12-20"}}}}]}})
    history["total"] = len(history["entry"])
    card = answered_decision_card(post(client, body))
    assert card["summary"] == ("Aspirus Health Plan: not covered — requires single agent, or with a TKI for Ph+; "
                               "chart: cytarabine, methotrexate and 1 other")
    assert "cytarabine, methotrexate and 1 other" in card["detail"] and "(+1 more)" not in card["detail"]


def test_label_warnings_after_the_first_are_counted_as_warnings() -> None:
    """Counted, the label's warnings after the first are "warnings" ("(+1 label note)" named a thing of this code),
    here to leave room for the first item to document."""
    decision, case_facts = next((d, f) for d, f in CASES if d.decision == "information-needed"
                                and d.payer_label == "Florida Blue" and len(d.to_document()[0]) > 2)
    crowded = replace(case_facts, unacceptable_toxicity=_ICANS, live_vaccine_in_window=_VACCINE)
    summary = decision_card(decision, crowded, ORDER, BASE, DoseReading(missing="current weight", above=False),
                            which="cycle 2 order of 28 mcg/day on days 1–28")["summary"]
    assert summary == ("Grade 4 CRS/ICANS: discontinue permanently (+1 warning) — Florida Blue: document lineage "
                       "of the ALL and 2 more items to confirm coverage")


def test_no_crowded_summary_ends_in_a_count_without_words() -> None:
    rng = random.Random(20261124)
    for decision, case_facts in rng.sample(CASES, 200):
        for findings in _LABEL_FINDINGS:
            crowded = replace(case_facts, **findings)
            dose = rng.choice((CHECKED, DoseReading(missing="current weight", above=False)))
            summary = decision_card(decision, crowded, ORDER, BASE, dose, rng.random() < 0.8, rng.choice(_WHICH),
                                    rng.choice(_STANDINGS), date(2026, 12, 28))["summary"]
            assert not re.search(r"\(\+\d+ (more|label)", summary), summary
