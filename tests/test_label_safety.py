"""The label's word on the chart and the order, on the decision card whatever the payer's policy reads, and on the
card saying no plan was found (cds_service/label_safety.py): a grade 4 CRS or ICANS this course or an earlier one, a
live vaccine near treatment, a dose that could not be checked; never twice, never for an attested answer. A note the
summary names opens it, is never cut from it, and raises the card's indicator, whatever the payer."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from cds_service.decision import CriterionResult
from cds_service.facts.model import Fact
from cds_service.label_safety import label_notes
from tests.test_cards import CHECKED, pick
from tests.test_pipeline import example, post

ICANS = Fact(True, ("Condition/icans-1",), note="grade 4-5 CRS or ICANS since the course start: ICANS grade 4 "
                                                 "(2026-10-12)")


def test_a_grade_4_toxicity_the_policy_did_not_read_is_noted() -> None:
    decision, facts = pick("meets-criteria")
    [note] = [n.text for n in label_notes(decision, replace(facts, unacceptable_toxicity=ICANS), CHECKED)]
    assert note.startswith("Grade 4-5 CRS or ICANS since the course start: ICANS grade 4 (2026-10-12).")
    assert "discontinue blinatumomab permanently" in note


def test_no_note_when_a_critical_criterion_failed_on_it_or_the_prescriber_answered_it() -> None:
    """A critical criterion failed on it says it already, in the summary and the indicator (Aspirus U1)."""
    decision, facts = pick("meets-criteria")
    failed = CriterionResult("no-unacceptable-toxicity", "not-met", "Aspirus IV", "No unacceptable toxicity",
                             evidence=ICANS.evidence, critical=True)
    assert label_notes(replace(decision, criteria=[*decision.criteria, failed]),
                       replace(facts, unacceptable_toxicity=ICANS), CHECKED) == []
    attested = Fact(True, ("QuestionnaireResponse/a",), attested=True, note="grade 4-5 CRS or ICANS")
    assert label_notes(decision, replace(facts, unacceptable_toxicity=attested), CHECKED) == []


def test_a_finding_a_criterion_shows_keeps_the_label_word_but_is_not_said_twice() -> None:
    """Aspirus's renewal criterion fails on the grade 4 ICANS as a warning, and shows the event in the detail: the
    note still opens the summary and makes the card critical, its line gives the label's word alone."""
    decision, facts = pick("meets-criteria")
    failed = CriterionResult("no-unacceptable-toxicity", "not-met", "Aspirus IV", "No unacceptable toxicity",
                             evidence=ICANS.evidence)
    [note] = label_notes(replace(decision, criteria=[*decision.criteria, failed]),
                         replace(facts, unacceptable_toxicity=ICANS), CHECKED)
    assert (note.summary, note.indicator) == ("Grade 4 CRS/ICANS this course: label says discontinue permanently",
                                              "critical")
    assert note.text.startswith("The label says to discontinue blinatumomab permanently after grade 4")
    assert "ICANS grade 4 (2026-10-12)" not in note.text and "criterion not met below" in note.text


def _with_mmr(body: dict[str, Any], day: str) -> dict[str, Any]:
    body["prefetch"]["immunizations"]["entry"].append({"resource": {
        "resourceType": "Immunization", "id": "mmr-1", "status": "completed",
        "patient": {"reference": "Patient/example-patient"}, "occurrenceDateTime": day,
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "03", "display": "MMR"}]}}})
    return body


def test_a_live_vaccine_florida_blue_does_not_read_is_noted_on_its_approval(client: Any) -> None:
    [card] = post(client, _with_mmr(example("florida-blue-relapsed-refractory-ph-negative"), "2026-11-24"))["cards"][:1]
    assert card["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    assert "**Label safety:** Live vaccine near treatment: MMR dated 2026-11-24" in card["detail"]


def test_a_live_vaccine_long_before_treatment_is_not_noted(client: Any) -> None:
    [card] = post(client, _with_mmr(example("florida-blue-relapsed-refractory-ph-negative"), "2026-09-01"))["cards"][:1]
    assert "Label safety" not in card["detail"]


def test_aspirus_says_it_once_as_its_critical_criterion(client: Any) -> None:
    [card] = post(client, example("aspirus-live-vaccine-critical"))["cards"][:1]
    assert card["indicator"] == "critical" and "Label safety" not in card["detail"]


def _with_earlier_cycle(body: dict[str, Any], order_id: str, start: str, end: str) -> None:
    """A completed 28 mcg/day blinatumomab cycle from `start` to `end`, before the order."""
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    body["prefetch"]["medicationRequests"]["entry"].append({"resource": {
        "resourceType": "MedicationRequest", "id": order_id, "status": "completed", "intent": "order",
        "subject": {"reference": "Patient/example-patient"},
        "medicationCodeableConcept": draft["medicationCodeableConcept"],
        "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": start, "end": end}}},
                               "doseAndRate": [{"rateQuantity": {"value": 28, "unit": "ug/d", "code": "ug/d",
                                                                 "system": "http://unitsofmeasure.org"}}]}]}})


