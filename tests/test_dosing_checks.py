"""OrderDoseChecks: schedule, ceiling and quantity verdicts for the policy engine."""
from __future__ import annotations

import cProfile
import dataclasses
import inspect
import pstats
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from cds_service.dosing.api import QuantityLimit
from cds_service.dosing.checks import (MISSING_BSA, MISSING_BSA_UNWEIGHED, MISSING_CYCLE, MISSING_DAYS, MISSING_WEIGHT,
                                      CycleLines, OrderDoseChecks, schedule_for)
from cds_service.dosing.reading import DoseForm, DoseLine
from cds_service.facts.model import BodySize, Fact
from tests.test_dosing_support import (START, dose, facts, line, order, order_checks, rate, single_line_order,
                                      step_order)

ASPIRUS = QuantityLimit(vials=28, units=980, days=42, days_continued=84, continued_from_cycle=6)


def checks(order_: dict, **fact_args: object) -> OrderDoseChecks:
    return order_checks(order_, [order_], facts(**fact_args))  # type: ignore[arg-type]


def test_single_full_dose_line_in_relapsed_refractory_cycle_1_exceeds_the_step_dose() -> None:
    verdict = checks(single_line_order(rate(28))).schedule("relapsed-refractory")
    assert verdict.status == "not-met"
    assert verdict.note == "28 mcg/day on days 1–7; label 9 mcg/day (for weight 70 kg)"
    assert verdict.evidence == ("MedicationRequest/blin-1", "Observation/w")  # the weight it was read for


def test_the_schedule_verdict_names_every_range_above_the_label() -> None:
    """44 kg, BSA 1.475 m², the step-dose order: 9 against 7.375 mcg/day on days 1-7 and 28 against 22.125 on days
    8-28. The note named days 1-7 only; correcting them would leave days 8-28."""
    verdict = checks(step_order(), weight="44", bsa="1.475").schedule("relapsed-refractory")
    assert verdict.status == "not-met"
    assert verdict.note == ("9 mcg/day on days 1–7 (label 7.375 mcg/day); 28 mcg/day on days 8–28 (label 22.125 "
                            "mcg/day) (for weight 44 kg; BSA 1.475 m²)")
    without_weight = checks(order(line(rate(28), "2026-12-01", "2026-12-07", 1),
                                  line(rate(40), "2026-12-08", "2026-12-28", 2)), weight=None)
    assert without_weight.schedule("relapsed-refractory").note == (
        "28 mcg/day on days 1–7 (label maximum at any weight 9 mcg/day); 40 mcg/day on days 8–28 (label maximum at "
        "any weight 28 mcg/day)")


def test_past_four_ranges_the_note_names_the_three_most_severe() -> None:
    doses = (30, 40, 50, 35, 60, 31)  # one day each: days 1, 3, 5, 7, 9, 11
    lines = [line(rate(mcg), (START + timedelta(days=2 * n)).isoformat(), (START + timedelta(days=2 * n)).isoformat(),
                  n + 1) for n, mcg in enumerate(doses)]
    verdict = checks(order(*lines)).schedule("standard")
    assert verdict.note == ("40 mcg/day on day 3 (label 28 mcg/day); 50 mcg/day on day 5 (label 28 mcg/day); 60 "
                            "mcg/day on day 9 (label 28 mcg/day); and 3 more day ranges (for weight 70 kg)")


@pytest.mark.parametrize(("weight", "read_for", "evidence"), [
    ("44", "weight 44 kg; BSA 1.3 m²", ("Observation/w", "Observation/b")),  # below 45 kg: per m²
    ("45", "weight 45 kg", ("Observation/w",)),  # the BSA on record plays no part
])
def test_the_schedule_verdict_names_the_body_size_it_was_read_for(weight: str, read_for: str,
                                                                  evidence: tuple[str, ...]) -> None:
    """Which dosing applied (fixed at 45 kg and above, per m² below) is what a pharmacist checks first."""
    verdict = checks(single_line_order(rate(9)), weight=weight, bsa="1.3").schedule("standard")
    assert verdict.note.endswith(f"(for {read_for})")
    assert verdict.evidence == ("MedicationRequest/blin-1", *evidence)


