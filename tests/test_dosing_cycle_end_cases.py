"""Infusion days past a cycle's 28th at their edges (dosing/cycle_end.py; docs/dosing.md, "Infusion days of a
cycle"): a dose not read, a cycle continued on its 28th day, a second cycle in one order, lines on the boundary days.
Each case was a mutant of dosing/cycle_end.py that the other tests let live."""
from __future__ import annotations

from typing import Any

import pytest

from cds_service.dosing.cycle_end import CycleEnd
from tests.test_dosing_cycle_end import card, checks_of
from tests.test_dosing_support import facts, line, order, rate


def test_a_line_running_past_day_28_whose_dose_was_not_read_is_not_ended_in_one_click() -> None:
    """10 mL/h with no strength to read it by: ending its days alone would leave a dose no one has checked."""
    written = order(line(rate(9), "2026-12-01", "2026-12-07", sequence=1),
                    line(rate(10, "mL/h"), "2026-12-08", "2027-01-04", sequence=2))
    checks = checks_of(written)
    assert checks.ending == "the dose of line 2 could not be read"
    found = card(checks)
    assert found is not None and found["indicator"] == "warning" and "suggestions" not in found


def _past(*lines: dict[str, Any], days_before: int = 0) -> tuple[tuple[int, int, int] | None, str]:
    """The order's days past day 28 (first, last, the 28th infusion day) and its one-click end ("end" when one)."""
    checks = checks_of(order(*lines), facts(days_before=days_before))
    past, ending = checks.past, checks.ending
    return (past.first, past.last, past.day_28) if past else None, "end" if isinstance(ending, CycleEnd) else ending


def test_an_order_continuing_a_cycle_after_27_infusion_days_runs_past_its_first_day() -> None:
    assert _past(line(rate(28), "2026-12-01", "2026-12-03"), days_before=27)[0] == (29, 30, 28)


def test_a_cycle_of_an_orders_own_after_the_first_counts_its_28_days_from_its_start() -> None:
    """Cycle 1 on days 1-28, cycle 2 from day 43 for 30 days: its infusion days 29 and 30 are past its 28th."""
    assert _past(line(rate(28), "2026-12-01", "2026-12-28", sequence=1),
                 line(rate(28), "2027-01-12", "2027-02-10", sequence=2))[0] == (71, 72, 70)


def test_a_line_of_the_next_cycle_is_not_a_second_line_running_past_day_28() -> None:
    assert _past(line(rate(28), "2026-12-01", "2026-12-30", sequence=1),
                 line(rate(28), "2027-01-14", "2027-02-10", sequence=2)) == ((29, 30, 28), "end")


def test_a_one_day_line_on_the_last_day_past_day_28_is_a_line_starting_after_it() -> None:
    assert _past(line(rate(28), "2026-12-01", "2026-12-29", sequence=1),
                 line(rate(28), "2026-12-30", "2026-12-30", sequence=2))[1] == (
        "line 2 starts after it: removing lines is the prescriber's call")


@pytest.mark.parametrize("lines", [
    # Two lines together (14 + 14 mcg/day), only the second running past day 28: it alone is ended.
    (line(rate(14), "2026-12-01", "2026-12-28", sequence=1), line(rate(14), "2026-12-01", "2026-12-30", sequence=2)),
    # A line starting on day 28 itself runs past it, it does not start after it.
    (line(rate(28), "2026-12-01", "2026-12-27", sequence=1), line(rate(28), "2026-12-28", "2026-12-30", sequence=2)),
])
def test_the_one_line_running_past_day_28_is_ended_there(lines: tuple[dict[str, Any], ...]) -> None:
    assert _past(*lines) == ((29, 30, 28), "end")


def test_a_relapsed_refractory_cycle_6_in_the_order_of_cycle_5_owes_56_days_without_infusion() -> None:
    """Cycle 5 on days 1-28, cycle 6 from day 43 running 30 days: the rest after cycle 6 is the label's 56 days."""
    written = order(line(rate(28), "2026-12-01", "2026-12-28", sequence=1),
                    line(rate(28), "2027-01-12", "2027-02-10", sequence=2))
    past = checks_of(written, facts(cycle=5)).past
    assert past is not None and (past.first, past.rest) == (71, 56)
