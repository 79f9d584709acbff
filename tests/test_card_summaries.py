"""The card review of every card the examples and the tests' requests get: summaries read whole under the limit, the
decision and what to do first. One test per finding, each failing before its fix."""
from __future__ import annotations

from typing import Any

import pytest

from cds_service.cards import _parts_fitted, _summary_request
from cds_service.dosing.text import days_list, days_text
from cds_service.summary_items import summary_item
from tests.test_dosing_rest import on_record_after
from tests.test_duplicate_orders import with_copies
from tests.test_facts_review import MALFORMED
from tests.test_label_safety import _with_earlier_course_icans4
from tests.test_pipeline import example, post

THREE = "dose above label on days 1–7 and 8–33; infusion past day 28; rest too short (2 of at least 14 days)"


def decision_card(answer: dict[str, Any]) -> dict[str, Any]:
    [card] = [c for c in answer["cards"] if "coverage-decision" in c.get("extension", {})]
    return card


@pytest.mark.parametrize("room, said", [
    (len(THREE), THREE),
    (90, "dose above label on days 1–7 and 8–33; infusion past day 28; rest too short"),
    (60, "dose above label; infusion past day 28; rest too short"),
    (50, "dose above label; past day 28; rest too short"),
    (45, "dose above label; past day 28; rest too short"),
    (44, "dose above label + 2 schedule problems"),
    (30, "3 schedule problems"),
    (10, THREE),
])
def test_a_reason_of_several_findings_keeps_every_finding_it_can_whole(room: int, said: str) -> None:
    """The schedule's three findings had been cut at the limit ("...; infusion past…"): every finding is named
    when it can be, the days and asides given up first (the detail has them), then in fewest words, the first
    findings kept whole; what is left out is counted in words ("(+1 more)" had left to guess one more of what)."""
    assert _parts_fitted(THREE, room) == said


def test_a_three_part_schedule_finding_after_a_label_note_reads_whole(client: Any) -> None:
    """Above the label, past day 28 and after a short rest, under the label's word on an earlier grade 4 ICANS: the
    summary had ended "dose above label on days 1–33; infusion past…"."""
    body = _with_earlier_course_icans4(on_record_after("2026-12-11", "2027-01-12"))
    [entry] = body["context"]["draftOrders"]["entry"]
    entry["resource"]["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"]["value"] = 40
    card = decision_card(post(client, body))
    summary = card["summary"]
    assert len(summary) < 140 and "…" not in summary, summary
    assert summary == ("Grade 4 CRS/ICANS: discontinue permanently — Aspirus Health Plan: not covered as ordered — "
                       "dose above label; past day 28; rest too short")
    # The pharmacist's detail keeps the three findings with their days and the policy section.
    [dose] = [line for line in card["detail"].splitlines() if "Daily dose per the label schedule" in line]
    assert dose.startswith("- ❌ not met:") and "(_Aspirus V (Dosage/Administration)_)" in dose
    for finding in ("40 mcg/day on days 1–33; label 28 mcg/day", "runs to day 33", "starts after 2 days without"):
        assert finding in dose


def test_a_combination_names_the_other_drug_in_the_summary(client: Any) -> None:
    """"requires single agent, or with a TKI for Ph+" had dropped the chart's finding for length: the other drug's
    name is what the clinician checks (the detail keeps the note whole)."""
    body = example("aspirus-adult-consolidation-mrd-positive")
    history = body["prefetch"]["medicationRequests"]
    history.setdefault("entry", []).append({"resource": {
        "resourceType": "MedicationRequest", "id": "chemo-1", "status": "active", "intent": "order",
        "subject": {"reference": "Patient/example-patient"}, "medicationCodeableConcept": {"text": "cytarabine 100 mg"},
        "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": "2026-11-20", "end": "2026-12-20"}}}}]}})
    history["total"] = len(history["entry"])
    card = decision_card(post(client, body))
    assert card["extension"]["coverage-decision"]["decision"] == "criteria-not-met"
    assert card["summary"] == ("Aspirus Health Plan: not covered — requires single agent, or with a TKI for Ph+; "
                               "chart: cytarabine 100 mg")
    assert "other antineoplastics active at the start date: cytarabine 100 mg" in card["detail"]


@pytest.mark.parametrize("change, said", [
    ("condition verificationStatus code an object", "the verification status of the ALL diagnosis"),
    ("condition clinicalStatus code a list", "the clinical status of the ALL diagnosis"),
])
def test_a_malformed_resource_is_asked_for_in_words_the_path_left_to_the_detail(client: Any, change: str,
                                                                                said: str) -> None:
    """A malformed Condition's item had put its element's path in the summary ("document a readable Condition/all-1
    (clinicalStatus.coding[0].code is a list, not text) (+1 more)"), or, too long, only the resource: the summary
    names the element in words and the resource (the diagnosis, as the reader knows it); the detail keeps the reference
    and the path for the pharmacist and the integration engineer. A verification status alone is what settles the
    phase too (facts/diagnosis.py `_asking`): then it is the only item."""
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    MALFORMED[change](body)
    card = decision_card(post(client, body))
    assert card["summary"] in (f"Aspirus Health Plan: document {said}{rest} to confirm coverage"
                               for rest in ("", "; whether the disease is relapsed or refractory", " and 1 more item"))
    path = change.split()[1]
    assert f"- {said} (Condition/all-1: {path}.coding\\[0\\].code is " in card["detail"]


