"""Round 3 of reading the cards as a busy oncologist and as the payer's pharmacist: the summary says what to do next
where the service knows it, the detail never says "unknown" as a bare word or an order for "0 mcg", and a label note
does not say the chart lacks what the EHR did not send."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.test_dosing_rest import cycle_2
from cds_service.dosing.rest_card import rest_card
from tests.test_pipeline import example, post

CVX = "http://hl7.org/fhir/sid/cvx"


def _cards(client: Any, body: dict[str, Any]) -> list[dict[str, Any]]:
    cards: list[dict[str, Any]] = post(client, body)["cards"]
    return cards


def _card(cards: list[dict[str, Any]], topic: str) -> dict[str, Any]:
    [card] = [c for c in cards if c["source"]["topic"]["code"] == topic]
    return card


def _vaccine(body: dict[str, Any], iid: str, cvx: str, name: str, given: str) -> None:
    body["prefetch"]["immunizations"]["entry"].append({"resource": {
        "resourceType": "Immunization", "id": iid, "status": "completed",
        "patient": {"reference": "Patient/example-patient"},
        "occurrenceDateTime": given, "vaccineCode": {"coding": [{"system": CVX, "code": cvx, "display": name}]}}})


# --- A live vaccine's denial: the start that clears it, not the window it was judged in


def test_a_live_vaccine_denial_says_from_when_a_start_clears_it(client: Any) -> None:
    card = _card(_cards(client, example("aspirus-live-vaccine-critical")), "coverage-info")
    assert card["indicator"] == "critical"
    assert card["summary"] == ("Aspirus Health Plan: not covered — live vaccine too close to treatment (MMR dated "
                               "2026-11-24; start on or after 2026-12-09)")
    # The pharmacist keeps the whole evidence: the window and the start, in the detail.
    assert ("MMR dated 2026-11-24; window between 2026-11-17 and 2026-12-29; a start on or after 2026-12-09 would be "
            "more than 14 days after it") in card["detail"]


def test_two_live_vaccines_are_counted_beside_the_start_that_clears_them(client: Any) -> None:
    body = example("aspirus-live-vaccine-critical")
    _vaccine(body, "var-1", "21", "VAR", "2026-11-20")
    card = _card(_cards(client, body), "coverage-info")
    assert "MMR dated 2026-11-24; VAR dated 2026-11-20; window between" in card["detail"]
    # Both in full would pass the limit: the first, how many others, and the start that clears them all.
    assert card["summary"] == ("Aspirus Health Plan: not covered — live vaccine too close to treatment (MMR dated "
                               "2026-11-24 and 1 other; start on or after 2026-12-09)")


def test_a_live_vaccine_during_treatment_names_the_window_as_before(client: Any) -> None:
    """No later start clears a vaccine given after the start: the summary keeps the window."""
    body = example("aspirus-live-vaccine-critical")
    body["prefetch"]["immunizations"]["entry"][0]["resource"]["occurrenceDateTime"] = "2026-12-05"
    summary = _card(_cards(client, body), "coverage-info")["summary"]
    assert summary == ("Aspirus Health Plan: not covered — live vaccine too close to treatment (MMR dated 2026-12-05; "
                       "window between 2026-11-17 and 2026-12-29)")


# --- Dose and days cards: what to do, in the summary


def test_a_dose_above_the_maximum_without_a_weight_asks_for_one_in_the_summary(client: Any) -> None:
    cards = _cards(client, example("aspirus-relapsed-refractory-no-weight-dose-above-maximum"))
    dose = _card(cards, "off-guideline")
    assert dose["summary"] == ("Dose above label maximum: 28 mcg/day on days 1–7; label maximum is 9 mcg/day; "
                               "record a weight")
    assert dose["indicator"] == "warning" and "suggestions" not in dose


def test_a_short_rest_says_the_earliest_start_in_the_summary() -> None:
    checks = cycle_2(2)
    card = rest_card(checks.order, "Plan", checks, "standard")
    assert card is not None
    assert card["summary"] == ("Cycle 2 starts after 2 days without infusion: label gives 14 days; start on or after "
                               "2026-12-13")


# --- The decision card's words


def test_a_cycle_number_not_known_is_said_in_words(client: Any) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    del body["prefetch"]["medicationRequests"]  # not received, and no FHIR server: the course is not known
    card = _card(_cards(client, body), "coverage-info")
    assert card["extension"]["coverage-decision"]["cycle"] is None
    assert "Request: initial authorization; cycle number not known." in card["detail"]
    assert "cycle unknown" not in card["detail"]


def test_a_known_cycle_is_still_numbered(client: Any) -> None:
    card = _card(_cards(client, example("aspirus-adult-relapsed-refractory-cycle1")), "coverage-info")
    assert "Request: initial authorization; cycle 1." in card["detail"]


def test_vital_signs_not_received_are_not_said_missing_from_the_chart(client: Any) -> None:
    """The EHR did not send the Observations: the chart may hold a weight, so the note does not send the clinician
    to record one ("the chart has no current weight" had)."""
    body = example("unknown-payer")
    del body["prefetch"]["observations"]
    [card] = _cards(client, body)
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Dose not checked against the label: current weight not received — ")
    assert ("Dose not checked against the label: the EHR did not send the vital signs, so the current weight (within "
            "30 days) is not known.") in card["detail"]
    assert "the chart has no" not in card["detail"]


def test_a_weight_missing_from_the_chart_is_still_said_so(client: Any) -> None:
    body = example("unknown-payer")
    body["prefetch"]["observations"].update(entry=[], total=0)  # received: none recorded
    [card] = _cards(client, body)
    assert card["summary"].startswith("Dose not checked against the label: no current weight — ")
    assert "the chart has no current weight (within 30 days)" in card["detail"]


# --- Quantity: no order for "0 vials (0 mcg)", no "not told"


@pytest.mark.parametrize("orders", [1, 2])
def test_an_order_without_a_quantity_is_not_read_as_one_for_nothing(client: Any, orders: int) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    [entry] = body["context"]["draftOrders"]["entry"]
    del entry["resource"]["dispenseRequest"]
    if orders == 2:  # the cycle's step days and full dose as two orders, neither with a quantity
        second = copy.deepcopy(entry)
        entry["resource"]["dosageInstruction"] = entry["resource"]["dosageInstruction"][:1]
        second["resource"]["id"] = "second"
        second["resource"]["dosageInstruction"] = second["resource"]["dosageInstruction"][1:]
        body["context"]["draftOrders"]["entry"].append(second)
    card = _cards(client, body)[0]
    [quantity] = [c for c in card["extension"]["coverage-decision"]["criteria"] if c["id"] == "quantity"]
    plural = "s" if orders == 2 else ""
    assert f"; evidence: MedicationRequest/blinatumomab-order{', MedicationRequest/second' if orders == 2 else ''}; " \
        f"no dispense quantity on the order{plural}; limit 980 mcg per 42 days" in card["detail"]
    assert quantity["status"] == "met" and "0 vials (0 mcg)" not in card["detail"]


def test_a_quantity_table_row_without_its_need_says_it_was_not_worked_out(client: Any) -> None:
    body = example("aspirus-adult-relapsed-refractory-cycle1")
    [entry] = body["context"]["draftOrders"]["entry"]
    copy_ = copy.deepcopy(entry)
    copy_["resource"]["id"] = "copy"
    # Another dose on the same days: orders given together, not a duplicate (whose card alone would come, orders34).
    copy_["resource"]["dosageInstruction"][1]["doseAndRate"][0]["rateQuantity"]["value"] = 20
    body["context"]["draftOrders"]["entry"].append(copy_)
    quantity = _card(_cards(client, body), "limits")
    assert "| 28 vials | not worked out | not checked: it runs on the same days as another" in quantity["detail"]
    assert "not told" not in quantity["detail"]


def test_data_not_received_is_said_in_words_not_as_a_status(client: Any) -> None:
    card = _card(_cards(client, example("aspirus-immunizations-not-received")), "coverage-info")
    assert ("**Not received from the EHR**: immunizations (the chart may hold them, but the service did not get them, "
            "so the items below cannot be decided yet)") in card["detail"]
    assert "stay unknown" not in card["detail"]
    assert "\n- immunization history (live vaccines)\n" in card["detail"]


@pytest.mark.parametrize("name", ["aspirus-quantity-over-limit", "aspirus-immunizations-not-received",
                                  "florida-blue-cd19-missing", "no-coverage-dose-check-only"])
def test_a_detail_has_no_run_of_blank_lines(client: Any, name: str) -> None:
    """Optional paragraphs left "**Criteria for every indication**" and a list two blank lines apart: one in Markdown,
    three lines of nothing in an EHR showing the detail as text."""
    cards = _cards(client, example(name))
    assert cards and all("\n\n\n" not in card["detail"] for card in cards)
    assert any("\n\n" in card["detail"] for card in cards)  # paragraphs still apart


def test_a_decision_card_missing_the_vital_signs_says_not_received_twice_alike(client: Any) -> None:
    """The label's note and the payer's outcome say the same of the Observations: not sent ("no current weight" beside
    "EHR did not send lab results and vital signs" had contradicted it)."""
    body = example("florida-blue-relapsed-refractory-ph-negative")
    del body["prefetch"]["observations"]
    card = _card(_cards(client, body), "coverage-info")
    assert card["summary"] == ("Dose not checked: current weight not received — Florida Blue: coverage not determined, "
                               "EHR did not send lab results and vital signs")


# --- No plan: whose plan is not checked


@pytest.mark.parametrize("by_organization", [False, True])
def test_a_florida_blue_program_without_a_policy_is_named_on_the_no_plan_card(client: Any,
                                                                            by_organization: bool) -> None:
    """"No active coverage with a health plan this service supports (Aspirus Health Plan, Florida Blue)" read as
    wrong for a Florida Blue FEP member: the card names the plan in force and why its name does not decide."""
    body = example("florida-blue-relapsed-refractory-ph-negative")
    [coverage] = [e["resource"] for e in body["prefetch"]["coverage"]["entry"]]
    if by_organization:
        coverage["contained"] = [{"resourceType": "Organization", "id": "payer", "name": "Florida Blue FEP"}]
        coverage["payor"] = [{"reference": "#payer"}]
    else:
        coverage["payor"] = [{"display": "Florida Blue FEP"}]
    [card] = _cards(client, body)
    assert card["summary"] == "No supported health plan found: coverage not checked"
    assert " ".join(card["detail"].split()).startswith(
        "The patient's coverage in force is with Florida Blue FEP, which this service has no policy for (not every "
        "plan or program of Florida Blue is decided under its policy: some follow their own guidelines), so no "
        "coverage decision is made for this order. This service decides for Aspirus Health Plan and Florida Blue.")


def test_another_payer_is_named_without_the_aside(client: Any) -> None:
    [card] = _cards(client, example("unknown-payer"))
    assert " ".join(card["detail"].split()).startswith(
        "The patient's coverage in force is with Acme Health Insurance, which this service has no policy for, so no "
        "coverage decision is made for this order. This service decides for Aspirus Health Plan and Florida Blue.")


def test_without_a_coverage_in_force_the_card_says_so_as_before(client: Any) -> None:
    body = example("unknown-payer")
    body["prefetch"]["coverage"].update(entry=[], total=0)
    [card] = _cards(client, body)
    assert " ".join(card["detail"].split()).startswith(
        "The patient has no active coverage with a health plan this service supports (Aspirus Health Plan, Florida "
        "Blue), so no coverage decision is made for this order.")