def test_lines_that_cannot_be_placed_ask_for_their_days() -> None:
    unplaced = order(line(rate(9), sequence=1), line(rate(28), "2026-12-08", "2026-12-28", sequence=2))
    for verdict in (checks(unplaced).schedule("standard"), checks(unplaced).ceiling(Decimal(28))):
        assert verdict.status == "unknown" and verdict.missing == MISSING_DAYS


def test_a_weight_on_record_that_cannot_be_used_is_named_in_the_unknown_schedule() -> None:
    weight = Fact[Decimal](evidence=("Observation/w",), note="Weight 0.001 kg on 2026-11-20: not a plausible weight")
    implausible = dataclasses.replace(facts(), body=BodySize(weight_kg=weight))
    verdict = order_checks(step_order(), [step_order()], implausible).schedule("standard")
    assert verdict.status == "unknown" and verdict.evidence == ("MedicationRequest/blin-1", "Observation/w")
    assert verdict.note == ("label dose not known without a usable body size (weight 0.001 kg on 2026-11-20: not a "
                            "plausible weight)")


def test_step_dose_order_meets_the_schedule() -> None:
    met = checks(step_order()).schedule("relapsed-refractory")
    assert met.status == "met"
    assert met.note == ("9 mcg/day on days 1–7; 28 mcg/day on days 8–28: not above the label schedule"
                        " (for weight 70 kg)")  # checkable, with the weight it was read for
    assert checks(single_line_order(rate(28)), cycle=2).schedule("relapsed-refractory").status == "met"
    assert checks(single_line_order(rate(28))).schedule("standard").status == "met"


@pytest.mark.parametrize(("value", "status"), [("28.5", "met"), ("28.6", "not-met"), ("20", "met")])
def test_fixed_dose_tolerance(value: str, status: str) -> None:
    assert checks(single_line_order(rate(float(value)))).schedule("standard").status == status


@pytest.mark.parametrize(("weight", "value", "status"), [
    ("44.9", "15.3", "met"),  # 15 × 0.93 = 13.95; +10% = 15.345
    ("44.9", "15.4", "not-met"),
    ("45", "28", "met"),  # from 45 kg the fixed dose applies
    ("44.9", "28", "not-met"),
])
def test_bsa_dose_tolerance_and_45_kg_boundary(weight: str, value: str, status: str) -> None:
    verdict = checks(single_line_order(rate(float(value))), weight=weight, bsa="0.93").schedule("standard")
    assert verdict.status == status


def test_bsa_dose_never_above_the_cap() -> None:
    # 15 × 1.9 = 28.5 is capped at 28; 28.4 would be within 0.5 for a fixed dose, not for a capped BSA dose.
    assert checks(single_line_order(rate(28.4)), weight="44", bsa="1.9").schedule("standard").status == "not-met"
    assert checks(single_line_order(rate(28)), weight="44", bsa="1.9").schedule("standard").status == "met"


def test_missing_weight_or_bsa_is_unknown() -> None:
    no_weight = checks(single_line_order(rate(28)), weight=None).schedule("standard")
    assert (no_weight.status, no_weight.missing) == ("unknown", MISSING_WEIGHT)
    no_bsa = checks(single_line_order(rate(13)), weight="30").schedule("standard")
    assert (no_bsa.status, no_bsa.missing) == ("unknown", MISSING_BSA)
    at_most = checks(single_line_order(rate(28.5)), weight=None).schedule("standard")  # within the fixed tolerance
    assert at_most.status == "unknown"


@pytest.mark.parametrize("weight", [None, "30"])
def test_above_the_label_maximum_is_not_met_whatever_the_weight(weight: str | None) -> None:
    verdict = checks(single_line_order(rate(28.6)), weight=weight).schedule("standard")
    assert verdict.status == "not-met"
    step_days = checks(single_line_order(rate(28)), weight=weight).schedule("relapsed-refractory")
    assert step_days.status == "not-met" and step_days.note.startswith("28 mcg/day on days 1–7")


def test_without_a_weight_the_note_names_the_maximum_at_any_weight() -> None:
    verdict = checks(single_line_order(rate(28.6)), weight=None).schedule("standard")
    assert verdict.note == "28.6 mcg/day on days 1–28; label maximum at any weight 28 mcg/day"


