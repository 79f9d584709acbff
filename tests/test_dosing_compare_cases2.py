"""Clinical cases for the day-by-day comparison with the label dose (Aspirus V comparison rules): the cases a
mutation test of cds_service/dosing/compare.py found unpinned."""
from __future__ import annotations

from decimal import Decimal

from cds_service.dosing.compare import ABOVE, BELOW, Patient, compare, stretches_of
from cds_service.dosing.reading import DoseLine
from tests.test_dosing_checks import checks
from tests.test_dosing_support import line, order, rate

RELAPSED_CYCLE_1 = Patient("relapsed-refractory", Decimal(70), None, 1)


def ranges(lines: list[DoseLine], patient: Patient = RELAPSED_CYCLE_1) -> list[tuple[str, int, int, int]]:
    return [(f.kind, f.line, f.first_day, f.last_day) for f in compare(lines, patient)]


def test_the_label_step_schedule_written_without_ends_is_within_the_label() -> None:
    """9 mcg/day from day 1, 28 mcg/day from day 8, neither stating an end: the step line stops where the full dose
    takes over, so no day is below the label (compare reads the lines' starts itself when given none)."""
    assert ranges([DoseLine(0, 1, None, Decimal(9)), DoseLine(1, 8, None, Decimal(28))]) == []


def test_a_step_line_without_an_end_stops_where_an_ended_full_dose_line_starts() -> None:
    """The step line written without an end, then the full-dose line on days 8-28: the step line stops on day 7, and
    so is not below the full dose on days 8-28."""
    assert ranges([DoseLine(0, 1, None, Decimal(9)), DoseLine(1, 8, 28, Decimal(28))]) == []


def test_a_step_dose_kept_all_cycle_is_below_the_label_after_day_7() -> None:
    """9 mcg/day on days 1-28 of relapsed/refractory cycle 1: right on days 1-7, below the 28 mcg/day of days 8-28."""
    assert ranges([DoseLine(0, 1, 28, Decimal(9))]) == [(BELOW, 0, 8, 28)]


def test_days_whose_label_dose_is_unknown_are_skipped() -> None:
    """No weight on record: the label dose of a patient who may be under 45 kg is not known, and nothing is said."""
    assert ranges([DoseLine(0, 1, 28, Decimal(40))], Patient("standard", None, None, 1)) == []


def test_a_dose_not_read_from_a_volume_names_no_volume() -> None:
    [finding] = compare([DoseLine(0, 1, 28, Decimal(40))], Patient("standard", Decimal(70), None, 1))
    assert (finding.kind, finding.volume) == (ABOVE, "")


def test_days_off_the_label_group_into_stretches_of_consecutive_days() -> None:
    assert stretches_of([1, 2, 3, 7, 8, 10]) == [range(1, 4), range(7, 9), range(10, 11)]
    assert stretches_of([]) == []


def test_a_dose_below_both_label_doses_is_two_findings_one_per_label_dose() -> None:
    """5 mcg/day on days 1-28 of relapsed/refractory cycle 1: below the 9 mcg/day of days 1-7 and the 28 of days
    8-28, each range named with its own label dose."""
    findings = compare([DoseLine(0, 1, 28, Decimal(5))], RELAPSED_CYCLE_1)
    assert [(f.kind, f.first_day, f.last_day, f.expected.mcg_per_day) for f in findings] == [
        (BELOW, 1, 7, 9), (BELOW, 8, 28, 28)]


def findings_of(*lines: dict) -> list[tuple[str, int, int, int, int, bool]]:
    _, found = checks(order(*lines)).findings("standard")
    return [(f.kind, f.line, f.first_day, f.last_day, int(f.ordered), f.together is not None) for f in found]


def test_a_line_overlapping_the_next_on_its_last_day_is_compared_alone_before_it() -> None:
    """9 mcg/day on days 1-14 and 28 mcg/day from day 14: the first line alone is below the label on days 1-13 only;
    day 14 is their 37 mcg/day sum, above it, named by the first line."""
    assert findings_of(line(rate(9), "2026-12-01", "2026-12-14", 1), line(rate(28), "2026-12-14", "2026-12-28", 2)) \
        == [(BELOW, 0, 1, 13, 9, False), (ABOVE, 0, 14, 14, 37, True)]


def test_a_line_interrupted_by_a_sum_is_two_findings_around_it() -> None:
    """40 mcg/day on days 1-28 with 10 more on days 10-12: above alone on days 1-9 and 13-28, not one range 1-28."""
    assert findings_of(line(rate(40), "2026-12-01", "2026-12-28", 1), line(rate(10), "2026-12-10", "2026-12-12", 2)) \
        == [(ABOVE, 0, 1, 9, 40, False), (ABOVE, 0, 10, 12, 50, True), (ABOVE, 0, 13, 28, 40, False)]


def test_a_sum_with_a_line_not_read_is_never_said_below_the_label() -> None:
    """9 mcg/day with a 10 mL/h line (no concentration) on the same days: 9 is only a lower bound of their sum."""
    assert findings_of(line(rate(9), "2026-12-01", "2026-12-28", 1),
                       line(rate(10, "mL/h"), "2026-12-01", "2026-12-28", 2)) == []
