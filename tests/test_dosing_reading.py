"""Reading the daily dose and cycle days of each dosage line (fhir-data-profile.md §The order)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from cds_service.dosing.reading import NO_DAYS, NO_START, DoseLine, read_order_doses
from cds_service.dosing import units
from cds_service.dosing.units import parse_dose_unit
from cds_service.facts import quantities
from tests.test_dosing_support import START, dose, line, order, rate, rate_text, ratio

BSA = Decimal("0.93")


def one(dose_and_rate: dict | None, bsa: Decimal | None = BSA, **repeat: object) -> DoseLine:
    (result,) = read_order_doses(order(line(dose_and_rate, **repeat)), bsa, START)
    return result


@pytest.mark.parametrize(("value", "unit", "expected"), [
    (28, "ug/d", "28"),
    (28, "mcg/d", "28"),
    (9, "ug/(24.h)", "9"),
    (1.1666, "ug/h", "27.9984"),  # × 24, exactly
    (0.028, "mg/d", "28.000"),
    (0.5, "ug/min", "720"),
])
def test_rate_quantity_units(value: float, unit: str, expected: str) -> None:
    assert one(rate(value, unit)).mcg_per_day == Decimal(expected)


@pytest.mark.parametrize(("unit", "expected"), [("mcg/day", "28"), ("mcg/hr", "672"), ("µg/24 h", "28"),
                                                ("MCG/DAY", "28"), ("mcg/24hr", "28")])
def test_rate_units_as_printed_strings(unit: str, expected: str) -> None:
    assert one(rate_text(28, unit)).mcg_per_day == Decimal(expected)


def test_rate_ratio_mass_per_time() -> None:
    assert one(ratio(56, "ug", 2, "d")).mcg_per_day == Decimal(28)
    assert one(ratio(7, "ug", 6, "h")).mcg_per_day == Decimal(28)
    assert one(ratio(0.028, "mg", 1, "d")).mcg_per_day == Decimal("28.000")


def test_rate_ratio_without_time_denominator_is_unreadable() -> None:
    result = one(ratio(28, "ug", 1, "mL"))
    assert result.mcg_per_day is None and "denominator" in result.unreadable


def test_dose_times_frequency_per_period() -> None:
    assert one(dose(14), frequency=2, period=1, periodUnit="d").mcg_per_day == Decimal(28)
    assert one(dose(28), frequency=1, period=24, periodUnit="h").mcg_per_day == Decimal(28)
    assert one(dose(196), frequency=1, period=1, periodUnit="wk").mcg_per_day == Decimal(28)


def test_dose_in_mg_is_converted_exactly() -> None:
    assert one(dose(0.028, "mg"), frequency=1, period=1, periodUnit="d").mcg_per_day == Decimal("28.000")


def test_bag_dose_is_divided_over_its_duration() -> None:
    result = one(dose(56), duration=48, durationUnit="h", frequency=1, period=48, periodUnit="h")
    assert result.mcg_per_day == Decimal(28)
    # A bag outlasting the stated period is still a continuous infusion over its own duration.
    assert one(dose(84), duration=72, durationUnit="h", frequency=1, period=1, periodUnit="d").mcg_per_day == 28
    # A short infusion repeated daily is a dose per day, not a rate over its duration.
    assert one(dose(28), duration=1, durationUnit="h", frequency=1, period=1, periodUnit="d").mcg_per_day == 28


@pytest.mark.parametrize("dose_and_rate", [rate(15, "ug/m2/d"), rate(15, "ug/(m2.d)"), rate_text(15, "mcg/m²/day"),
                                           ratio(15, "ug/m2", 1, "d")])
def test_per_m2_rates_times_bsa(dose_and_rate: dict) -> None:
    result = one(dose_and_rate)
    assert result.mcg_per_day == Decimal("13.95")
    assert result.basis == "bsa"


def test_per_m2_dose_with_frequency() -> None:
    assert one(dose(15, "ug/m2"), frequency=1, period=1, periodUnit="d").mcg_per_day == Decimal("13.95")


def test_per_m2_without_bsa_is_unreadable() -> None:
    result = one(rate(15, "ug/m2/d"), bsa=None)
    assert result.mcg_per_day is None and "needs a BSA" in result.unreadable


@pytest.mark.parametrize(("dose_and_rate", "repeat", "reason"), [
    (rate(10, "mL/h"), {}, "without a concentration"),
    (dose(28), {}, "without timing"),
    (rate(28, "U/d"), {}, "unknown unit"),
    (rate(28, "ug"), {}, "without a time unit"),
    (None, {}, "no dose"),
    ({"rateQuantity": {"unit": "ug/d"}}, {}, "no dose value"),
])
def test_unreadable_doses(dose_and_rate: dict | None, repeat: dict, reason: str) -> None:
    result = one(dose_and_rate, **repeat)
    assert result.mcg_per_day is None
    assert reason in result.unreadable


def test_readable_rate_preferred_over_unreadable_volume_rate() -> None:
    both = {"rateQuantity": {"value": 10, "unit": "mL/h"}}
    dosage = line(dose(28), frequency=1, period=1, periodUnit="d")
    dosage["doseAndRate"].append(both)
    (result,) = read_order_doses(order(dosage), None, START)
    assert result.mcg_per_day == 28 and result.form is not None and result.form.field == "doseQuantity"


def test_cycle_days_from_bounds_period() -> None:
    written = order(line(rate(9), "2026-12-01", "2026-12-07"), line(rate(28), "2026-12-08", "2026-12-28"))
    lines = read_order_doses(written, None, START)
    assert [(x.first_day, x.last_day) for x in lines] == [(1, 7), (8, 28)]


def test_period_ending_at_midnight_ends_the_day_before() -> None:
    (result,) = read_order_doses(order(line(rate(9), "2026-12-01T08:00:00Z", "2026-12-08T00:00:00Z")), None, START)
    assert (result.first_day, result.last_day) == (1, 7)


def test_sequence_and_bounds_duration_chain_the_days() -> None:
    written = order(line(rate(28), sequence=2), line(rate(9), sequence=1, boundsDuration={"value": 7, "code": "d"}))
    lines = read_order_doses(written, None, START)
    assert [(x.index, x.first_day, x.last_day) for x in lines] == [(0, 8, None), (1, 1, 7)]
    assert list(lines[0].days()) == list(range(8, 29))  # an open line runs to the cycle's 28th infusion day


@pytest.mark.parametrize("written", [
    order(line(rate(9), sequence=1), line(rate(28), "2026-12-08", "2026-12-28", sequence=2)),
    order(line(rate(9)), line(rate(28), "2026-12-08", "2026-12-28")),  # unnumbered: in their written order
    order(line(rate(9), sequence=1), line(rate(28), sequence=2)),
])
def test_a_line_stating_no_days_that_another_follows_leaves_the_order_unplaced(written: dict) -> None:
    """Where the first line ends and where the cycle starts are not guessed: read as running to day 28 it had added
    up with the second (37 mcg/day), and without it the second line's start became day 1."""
    lines = read_order_doses(written, None, START)
    assert all(x.mcg_per_day is None for x in lines)
    assert lines[0].unreadable == NO_DAYS and lines[1].unreadable == "placed by line 1, which states no days"