@pytest.mark.parametrize(("weight", "value", "status"), [
    # 18 kg: even at 280 cm, BSA 1.183 m², so at most 15 × 1.183 = 17.745 mcg/day, +10% = 19.52
    ("18", "19.5", "unknown"),
    ("18", "19.6", "not-met"),
    ("18", "28", "not-met"),  # an adult's dose for an 18 kg child: above the label at any height
    # 44.9 kg: the BSA dose at 280 cm reaches the cap, which allows no rounding above it; from 45 kg 28.5 does.
    ("44.9", "28", "unknown"),
    ("44.9", "28.4", "not-met"),
    ("45", "28.4", "met"),
])
def test_below_45_kg_without_height_a_dose_above_the_label_at_any_height_is_not_met(weight: str, value: str,
                                                                                   status: str) -> None:
    verdict = checks(single_line_order(rate(float(value))), weight=weight).schedule("standard")
    assert verdict.status == status
    assert verdict.missing == (MISSING_BSA if status == "unknown" else "")


def test_the_note_above_the_label_at_any_height_names_it_and_the_weight() -> None:
    verdict = checks(single_line_order(rate(28)), weight="18").schedule("relapsed-refractory")
    assert verdict.note == ("28 mcg/day on days 1–7 (label maximum at any height 5.915 mcg/day); 28 mcg/day on days "
                            "8–28 (label maximum at any height 17.745 mcg/day) (for weight 18 kg)")
    assert verdict.evidence == ("MedicationRequest/blin-1", "Observation/w")  # the weight the maximum was read for


def test_unreadable_dose_is_unknown_with_the_reason() -> None:
    verdict = checks(single_line_order(rate(10, "mL/h"))).schedule("standard")
    assert verdict.status == "unknown"
    assert "without a concentration" in verdict.note and verdict.missing


def test_above_on_one_line_is_not_met_even_when_another_is_unreadable() -> None:
    mixed = order(line(rate(35), "2026-12-01", "2026-12-07"), line(rate(5, "mL/h"), "2026-12-08", "2026-12-28"))
    assert checks(mixed).schedule("standard").status == "not-met"


def test_ceiling_28() -> None:
    under = checks(single_line_order(rate(28))).ceiling(Decimal(28))
    assert under.status == "met" and under.note.endswith("28 mcg/day on days 1–28: at most 28 mcg/day")
    over = checks(single_line_order(rate(30))).ceiling(Decimal(28))
    assert over.status == "not-met" and over.note == "30 mcg/day on days 1–28: above 28 mcg/day"
    # 1.1667 mcg/h, 28 mcg/day written to four decimals, is 28.0008 mcg/day: above by a conversion's rounding only.
    rounded = checks(single_line_order(rate(1.1667, "ug/h"))).ceiling(Decimal(28))
    assert rounded.status == "met" and rounded.note == (
        "28.0008 mcg/day on days 1–28: at most 28 mcg/day (above it by less than 0.005 mcg/day: a unit conversion's "
        "rounding)")
    # 1.1669 mcg/h is 28.0056 mcg/day, 28.01 to the hundredth: shown so, not as "28 ... above 28".
    barely = checks(single_line_order(rate(1.1669, "ug/h"))).ceiling(Decimal(28))
    assert barely.status == "not-met" and barely.note == "28.01 mcg/day on days 1–28: above 28 mcg/day"
    # The ceiling needs no weight; only a dose per m² needs a BSA to be read.
    assert checks(single_line_order(rate(28)), weight=None).ceiling(Decimal(28)).status == "met"
    per_m2 = checks(single_line_order(rate(15, "ug/m2/d")), weight=None).ceiling(Decimal(28))
    assert (per_m2.status, per_m2.missing) == ("unknown", MISSING_BSA_UNWEIGHED)
    weighed = checks(single_line_order(rate(15, "ug/m2/d")), weight="30").ceiling(Decimal(28))
    assert (weighed.status, weighed.missing) == ("unknown", MISSING_BSA)
    assert checks(single_line_order(rate(15, "ug/m2/d")), bsa="2.0").ceiling(Decimal(28)).status == "not-met"


