"""Clinical cases for the one-click dose correction (service-contract.md §Response item 3; docs/dosing.md): the cases a
mutation test of cds_service/dosing/rewrite.py found unpinned."""
from __future__ import annotations

from typing import Any

import pytest

from tests.test_dosing_cards import card_for
from tests.test_dosing_support import COVERAGE_INFORMATION, UCUM, dose, facts, line, order, rate


def corrected_lines(written: dict[str, Any], schedule: str = "standard") -> tuple[str, list[dict[str, Any]]]:
    """The dose card's suggestion label and the dosage lines its one action writes."""
    card = card_for(written, facts(), schedule)
    assert card is not None
    [suggestion] = card["suggestions"]
    [action] = suggestion["actions"]
    return suggestion["label"], action["resource"]["dosageInstruction"]


def test_a_line_without_a_dose_beside_a_line_above_the_label_is_left_as_written() -> None:
    """40 mcg/day on days 1-14, then a line with no dose on days 15-28: only the first is corrected."""
    written = order(line(rate(40), "2026-12-01", "2026-12-14", 1), line(None, "2026-12-15", "2026-12-28", 2))
    label, lines = corrected_lines(written)
    assert label == "Change dose to 28 mcg/day on days 1–14"
    assert lines[0]["doseAndRate"][0]["rateQuantity"]["value"] == 28
    assert lines[1] == written["dosageInstruction"][1]


def test_a_line_per_m2_without_a_bsa_beside_a_line_above_the_label_is_left_as_written() -> None:
    """70 kg, no BSA: 40 mcg/day on days 1-14 is corrected; 15 mcg/m²/day on days 15-28 is not this card's to set
    (the card for a dose per m² without a BSA asks for a height)."""
    written = order(line(rate(40), "2026-12-01", "2026-12-14", 1),
                    line(rate(15, "ug/m2/d"), "2026-12-15", "2026-12-28", 2))
    _, lines = corrected_lines(written)
    assert lines[1] == written["dosageInstruction"][1]


def test_a_single_open_ended_line_in_relapsed_cycle_1_stays_open_after_the_step_days() -> None:
    """28 mcg/day from day 1, no end: 9 mcg/day on days 1-7, then 28 mcg/day from day 8 with no end written."""
    label, lines = corrected_lines(order(line(rate(28), "2026-12-01", None, 1)), "relapsed-refractory")
    assert label == "Change dose to 9 mcg/day on days 1–7, then 28 mcg/day on days 8 onward"
    assert [ln["timing"]["repeat"]["boundsPeriod"] for ln in lines] == [
        {"start": "2026-12-01", "end": "2026-12-07"}, {"start": "2026-12-08"}]


def test_lines_written_out_of_sequence_order_keep_their_places_when_none_is_split() -> None:
    """Days 15-28 (sequence 2) written before days 1-14 (sequence 1): corrected in place, not reordered."""
    _, lines = corrected_lines(order(line(rate(40), "2026-12-15", "2026-12-28", 2),
                                     line(rate(28), "2026-12-01", "2026-12-14", 1)))
    assert [(ln["sequence"], ln["doseAndRate"][0]["rateQuantity"]["value"]) for ln in lines] == [(2, 28), (1, 28)]


def test_one_line_split_beside_one_corrected_whole_renumbers_every_line() -> None:
    """Relapsed cycle 1: 28 mcg/day on days 1-14 splits at day 8, 40 mcg/day on days 15-28 is set to 28: three lines
    numbered 1-3 in day order (FHIR: equal sequence numbers run concurrently)."""
    label, lines = corrected_lines(order(line(rate(28), "2026-12-01", "2026-12-14", 1),
                                         line(rate(40), "2026-12-15", "2026-12-28", 2)), "relapsed-refractory")
    assert label == ("Change dose to 9 mcg/day on days 1–7, then 28 mcg/day on days 8–14, "
                     "then 28 mcg/day on days 15–28")
    assert [ln["sequence"] for ln in lines] == [1, 2, 3]


def test_the_correction_drops_an_extension_holding_only_the_coverage_information() -> None:
    written = order(line(rate(40), "2026-12-01", "2026-12-28", 1))
    written["extension"] = [{"url": COVERAGE_INFORMATION, "extension": []}]
    card = card_for(written, facts())
    assert card is not None
    assert "extension" not in card["suggestions"][0]["actions"][0]["resource"]


def test_a_dose_quantity_in_mcg_per_day_is_labelled_per_day_not_per_dose() -> None:
    label, lines = corrected_lines(order(line(dose(40, "ug/d"), "2026-12-01", "2026-12-28", 1)))
    assert label == "Change dose to 28 mcg/day"
    assert lines[0]["doseAndRate"][0]["doseQuantity"]["value"] == 28