@pytest.mark.parametrize("written", [
    order(line(rate(9), None, "2026-12-07", sequence=1), line(rate(28), "2026-12-08", "2026-12-28", sequence=2)),
    order(line(rate(9), None, "2026-12-07"), line(rate(28), "2026-12-08", "2026-12-28")),
    order(line(rate(9), None, "2026-12-10"), line(rate(28), "2026-12-08", "2026-12-28")),
    order(line(rate(9), "2026-12-01", "2026-12-10"), line(rate(28), None, "2026-12-07")),
])
def test_a_line_stating_an_end_and_no_start_the_line_before_gives_leaves_the_order_unplaced(written: dict) -> None:
    """A step dose's first line without its start: day 1 is not the second line's start (read so, 28 mcg/day fell on
    days 1-7, a denial); nor a line ending before the line before it."""
    lines = read_order_doses(written, None)
    assert all(x.mcg_per_day is None and not x.placed for x in lines)
    unplacing = next(x for x in lines if x.unreadable == NO_START)
    assert all(x.unreadable == f"placed by line {unplacing.index + 1}, which states no start"
               for x in lines if x is not unplacing)


def test_a_single_line_stating_an_end_and_no_start_is_unplaced() -> None:
    """Its first day is not the order's authoredOn or validityPeriod start: read from one, it ran past day 28."""
    written = {**order(line(rate(28), None, "2026-12-28")), "authoredOn": "2026-11-21"}
    assert [x.unreadable for x in read_order_doses(written, None)] == [NO_START]