@pytest.mark.parametrize(("quantity", "unit", "status"), [
    (28, "{vial}", "met"), (29, "vial", "not-met"), (28, "VIAL", "met"),
    (980, "ug", "met"), (981, "mcg", "not-met"),
    (0.98, "mg", "met"), (1.05, "mg", "not-met"),
    (10, "mL", "unknown"), (10, "", "unknown"),
    (None, "", "met"),
])
def test_quantity_units(quantity: float | None, unit: str, status: str) -> None:
    verdict = checks(single_line_order(rate(28), quantity=quantity, quantity_unit=unit)).quantity(ASPIRUS)
    assert verdict.status == status


def test_the_quantity_of_many_orders_names_a_few() -> None:
    group = [order(line(rate(28), "2026-12-01", "2026-12-28"), id=f"o{i}", quantity=1, quantity_unit="mL")
             for i in range(10)]
    verdict = order_checks(group[7], group, facts()).quantity(ASPIRUS)
    assert verdict.status == "unknown"
    assert verdict.note == "; ".join([f"quantity unit 'mL' not readable (MedicationRequest/o{i})" for i in range(3)]
                                     + ["7 more"])
    assert verdict.evidence == tuple(f"MedicationRequest/o{i}" for i in (0, 1, 2, 3, 7))
    five = group[:5]
    assert order_checks(five[4], five, facts()).quantity(ASPIRUS).evidence == tuple(
        f"MedicationRequest/o{i}" for i in range(5))


def test_the_quantity_of_a_cycle_is_read_once_for_all_its_orders() -> None:
    group = [order(line(rate(28), "2026-12-01", "2026-12-28"), id=f"o{i}", quantity=1) for i in range(20)]
    cycle = CycleLines(group, facts())
    profile = cProfile.Profile()
    verdicts = profile.runcall(lambda: [OrderDoseChecks(o, group, facts(), cycle).quantity(ASPIRUS) for o in group])
    assert {v.note for v in verdicts} == {"20 vials (700 mcg), supply 42 days; limit 980 mcg per 42 days"}
    calls = {name: stat[1] for (_, _, name), stat in pstats.Stats(profile).stats.items()}  # type: ignore[attr-defined]
    assert calls["read_quantity"] == 20  # was 400: each order added every order's quantity


@pytest.mark.parametrize(("vials", "end", "why", "most", "beyond"), [
    (40, "2027-01-04", "its dose could not be read", 35, True),  # days 1-35: a bag a day at most, fewer than 40
    (35, "2027-01-04", "its dose could not be read", 35, False),
    (40, "2026-11-30", "its days could not be read", 0, False),  # an end before its start: its days are not known
])
def test_the_days_alone_bound_an_order_whose_dose_is_not_read(vials: int, end: str, why: str, most: int,
                                                                beyond: bool) -> None:
    """A rate in mL/h without a concentration: its need is not told, and it is never corrected, but its days still
    bound what it uses, a bag a day counted at most at the label's 28 mcg/day (one vial), as for a dose read."""
    written = order(line(rate(10, "mL/h"), "2026-12-01", end), quantity=vials)
    need = CycleLines([written], facts()).needs(ASPIRUS).of[id(written)]
    assert (need.undecided, need.most_mcg, need.beyond_days) == (why, most * 35, beyond)
    assert not need.above and not need.short


def test_quantity_adds_every_order_of_the_cycle() -> None:
    first = order(line(rate(9), "2026-12-01", "2026-12-07"), id="a", quantity=8)
    second = order(line(rate(28), "2026-12-08", "2026-12-28"), id="b", quantity=21)
    verdict = order_checks(first, [first, second], facts()).quantity(ASPIRUS)
    assert verdict.status == "not-met"
    assert set(verdict.evidence) == {"MedicationRequest/a", "MedicationRequest/b"}


@pytest.mark.parametrize(("cycle", "supply", "vials", "status"), [
    (1, 42, 28, "met"), (1, 84, 56, "met"), (1, 84, 57, "not-met"),
    (6, 84, 28, "met"), (6, 84, 29, "not-met"), (6, 168, 56, "met"),
    (3, 30, 28, "met"),  # a shorter supply keeps the whole cycle's limit
])
def test_quantity_window_by_cycle_and_supply(cycle: int, supply: int, vials: int, status: str) -> None:
    verdict = checks(single_line_order(rate(28), quantity=vials, supply_days=supply), cycle=cycle).quantity(ASPIRUS)
    assert verdict.status == status