def test_two_lines_within_the_label_whose_sum_is_above_it_get_no_one_click_correction() -> None:
    """28 + 20 mcg/day on the same days: which line to lower is the prescriber's call."""
    card = card_for(order(line(rate(28), "2026-12-01", "2026-12-28", 1), line(rate(20), "2026-12-01", "2026-12-28", 2)),
                    facts())
    assert card is not None and not card.get("suggestions")


def test_days_at_the_top_of_the_labels_rounding_are_kept_beside_the_step_days_correction() -> None:
    """28.5 mcg/day on days 1-28 of relapsed cycle 1: within the label's +0.5 mcg/day on days 8-28, kept as written;
    only days 1-7 are set to 9 mcg/day."""
    label, lines = corrected_lines(order(line(rate(28.5), "2026-12-01", "2026-12-28", 1)), "relapsed-refractory")
    assert label == "Change dose to 9 mcg/day on days 1–7, then 28.5 mcg/day on days 8–28"
    assert [ln["doseAndRate"][0]["rateQuantity"]["value"] for ln in lines] == [9, 28.5]


@pytest.mark.parametrize(("duration", "unit", "dose_mcg", "label"), [
    (7.5, "d", 300, "Change dose to 210 mcg per 180-hour bag (28 mcg/day)"),  # not "7.5-day bag": whole days only
    (6, "d", 240, "Change dose to 168 mcg per 144-hour bag (28 mcg/day)"),  # days from a 7-day bag on
    (36.5, "h", 60, "Change dose to 42.58 mcg per bag (27.997 mcg/day: label 28 mcg/day, rounded down)"),
])
def test_a_bag_under_7_days_or_of_no_whole_days_is_named_in_hours_or_as_a_bag(duration: float, unit: str,
                                                                             dose_mcg: int, label: str) -> None:
    card = card_for(order(line(dose(dose_mcg), "2026-12-01", "2026-12-28", duration=duration, durationUnit=unit)),
                    facts())
    assert card is not None and card["suggestions"][0]["label"] == label


def test_a_line_bounded_by_a_duration_is_split_into_durations_in_days() -> None:
    """Relapsed cycle 1, 28 mcg/day for 28 days (boundsDuration, no period): 7 days at 9 mcg/day, then 21 at 28."""
    written = order(line(rate(28), None, None, 1, boundsDuration={"value": 28, "unit": "days", "system": UCUM,
                                                                  "code": "d"}))
    _, lines = corrected_lines(written, "relapsed-refractory")
    assert [ln["timing"]["repeat"] for ln in lines] == [
        {"boundsDuration": {"value": days, "unit": "days", "system": UCUM, "code": "d"}} for days in (7, 21)]


def test_a_line_stating_no_days_is_split_into_7_days_then_left_open() -> None:
    """Relapsed cycle 1, 28 mcg/day with no timing: 9 mcg/day for 7 days, then 28 mcg/day with no end written."""
    label, lines = corrected_lines(order(line(rate(28), None, None, 1)), "relapsed-refractory")
    assert label == "Change dose to 9 mcg/day on days 1–7, then 28 mcg/day on days 8 onward"
    assert [ln.get("timing") for ln in lines] == [
        {"repeat": {"boundsDuration": {"value": 7, "unit": "days", "system": UCUM, "code": "d"}}}, None]


def test_a_timed_line_split_at_day_8_keeps_its_own_end_time() -> None:
    """Bags hung at 10:00 from 2026-12-01, the last one taken down at 08:00 on 2026-12-29: the split changes the
    step days' end and the full dose's start, never the end the prescriber wrote."""
    _, lines = corrected_lines(order(line(rate(28), "2026-12-01T10:00:00+00:00", "2026-12-29T08:00:00+00:00", 1)),
                               "relapsed-refractory")
    assert [ln["timing"]["repeat"]["boundsPeriod"] for ln in lines] == [
        {"start": "2026-12-01T10:00:00+00:00", "end": "2026-12-08T10:00:00+00:00"},
        {"start": "2026-12-08T10:00:00+00:00", "end": "2026-12-29T08:00:00+00:00"}]


def test_a_dose_per_m2_without_a_bsa_from_45_kg_is_set_to_the_fixed_label_dose_in_mcg() -> None:
    """70 kg, no height: 15 mcg/m²/day is not read, but from 45 kg the label dose is 28 mcg/day whatever the BSA."""
    label, lines = corrected_lines(order(line(rate(15, "ug/m2/d"), "2026-12-01", "2026-12-28", 1)))
    assert label == "Change dose to 28 mcg/day"
    assert lines[0]["doseAndRate"] == [{"rateQuantity": {"value": 28, "unit": "ug/d", "system": UCUM, "code": "ug/d"}}]
