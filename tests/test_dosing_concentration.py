"""A dose written as a volume (a rate in mL/h) read with the strength of the order's Medication (`ingredient.strength`,
mcg per mL): mL/h × 24 h × mcg/mL is mcg/day (fhir-data-profile.md §The order: only "mL/h without a concentration"
is unreadable). The Medication is contained in the order, signed with it (draftOrders) or in the prefetch; the dose
reading is handed it, never fetches it."""
from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from cds_service.dosing.plan_limit_card import ceiling_card
from cds_service.dosing.reading import read_order_doses
from tests.fhir_server import FhirTestServer, fhir_server  # noqa: F401 (the fixture)
from tests.test_dosing_support import START, facts, line, order, order_checks, rate, ratio
from tests.test_pipeline import example, post

UCUM = "http://unitsofmeasure.org"
EXAMPLE = "aspirus-adult-consolidation-mrd-positive"  # 28 mcg/day on days 1-28, 72 kg: the label dose


def quantity(value: Any, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def strength(mass: Any, mass_unit: str, volume: Any = 240, volume_unit: str = "mL") -> dict[str, Any]:
    return {"numerator": quantity(mass, mass_unit), "denominator": quantity(volume, volume_unit)}


def bag(strength_: dict[str, Any] | None = None, id: str = "bag", **ingredient: Any) -> dict[str, Any]:
    """A compounded blinatumomab bag: its code, one blinatumomab ingredient with `strength_` (none when None)."""
    item = {"itemCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                "code": "1597258"}], "text": "blinatumomab"}}
    if strength_ is not None:
        item["strength"] = strength_
    return {"resourceType": "Medication", "id": id,
            "code": {"text": "blinatumomab 28 mcg in 240 mL sodium chloride 0.9% with IVSS"},
            "ingredient": [item | ingredient]}


def in_ml_per_hour(body: dict[str, Any], value: Any = 10, unit: str = "mL/h") -> dict[str, Any]:
    """The example's order with its rate written in mL/h and its drug named by a Medication reference."""
    order_ = body["context"]["draftOrders"]["entry"][0]["resource"]
    order_["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"] = quantity(value, unit)
    order_["dosageInstruction"][0]["text"] = f"{value} {unit} continuous IV infusion"
    del order_["medicationCodeableConcept"]
    return order_


def with_contained(medication: dict[str, Any], value: Any = 10) -> dict[str, Any]:
    body = example(EXAMPLE)
    order_ = in_ml_per_hour(body, value)
    order_["contained"] = [medication]
    order_["medicationReference"] = {"reference": f"#{medication['id']}"}
    return body


def with_reference(medication: dict[str, Any], where: str, value: Any = 10) -> dict[str, Any]:
    body = example(EXAMPLE)
    order_ = in_ml_per_hour(body, value)
    order_["medicationReference"] = {"reference": f"Medication/{medication['id']}",
                                     "display": "BLINATUMOMAB 28 MCG IN NS 240 ML IVPB"}
    if where == "draftOrders":
        body["context"]["draftOrders"]["entry"].append({"fullUrl": f"urn:uuid:{medication['id']}",
                                                        "resource": medication})
    elif where == "prefetch":  # a history searched with _include=MedicationRequest:medication
        premedication = {"resourceType": "MedicationRequest", "id": "dexamethasone", "status": "active",
                         "intent": "order", "subject": {"reference": "Patient/example-patient"},
                         "medicationCodeableConcept": {"text": "dexamethasone 20 mg IV"}}
        body["prefetch"]["medicationRequests"]["entry"] += [{"resource": premedication}, {"resource": medication}]
    return body


def answered(body: dict[str, Any], client: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The decision card's dose criterion, and the dose cards."""
    answer = post(client, body)
    [decision] = [c["extension"]["coverage-decision"] for c in answer["cards"]
                  if "coverage-decision" in c.get("extension", {})]
    [criterion] = [c for c in decision["criteria"] if c["id"].endswith("dose-schedule")]
    return criterion, [c for c in answer["cards"] if c["source"]["topic"]["code"] == "off-guideline"]


def test_a_rate_in_ml_per_hour_is_read_with_a_contained_medications_strength(client: Any) -> None:
    """The reported defect: 10 mL/h of a bag of 28 mcg in 240 mL is 28 mcg/day, the label dose, and was "not
    checked" (a volume without a concentration)."""
    criterion, doses = answered(with_contained(bag(strength(28, "ug"))), client)
    assert criterion["status"] == "met"
    assert criterion["note"].startswith("28 mcg/day on days 1–28 (10 mL/h of 28 mcg per 240 mL): not above the label")
    assert doses == []


@pytest.mark.parametrize("where", ["draftOrders", "prefetch"])
def test_a_referenced_medication_in_the_request_gives_the_strength(client: Any, where: str) -> None:
    criterion, doses = answered(with_reference(bag(strength(28, "ug"), id="ebag"), where), client)
    assert criterion["status"] == "met" and doses == []


def test_a_referenced_medication_the_request_does_not_carry_is_not_fetched_for_the_dose(client: Any) -> None:
    """The order is known by its reference's display; its Medication is on no server the call reaches."""
    criterion, [card] = answered(with_reference(bag(strength(28, "ug"), id="ebag"), "nowhere"), client)
    assert criterion["status"] == "unknown"
    assert "its Medication (Medication/ebag) is not in the request" in criterion["note"]
    assert card["indicator"] == "info" and "Medication/ebag" in card["detail"]


def test_a_medication_read_from_the_server_to_identify_the_order_gives_its_strength_without_a_second_read(
        client: Any, fhir_server: FhirTestServer) -> None:
    fhir_server.add(bag(strength(28, "ug"), id="e1"))
    body = example(EXAMPLE)
    in_ml_per_hour(body)["medicationReference"] = {"reference": "Medication/e1"}
    body["fhirServer"] = fhir_server.base_url
    criterion, doses = answered(body, client)
    assert criterion["status"] == "met" and doses == []
    assert fhir_server.paths() == ["/Medication/e1"]


def test_an_order_known_by_its_display_is_not_read_from_the_server_for_its_strength(
        client: Any, fhir_server: FhirTestServer) -> None:
    """Epic's orders name the drug in the reference's display: reading each one's Medication for a strength would
    cost every such call a server read, for the rare dose in mL/h."""
    fhir_server.add(bag(strength(28, "ug"), id="ebag"))
    body = with_reference(bag(strength(28, "ug"), id="ebag"), "nowhere")
    body["fhirServer"] = fhir_server.base_url
    criterion, _ = answered(body, client)
    assert criterion["status"] == "unknown" and "is not in the request" in criterion["note"]
    assert fhir_server.paths() == []


def test_a_rate_above_the_label_through_the_strength_is_a_warning_without_a_rate_correction(client: Any) -> None:
    """12 mL/h of 28 mcg in 240 mL is 33.6 mcg/day. The bag's strength is pharmacy's: a one-click change of the rate
    would change how long the bag runs, and a strength misread (the vial's 12.5 mcg/mL for the bag's) would make it a
    tenfold error. The card says how the dose was read and what to change."""
    criterion, [card] = answered(with_contained(bag(strength(28, "ug")), value=12), client)
    assert criterion["status"] == "not-met"
    assert criterion["note"].startswith("33.6 mcg/day on days 1–28 (12 mL/h of 28 mcg per 240 mL); label 28 mcg/day")
    assert card["indicator"] == "warning" and "suggestions" not in card
    assert "12 mL/h of 28 mcg per 240 mL" in card["detail"]
    assert len(card["summary"]) < 140


@pytest.mark.parametrize(("medication", "reason"), [
    (bag(None), "its Medication gives no strength of blinatumomab"),
    (bag(strength(35, "ug", 1, "{vial}")), "its Medication's strength (35 ug per 1 {vial}) is not per mL"),
    (bag(strength(5, "[iU]")), "its Medication's strength (5 [iU] per 240 mL): unknown unit '[iU]'"),
    (bag({"numerator": quantity(28, "ug")}), "its Medication's strength (28 ug) has no volume"),
    (bag(strength(0, "ug")), "its Medication's strength (0 ug per 240 mL) is not a positive amount"),
    (bag(strength(28, "ug/d")), "its Medication's strength (28 ug/d per 240 mL) is not an amount"),
])
def test_a_strength_that_cannot_be_read_leaves_the_dose_not_checked_saying_why(
        client: Any, medication: dict[str, Any], reason: str) -> None:
    criterion, [card] = answered(with_contained(medication), client)
    assert criterion["status"] == "unknown"
    assert criterion["note"] == f"dose not readable (line 1: volume (mL/h) without a concentration: {reason})"
    assert card["indicator"] == "info" and "Medication" in card["detail"]


def test_an_order_named_by_a_code_says_it_has_no_medication_to_read_a_strength_from(client: Any) -> None:
    body = example(EXAMPLE)
    order_ = body["context"]["draftOrders"]["entry"][0]["resource"]
    order_["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"] = quantity(10, "mL/h")
    criterion, _ = answered(body, client)
    assert criterion["note"] == ("dose not readable (line 1: volume (mL/h) without a concentration: the order names "
                                 "no Medication with a strength)")


def lines_with(medication: dict[str, Any] | None, *dose_and_rates: dict[str, Any]) -> list[Any]:
    written = order(*(line(d, "2026-12-01", "2026-12-28", sequence=1) for d in dose_and_rates))
    return read_order_doses(written, None, START, medication=medication)


@pytest.mark.parametrize(("strength_", "dose_and_rate", "mcg_per_day"), [
    (strength(28, "ug"), rate(10, "mL/h"), "28"),
    (strength("0.028", "mg"), rate(10, "mL/h"), "28"),  # mg converted exactly
    (strength(28, "ug", "0.24", "L"), rate(10, "mL/h"), "28"),  # a volume in litres
    (strength(7, "ug", 1, "mL"), rate(1, "mL/h"), "168"),  # mcg per 1 mL ...
    (strength(7, "ug", 10, "mL"), rate(1, "mL/h"), "16.8"),  # ... and per 10 mL: the denominator counts
    (strength(28, "mcg"), rate(240, "mL/d"), "28"),  # a printed "mcg", a rate per day
    (strength(28, "ug"), rate(3.3333, "mL/h"), "9.33324"),  # a 72-hour bag's rate, exactly as written
    (strength(28, "ug"), ratio(240, "mL", 24, "h"), "28"),  # a rate ratio of a volume per time
])
def test_a_volume_times_the_strength_is_mcg_per_day_exactly(strength_: dict[str, Any], dose_and_rate: dict[str, Any],
                                                          mcg_per_day: str) -> None:
    [found] = lines_with(bag(strength_), dose_and_rate)
    assert found.mcg_per_day == Decimal(mcg_per_day), found.unreadable
    assert found.form is not None and found.form.volume


def test_a_strength_of_12_5_mcg_per_ml_in_a_28_mcg_per_day_order_is_read_as_written() -> None:
    """Not guessed away: the vial's reconstituted 12.5 mcg/mL read as the bag's strength is 3000 mcg/day at 10 mL/h,
    above the label, and a warning says how it was read (never a correction)."""
    [found] = lines_with(bag(strength("12.5", "ug", 1, "mL")), rate(10, "mL/h"))
    assert found.mcg_per_day == 3000


def test_only_the_blinatumomab_ingredient_gives_the_strength() -> None:
    """A bag lists its diluent too: sodium chloride 9 mg/mL read as blinatumomab's strength would be 2 g a day."""
    medication = bag(strength(28, "ug"))
    saline = {"itemCodeableConcept": {"text": "sodium chloride 0.9%"}, "strength": strength(9, "mg", 1, "mL")}
    medication["ingredient"].insert(0, saline)
    [found] = lines_with(medication, rate(10, "mL/h"))
    assert found.mcg_per_day == 28
    medication["ingredient"][1] = {"itemReference": {"reference": "Medication/blin", "display": "Blincyto"},
                                   "strength": strength(28, "ug")}
    [referenced] = lines_with(medication, rate(10, "mL/h"))  # named by its reference's display
    assert referenced.mcg_per_day == 28
    medication["ingredient"][1] = {"itemCodeableConcept": {"text": "IV solution stabilizer"},
                                   "strength": strength(28, "ug")}
    [unnamed] = lines_with(medication, rate(10, "mL/h"))
    assert unnamed.mcg_per_day is None and "no strength of blinatumomab" in unnamed.unreadable


def test_a_single_ingredient_of_a_blinatumomab_medication_gives_its_strength_whatever_it_is_coded() -> None:
    medication = bag(strength(28, "ug"))
    medication["ingredient"][0]["itemCodeableConcept"] = {"coding": [{"system": "http://example.org/local",
                                                                      "code": "BLIN"}]}
    [found] = lines_with(medication, rate(10, "mL/h"))
    assert found.mcg_per_day == 28


def test_a_mass_dose_ignores_the_medication() -> None:
    [found] = lines_with(bag(strength("12.5", "ug", 1, "mL")), rate(28))
    assert found.mcg_per_day == 28 and found.form is not None and not found.form.volume


def test_a_contained_medication_is_read_without_being_handed_over() -> None:
    written = order(line(rate(10, "mL/h"), "2026-12-01", "2026-12-28"))
    medication = bag(strength(28, "ug"))
    written["contained"] = [medication]
    written["medicationReference"] = {"reference": "#bag"}
    del written["medicationCodeableConcept"]
    [found] = read_order_doses(written, None, START)
    assert found.mcg_per_day == 28
    other = copy.deepcopy(written)
    other["medicationReference"] = {"reference": "#elsewhere"}
    [missing] = read_order_doses(other, None, START)
    assert missing.mcg_per_day is None and "its Medication (#elsewhere) is not in the request" in missing.unreadable


def florida_blue_bag(client: Any, mcg: Any) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Florida Blue's order at 10 mL/h of a bag of `mcg` in 240 mL (`mcg` mcg/day): the decision, its 28 mcg/day
    criterion and the other cards."""
    body = example("florida-blue-consolidation")
    order_ = in_ml_per_hour(body)
    order_["contained"] = [bag(strength(mcg, "ug"))]
    order_["medicationReference"] = {"reference": "#bag"}
    answer = post(client, body)
    decision = answer["cards"][0]["extension"]["coverage-decision"]
    [ceiling] = [c for c in decision["criteria"] if c["id"].endswith("dose-at-most-28")]
    return decision, ceiling, answer["cards"][1:]


def test_a_volume_within_the_label_but_above_florida_blues_28_gets_the_plan_limit_card_without_a_correction(
        client: Any) -> None:
    """10 mL/h of 28.3 mcg per 240 mL is 28.3 mcg/day: within the label's rounding, above the plan's 28. The plan
    limit card says so, naming the dose read from the rate; its one-click correction would write a rate: none for a
    volume (pharmacy's bag sets the dose), as the label card words it. It was only the decision card's denial."""
    decision, ceiling, [card] = florida_blue_bag(client, 28.3)
    assert (decision["decision"], ceiling["status"]) == ("criteria-not-met", "not-met")
    assert ceiling["note"].startswith("28.3 mcg/day on days 1–28 (10 mL/h of 28.3 mcg per 240 mL): above 28 mcg/day")
    assert card["source"]["topic"] == {"system": "http://terminology.hl7.org/CodeSystem/cdshooks-card-type",
                                       "code": "limits", "display": "Limits"}
    assert card["extension"]["card-kind"] == "plan-dose-limit"
    assert card["indicator"] == "warning" and "suggestions" not in card and "selectionBehavior" not in card
    assert card["summary"] == "Dose above Florida Blue's 28 mcg/day limit: 28.3 mcg/day on days 1–28"
    assert "| days 1–28 | 28.3 mcg/day (10 mL/h of 28.3 mcg per 240 mL) |" in card["detail"]
    assert ("No one-click correction: line 1 (10 mL/h of 28.3 mcg per 240 mL) is a volume, read with its "
            "Medication's strength.") in card["detail"]
    assert "have pharmacy recalculate the dose within 28 mcg/day" in " ".join(card["detail"].split())


def test_a_volume_above_the_plan_limit_beside_a_line_in_mcg_leaves_both_uncorrected() -> None:
    """Correcting the line in mcg alone would leave the volume above the limit: no suggestion, both lines shown."""
    written = order(line(rate(10, "mL/h"), "2026-12-01", "2026-12-14", sequence=1),
                    line(rate("28.4"), "2026-12-15", "2026-12-28", sequence=2),
                    contained=[bag(strength("28.3", "ug"))], medicationReference={"reference": "#bag"})
    card = ceiling_card(written, facts(), Decimal(28), "Florida Blue", order_checks(written, [written], facts()), None)
    assert card is not None and card["indicator"] == "warning" and "suggestions" not in card
    # "(+1 more)" alone read as a dose: the card names the other days, as the label dose card does.
    assert card["summary"] == ("Dose above Florida Blue's 28 mcg/day limit: 28.3 mcg/day on days 1–14 (also above on "
                               "days 15–28)")
    assert "| days 15–28 | 28.4 mcg/day |" in card["detail"]
    assert "No one-click correction: line 1 (10 mL/h of 28.3 mcg per 240 mL) is a volume" in card["detail"]


@pytest.mark.parametrize("mcg", [28, "27.9"])
def test_a_volume_at_or_under_florida_blues_28_gets_no_plan_limit_card(client: Any, mcg: Any) -> None:
    decision, ceiling, cards = florida_blue_bag(client, mcg)
    assert (decision["decision"], ceiling["status"]) == ("meets-criteria", "met")
    assert cards == []


@pytest.mark.parametrize("volume", [1e-300, "1e-30"])
def test_a_strength_in_a_vanishing_volume_is_a_dose_above_the_label_not_a_fault(client: Any, volume: Any) -> None:
    """28 mcg per 1e-300 mL makes about 1e303 mcg/day: too many digits to round for display, which raised, and the
    order got the technical-problem card. It is a dose above the label, with its warning."""
    criterion, [card] = answered(with_contained(bag(strength(28, "ug", volume))), client)
    assert criterion["status"] == "not-met" and "label 28 mcg/day" in criterion["note"]
    assert card["indicator"] == "warning" and len(card["summary"]) < 140