@pytest.mark.parametrize(("cycle", "supply", "vials", "status", "note"), [
    # The order's own supply, not the continued cycle's 84-day window the limit is counted in.
    (6, 42, 28, "met", "28 vials (980 mcg), supply 42 days; limit 980 mcg per 84 days"),
    (1, 84, 57, "not-met", "57 vials (1995 mcg), supply 84 days; limit 980 mcg per 42 days (1960 mcg for 84 days)"),
    (6, None, 29, "not-met", "29 vials (1015 mcg), supply not stated; limit 980 mcg per 84 days"),
])
def test_quantity_note_gives_the_orders_supply_and_the_limits_window(cycle: int, supply: int | None, vials: int,
                                                                     status: str, note: str) -> None:
    verdict = checks(single_line_order(rate(28), quantity=vials, supply_days=supply), cycle=cycle).quantity(ASPIRUS)
    assert (verdict.status, verdict.note) == (status, note)


def test_dose_quantity_with_frequency_is_checked() -> None:
    twice_daily = order(line(dose(14), "2026-12-01", "2026-12-28", frequency=2, period=1, periodUnit="d"))
    assert checks(twice_daily).schedule("standard").status == "met"
    assert checks(twice_daily).schedule("relapsed-refractory").status == "not-met"


@pytest.mark.parametrize(("written", "status"), [
    (single_line_order(rate(28)), "unknown"),  # fine after cycle 1, above the step dose if this is cycle 1
    (step_order(), "met"),  # fits either way
    (single_line_order(rate(40)), "not-met"),  # above in any cycle
])
def test_an_unknown_cycle_decides_the_schedule_only_when_every_cycle_agrees(written: dict, status: str) -> None:
    verdict = order_checks(written, [written], facts(cycle=None)).schedule("relapsed-refractory")
    assert verdict.status == status
    if status == "unknown":
        assert verdict.missing == MISSING_CYCLE
        assert verdict.note == "28 mcg/day on days 1–7; label 9 mcg/day (for weight 70 kg) if this is cycle 1"


def test_lines_on_the_same_days_are_compared_as_their_sum() -> None:
    """28 + 20 mcg/day on days 1-28 is 48 mcg/day: above the label and Florida Blue's 28, though neither line is."""
    both = order(line(rate(28), "2026-12-01", "2026-12-28", 1), line(rate(20), "2026-12-01", "2026-12-28", 2))
    schedule = checks(both).schedule("standard")
    assert schedule.status == "not-met"
    assert schedule.note == "48 mcg/day on days 1–28 (lines 1 and 2 together); label 28 mcg/day (for weight 70 kg)"
    ceiling = checks(both).ceiling(Decimal(28))
    assert ceiling.status == "not-met"
    assert ceiling.note == "48 mcg/day on days 1–28 (lines 1 and 2 together): above 28 mcg/day"


def test_orders_of_one_cycle_on_the_same_days_are_compared_as_their_sum() -> None:
    first = order(line(rate(28), "2026-12-01", "2026-12-28"), id="a")
    second = order(line(rate(28), "2026-12-15", "2026-12-28"), id="b")
    verdict = order_checks(first, [first, second], facts()).schedule("standard")
    assert verdict.status == "not-met"
    assert verdict.note == ("56 mcg/day on days 15–28 (this order and the other blinatumomab order being signed "
                            "together); label 28 mcg/day (for weight 70 kg)")
    assert verdict.evidence == ("MedicationRequest/a", "MedicationRequest/b", "Observation/w")
    ceiling = order_checks(second, [first, second], facts()).ceiling(Decimal(28))
    assert ceiling.status == "not-met"
    assert ceiling.note == ("56 mcg/day on days 15–28 (this order and the other blinatumomab order being signed "
                            "together): above 28 mcg/day")


def test_a_sum_within_the_label_meets_it_and_the_note_shows_the_sum() -> None:
    halves = order(line(rate(14), "2026-12-01", "2026-12-28", 1), line(rate(14), "2026-12-01", "2026-12-28", 2))
    verdict = checks(halves).schedule("standard")
    assert verdict.status == "met"
    assert verdict.note.endswith("; 28 mcg/day on days 1–28 (lines 1 and 2 together): not above the label schedule"
                                 " (for weight 70 kg)")
    assert checks(halves).ceiling(Decimal(28)).status == "met"


