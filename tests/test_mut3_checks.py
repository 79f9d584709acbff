"""The dose criterion's verdicts and notes at their edges (dosing/checks.py): a BSA without a weight, a line per m²
beside a line without a dose, four and five ranges above the label, four and five lines with an unread period, and
the quantity card of three orders two of which overlap, the plan limit's ask beside a line without a dose. Mutants of
dosing/checks.py that the other tests let live (the last one a bug, fixed)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from cds_service.dosing.cards import dose_card
from cds_service.dosing.quantity_card import quantity_card
from cds_service.dosing.checks import MISSING_BSA, MISSING_DOSE, MISSING_WEIGHT, CycleLines, OrderDoseChecks
from cds_service.verdict import MET, NOT_MET, UNKNOWN
from tests.test_dosing_cards import ASPIRUS, quantity_cards_for
from tests.test_dosing_checks import checks
from tests.test_dosing_period_unread import BEFORE, checks_of
from tests.test_dosing_support import START, facts, line, order, order_checks, rate

DAYS_1_28 = ("2026-12-01", "2026-12-28")


def test_an_adult_with_a_bsa_and_no_weight_is_asked_for_the_weight() -> None:
    """Standard schedule, BSA 1.9 m² charted, no current weight: whether the dose is fixed (from 45 kg) or per m²
    depends on the weight, so the label dose is not known; a dose above the fixed 28 is above it at any weight."""
    within = checks(order(line(rate(28), *DAYS_1_28)), weight=None, bsa="1.9").schedule("standard")
    assert (within.status, within.missing) == (UNKNOWN, MISSING_WEIGHT)
    above = checks(order(line(rate(40), *DAYS_1_28)), weight=None, bsa="1.9").schedule("standard")
    assert above.status == NOT_MET
    assert above.note == "40 mcg/day on days 1–28; label maximum at any weight 28 mcg/day"


def test_a_line_per_m2_beside_a_line_without_a_dose_asks_for_the_doses_not_a_bsa() -> None:
    """70 kg, no BSA: line 1 per m² would need only a BSA (from 45 kg the label dose is fixed), but line 2 states
    no dose at all: what to document is the doses."""
    written = order(line(rate(15, "ug/m2/d"), "2026-12-01", "2026-12-07", 1), line(None, "2026-12-08", "2026-12-28", 2))
    verdict = checks(written).schedule("standard")
    assert (verdict.status, verdict.missing) == (UNKNOWN, f"{MISSING_DOSE} (or mcg/m²/day)")
    assert verdict.note == ("dose not readable (line 1: dose per m² needs a BSA (or weight and height); line 2: no "
                            "dose or rate)")


def _one_day_lines(*doses: int) -> dict:
    """One line a day on days 1, 3, 5, ...: each dose above the label 28 its own range."""
    return order(*[line(rate(mcg), (START + timedelta(days=2 * n)).isoformat(),
                        (START + timedelta(days=2 * n)).isoformat(), n + 1) for n, mcg in enumerate(doses)])


def test_four_ranges_above_the_label_are_all_named() -> None:
    assert checks(_one_day_lines(30, 40, 50, 60)).schedule("standard").note == (
        "30 mcg/day on day 1 (label 28 mcg/day); 40 mcg/day on day 3 (label 28 mcg/day); 50 mcg/day on day 5 (label 28 "
        "mcg/day); 60 mcg/day on day 7 (label 28 mcg/day) (for weight 70 kg)")


def test_five_ranges_above_the_label_name_the_three_most_severe_and_two_more() -> None:
    assert checks(_one_day_lines(30, 40, 50, 35, 60)).schedule("standard").note == (
        "40 mcg/day on day 3 (label 28 mcg/day); 50 mcg/day on day 5 (label 28 mcg/day); 60 mcg/day on day 9 (label 28 "
        "mcg/day); and 2 more day ranges (for weight 70 kg)")


def _unread_periods(before_lines: int) -> str:
    """`before_lines` lines ending before they start, then one ending at the moment it starts."""
    lines = [line(rate(9), *BEFORE, sequence=n + 1) for n in range(before_lines)]
    lines.append(line(rate(28), "2026-12-08T10:00:00Z", "2026-12-08T10:00:00Z", sequence=before_lines + 1))
    return checks_of(*lines).schedule("standard").missing


def test_four_lines_with_an_unread_period_are_named_with_each_reason() -> None:
    assert _unread_periods(3) == ("a corrected infusion period for dosage lines 1, 2, 3, 4 (its end is before its "
                                  "start; it ends at the moment it starts)")


def test_past_four_lines_with_an_unread_period_three_are_named_and_the_reasons_of_the_first_four() -> None:
    """The fifth line's reason is not said: what to document does not grow with the order."""
    assert _unread_periods(4) == ("a corrected infusion period for dosage lines 1, 2, 3, 2 more (its end is before "
                                  "its start)")


