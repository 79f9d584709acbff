"""Infusion days past a cycle's 28th at their edges (dosing/cycle_end.py; docs/dosing.md, "Infusion days of a
cycle"): the line running past the day has a dose that could not be read. A mutant of dosing/cycle_end.py that the
other tests let live."""
from __future__ import annotations

from tests.test_dosing_cycle_end import card, checks_of
from tests.test_dosing_support import line, order, rate


def test_a_line_running_past_day_28_whose_dose_was_not_read_is_not_ended_in_one_click() -> None:
    """10 mL/h with no strength to read it by: ending its days alone would leave a dose no one has checked."""
    written = order(line(rate(9), "2026-12-01", "2026-12-07", sequence=1),
                    line(rate(10, "mL/h"), "2026-12-08", "2027-01-04", sequence=2))
    checks = checks_of(written)
    assert checks.ending == "the dose of line 2 could not be read"
    found = card(checks)
    assert found is not None and found["indicator"] == "warning" and "suggestions" not in found