@pytest.mark.parametrize("group", [
    [step_order()],  # bounded lines, one after the other
    # no ends: the later line takes over
    [order(line(rate(9), "2026-12-01", None, 1), line(rate(28), "2026-12-08", None, 2))],
    [order(line(rate(9), sequence=1, boundsDuration={"value": 7, "unit": "d", "code": "d"}),
           line(rate(28), sequence=2))],  # chained durations
    [order(line(rate(9), "2026-12-01", "2026-12-07"), id="a"),
     order(line(rate(28), "2026-12-08", "2026-12-28"), id="b")],  # consecutive orders
])
def test_sequential_lines_and_consecutive_orders_are_not_added(group: list[dict]) -> None:
    for checked in group:
        doses = order_checks(checked, group, facts())
        assert doses.together == ()
        assert doses.schedule("relapsed-refractory").status == "met"
        assert doses.evidence == (f"MedicationRequest/{checked['id']}",)


def test_another_orders_unreadable_line_on_the_same_days_leaves_the_sum_unknown() -> None:
    first = order(line(rate(28), "2026-12-01", "2026-12-28"), id="a")
    pump = order(line(rate(5, "mL/h"), "2026-12-01", "2026-12-28"), id="b")
    verdict = order_checks(first, [first, pump], facts()).schedule("standard")
    assert verdict.status == "unknown"
    assert verdict.note == ("dose not readable (order b line 1: volume (mL/h) without a concentration: the order "
                            "names no Medication with a strength)")
    # What is readable is already above: not met, whatever the other dose is.
    high = order(line(rate(20), "2026-12-01", "2026-12-28"), line(rate(10), "2026-12-01", "2026-12-28"), id="c")
    above = order_checks(high, [high, pump], facts()).schedule("standard")
    assert above.status == "not-met"
    assert above.note == ("30 mcg/day on days 1–28 (lines 1 and 2 of this order and the other blinatumomab order "
                          "being signed together, not counting a dose that could not be read); label 28 mcg/day (for "
                          "weight 70 kg)")


def test_the_usual_order_is_checked_without_sweeping_the_cycle() -> None:
    """One order whose lines follow each other (the label's step dose): one pass over its sorted days tells nothing
    is added, as before the cycle's days were swept (counted in calls: building the sweep cost this usual request 8%
    more instructions in its dose checks)."""
    profile = cProfile.Profile()
    profile.runcall(lambda: checks(step_order()).schedule("relapsed-refractory"))
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    assert {name for file, _, name in stats if file.endswith("together.py")} == {"shares_days", "_spans", "span_of",
                                                                                 "_any_overlap"}


def same_days(count: int, mcg: Any = 28, unit: str = "ug/d", prefix: str = "o") -> list[dict]:
    """`count` orders of one line each on days 1-28, ids o0, o1, ..."""
    return [order(line(rate(mcg, unit), "2026-12-01", "2026-12-28"), id=f"{prefix}{i}") for i in range(count)]


def test_three_orders_on_the_same_days_count_both_others_and_cite_them() -> None:
    group = same_days(3)
    verdict = order_checks(group[1], group, facts()).ceiling(Decimal(28))
    assert verdict.note == ("84 mcg/day on days 1–28 (this order and 2 other blinatumomab orders being signed, which "
                            "have the same dosage lines: likely duplicate orders): above 28 mcg/day")
    assert verdict.evidence == ("MedicationRequest/o1", "MedicationRequest/o0", "MedicationRequest/o2")


def test_many_orders_on_the_same_days_are_added_counted_and_a_few_cited() -> None:
    """The note counts the other orders (their ids are nothing a clinician sees); the evidence lists up to four:
    each of 200 orders' answers no longer names the 199 others."""
    five = same_days(5)
    assert order_checks(five[0], five, facts()).schedule("standard").note == (
        "140 mcg/day on days 1–28 (this order and 4 other blinatumomab orders being signed, which have the same "
        "dosage lines: likely duplicate orders); label 28 mcg/day (for weight 70 kg)")
    many = same_days(200, "0.5")
    for checked, named in ((many[0], ("o1", "o2", "o3", "o4")), (many[150], ("o0", "o1", "o2", "o3"))):
        verdict = order_checks(checked, many, facts()).schedule("standard")
        assert verdict.status == "not-met"
        assert verdict.note == ("100 mcg/day on days 1–28 (this order and 199 other blinatumomab orders being signed, "
                                "which have the same dosage lines: likely duplicate orders); label 28 mcg/day (for "
                                "weight 70 kg)")
        cited = (checked["id"], *named)
        assert verdict.evidence[:5] == tuple(f"MedicationRequest/{o}" for o in cited)
        assert len(verdict.evidence) == 6  # and the weight