def test_a_line_without_a_start_continuing_the_line_before_is_read() -> None:
    lines = read_order_doses(order(line(rate(9), "2026-12-01", "2026-12-07"), line(rate(28), None, "2026-12-28")), None)
    assert [(x.mcg_per_day, x.first_day, x.last_day) for x in lines] == [(9, 1, 7), (28, 8, 28)]


def test_lines_stating_no_days_given_together_or_last_are_read() -> None:
    together = read_order_doses(order(line(rate(9), sequence=1), line(rate(19), sequence=1)), None, START)
    assert [(x.mcg_per_day, x.first_day, x.through) for x in together] == [(9, 1, 28), (19, 1, 28)]
    last = read_order_doses(order(line(rate(9), "2026-12-01", "2026-12-07"), line(rate(28))), None, START)
    assert [(x.mcg_per_day, x.first_day, x.through) for x in last] == [(9, 1, 7), (28, 8, 28)]


def test_bounds_duration_in_weeks_and_hours() -> None:
    assert one(rate(9), boundsDuration={"value": 1, "code": "wk"}).last_day == 7
    assert one(rate(9), boundsDuration={"value": 168, "code": "h"}).last_day == 7


def test_days_relative_to_the_cycle_start_and_days_already_given() -> None:
    later = order(line(rate(28), "2026-12-08", "2026-12-28"))
    (result,) = read_order_doses(later, None, START)
    assert (result.first_day, result.last_day) == (8, 28)
    (continued,) = read_order_doses(later, None, later_start := START.replace(day=8), days_before=5)
    assert later_start.day == 8 and (continued.first_day, continued.last_day) == (6, 26)


def test_order_without_bounds_starts_on_its_validity_start() -> None:
    unbounded = order(line(rate(28)), dispenseRequest={"validityPeriod": {"start": "2026-12-03"}})
    (result,) = read_order_doses(unbounded, None, START)
    assert result.first_day == 3


def test_unit_grammar_rejects_two_time_units() -> None:
    assert isinstance(parse_dose_unit("ug/d/h"), str)
    unit = parse_dose_unit("mcg/m2/day")
    assert not isinstance(unit, str) and unit.per_m2 and unit.time is not None and unit.time.days == 1


def test_a_huge_unit_string_is_neither_kept_in_the_cache_nor_quoted_whole() -> None:
    def cached() -> tuple[int, int]:
        return units._parse_cached.cache_info().currsize, quantities._normalize_cached.cache_info().currsize

    cached_before = cached()
    reading = parse_dose_unit("mcg/" + "x" * 100_000)
    assert isinstance(reading, str) and reading.startswith("unknown unit") and len(reading) < 100
    assert cached() == cached_before
    hits = units._parse_cached.cache_info().hits
    short = parse_dose_unit("mcg/d")
    assert isinstance(short, units.DoseUnit) and short.time is not None
    assert (short.mcg, short.per_m2, short.time.days) == (1, False, 1)
    assert parse_dose_unit("mcg/d") is short  # short ones are cached: read once, then found
    assert units._parse_cached.cache_info().hits > hits


