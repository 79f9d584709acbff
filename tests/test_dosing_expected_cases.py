"""The label's maxima at their edges (dosing/expected.py; policy-rules.md §5): an Interfant patient not weighed, and
a payer's fixed daily maximum met to the hundredth. Each case was a mutant of dosing/expected.py that the other
tests let live."""
from __future__ import annotations

from decimal import Decimal

import pytest

from cds_service.dosing.expected import above_ceiling, label_maximum


def test_an_interfant_patient_not_weighed_is_held_to_the_fixed_dose() -> None:
    """Interfant is dosed by BSA at any weight, but with no weight no BSA is bounded: the fixed dose caps it."""
    expected = label_maximum("interfant", None, 1, 1)
    assert (expected.mcg_per_day, expected.basis) == (Decimal(28), "fixed")


@pytest.mark.parametrize(("mcg_per_day", "above"), [
    ("28.0008", False),  # 1.1667 mcg/h: 28 mcg/day written to four decimals
    ("28.0049", False),
    ("28.005", True),  # 28.01 once rounded to hundredths
    ("28.3", True),
])
def test_a_dose_is_above_a_fixed_maximum_once_rounded_to_hundredths(mcg_per_day: str, above: bool) -> None:
    assert above_ceiling(Decimal(mcg_per_day), Decimal(28)) is above
