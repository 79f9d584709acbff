"""Builders shared by the tests/test_dosing_*.py files: blinatumomab orders in each dose representation, and the
ClinicalFacts the dose checks read. (No tests here.)"""
from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

from cds_service.dosing.checks import CycleLines, OrderDoseChecks
from cds_service.facts.model import BodySize, ClinicalFacts, CycleInfo, Fact

START = date(2026, 12, 1)
UCUM = "http://unitsofmeasure.org"
COVERAGE_INFORMATION = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"


def rate(value: Any, unit: str = "ug/d") -> dict[str, Any]:
    return {"rateQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}


def rate_text(value: Any, unit: str) -> dict[str, Any]:
    """A rate whose unit is only a printed string (no UCUM code)."""
    return {"rateQuantity": {"value": value, "unit": unit}}


def ratio(amount: Any, amount_unit: str, per: Any, per_unit: str) -> dict[str, Any]:
    return {"rateRatio": {"numerator": {"value": amount, "unit": amount_unit, "system": UCUM, "code": amount_unit},
                          "denominator": {"value": per, "unit": per_unit, "system": UCUM, "code": per_unit}}}


def dose(value: Any, unit: str = "ug") -> dict[str, Any]:
    return {"doseQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}


def line(dose_and_rate: dict[str, Any] | None, start: str | None = None, end: str | None = None,
         sequence: int | None = None, **repeat: Any) -> dict[str, Any]:
    """A dosage line; `repeat` keys go to timing.repeat (frequency, period, periodUnit, duration, boundsDuration)."""
    result: dict[str, Any] = {"text": "blinatumomab continuous IV infusion"}
    if sequence is not None:
        result["sequence"] = sequence
    if start or end:
        repeat["boundsPeriod"] = {k: v for k, v in (("start", start), ("end", end)) if v}
    if repeat:
        result["timing"] = {"repeat": repeat}
    if dose_and_rate is not None:
        result["doseAndRate"] = [dose_and_rate]
    return result


def order(*lines: dict[str, Any], id: str = "blin-1", quantity: Any = 28, quantity_unit: str = "{vial}",
          supply_days: int | None = 42, **extra: Any) -> dict[str, Any]:
    dispense: dict[str, Any] = {}
    if quantity is not None:
        dispense["quantity"] = {"value": quantity, "unit": quantity_unit, "system": UCUM, "code": quantity_unit}
    if supply_days is not None:
        dispense["expectedSupplyDuration"] = {"value": supply_days, "unit": "days", "system": UCUM, "code": "d"}
    resource = {
        "resourceType": "MedicationRequest",
        "id": id,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                  "code": "1597262"}]},
        "dosageInstruction": list(lines),
        "dispenseRequest": dispense,
    }
    return resource | extra


def single_line_order(dose_and_rate: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """One line over days 1-28 of a cycle starting on START."""
    return order(line(dose_and_rate, "2026-12-01", "2026-12-28", sequence=1), **extra)


def step_order() -> dict[str, Any]:
    """The label's relapsed/refractory cycle 1: 9 mcg/day days 1-7, then 28 mcg/day days 8-28."""
    return order(line(rate(9), "2026-12-01", "2026-12-07", sequence=1),
                 line(rate(28), "2026-12-08", "2026-12-28", sequence=2))


def facts(weight: str | None = "70", bsa: str | None = None, cycle: int | None = 1, start: date = START,
          days_before: int = 0, phase: str | None = None) -> ClinicalFacts:
    body = BodySize(
        weight_kg=Fact(Decimal(weight), evidence=("Observation/w",), note=f"Weight {weight} kg") if weight else Fact(),
        bsa_m2=Fact(Decimal(bsa), evidence=("Observation/b",), note=f"BSA {bsa} m²") if bsa else Fact(),
    )
    return ClinicalFacts(
        start_date=start,
        cycle=CycleInfo(number=Fact(cycle), start=start, course_start=start, infusion_days_before=days_before),
        body=body,
        therapy_phase=Fact(phase),
    )


def order_checks(order_: dict[str, Any], group: list[dict[str, Any]], facts_: ClinicalFacts) -> OrderDoseChecks:
    """The order's dose checks with its group's lines, as the pipeline builds them."""
    return OrderDoseChecks(order_, group, facts_, CycleLines(group, facts_))


def apply_suggestion(card: dict[str, Any]) -> dict[str, Any]:
    """What an EHR does when the clinician accepts the card's suggestion: the updated resource."""
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "update" and action["description"]
    return copy.deepcopy(action["resource"])


def first_value(resource: dict[str, Any], field: str = "rateQuantity", index: int = 0) -> Any:
    entry = resource["dosageInstruction"][index]["doseAndRate"][0][field]
    return entry["numerator"]["value"] if field == "rateRatio" else entry["value"]