def test_an_item_of_several_requests_is_said_in_words_each() -> None:
    """A fact several malformed resources left unknown asks for each (facts/unreadable.py joins them by "; ")."""
    item = ("a readable Observation/mrd-1 (status is a list, not a code FHIR defines for it); a readable "
            "Observation/mrd-2 (effectiveDateTime is \"2026-1-1\", not a date)")
    assert summary_item(item) == "a readable status for Observation/mrd-1; a readable date for Observation/mrd-2"
    assert summary_item("a readable Condition (it is a number, not a resource)") == "a readable Condition"
    assert summary_item("MRD result (or that it is unavailable)") == "MRD result (or that it is unavailable)"


def test_what_to_document_beyond_the_summary_is_counted_as_items() -> None:
    """"(+1 more)" after the last item named read as one more of its kind: the summary says more items."""
    needed = ["therapy phase of this course", "whether induction gave a complete response", "x" * 60]
    said, _ = _summary_request(needed, [], 50)
    assert said == "therapy phase of this course; whether induction gave a complete response and 1 more item"


def test_the_quantity_table_tells_orders_with_the_same_lines_apart(client: Any) -> None:
    """Two orders of 14 mcg/day on days 1-28, one adult dose written as two orders (no duplicate: their sum is the
    label's 28), 20 vials each: the quantity card's table had two rows reading the same, word for word. (Copies whose
    sum is off the label are a duplicate, whose card removes them: no quantity card, orders34.)"""
    body = with_copies("aspirus-adult-consolidation-mrd-positive", "copy")
    for entry in body["context"]["draftOrders"]["entry"]:
        entry["resource"]["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"]["value"] = 14
        entry["resource"]["dispenseRequest"]["quantity"]["value"] = 20
    answer = post(client, body)
    [card, *_] = [c for c in answer["cards"] if c["summary"].startswith("Quantity above plan limit")]
    rows = [line for line in card["detail"].splitlines() if line.startswith("| 14 mcg/day on days 1–28")]
    assert len(rows) == len(set(rows)) == 2
    assert [row.split(" | ")[0] for row in rows] == [
        f"| 14 mcg/day on days 1–28 (blinatumomab order {n}){' (this order)' * (n == 1)}" for n in (1, 2)]


def test_a_line_stating_no_end_reads_from_its_first_day_onward() -> None:
    """"28 mcg/day on day 8 on" (a suggestion's label, a split order's lines) was misread; every "on <days>" reads."""
    assert days_text(8, None) == "days 8 onward" and days_text(1, 7) == "days 1–7" and days_text(3, 3) == "day 3"


def test_ranges_of_days_read_as_one_phrase() -> None:
    """What "(+1 more)" and "(+2 more day ranges)" had left to guess: the other days, named."""
    assert days_list(["days 1–7"]) == "days 1–7"
    assert days_list(["day 1", "days 8–28"]) == "days 1 and 8–28"
    assert days_list(["days 1–7", "days 8–14", "days 15 onward"]) == "days 1–7, 8–14 and 15 onward"
    assert days_list([f"day {n}" for n in range(1, 6)]) == "day 1 and 4 other day ranges"


def test_the_quantity_limit_reads_in_mcg_on_both_cards(client: Any) -> None:
    """The decision card's "980 units" beside the quantity card's "980 mcg": a clinician read two limits, or IU."""
    cards = post(client, example("aspirus-quantity-over-limit"))["cards"]
    decision = decision_card({"cards": cards})
    quantity = next(c for c in cards if c["source"]["topic"]["code"] == "limits")
    assert decision["summary"].endswith("except more than 28 vials (980 mcg) per cycle")
    assert "limit is 28 vials (980 mcg)" in quantity["summary"]


def test_a_dose_correction_s_label_says_it_changes_the_dose(client: Any) -> None:
    """"Change to 0.375 mcg/h" left what it changes to the unit; beside "Change quantity to 28 vials" it names it."""
    [card] = [c for c in post(client, example("aspirus-relapsed-refractory-single-line-dose-too-high"))["cards"]
              if c.get("suggestions")]
    assert card["suggestions"][0]["label"].startswith("Change dose to 9 mcg/day")


def test_a_label_note_gives_way_to_its_short_form_before_what_to_document_is_only_counted(client: Any) -> None:
    """No Observation at all: the label's note in full had left "Florida Blue: document 2 items to confirm
    coverage"; in short it leaves room to name the first item."""
    body = example("florida-blue-relapsed-refractory-ph-negative")
    body["prefetch"]["observations"] = {"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []}
    card = decision_card(post(client, body))
    assert card["summary"] == ("Dose not checked: no current weight — Florida Blue: document laboratory result showing "
                               "CD19+ blasts and 1 more item to confirm coverage")


def test_the_plan_limit_card_cites_the_policy_section_of_its_limit(client: Any) -> None:
    """The quantity card cites Aspirus II; the Florida Blue limit card named no section for a pharmacist to check."""
    cards = post(client, example("florida-blue-dose-28.4-above-plan-limit"))["cards"]
    [limit] = [c for c in cards if c["summary"].startswith("Dose above Florida Blue's 28 mcg/day limit")]
    assert "**The ordered dose is above Florida Blue's limit of 28 mcg/day** (_Florida Blue Position 1.d_): " in (
        limit["detail"])


def test_the_plan_limit_card_cites_the_section_of_the_indication_decided(client: Any) -> None:
    """Florida Blue sets the 28 mcg/day limit in each route: initiation 1.d, other uses 2.b, continuation 3. A
    continuation's card cited the initiation's 1.d, which a pharmacist checking a renewal would not find there."""
    body = example("florida-blue-continuation")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"]["value"] = 28.4
    answer = post(client, body)
    assert decision_card(answer)["extension"]["coverage-decision"]["indication"] == "fb-continuation"
    [limit] = [c for c in answer["cards"] if c["summary"].startswith("Dose above Florida Blue's 28 mcg/day limit")]
    assert "(_Florida Blue Position, continuation 3_): " in limit["detail"]
