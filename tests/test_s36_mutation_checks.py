"""Mutants of dosing/checks.py that the other tests let live, killed through the endpoint: what the dose criterion
asks for when the label dose cannot be checked (docs/dosing.md), beside the days without infusion before the cycle
that an earlier cycle's end recorded only to a month leaves unknown (dosing/rest.py `rest_unknown`), an Interfant
dose read by its BSA alone, and a short rest after a cycle of unknown number. Missing data asks for information,
never a denial (policy-rules.md §1)."""
from __future__ import annotations

import copy
from typing import Any

from cds_service import SERVICE_ID
from tests.factories import UCUM, observation
from tests.live_server import LiveClient
from tests.test_aspirus33_criteria_http import example
from tests.test_orders33_prior_cycle_ends import with_earlier_cycle
from tests.test_orders35_rest_unknown import _attested_cycle

Json = dict[str, Any]
WEIGHT = "current weight (within 30 days)"
ASKED = "the full date of the blinatumomab order ended 2026-11"  # cycle 5's end, recorded as a month
FULL_DATE = f"{ASKED} (MedicationRequest/prior-cycle-5)"
RR_DOSE = "adult-relapsed-refractory.dose-schedule"


def decision_and_summary(client: LiveClient, request: Json) -> tuple[Json, str]:
    """The coverage-decision of the decision card, and that card's summary."""
    response = client.post(f"/cds-services/{SERVICE_ID}", json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    [card] = [c for c in response.get_json()["cards"] if "coverage-decision" in c.get("extension", {})]
    decision: Json = card["extension"]["coverage-decision"]
    return decision, str(card["summary"])


def criterion(decision: Json, criterion_id: str) -> Json:
    found: list[Json] = [c for c in decision["criteria"] if c["id"] == criterion_id]
    assert len(found) == 1, decision["criteria"]
    return found[0]


def without(request: Json, *observation_ids: str) -> Json:
    """The request with those Observations taken out (the Bundle still received whole)."""
    observations = request["prefetch"]["observations"]
    observations["entry"] = [e for e in observations["entry"] if e["resource"]["id"] not in observation_ids]
    observations["total"] = len(observations["entry"])
    return request


def cycle_6_after(end: str) -> Json:
    """The relapsed/refractory cycle-6 renewal example (Dec 1-28), its cycle 5 order from Nov 1 to `end`."""
    return with_earlier_cycle("2026-11-01", end)


def test_the_full_date_the_cycle_number_asks_for_is_not_asked_twice_beside_the_weight(client: LiveClient) -> None:
    """Cycle 5 ended "2026-11": the cycle number (5 or 6) and the rest before cycle 6 both depend on the day it ended,
    and the weight is missing. The dose criterion asks for the weight alone (its note names the date): listed with it,
    the one full date had been asked twice and the summary had said "document 2 items"."""
    decision, summary = decision_and_summary(client, without(cycle_6_after("2026-11"), "weight-1"))
    assert decision["decision"] == "information-needed"
    assert decision["missing"] == [WEIGHT, FULL_DATE]
    assert f"document {WEIGHT} and {ASKED} to confirm" in summary
    assert "days without infusion before this cycle depend" in criterion(decision, RR_DOSE)["note"]


def _draft(request: Json) -> Json:
    order: Json = request["context"]["draftOrders"]["entry"][0]["resource"]
    return order



def with_dose_rate(request: Json, rate: Json | None) -> Json:
    """The request with its draft order's dose rate replaced by `rate` (None: no dose or rate at all)."""
    line = request["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"][0]
    if rate is None:
        del line["doseAndRate"]
    else:
        line["doseAndRate"][0]["rateQuantity"] = rate
    return request


def test_an_unreadable_dose_and_an_unknown_rest_are_asked_at_once(client: LiveClient) -> None:
    """Cycle 6 attested, its order without a dose, cycle 5 ended "2026-11": the dose and the full date are asked in
    one signing (the date had been asked only once a dose was written)."""
    request = with_dose_rate(_attested_cycle(cycle_6_after("2026-11"), 6), None)
    decision, _ = decision_and_summary(client, request)
    assert decision["decision"] == "information-needed"
    assert decision["missing"] == ["each dosage line's dose written in mcg/day (or mcg/m²/day)", FULL_DATE]
    assert "MedicationRequest/prior-cycle-5" in criterion(decision, RR_DOSE)["evidence"]


def test_a_dose_per_m2_without_a_bsa_and_an_unknown_rest_are_asked_at_once(client: LiveClient) -> None:
    """80 kg, 15 mcg/m²/day written, no height on record: the BSA converts the written dose (from 45 kg the label
    dose is fixed), and is asked for with the full date of cycle 5's end."""
    rate = {"value": 15, "unit": "ug/m2/d", "system": "http://unitsofmeasure.org", "code": "ug/m2/d"}
    request = with_dose_rate(without(_attested_cycle(cycle_6_after("2026-11"), 6), "height-1"), rate)
    decision, _ = decision_and_summary(client, request)
    assert decision["decision"] == "information-needed"
    assert decision["missing"] == ["height (within 12 months) or BSA (within 30 days)", FULL_DATE]
    assert "MedicationRequest/prior-cycle-5" in criterion(decision, RR_DOSE)["evidence"]


def test_an_interfant_dose_is_checked_by_a_recorded_bsa_without_a_weight(client: LiveClient) -> None:
    """Interfant: 15 mcg/m²/day whatever the weight (docs/dosing.md), so a BSA recorded (0.38 m², no weight or
    height on record) checks the 5.7 mcg/day ordered: met, on that BSA, not a weight asked for."""
    request = without(example("aspirus-infant-interfant"), "weight-1", "height-1")
    observations = request["prefetch"]["observations"]
    observations["entry"].append({"resource": observation(
        "8277-6", text="Body surface area", id="bsa-1", effective="2026-11-20",
        subject={"reference": "Patient/example-patient"},
        valueQuantity={"value": 0.38, "unit": "m2", "system": UCUM, "code": "m2"})})
    observations["total"] = len(observations["entry"])
    decision, _ = decision_and_summary(client, request)
    dose = criterion(decision, "infant-interfant.dose-schedule")
    assert (dose["status"], dose["evidence"]) == ("met", ["MedicationRequest/blinatumomab-order", "Observation/bsa-1"])
    assert decision["decision"] == "meets-criteria"


def test_a_short_rest_after_a_cycle_of_unknown_number_says_at_least(client: LiveClient) -> None:
    """Cycle 5 full to Nov 17, this order from Dec 1: 13 days without infusion. An earlier order whose drug is not
    identified leaves the cycle numbers unknown, so the rest owed is 14 days or 56 (after relapsed/refractory cycle 6
    on): 13 are short of either, a denial, and the summary says the least was checked ("of at least 14 days")."""
    request = with_earlier_cycle("2026-10-21", "2026-11-17")
    orders = request["prefetch"]["medicationRequests"]
    unknown = copy.deepcopy(orders["entry"][0]["resource"]) | {"id": "unknown-drug",
                                                               "medicationReference": {"reference": "Medication/gone"}}
    del unknown["medicationCodeableConcept"]
    unknown["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] = {"start": "2026-01-05", "end": "2026-01-20"}
    orders["entry"].append({"resource": unknown})
    orders["total"] = len(orders["entry"])
    decision, summary = decision_and_summary(client, request)
    assert (decision["decision"], decision["cycle"]) == ("criteria-not-met", None)
    assert criterion(decision, RR_DOSE)["status"] == "not-met"
    assert "rest too short (13 of at least 14 days)" in summary, summary
