"""Volume rates at their edges (dosing/units.py): a volume unit misspelled, and a unit that is no volume at all.
Each case was a mutant of dosing/units.py that the other tests let live."""
from __future__ import annotations

from cds_service.dosing.reading import read_order_doses
from cds_service.dosing.units import read_concentration, volume_dose_unit
from tests.test_dosing_concentration import bag, strength
from tests.test_dosing_support import START, line, order, rate


def test_a_volume_rate_in_a_misspelled_unit_is_not_read() -> None:
    written = order(line(rate(10, "mL/hh"), "2026-12-01", "2026-12-28"))
    [found] = read_order_doses(written, None, START, medication=bag(strength(28, "ug")))
    assert found.mcg_per_day is None and "unknown unit 'mL/hh'" in found.unreadable


def test_a_mass_rate_is_no_volume_to_read_through_a_bags_strength() -> None:
    concentration = read_concentration(strength(28, "ug"))
    assert volume_dose_unit("ug/h", concentration) == "unknown unit 'ug/h'"