def test_the_quantity_card_says_some_orders_overlap_though_one_order_of_the_cycle_does_not() -> None:
    """A 9 mcg/day step order beside a 28 mcg/day order on days 1-7, then a third order on days 22-28: the first two
    are not checked; the card says to correct the overlap first, and suggests no cut."""
    group = [order(line(rate(9), "2026-12-01", "2026-12-07", sequence=1), id="step", quantity=3),
             order(line(rate(28), "2026-12-01", "2026-12-21", sequence=1), id="full", quantity=21),
             order(line(rate(28), "2026-12-22", "2026-12-28", sequence=1), id="tail", quantity=7)]
    [card] = quantity_cards_for(group, facts())
    assert card["summary"].startswith("Quantity above plan limit: 31 vials (1085 mcg) in cycle 1")
    assert "Some of the cycle's orders run on the same days (see the dose card): correct or cancel the overlapping " \
        "order first." in " ".join(card["detail"].split())
    assert "suggestions" not in card


def test_the_plan_limit_asks_for_the_doses_when_a_line_beside_one_per_m2_states_none() -> None:
    """Florida Blue's 28 mcg/day: line 1 per m² without a BSA, line 2 without any dose. Asked for a BSA alone, the
    clinician documented it and the order was unknown again (line 2); the doses are what to document, as the label
    criterion asks. A line per m² alone still asks for the BSA."""
    both = checks(order(line(rate(15, "ug/m2/d"), "2026-12-01", "2026-12-07", 1),
                        line(None, "2026-12-08", "2026-12-28", 2))).ceiling(Decimal(28))
    assert (both.status, both.missing) == (UNKNOWN, MISSING_DOSE)
    per_m2 = checks(order(line(rate(15, "ug/m2/d"), "2026-12-01", "2026-12-07", 1),
                          line(rate(28), "2026-12-08", "2026-12-28", 2))).ceiling(Decimal(28))
    assert (per_m2.status, per_m2.missing) == (UNKNOWN, MISSING_BSA)


def _week_orders(*units: str) -> list[dict[str, Any]]:
    """An order per quantity unit, of one cycle, each 28 mcg/day for its own 4 days (no two on the same days)."""
    return [order(line(rate(28), (START + timedelta(days=4 * n)).isoformat(),
                       (START + timedelta(days=4 * n + 3)).isoformat()), id=f"o{n}", quantity=4, quantity_unit=unit)
            for n, unit in enumerate(units)]


def test_the_quantity_evidence_of_six_orders_names_four_and_the_order_answered() -> None:
    """The cycle's quantity adds up six orders: each answer names the first four, and its own order once."""
    group = _week_orders(*["{vial}"] * 6)
    first, last = (order_checks(o, group, facts()).quantity(ASPIRUS) for o in (group[0], group[5]))
    assert first.evidence == tuple(f"MedicationRequest/o{n}" for n in range(4))
    assert last.evidence == tuple(f"MedicationRequest/o{n}" for n in (0, 1, 2, 3, 5))


def _said(*units: str) -> list[str]:
    return [f"quantity unit {unit!r} not readable (MedicationRequest/o{n})" for n, unit in enumerate(units)]