def _with_crs4(body: dict[str, Any]) -> dict[str, Any]:
    """A first cycle from 2026-10-20 with a grade 4 CRS on its fourth day (the relapse diagnosed before it): the order
    is the course's second cycle."""
    patient = {"reference": "Patient/example-patient"}
    body["prefetch"]["conditions"]["entry"][0]["resource"]["recordedDate"] = "2026-10-01"
    _with_earlier_cycle(body, "cycle-1", "2026-10-20", "2026-11-16")
    body["prefetch"]["conditions"]["entry"].append({"resource": {
        "resourceType": "Condition", "id": "crs-4", "subject": patient,
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "resolved"}]},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "D89.834",
                             "display": "Cytokine release syndrome, grade 4"}]},
        "onsetDateTime": "2026-10-23"}})
    return body


def test_a_grade_4_crs_under_an_approval_raises_the_card_and_is_named_in_its_summary(client: Any) -> None:
    """The clinician's review: the only card read "meets criteria ... approved" (info), the label's "discontinue
    permanently" in the detail alone."""
    body = _with_crs4(example("florida-blue-relapsed-refractory-ph-negative"))
    [card, *_] = post(client, body)["cards"]
    assert card["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    assert card["indicator"] == "critical"  # the label stops the drug for good: whatever the payer reads
    assert card["summary"].startswith("Grade 4 CRS/ICANS this course: label says discontinue permanently — Florida "
                                      "Blue: meets criteria") and len(card["summary"]) < 140
    assert "**Label safety:** Grade 4-5 CRS or ICANS since the course start" in card["detail"]


def test_without_a_plan_the_label_notes_are_on_the_no_plan_card(client: Any) -> None:
    body = _with_crs4(example("unknown-payer"))
    [card, *_] = post(client, body)["cards"]
    assert card["source"]["label"] == "Blinatumomab coverage check" and card["indicator"] == "critical"
    assert card["summary"] == ("Grade 4 CRS/ICANS this course: label says discontinue permanently — No supported "
                               "health plan found: coverage not checked")
    assert "**Label safety:** Grade 4-5 CRS or ICANS" in card["detail"]


def _without_weight(body: dict[str, Any]) -> dict[str, Any]:
    bundle = body["prefetch"]["observations"]
    bundle["entry"] = [e for e in bundle["entry"] if not any(
        c.get("code") in ("29463-7", "3141-9", "8302-2", "8277-6") for c in e["resource"]["code"].get("coding", []))]
    if "total" in bundle:  # a searchset's total above its entries is no whole answer (docs/prefetch.md)
        bundle["total"] = len(bundle["entry"])
    return body


def _with_icans4(body: dict[str, Any]) -> dict[str, Any]:
    """A grade 4 ICANS on the third day of the course (its first cycle from 2026-01-05)."""
    body["prefetch"]["conditions"]["entry"].append({"resource": {
        "resourceType": "Condition", "id": "icans-1", "subject": {"reference": "Patient/example-patient"},
        "recordedDate": "2026-01-07",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G92.04",
                             "display": "ICANS grade 4"}]}}})
    return body


def test_a_grade_4_icans_failing_the_renewal_is_critical_and_says_the_label_first(client: Any) -> None:
    """The clinicians' review (case 31): the renewal's toxicity criterion failed on the ICANS, so the label's word was
    left out, and the card was a warning offering to proceed without coverage, while the same ICANS outside a
    renewal made a critical card saying "discontinue permanently"."""
    [card, *_] = post(client, _with_icans4(example("aspirus-relapsed-refractory-cycle6-renewal")))["cards"]
    decision = card["extension"]["coverage-decision"]
    assert (decision["decision"], decision["request"]) == ("criteria-not-met", "renewal")
    assert card["indicator"] == "critical"
    assert card["summary"] == ("Grade 4 CRS/ICANS this course: label says discontinue permanently — Aspirus Health "
                               "Plan: not covered — unacceptable toxicity")
    assert "**Label safety:** The label says to discontinue blinatumomab permanently" in card["detail"]
    assert card["detail"].count("ICANS grade 4 (2026-01-07)") == 1  # the criterion not met shows the event, once
    assert [r["code"] for r in card["overrideReasons"]] == ["criteria-met-documentation-to-follow",
                                                            "plan-exception-requested"]