def test_the_sums_of_many_orders_follow_the_days_each_runs() -> None:
    """100 orders of 0.25 mcg/day, a quarter starting on each of days 1, 8, 15 and 22: each order's days add the
    orders running by then."""
    group = [order(line(rate("0.25"), (START + timedelta(days=7 * (i % 4))).isoformat(), "2026-12-28"), id=f"o{i}")
             for i in range(100)]
    _, findings = order_checks(group[0], group, facts()).findings("standard")
    assert [(f.first_day, f.last_day, f.ordered, f.kind) for f in findings] == [
        (1, 7, Decimal("6.25"), "below"), (8, 14, Decimal("12.5"), "below"), (15, 21, Decimal("18.75"), "below"),
        (22, 28, Decimal("25"), "below")]
    # Days 1-7: the order runs only with the 24 starting with it, copies of it; later, with other orders too.
    assert [f.together.text for f in findings if f.together] == [
        "this order and 24 other blinatumomab orders being signed, which have the same dosage lines: likely duplicate "
        "orders", *(f"this order and {n} other blinatumomab orders being signed together" for n in (49, 74, 99))]
    assert [f.together.orders for f in findings if f.together] == [  # cited: the first others in the Bundle's order
        ("o4", "o8", "o12", "o16"), ("o1", "o4", "o5", "o8"), ("o1", "o2", "o4", "o5"), ("o1", "o2", "o3", "o4")]
    _, last = order_checks(group[3], group, facts()).findings("standard")
    assert [(f.first_day, f.last_day, f.ordered) for f in last] == [(22, 28, Decimal("25"))]


def test_many_lines_of_one_order_on_the_same_days_are_counted_past_four() -> None:
    four = order(*[line(rate(7), "2026-12-01", "2026-12-28", n) for n in range(1, 5)])
    assert checks(four).schedule("standard").note.endswith("(lines 1, 2, 3 and 4 together): not above the label "
                                                           "schedule (for weight 70 kg)")
    nine = order(*[line(rate(7), "2026-12-01", "2026-12-28", n) for n in range(1, 10)])
    assert checks(nine).schedule("standard").note == ("63 mcg/day on days 1–28 (lines 1, 2, 3 and 6 other lines "
                                                      "together); label 28 mcg/day (for weight 70 kg)")


def test_many_unreadable_orders_on_the_same_days_are_named_a_few() -> None:
    readable = order(line(rate(10), "2026-12-01", "2026-12-28"), id="a")
    pumps = same_days(4, 5, "mL/h", "pump")
    verdict = order_checks(readable, [readable, *pumps], facts()).schedule("standard")
    why = "volume (mL/h) without a concentration: the order names no Medication with a strength"
    assert verdict.note == "dose not readable (" + "; ".join(f"order pump{i} line 1: {why}" for i in range(4)) + ")"
    pumps = same_days(100, 5, "mL/h", "pump")
    verdict = order_checks(readable, [readable, *pumps], facts()).schedule("standard")
    assert verdict.status == "unknown"
    assert verdict.note == "dose not readable (" + "; ".join(f"order pump{i} line 1: {why}" for i in range(3)) + \
        "; and lines of other orders)"


@pytest.mark.parametrize(("weight", "maximum"), [
    (None, "label maximum at any weight 28 mcg/day"),
    ("30", "label maximum at any height 22.92 mcg/day (for weight 30 kg)"),  # 15 × 1.528 m², its BSA at 280 cm
])
def test_a_sum_above_the_label_maximum_is_not_met_without_the_body_size(weight: str | None, maximum: str) -> None:
    both = order(line(rate(28), "2026-12-01", "2026-12-28", 1), line(rate(20), "2026-12-01", "2026-12-28", 2))
    verdict = checks(both, weight=weight).schedule("standard")
    assert verdict.status == "not-met"
    assert verdict.note == f"48 mcg/day on days 1–28 (lines 1 and 2 together); {maximum}"


