"""Volume rates and bag strengths at their edges (dosing/units.py): a volume unit misspelled, a unit that is no
volume, a strength in ng or mg, one that is no amount per volume. Each case was a mutant of dosing/units.py that the
other tests let live."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cds_service.dosing.reading import read_order_doses
from cds_service.dosing.units import Concentration, parse_dose_unit, read_concentration, volume_dose_unit
from tests.test_dosing_concentration import bag, quantity, strength
from tests.test_dosing_support import START, line, order, rate


def test_a_volume_rate_in_a_misspelled_unit_is_not_read() -> None:
    written = order(line(rate(10, "mL/hh"), "2026-12-01", "2026-12-28"))
    [found] = read_order_doses(written, None, START, medication=bag(strength(28, "ug")))
    assert found.mcg_per_day is None and "unknown unit 'mL/hh'" in found.unreadable


def test_a_mass_rate_is_no_volume_to_read_through_a_bags_strength() -> None:
    concentration = read_concentration(strength(28, "ug"))
    assert volume_dose_unit("ug/h", concentration) == "unknown unit 'ug/h'"


@pytest.mark.parametrize(("mass", "unit", "said"), [
    (28000, "ng", "28000 ng per 240 mL"),
    ("0.028", "mg", "0.028 mg per 240 mL"),
])
def test_a_strength_in_nanograms_or_milligrams_is_read_and_said_as_written(mass: Any, unit: str, said: str) -> None:
    assert read_concentration(strength(mass, unit)) == Concentration(Decimal(28), Decimal(240), said)


def test_a_strength_per_litre_is_read_and_said_per_litre() -> None:
    assert read_concentration(strength(28, "ug", "0.24", "L")) == Concentration(Decimal(28), Decimal(240),
                                                                                "28 mcg per 0.24 L")


@pytest.mark.parametrize(("ratio", "why"), [
    (strength(28, "ug/m2"), "(28 ug/m2 per 240 mL) is not an amount"),
    ({"numerator": quantity(28, "ug"), "denominator": {"unit": "mL"}}, "(28 ug per ? mL) has no volume"),
    ({"numerator": quantity(28, "ug"), "denominator": {"value": 240}}, "(28 ug per 240) has no volume"),
    ({"numerator": {"unit": "ug"}, "denominator": quantity(240, "mL")}, "(? ug per 240 mL) is not a positive amount"),
    (strength(28, "ug", 0), "(28 ug per 0 mL) is not a positive amount"),
    (strength(0, "ug"), "(0 ug per 240 mL) is not a positive amount"),
])
def test_a_strength_that_is_no_amount_per_volume_is_said_so(ratio: dict[str, Any], why: str) -> None:
    assert read_concentration(ratio) == f"its Medication's strength {why}"


def test_a_unit_of_64_characters_is_quoted_whole_and_a_longer_one_cut() -> None:
    assert parse_dose_unit("") == "no unit"
    assert parse_dose_unit("x" * 64) == f"unknown unit {'x' * 64!r}"
    assert parse_dose_unit("x" * 65) == f"unknown unit {'x' * 64 + '…'!r}"
