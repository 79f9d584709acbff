"""An MRD result in a unit other than a percent is shown as recorded and as the percent the criteria compare
(Florida Blue Position 1.b.i, Aspirus III: thresholds in percent): "MRD 50 per million" had left the clinician to
work out whether it was below 0.1 %."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.test_facts_labs import labs, mrd, qty


@pytest.mark.parametrize(("value", "unit", "comparator", "shown"), [
    (50, "/10*6", None, "MRD 50 per million = 0.005%"),
    (1000, "/10*6", None, "MRD 1000 per million = 0.1%"),
    (10, "/10*6", "<", "MRD <10 per million = <0.001%"),
    (3, "/10*4", None, "MRD 3 /10*4 = 0.03%"),
    (Decimal("0.0010"), "1", None, "MRD 0.0010 = 0.1%"),
    (Decimal("0.05"), "%", None, "MRD 0.05%"),
    (Decimal("0.05"), "percent", None, "MRD 0.05%"),
])
def test_an_mrd_is_shown_as_recorded_and_in_percent(value: object, unit: str, comparator: str | None,
                                                     shown: str) -> None:
    note = labs(mrd("m1", "2026-09-20", **qty(value, unit, comparator))).mrd_detectable.note
    assert note == f"{shown} (2026-09-20)"


@pytest.mark.parametrize(("value", "unit", "shown"), [
    (Decimal("0.05" + "0" * 300 + "1"), "%", "MRD 0.0500000000000…%"),
    (Decimal("1E-7"), "1", "MRD 1 × 10⁻⁷ = 0.00001%"),
    (Decimal("123.456789012345678"), "/10*6", "MRD 123.456789012… per million = 0.0123456789012…%"),
])
def test_an_mrd_with_an_exponent_or_a_line_of_digits_is_shown_bounded(value: Decimal, unit: str, shown: str) -> None:
    note = labs(mrd("m1", "2026-09-20", **qty(value, unit))).mrd_detectable.note
    assert note == f"{shown} (2026-09-20)"