@pytest.mark.parametrize(("phase", "indication", "schedule"), [
    ("relapsed-refractory", "standard", "relapsed-refractory"),  # the step dose whatever the payer reports
    ("consolidation", "interfant", "interfant"),
    ("consolidation", None, "standard"),  # no indication (or no plan): the phase's
    ("maintenance", None, "standard"),
    (None, "standard", "standard"),
    (None, None, None),  # the ceiling only
])
def test_schedule_for_takes_the_indications_schedule_else_the_phases(phase: str | None, indication: str | None,
                                                                      schedule: str | None) -> None:
    assert schedule_for(facts(phase=phase), indication) == schedule


@pytest.mark.parametrize("cls", [DoseForm, DoseLine])
def test_dosing_values_init_is_the_dataclass_fields(cls: type) -> None:
    """These frozen dataclasses write their own __init__ (without object.__setattr__ per field, as facts/model.Fact):
    its parameters are the fields, in order, with their defaults, so construction, equality and dataclasses.replace
    behave as the generated one would, and each stays frozen."""
    fields = dataclasses.fields(cls)
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [p.name for p in parameters] == [f.name for f in fields]
    assert [p.default for p in parameters] == [
        inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default for f in fields]
    value = cls(*(f"{f.name}" for f in fields))
    assert vars(value) == {f.name: f.name for f in fields}
    assert dataclasses.replace(value) == value and dataclasses.replace(value, **{fields[0].name: 0}) != value
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, fields[0].name, 0)


@pytest.mark.parametrize(("weight", "note"), [
    ("45", "dose not readable (line 1: dose per m² needs a BSA (or weight and height)); from 45 kg the label dose "
           "is a fixed dose in mcg/day"),
    ("44.9", "label dose not known without a BSA"),
])
def test_a_dose_per_m2_without_a_bsa_asks_for_a_height_not_the_dose(weight: str, note: str) -> None:
    """The dose is written (per m²): what is missing is a BSA, from 45 kg as below it; "document each dosage line's
    dose written in mcg/day" read as if none were."""
    verdict = checks(single_line_order(rate(15, "ug/m2/d")), weight=weight, cycle=2).schedule("standard")
    assert (verdict.status, verdict.note, verdict.missing) == ("unknown", note, "height or BSA (within 30 days)")


def test_a_bsa_on_record_without_a_weight_is_asked_for_the_weight_by_name() -> None:
    """The label dose needs the weight (fixed from 45 kg, per m² below): beside a charted BSA the note had said
    "without body size", as if none were charted."""
    verdict = checks(single_line_order(rate(9)), weight=None, bsa="1.8").schedule("relapsed-refractory")
    assert (verdict.status, verdict.note, verdict.missing) == (
        "unknown", "label dose not known without a weight", MISSING_WEIGHT)


def test_a_bsa_unused_because_of_that_weight_is_said_once_and_one_of_its_own_beside_it() -> None:
    """checks.unused_sizes: a BSA left unused for the weight it was checked against adds nothing the weight's note
    does not say; a BSA unused on its own record (too old, say) is named too."""
    weight = Fact[Decimal](evidence=("Observation/w",), note="Weight 0.001 kg on 2026-11-20: not a plausible weight")
    through_weight = Fact[Decimal](evidence=("Observation/w",), note="BSA not derived from an implausible weight")
    own = Fact[Decimal](evidence=("Observation/b",), note="BSA 0.9 m² on 2026-10-01 is older than 30 days")
    for bsa, said in ((through_weight, ""), (own, "; BSA 0.9 m² on 2026-10-01 is older than 30 days")):
        unsized = dataclasses.replace(facts(), body=BodySize(weight_kg=weight, bsa_m2=bsa))
        verdict = order_checks(step_order(), [step_order()], unsized).schedule("standard")
        assert verdict.status == "unknown"
        assert verdict.note == ("label dose not known without a usable body size (weight 0.001 kg on 2026-11-20: not "
                                f"a plausible weight{said})")