@pytest.mark.parametrize(("units", "said"), [
    (("mL", "bag", "L", "dL"), "; ".join(_said("mL", "bag", "L", "dL"))),
    (("mL", "bag", "L", "dL", "cL"), "; ".join([*_said("mL", "bag", "L"), "2 more"])),
])
def test_unreadable_quantities_are_listed_up_to_four(units: tuple[str, ...], said: str) -> None:
    group = _week_orders(*units)
    verdict = order_checks(group[0], group, facts()).quantity(ASPIRUS)
    assert (verdict.status, verdict.note) == (UNKNOWN, said)


def test_a_dose_summed_with_five_other_orders_names_four_of_them_as_evidence() -> None:
    """20 mcg/day on days 1-28 with four other orders on days 1-7 and a fifth on days 8-28: each range names its own
    orders, and the criterion's evidence the first four of all five (a list that does not grow with the orders)."""
    group = [order(line(rate(20), "2026-12-01", "2026-12-28"), id="a"),
             *(order(line(rate(2), "2026-12-01", "2026-12-07"), id=id_) for id_ in "bcde"),
             order(line(rate(2), "2026-12-08", "2026-12-28"), id="f")]
    verdict = order_checks(group[0], group, facts()).schedule("standard")
    assert verdict.status == MET
    assert "22 mcg/day on days 8–28 (this order and the other blinatumomab order being signed together)" in verdict.note
    assert verdict.evidence == (*(f"MedicationRequest/{id_}" for id_ in "abcde"), "Observation/w")


def test_a_rate_per_hour_a_rounding_above_the_plan_limit_is_said_beside_a_step_line() -> None:
    """9 mcg/day on days 1-7, then 1.1667 mcg/h (28.0008 mcg/day): within Florida Blue's 28 once rounded, and the
    note says why a dose written above it meets it."""
    written = order(line(rate(9), "2026-12-01", "2026-12-07", 1), line(rate(1.1667, "ug/h"), "2026-12-08",
                                                                        "2026-12-28", 2))
    verdict = checks(written).ceiling(Decimal(28))
    assert verdict.status == MET
    assert verdict.note == ("9 mcg/day on days 1–7; 28.0008 mcg/day on days 8–28: at most 28 mcg/day (above it by "
                            "less than 0.005 mcg/day: a unit conversion's rounding)")


def test_a_reduced_dose_without_an_end_runs_until_the_next_order_of_the_cycle() -> None:
    """28 mcg/day on days 1-7 then 5 mcg/day stating no end, and a second order resuming 28 mcg/day on days 15-28:
    the reduced dose runs on days 8-14 only, and is below the label there, not on days 8-28."""
    reduced = order(line(rate(28), "2026-12-01", "2026-12-07", 1), line(rate(5), "2026-12-08", None, 2), id="a")
    resumed = order(line(rate(28), "2026-12-15", "2026-12-28"), id="b")
    checks_ = order_checks(reduced, [reduced, resumed], facts())
    card = dose_card(reduced, checks_.facts, "standard", True, "Aspirus Health Plan", checks_)
    assert card is not None
    assert card["summary"] == "Dose below label: 5 mcg/day on days 8–14 of cycle 1; label is 28 mcg/day"


def test_the_quantity_row_of_a_corrected_order_whose_days_past_28_are_not_ended_says_dose_corrected_only() -> None:
    """35 mcg/day on days 1-28 and a second line on days 29-35: the dose card corrects the dose; removing the second
    line is the prescriber's call, so the suggestion ends nothing, and the quantity card must not say it does."""
    facts_ = facts()
    written = order(line(rate(35), "2026-12-01", "2026-12-28", 1), line(rate(35), "2026-12-29", "2027-01-04", 2),
                    id="a", quantity=40)
    cycle = CycleLines([written], facts_)
    checks_ = OrderDoseChecks(written, [written], facts_, cycle)
    assert dose_card(written, facts_, "standard", True, "Aspirus Health Plan", checks_) is not None
    offered = checks_.offered()
    assert offered is not None and offered.ended is None
    cycle.offer(written, offered)
    card = quantity_card(written, facts_, ASPIRUS, "Aspirus Health Plan", cycle, frozenset([id(written)]), True)
    assert card is not None
    assert "| 40 vials | dose corrected: 980 mcg: 28 to 35 vials | more than its days use |" in card["detail"]