def test_a_dose_the_label_check_could_not_read_is_said_where_the_plan_does_not_ask(client: Any) -> None:
    """Florida Blue reads no weight: without one its approval said nothing of the label dose, for a child too."""
    [card, *others] = post(client, _without_weight(example("florida-blue-relapsed-refractory-ph-negative")))["cards"]
    assert card["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Dose not checked against the label: no current weight — Florida Blue: meets")
    assert "Dose not checked against the label: the chart has no current weight" in card["detail"]
    assert not [c for c in others if c["source"]["topic"]["code"] == "off-guideline"]  # policy-rules.md §5: no card


def test_a_weight_too_old_to_use_is_said_where_the_dose_was_not_checked(client: Any) -> None:
    body = example("florida-blue-relapsed-refractory-ph-negative")
    for entry in body["prefetch"]["observations"]["entry"]:
        if entry["resource"]["code"]["coding"][0]["code"] == "29463-7":
            entry["resource"]["effectiveDateTime"] = "2026-10-01"
    [card, *_] = post(client, body)["cards"]
    assert card["summary"].startswith("Dose not checked against the label: no current weight — Florida Blue: meets")
    assert ("the chart has no current weight (within 30 days); latest weight 80 kg on 2026-10-01 is older than 30 "
            "days before the start.") in " ".join(card["detail"].split())


def test_a_plan_that_asks_for_the_weight_is_not_told_twice(client: Any) -> None:
    [card, *_] = post(client, _without_weight(example("aspirus-adult-relapsed-refractory-cycle1")))["cards"]
    decision = card["extension"]["coverage-decision"]
    assert decision["decision"] == "information-needed" and any("weight" in m for m in decision["missing"])
    assert "Dose not checked" not in card["detail"]


def test_the_no_plan_card_says_when_the_dose_could_not_be_checked(client: Any) -> None:
    [card, *_] = post(client, _without_weight(example("unknown-payer")))["cards"]
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Dose not checked against the label: no current weight — No supported")
    assert "Dose not checked against the label" in card["detail"]
    assert "still checked against the label" not in card["detail"]


def test_a_plan_dose_limit_met_beside_a_dose_above_the_label_points_to_the_dose_card(client: Any) -> None:
    """Florida Blue's 28 mcg/day limit met by a flat 28 mcg/day cycle 1: its tick alone read as "the dose is right"
    beside a dose card saying days 1-7 are above the label's 9 mcg/day."""
    body = example("florida-blue-relapsed-refractory-ph-negative")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    line = order["dosageInstruction"][-1]
    line["timing"]["repeat"]["boundsPeriod"]["start"] = "2026-12-01"  # 28 mcg/day from day 1
    order["dosageInstruction"] = [line]
    answer = post(client, body)
    card = answer["cards"][0]
    assert [c["indicator"] for c in answer["cards"] if c["source"]["topic"]["code"] == "off-guideline"] == ["warning"]
    assert ("The plan's dose limit is met, but the dose is above the label dose (28 mcg/day on days 1–7; label 9 "
            "mcg/day): see the dose card.") in card["detail"]


