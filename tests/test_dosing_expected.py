"""The label dose per schedule, body size, cycle and day (Aspirus V)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from cds_service.dosing.expected import dosed_by_bsa, expected_daily_dose, label_maximum
from cds_service.record import PatientRecord
from tests.factories import body_sizes

D = Decimal
BSA = D("0.93")


@pytest.mark.parametrize(("cycle", "day", "dose"), [(1, 1, 9), (1, 7, 9), (1, 8, 28), (2, 1, 28), (None, 1, 28)])
def test_relapsed_refractory_step_days_from_45_kg(cycle: int | None, day: int, dose: int) -> None:
    expected = expected_daily_dose("relapsed-refractory", D(45), None, cycle, day)
    assert expected is not None
    assert (expected.mcg_per_day, expected.basis, expected.cap) == (D(dose), "fixed", D(dose))


@pytest.mark.parametrize("schedule", ["standard", None])
def test_full_dose_every_day_outside_relapsed_refractory_cycle_1(schedule: str | None) -> None:
    expected = expected_daily_dose(schedule, D(70), None, 1, 1)
    assert expected is not None and expected.mcg_per_day == 28


@pytest.mark.parametrize(("schedule", "weight", "by_bsa"), [
    ("interfant", D(70), True), ("interfant", None, True), ("standard", D("44.9"), True), ("standard", D(45), False),
    ("relapsed-refractory", None, False), (None, D(20), True),
])
def test_dosed_by_bsa_for_interfant_and_below_45_kg(schedule: str | None, weight: Decimal | None,
                                                    by_bsa: bool) -> None:
    assert dosed_by_bsa(schedule, weight) is by_bsa


def test_below_45_kg_is_dosed_by_bsa() -> None:
    expected = expected_daily_dose("standard", D("44.9"), BSA, 1, 1)
    assert expected is not None
    assert (expected.mcg_per_day, expected.basis, expected.per_m2) == (D("13.95"), "bsa", D(15))
    step = expected_daily_dose("relapsed-refractory", D("44.9"), BSA, 1, 3)
    assert step is not None and (step.mcg_per_day, step.cap) == (D("4.65"), D(9))


def test_bsa_doses_are_capped() -> None:
    full = expected_daily_dose("standard", D(44), D("2.0"), 1, 1)
    step = expected_daily_dose("relapsed-refractory", D(44), D("2.0"), 1, 1)
    assert full is not None and full.mcg_per_day == 28 and full.allowed == 28
    assert step is not None and step.mcg_per_day == 9 and step.allowed == 9


def test_interfant_is_by_bsa_whatever_the_weight() -> None:
    expected = expected_daily_dose("interfant", D(60), D("0.38"), 1, 1)
    assert expected is not None and (expected.mcg_per_day, expected.basis) == (D("5.70"), "bsa")
    assert expected_daily_dose("interfant", D(8), None, 1, 1) is None


def test_unknown_without_the_body_size_it_needs() -> None:
    assert expected_daily_dose("standard", None, BSA, 1, 1) is None
    assert expected_daily_dose("standard", D("44.9"), None, 1, 1) is None
    assert expected_daily_dose(None, None, None, 1, 1) is None


@pytest.mark.parametrize(("schedule", "weight", "day", "maximum", "allowed"), [
    # 18 kg at 280 cm, the tallest height accepted: BSA 1.183 m²; 15 (5 on step days) mcg/m²/day, +10%.
    ("relapsed-refractory", D(18), 8, D("17.745"), D("19.5195")),
    ("relapsed-refractory", D(18), 1, D("5.915"), D("6.5065")),
    ("standard", D("44.9"), 1, D(28), D(28)),  # 1.869 m²: 28.035, capped, and no rounding allowance above the cap
    ("standard", D(45), 1, D(28), D("28.5")),  # from 45 kg the fixed dose and its 0.5 mcg/day allowance
    ("standard", None, 1, D(28), D("28.5")),  # no weight: the fixed dose, the most at any weight
    ("relapsed-refractory", None, 1, D(9), D("9.5")),
])
def test_label_maximum_at_any_height_for_a_weight_dosed_by_bsa(schedule: str, weight: Decimal | None, day: int,
                                                                maximum: Decimal, allowed: Decimal) -> None:
    expected = label_maximum(schedule, weight, 1, day)
    assert (expected.mcg_per_day, expected.allowed) == (maximum, allowed)


def test_tolerances() -> None:
    fixed = expected_daily_dose("standard", D(45), None, 1, 1)
    bsa = expected_daily_dose("standard", D(30), BSA, 1, 1)
    assert fixed is not None and fixed.allowed == D("28.5") and fixed.low == D("25.2")
    assert bsa is not None and bsa.allowed == D("15.345") and bsa.low == D("12.555")


def _weight_record(value: float, unit: str) -> PatientRecord:
    observation = {"resourceType": "Observation", "id": "w", "status": "final",
                   "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                   "effectiveDateTime": (date(2026, 12, 1) - timedelta(days=2)).isoformat(),
                   "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": unit}}
    return PatientRecord(patient={"resourceType": "Patient"}, lists={"observations": [observation]})


def test_99_pounds_is_below_45_kg_and_needs_bsa() -> None:
    weight = body_sizes(_weight_record(99, "[lb_av]"), date(2026, 12, 1), 12).weight_kg.value
    assert weight is not None
    assert expected_daily_dose("standard", weight, None, 1, 1) is None  # 44.9 kg: BSA needed
    by_bsa = expected_daily_dose("standard", weight, BSA, 1, 1)
    assert by_bsa is not None and by_bsa.basis == "bsa"
    at_boundary = body_sizes(_weight_record(45, "kg"), date(2026, 12, 1), 12).weight_kg.value
    fixed = expected_daily_dose("standard", at_boundary, None, 1, 1)
    assert fixed is not None and fixed.basis == "fixed"
