"""Review: course.continues, the one reading of the label's interruption (at most 7 days without infusion continue a
cycle, MAX_INTERRUPTION), which Cycle.takes and the signed orders' cycles share; the days card's cut
(cycle_end.cycle_stretches) agrees with it on both sides of the edge."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from cds_service.dosing.cycle_end import cycle_stretches
from cds_service.facts.course import MAX_INTERRUPTION, continues, days_off

LAST = date(2026, 1, 10)


@pytest.mark.parametrize(("first", "continued"), [(date(2026, 1, 11), True), (date(2026, 1, 18), True),
                                                  (date(2026, 1, 19), False)])
def test_up_to_7_days_without_infusion_continue_the_cycle(first: date, continued: bool) -> None:
    assert continues(LAST, first) is continued
    assert (days_off(LAST, first) <= MAX_INTERRUPTION.days) is continued


@pytest.mark.parametrize("restart", [18, 19])
def test_the_days_card_cuts_where_the_course_does(restart: int) -> None:
    """Days 1-10, then from `restart`: one cycle's stretch when course.continues says so, else two."""
    days = [*range(1, 11), *range(restart, restart + 5)]
    first = date(2026, 1, 1) + timedelta(days=restart - 1)
    assert (len(cycle_stretches(days, 0, 1)) == 1) is continues(LAST, first)