def test_the_label_word_is_never_cut_from_a_long_summary(client: Any) -> None:
    """The clinician's second review: a grade 4 CRS beside a not-covered-as-ordered dose left the summary without it
    (it had been added only when it fitted), while the dose card recommended a corrected dose."""
    body = _with_crs4(example("aspirus-adult-relapsed-refractory-cycle1"))
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["dosageInstruction"] = order["dosageInstruction"][-1:]
    order["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"]["value"] = 32
    order["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-12-01", "end": "2026-12-28"}
    answer = post(client, body)
    card = answer["cards"][0]
    assert card["extension"]["coverage-decision"]["decision"] in ("criteria-not-met", "information-needed")
    # In short, where in full it left the outcome cut in its middle.
    assert card["summary"].startswith("Grade 4 CRS/ICANS: discontinue permanently — Aspirus Health Plan: not covered")
    assert not card["summary"].endswith("…")
    assert len(card["summary"]) < 140 and card["indicator"] == "critical"
    [dose] = [c for c in answer["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert [s["isRecommended"] for s in dose["suggestions"]] == [False]  # no dose to recommend for a drug to stop


def test_a_live_vaccine_is_critical_whatever_the_payer(client: Any) -> None:
    [card] = post(client, _with_mmr(example("florida-blue-relapsed-refractory-ph-negative"), "2026-11-24"))["cards"][:1]
    assert card["indicator"] == "critical"
    assert card["summary"].startswith("Live vaccine near treatment: label advises against it — Florida Blue: meets")


def test_a_dose_not_checked_stays_in_the_detail_of_a_card_not_covered_anyway(client: Any) -> None:
    """Why the order is not covered is the news of a not-met card (a warning already); the unchecked dose is said in
    its detail."""
    body = _without_weight(example("florida-blue-cd19-negative-relapse"))
    [card, *_] = post(client, body)["cards"]
    assert card["extension"]["coverage-decision"]["decision"] == "criteria-not-met"
    assert card["summary"].startswith("Florida Blue: not covered") and card["indicator"] == "warning"
    assert "Dose not checked against the label: the chart has no current weight" in card["detail"]


CHILD_WITHOUT_HEIGHT = "florida-blue-child-no-height-dose-above-label-at-any-height"  # 18 kg, the adult step dose


def test_a_dose_above_the_label_at_any_height_is_not_said_to_be_unchecked(client: Any) -> None:
    """Below 45 kg without a height the label dose is unknown, but not how high it can be (docs/dosing.md): the
    decision card must not say "not checked" beside a dose card saying the dose is above the label. The approval
    says the dose is above the label first, a warning as an unchecked dose's is: read alone (the first card, or the
    only one `max-cards: 1` keeps) it must not be a plain approval."""
    card, dose = post(client, example(CHILD_WITHOUT_HEIGHT))["cards"]
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Dose above label (see dose card) — Florida Blue: meets criteria")
    assert "Dose not checked" not in card["detail"]
    assert ("The plan's dose limit is met, but the dose is above the label dose (28 mcg/day on days 8–28; label at "
            "most 17.745 mcg/day): see the dose card.") in card["detail"]
    assert dose["summary"] == ("Dose above label at any height: 28 mcg/day on days 8–28 (also above on days 1–7); "
                               "record a height")
    body = example(CHILD_WITHOUT_HEIGHT)
    body["extension"] = {"davinci-crd.configuration": {"max-cards": 1}}
    [alone] = post(client, body)["cards"]
    assert alone["summary"] == card["summary"] and alone["indicator"] == "warning"
    assert "28 mcg/day on days 8–28; label at most 17.745 mcg/day" in alone["detail"]  # the dose card's news, here


def test_a_dose_within_the_label_at_some_height_is_said_to_be_unchecked(client: Any) -> None:
    """Just within the label dose at 280 cm (18 kg, BSA 1.183 m²: 5.915 and 17.745 mcg/day, +10%): no dose card, and
    the decision card says the dose was not checked and what to record."""
    body = example(CHILD_WITHOUT_HEIGHT)
    step, full = body["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"]
    step["doseAndRate"][0]["rateQuantity"]["value"] = 6.5
    full["doseAndRate"][0]["rateQuantity"]["value"] = 19.5
    [card] = post(client, body)["cards"]
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Dose not checked against the label: no height or BSA — Florida Blue: meets")


def _with_earlier_course_icans4(body: dict[str, Any], **icans: Any) -> dict[str, Any]:
    """A course in March 2025 (relapse, one cycle, then remission) with a grade 4 ICANS on its fourth day, resolved
    and abated since: the order is cycle 1 of a new course, after the relapse of 2026-11-10."""
    patient = {"reference": "Patient/example-patient"}
    conditions = body["prefetch"]["conditions"]["entry"]
    for day, code, status in (("2025-02-15", "C91.02", "relapse"), ("2025-05-01", "C91.01", "remission")):
        conditions.append({"resource": {
            "resourceType": "Condition", "id": f"all-{day}", "subject": patient, "recordedDate": day,
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": status}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}],
                     "text": "B-cell precursor acute lymphoblastic leukemia"}}})
    conditions.append({"resource": {
        "resourceType": "Condition", "id": "icans-2025", "subject": patient, "recordedDate": "2025-03-06",
        "abatementDateTime": "2025-03-12",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "resolved"}]},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G92.04",
                             "display": "ICANS grade 4"}]}, **icans}})
    _with_earlier_cycle(body, "course-2025", "2025-03-03", "2025-03-30")
    return body


