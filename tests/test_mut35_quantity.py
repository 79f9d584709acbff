"""An order's own need at its edges (dosing/quantity.py; docs/dosing.md "Quantity of each order"; policy-rules.md §2,
Aspirus II: 28 vials a cycle). Mutants of quantity.py that the other tests let live."""
from __future__ import annotations

import pytest

from cds_service.dosing.checks import CycleLines
from tests.test_dosing_cards import ASPIRUS
from tests.test_dosing_support import facts, line, order, rate


@pytest.mark.parametrize(("vials", "above", "short"), [(28, False, False), (30, True, False), (22, False, True)])
def test_a_dose_above_the_label_is_no_reason_to_dispense_more(vials: int, above: bool, short: bool) -> None:
    """56 mcg/day on days 1-28, twice the label's 28, with no weight on file (no dose card to correct it first): its
    days are counted at the label's 28 mcg/day, 784 mcg (23 vials, 805 mcg) at least and a 35 mcg vial a day (28
    vials) at most. The overdose is the dose card's to correct: counted at 56 mcg/day, 28 vials had read as short of
    the dose and 30 as within what its days use."""
    written = order(line(rate(56), "2026-12-01", "2026-12-28"), quantity=vials)
    need = CycleLines([written], facts(weight=None)).needs(ASPIRUS).of[id(written)]
    assert (need.dose_mcg, need.fewest_mcg, need.most_mcg) == (784, 805, 980)
    assert (need.above, need.short) == (above, short)
