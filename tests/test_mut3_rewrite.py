"""A corrected line's texts (dosing/rewrite.py `_set_value`, dosing/instruction_text.py): the dose a text states per
m² in another unit restated from the dose per m² coded, and the unit the correction is said in as the line writes it.
Mutants of rewrite.py that the other tests let live."""
from __future__ import annotations

from typing import Any

from tests.test_dosing_rewrite_text import ADULT, CHILD, days_1_to_28, label_corrected
from tests.test_dosing_support import UCUM


def test_a_childs_hourly_rate_per_m2_is_restated_from_the_corrected_dose_per_m2() -> None:
    """25 kg, BSA 0.932: 20 mcg/m²/day corrected to the label's 15. The text's 0.833 mcg/m²/h is 20 mcg/m²/day to its
    digits: it becomes 0.625 mcg/m²/h (15 / 24), not a stale rate beside the new dose."""
    written = days_1_to_28({"rateQuantity": {"value": 20, "unit": "ug/m2/d", "system": UCUM, "code": "ug/m2/d"}},
                           "20 mcg/m2/day (0.833 mcg/m2/h) continuous IV infusion")
    assert label_corrected(written, CHILD) == ["15 mcg/m2/day (0.625 mcg/m2/h) continuous IV infusion"]


def _noted(quantity: dict[str, Any]) -> str:
    """The text of a 35 mcg/day line corrected to 28 that cannot be rewritten whole (35 again, not as a rate)."""
    [text] = label_corrected(days_1_to_28({"rateQuantity": quantity}, "35 mcg/day, 35 mcg per bag"), ADULT)
    return text


def test_the_correction_is_said_in_the_unit_the_line_prints() -> None:
    """The nurse reads the unit as the EHR prints it ("mcg/day"), not its UCUM code."""
    quantity = {"value": 35, "unit": "mcg/day", "system": UCUM, "code": "ug/d"}
    assert _noted(quantity) == "35 mcg/day, 35 mcg per bag (dose corrected to 28 mcg/day)"


def test_a_line_coded_without_a_printed_unit_is_said_in_its_code() -> None:
    assert _noted({"value": 35, "system": UCUM, "code": "ug/d"}) == (
        "35 mcg/day, 35 mcg per bag (dose corrected to 28 ug/d)")
