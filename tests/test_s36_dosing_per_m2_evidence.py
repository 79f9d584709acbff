"""A dose written per m² for an adult, whose label dose is fixed (fhir_examples/
aspirus-adult-relapsed-refractory-dose-per-m2-too-high.json: 5 then 15 mcg/m²/day, 80 kg, BSA 1.989 m²). The BSA
reads the dose (5 mcg/m²/day × 1.989 m² = 9.95 mcg/day), though the label dose does not depend on it: the dose
card's table had shown 9.95 mcg/day alone beside a summary in mcg/m²/day, and the dose criterion had named the
weight as its only body size, so a pharmacist could not check where 9.95 came from. Both now name the BSA, and the
criterion its Observations."""
from __future__ import annotations

from typing import Any

from tests.dates_support import answer, example, service

__all__ = ["service"]

Json = dict[str, Any]
NAME = "aspirus-adult-relapsed-refractory-dose-per-m2-too-high"


def _card(found: Json, kind: str) -> Json:
    [card] = [c for c in found["cards"] if c["extension"]["card-kind"] == kind]
    return card


def test_the_table_says_how_a_dose_per_m2_was_read(service: Any) -> None:
    detail = _card(answer(service, example(NAME)), "dose")["detail"]
    assert "| days 1–7 | 9.95 mcg/day (5 mcg/m²/day × 1.989 m²) | 9 mcg/day |" in detail, detail
    assert "| days 8–28 | 29.84 mcg/day (15 mcg/m²/day × 1.989 m²) | 28 mcg/day |" in detail, detail


def test_a_dose_in_mcg_per_day_has_nothing_read_beside_it(service: Any) -> None:
    request = example(NAME)
    for line in request["context"]["draftOrders"]["entry"][0]["resource"]["dosageInstruction"]:
        rate = line["doseAndRate"][0]["rateQuantity"]
        rate.update(value=rate["value"] * 2, unit="ug/d", code="ug/d")
        line["text"] = f"{rate['value']} ug/d continuous IV infusion"
    detail = _card(answer(service, request), "dose")["detail"]
    assert "| days 1–7 | 10 mcg/day | 9 mcg/day |" in detail, detail
    assert "m²)" not in detail.split("| days 1–7 |")[1].split("\n")[0]


def test_the_dose_criterion_names_the_bsa_that_read_the_dose(service: Any) -> None:
    decision = _card(answer(service, example(NAME)), "decision")["extension"]["coverage-decision"]
    [criterion] = [c for c in decision["criteria"] if c["id"].endswith(".dose-schedule")]
    assert criterion["status"] == "not-met"
    assert "Observation/height-1" in criterion["evidence"], criterion["evidence"]
    assert "BSA 1.989 m²" in criterion["note"], criterion["note"]


def test_a_fixed_dose_in_mcg_per_day_names_the_weight_alone(service: Any) -> None:
    """The label dose from 45 kg does not depend on the BSA: a dose in mcg/day is checked with the weight only."""
    decision = _card(answer(service, example("aspirus-relapsed-refractory-single-line-dose-too-high")),
                     "decision")["extension"]["coverage-decision"]
    [criterion] = [c for c in decision["criteria"] if c["id"].endswith(".dose-schedule")]
    assert "Observation/height-1" not in criterion["evidence"] and "BSA" not in criterion["note"], criterion