EARLIER = "Grade 4 CRS/ICANS on 2025-03-06 (earlier course): label says discontinue permanently"
EARLIER_SHORT = "Grade 4 CRS/ICANS: discontinue permanently"  # when in full the outcome has no room


@pytest.mark.parametrize(("example_name", "payer", "opening"), [
    ("aspirus-adult-relapsed-refractory-cycle1", "Aspirus Health Plan", EARLIER_SHORT),
    ("florida-blue-relapsed-refractory-ph-negative", "Florida Blue", EARLIER)])
def test_a_grade_4_icans_of_an_earlier_course_is_the_label_word_first(client: Any, example_name: str,
                                                                      payer: str, opening: str) -> None:
    """The clinicians' review (cases N57, N58): a grade 4 ICANS in a 2025 course, then remission and a new relapse;
    the card read "meets criteria ... approved" (info), as the note read only this course. The label's
    "discontinue permanently" is for the patient, resolved or not; the payer's decision is its own."""
    [card, *_] = post(client, _with_earlier_course_icans4(example(example_name)))["cards"]
    assert card["extension"]["coverage-decision"]["decision"] == "meets-criteria"
    assert card["indicator"] == "critical"
    assert card["summary"].startswith(f"{opening} — {payer}: meets criteria") and len(card["summary"]) < 140
    assert "approved to" in card["summary"] and not card["summary"].endswith("…")  # the outcome whole
    assert ("**Label safety:** Grade 4-5 CRS or ICANS before this course: ICANS grade 4 (2025-03-06). The label says "
            "to discontinue blinatumomab permanently") in card["detail"]
    assert "every later course too, even once the event resolved" in card["detail"]


def test_an_earlier_course_grade_4_icans_is_on_the_no_plan_card(client: Any) -> None:
    [card, *_] = post(client, _with_earlier_course_icans4(example("unknown-payer")))["cards"]
    assert card["indicator"] == "critical"
    assert card["summary"] == f"{EARLIER} — No supported health plan found: coverage not checked"
    assert "**Label safety:** Grade 4-5 CRS or ICANS before this course" in card["detail"]


def test_an_earlier_icans_entered_in_error_is_no_event(client: Any) -> None:
    status = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                          "code": "entered-in-error"}]}
    body = _with_earlier_course_icans4(example("florida-blue-relapsed-refractory-ph-negative"), clinicalStatus=status)
    [card, *_] = post(client, body)["cards"]
    assert card["indicator"] == "info" and "Label safety" not in card["detail"]


def test_an_earlier_course_event_beside_one_of_this_course_is_not_said_twice() -> None:
    decision, facts = pick("meets-criteria")
    earlier: Fact[tuple[date, ...]] = Fact((date(2025, 3, 6),), ("Condition/icans-2025",),
                                           note="grade 4-5 CRS or ICANS before this course: ICANS grade 4 (2025-03-06)")
    [note] = label_notes(decision, replace(facts, unacceptable_toxicity=ICANS, severe_toxicity_before_course=earlier),
                         CHECKED)
    assert note.summary.startswith("Grade 4 CRS/ICANS this course") and "2025-03-06" not in note.text
    [alone] = label_notes(decision, replace(facts, severe_toxicity_before_course=earlier), CHECKED)
    assert (alone.summary, alone.indicator) == (EARLIER, "critical")


def test_the_aspirus_renewal_criterion_keeps_its_course_window(client: Any) -> None:
    """Aspirus IV reads unacceptable toxicity since the course start: a renewal is not refused over an earlier
    course's ICANS, while the label's note is there."""
    body = _with_earlier_course_icans4(example("aspirus-relapsed-refractory-cycle6-renewal"))
    [card, *_] = post(client, body)["cards"]
    decision = card["extension"]["coverage-decision"]
    [toxicity] = [c for c in decision["criteria"] if "toxicity" in c["id"]]
    assert toxicity["status"] == "met" and card["summary"].startswith(EARLIER_SHORT)


def test_no_dose_is_recommended_after_an_earlier_course_grade_4_icans(client: Any) -> None:
    """As after one this course (test_the_label_word_is_never_cut_from_a_long_summary): the drug is to stop."""
    body = _with_earlier_course_icans4(example("florida-blue-relapsed-refractory-ph-negative"))
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["dosageInstruction"] = order["dosageInstruction"][-1:]
    order["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-12-01", "end": "2026-12-28"}
    [dose] = [c for c in post(client, body)["cards"] if c["source"]["topic"]["code"] == "off-guideline"]
    assert [s["isRecommended"] for s in dose["suggestions"]] == [False]