@pytest.mark.parametrize(("repeat", "reason"), [
    ({"boundsPeriod": {"start": "2026-12-01", "end": "2027-12-31"}}, "it runs 396 days, longer than a cycle (at most 84)"),
    ({"boundsDuration": {"value": 1000000, "unit": "wk", "code": "wk"}}, "it runs 7000000 days, longer than a cycle"),
    ({"boundsPeriod": {"start": "2026-12-10", "end": "2026-12-01"}}, "its end is before its start"),
    # Timed, an hour before its start on the same date: read as that date, it had been day 1.
    ({"boundsPeriod": {"start": "2026-12-01T10:00:00Z", "end": "2026-12-01T09:00:00Z"}}, "its end is before its start"),
    ({"boundsPeriod": {"start": "2026-12-01T10:00:00Z", "end": "2026-11-28T09:00:00Z"}}, "its end is before its start"),
    ({"boundsPeriod": {"start": "2026-12-01T10:00:00Z", "end": "2026-12-01T10:00:00Z"}},
     "it ends at the moment it starts"),
    ({"boundsPeriod": {"start": "2026-12-01T10:00:00+01:00", "end": "2026-12-01T09:00:00Z"}},
     "it ends at the moment it starts"),  # the same moment in two zones
])
def test_a_line_that_cannot_be_one_cycle_is_not_read(repeat: dict, reason: str) -> None:
    """Compared day by day, a line to 9999 held a worker for seconds; and a line ending before it starts covers no
    day, so it passed every dose check."""
    found = one(rate(28), **repeat)
    assert found.mcg_per_day is None and found.unreadable.startswith(reason)


@pytest.mark.parametrize(("start", "end"), [
    ("2026-12-01", "2026-12-01"),  # a date end is inclusive: its start day
    ("2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z"),  # an hour's infusion
    ("2026-12-01T10:00:00Z", "2026-12-01T10:00:00.001Z"),
])
def test_a_period_ending_on_its_start_day_after_it_starts_is_that_day(start: str, end: str) -> None:
    found = one(rate(28), boundsPeriod={"start": start, "end": end})
    assert (found.first_day, found.last_day, found.mcg_per_day) == (1, 1, Decimal(28))


def test_a_line_of_a_whole_84_day_cycle_is_read() -> None:
    found = one(rate(28), boundsPeriod={"start": "2026-12-01", "end": "2027-02-22"})
    assert (found.first_day, found.last_day, found.mcg_per_day) == (1, 84, Decimal(28))


@pytest.mark.parametrize("value", ["1e999999999", "-1e999999999", 1e300])
def test_an_absurd_dose_is_unreadable_not_a_failed_evaluation(value: object) -> None:
    # codes.to_decimal: abs() of a value beyond the context's exponent range raised Overflow
    found = one(rate(value))
    # Named as implausible and bounded (test_cards2_absurd_numbers.py), not "no dose value": one was sent.
    assert found.mcg_per_day is None and found.unreadable.startswith("an implausible dose value (")


@pytest.mark.parametrize(("end", "days", "placed"), [("2027-02-22", 84, True), ("2027-02-23", 85, False)])
def test_a_line_of_84_days_is_placed_and_one_of_85_is_not(end: str, days: int, placed: bool) -> None:
    """DoseLine.placed: a line longer than LONGEST_LINE_DAYS (84) is never walked day by day; one of 84 is."""
    found = one(rate(28), boundsPeriod={"start": "2026-12-01", "end": end})
    assert (found.first_day, found.last_day, found.placed) == (1, days, placed)
    assert (found.mcg_per_day is None) is not placed


def test_a_dose_per_period_without_a_frequency_is_given_once_per_period() -> None:
    """FHIR Timing: an absent repeat.frequency is once per period."""
    found = one(dose(28), period=1, periodUnit="d")
    assert (found.mcg_per_day, found.unreadable) == (Decimal(28), "")
