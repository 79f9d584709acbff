"""A corrected line's texts and bounds (dosing/rewrite.py `_set_value`, `end_line`, dosing/instruction_text.py): the
dose a text states per m² in another unit restated from the dose per m² coded, the unit the correction is said in as
the line writes it, an ended line's start and cycle days, a plan maximum in hundredths, an open line corrected whole,
the label's rounding at its edge under a plan maximum, a split's cycle days. Mutants of rewrite.py that the other tests
let live."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from cds_service.dosing.plan_limit_card import ceiling_card
from cds_service.facts.model import ClinicalFacts
from tests.test_dosing_cards import PLAN_NOTE, _florida_blue_dose_card, card_for
from tests.test_dosing_cycle_end import card, checks_of
from tests.test_dosing_rewrite_text import ADULT, CHILD, corrected_texts, days_1_to_28, label_corrected
from tests.test_dosing_support import UCUM, apply_suggestion, facts, first_value, line, order, order_checks, rate


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


def _ended(written: dict[str, Any], facts_: ClinicalFacts) -> dict[str, Any]:
    """The line as the days card's one-click end on the 28th infusion day leaves it."""
    found = card(checks_of(written, facts_), "standard")
    assert found is not None and found["summary"].startswith("Infusion past day 28 of cycle 1")
    line_: dict[str, Any] = apply_suggestion(found)["dosageInstruction"][0]
    return line_


def test_a_timed_line_ended_on_day_28_keeps_its_start_as_written() -> None:
    """The bag hung at 10:00 UTC, written with "Z": its start is the prescriber's, left exactly as written; only the
    end is set (the morning after day 28: a timed period ends when the next would start)."""
    written = order(line(rate(28), "2026-12-01T10:00:00Z", "2027-01-05T10:00:00Z"))
    assert _ended(written, ADULT)["timing"]["repeat"]["boundsPeriod"] == {
        "start": "2026-12-01T10:00:00Z", "end": "2026-12-29T10:00:00+00:00"}


def test_an_order_continuing_its_cycle_after_one_day_is_ended_in_cycle_days() -> None:
    """One infusion day given before this order: its "days 2-36" are cycle days, and the ended text says so."""
    written = order(line(rate(28), "2026-12-02", "2027-01-05") | {"text": "28 mcg/day days 2-36"})
    ended = _ended(written, facts(start=date(2026, 12, 2), days_before=1))
    assert ended["text"] == "28 mcg/day cycle days 2–28"
    assert ended["timing"]["repeat"]["boundsPeriod"] == {"start": "2026-12-02", "end": "2026-12-28"}


def test_a_plan_maximum_in_hundredths_is_written_as_the_policy_states_it() -> None:
    """An operator's policy file may state 27.75 mcg/day: a line in mcg/day is set to 27.75, not cut to a tenth (a
    tenth is the BSA-computed label dose's precision, not a fixed maximum's)."""
    written = order(line(rate(28), "2026-12-01", "2026-12-28") | {"text": "28 mcg/day continuous IV infusion"})
    found = ceiling_card(written, ADULT, Decimal("27.75"), "Plan", order_checks(written, [written], ADULT), "standard")
    assert found is not None
    corrected = apply_suggestion(found)
    assert first_value(corrected) == 27.75
    assert corrected["dosageInstruction"][0]["text"] == "27.75 mcg/day continuous IV infusion"


def test_a_line_stating_no_end_corrected_whole_stays_open() -> None:
    """35 mcg/day from day 1, no end (standard schedule): corrected to 28 on every day it runs, in one line that still
    states no end (the correction writes no end the prescriber did not)."""
    written = order(line(rate(35), "2026-12-01", None) | {"text": "35 mcg/day continuous IV infusion"})
    found = card_for(written, ADULT)
    assert found is not None
    assert found["summary"] == "Dose above label: 35 mcg/day on days 1–28 of cycle 1; label is 28 mcg/day"
    [corrected] = apply_suggestion(found)["dosageInstruction"]
    assert corrected["timing"] == {"repeat": {"boundsPeriod": {"start": "2026-12-01"}}}
    assert (corrected["doseAndRate"][0]["rateQuantity"]["value"], corrected["text"]) == (
        28, "28 mcg/day continuous IV infusion")


def test_a_dose_at_the_edge_of_the_labels_rounding_is_set_to_the_plan_maximum_and_said_so() -> None:
    """28.5 mcg/day is the most the label's +0.5 rounding allows on days 8-28, and above Florida Blue's 28: the step
    days' correction sets days 8-28 to 28 too, and the card says it is the plan's limit, not the label, that does."""
    found = _florida_blue_dose_card(order(line(rate(28.5), "2026-12-01", "2026-12-28")), facts(), Decimal(28))
    assert found["suggestions"][0]["label"] == "Change dose to 9 mcg/day on days 1–7, then 28 mcg/day on days 8–28"
    assert PLAN_NOTE in found["detail"]


def test_a_line_split_for_an_order_continuing_its_cycle_after_one_day_says_cycle_days() -> None:
    written = order(line(rate(28), "2026-12-02", "2026-12-28") | {"text": "28 mcg/day continuous IV infusion"})
    assert corrected_texts(written, facts(start=date(2026, 12, 2), days_before=1)) == [
        "9 mcg/day continuous IV infusion (cycle days 2–7)", "28 mcg/day continuous IV infusion (cycle days 8–28)"]
