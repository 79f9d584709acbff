"""The instruction texts a one-click correction writes (dosing/rewrite.py, dosing/instruction_text.py): `text` and
`patientInstruction` are what the nurse reads on the MAR and the patient reads, so each corrected line's text states
its own dose and days."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from cds_service.dosing.cards import dose_card
from cds_service.dosing.plan_limit_card import ceiling_card
from cds_service.dosing.instruction_text import renumbered_text, round_down
from cds_service.facts.model import ClinicalFacts
from tests.test_dosing_cycle_end import DOSE_AND_DAYS_KIND, card, checks_of, resource_of, suggestions_by_kind
from tests.test_dosing_support import apply_suggestion, facts, line, order, order_checks, rate
from tests.test_pipeline import example, post

CONTINUED = facts(start=date(2026, 12, 7), days_before=3)  # the order's first day is cycle day 4


@pytest.mark.parametrize(("value", "written"), [
    ("0.19166", "0.191"), ("1.16666", "1.16"), ("0.041666", "0.0416"), ("0.028", "0.028"),  # three significant digits
    ("27.984", "27.98"), ("14.7368", "14.73"), ("152.6", "152.6"), ("28", "28"),  # from 1, to the hundredth
])
def test_a_corrected_value_is_rounded_down_to_what_is_programmed(value: str, written: str) -> None:
    """An hourly rate reads 0.191 or 1.16 mcg/h (four significant digits wrote 0.1916), never above the label; a daily
    dose keeps its hundredths (13.98 mcg/day, not 13.9)."""
    assert f"{round_down(Decimal(value)):f}" == written


def corrected_texts(written: dict[str, Any], facts_: ClinicalFacts | None = None,
                    key: str = "text") -> list[str]:
    """The texts of the order the relapsed/refractory cycle-1 dose card's one suggestion writes."""
    found = card(checks_of(written, facts_))
    assert found is not None
    return [item[key] for item in apply_suggestion(found)["dosageInstruction"]]


def days_1_to_35(text: str, start: str = "2026-12-01", end: str = "2027-01-04") -> dict[str, Any]:
    """One line of 28 mcg/day from `start` to `end` (day 35), relapsed/refractory cycle 1: split into 9 mcg/day on
    days 1-7, then 28, and ended on the 28th infusion day."""
    return order(line(rate(28), start, end, sequence=1) | {"text": text, "patientInstruction": text})


@pytest.mark.parametrize(("text", "facts_", "expected"), [
    # No days stated: the end adds the last infusion day, which only the last part keeps, with its days. The date
    # is no day range ("day 2026-12") and its 28 no dose: the 9 mcg/day part does not say 28 mcg/day.
    ("28 mcg/day continuous IV infusion", None,
     ["9 mcg/day continuous IV infusion (days 1–7)",
      "28 mcg/day continuous IV infusion (days 8–28, last infusion day 2026-12-28)"]),
    ("28 mcg/day continuous IV infusion", CONTINUED,
     ["9 mcg/day continuous IV infusion (cycle days 4–7)",
      "28 mcg/day continuous IV infusion (cycle days 8–28, last infusion day 2026-12-31)"]),
    # A day range: ended, then split, each part's own.
    ("28 mcg/day days 1-35", None, ["9 mcg/day days 1–7", "28 mcg/day days 8–28"]),
    # A length: each part's own length, and its days.
    ("28 mcg/day x 35 days", None, ["9 mcg/day x 7 days (days 1–7)", "28 mcg/day x 21 days (days 8–28)"]),
])
def test_an_ended_and_split_line_states_each_parts_dose_and_days(text: str, facts_: ClinicalFacts | None,
                                                                  expected: list[str]) -> None:
    start = "2026-12-07" if facts_ is CONTINUED else "2026-12-01"
    written = days_1_to_35(text, start)
    assert corrected_texts(written, facts_) == expected
    assert corrected_texts(written, facts_, "patientInstruction") == expected


def test_a_timed_period_ended_and_split_states_the_last_infusion_day() -> None:
    """A timed period ends the morning after its last infusion day: the text says that day, not the end's date."""
    written = days_1_to_35("28 mcg/day continuous IV", "2026-12-01T10:00:00-06:00", "2027-01-05T10:00:00-06:00")
    found = card(checks_of(written))
    assert found is not None
    step, full = apply_suggestion(found)["dosageInstruction"]
    assert full["timing"]["repeat"]["boundsPeriod"]["end"] == "2026-12-29T10:00:00-06:00"
    assert [step["text"], full["text"]] == ["9 mcg/day continuous IV (days 1–7)",
                                            "28 mcg/day continuous IV (days 8–28, last infusion day 2026-12-28)"]


@pytest.mark.parametrize(("text", "expected"), [
    # The prescriber's own last infusion day: the days 1-7 part does not end then.
    ("28 mcg/day (last infusion day 2026-12-28)",
     ["9 mcg/day (days 1–7)", "28 mcg/day (days 8–28, last infusion day 2026-12-28)"]),
    # A date is neither a day range nor a dose: its "28" is not the dose written twice.
    ("28 mcg/day, ordered 2026-11-28", ["9 mcg/day, ordered 2026-11-28 (days 1–7)",
                                        "28 mcg/day, ordered 2026-11-28 (days 8–28)"]),
    ("28 mcg/day days 1-28, ordered 2026-11-28", ["9 mcg/day days 1–7, ordered 2026-11-28",
                                                  "28 mcg/day days 8–28, ordered 2026-11-28"]),
])
def test_a_split_line_reads_no_date_as_its_days_or_dose(text: str, expected: list[str]) -> None:
    written = order(line(rate(28), "2026-12-01", "2026-12-28", sequence=1) | {"text": text})
    assert corrected_texts(written) == expected


def test_the_services_dose_and_end_correction_writes_each_lines_text(client: Any) -> None:
    """Over HTTP: the single-line order of 28 mcg/day on days 1-35, its text stating no days; the suggestion's lines
    state their own dose and days, and signing them again gives no dose card."""
    body = example("aspirus-relapsed-refractory-single-line-dose-too-high")
    entry = body["context"]["draftOrders"]["entry"][0]
    entry["resource"]["dosageInstruction"][0]["text"] = "28 mcg/day continuous IV infusion"
    entry["resource"]["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["end"] = "2027-01-04"
    suggestion = suggestions_by_kind(post(client, body)["cards"])[DOSE_AND_DAYS_KIND]
    entry["resource"] = resource_of(suggestion)
    assert [item["text"] for item in entry["resource"]["dosageInstruction"]] == [
        "9 mcg/day continuous IV infusion (days 1–7)",
        "28 mcg/day continuous IV infusion (days 8–28, last infusion day 2026-12-28)"]
    again = post(client, body)["cards"]
    assert [c["source"]["topic"]["code"] for c in again] == ["coverage-info"]


def label_corrected(written: dict[str, Any], facts_: ClinicalFacts, schedule: str = "standard") -> list[str]:
    """The texts of the order the label dose card's one suggestion writes."""
    found = dose_card(written, facts_, schedule, True, "Plan", order_checks(written, [written], facts_))
    assert found is not None
    return [item["text"] for item in apply_suggestion(found)["dosageInstruction"]]


def days_1_to_28(dose_and_rate: dict[str, Any], text: str) -> dict[str, Any]:
    return order(line(dose_and_rate, "2026-12-01", "2026-12-28", sequence=1) | {"text": text})


ADULT, CHILD, ADULT_WITH_BSA = facts(), facts(weight="25", bsa="0.932"), facts(weight="70", bsa="1.9")


@pytest.mark.parametrize(("dose_and_rate", "facts_", "text", "expected"), [
    # Every dose the text states, in each unit, from the new dose: 28 mcg/day is 1.16 mcg/h rounded down, as a
    # correction in mcg/h is written; the coded one exactly as coded.
    (rate(35), ADULT, "35 mcg/day (1.458 mcg/h) IV", "28 mcg/day (1.16 mcg/h) IV"),
    (rate(35), ADULT, "35 mcg/day = 0.035 mg/day", "28 mcg/day = 0.028 mg/day"),
    (rate(35), ADULT, "35 micrograms per day (1.458 micrograms per hour)",
     "28 micrograms per day (1.16 micrograms per hour)"),
    (rate(35), ADULT, "35 mcg/24h continuous", "28 mcg/24h continuous"),
    (rate(1.46, "ug/h"), ADULT, "1.46 mcg/h (35.04 mcg/day) IV", "1.16 mcg/h (27.84 mcg/day) IV"),
    # A volume rate is no dose: the label's 24-hour bag runs at 10 mL/h whatever its dose.
    (rate(35), ADULT, "35 mcg/day at 10 mL/hr", "28 mcg/day at 10 mL/hr"),
    # A line per m² (a child): its dose per m² as coded, its dose in mcg/day at the BSA.
    (rate(20, "ug/m2/d"), CHILD, "20 mcg/m2/day (18.64 mcg/day)", "15 mcg/m2/day (13.98 mcg/day)"),
    # A line per m² set to the fixed dose from 45 kg: the coded dose and its unit, and the other dose in mcg/day.
    (rate(16, "ug/m2/d"), ADULT_WITH_BSA, "16 mcg/m2/day (30.4 mcg/day)", "28 ug/d (28 mcg/day)"),
])
def test_every_dose_a_text_states_is_restated(dose_and_rate: dict[str, Any], facts_: ClinicalFacts, text: str,
                                              expected: str) -> None:
    assert label_corrected(days_1_to_28(dose_and_rate, text), facts_) == [expected]


@pytest.mark.parametrize(("dose_and_rate", "facts_", "text"), [
    # The old value again, not as a dose rate: which it is cannot be told.
    (rate(35), ADULT, "35 mcg/day, 35 mcg per bag"),
    # A dose rate that is not the old dose to its digits: another drug's, or a slip (35 mcg/day is 1.458 mcg/h).
    (rate(35), ADULT, "35 mcg/day (premedication: dexamethasone 20 mg/day)"),
    (rate(35), ADULT, "35 mcg/day (2.5 mcg/h)"),
    # A dose per m² of a line in mcg (a child's), or of a line per m² now in mcg: the BSA is the text's to state.
    (rate(20), CHILD, "20 mcg/day (21.46 mcg/m2/day)"),
    (rate(16, "ug/m2/d"), ADULT_WITH_BSA, "16 mcg/m2/day (0.666 mcg/m2/h)"),
])
def test_a_text_not_rewritten_whole_is_kept_with_the_correction_said(dose_and_rate: dict[str, Any],
                                                                     facts_: ClinicalFacts, text: str) -> None:
    [corrected] = label_corrected(days_1_to_28(dose_and_rate, text), facts_)
    assert corrected.startswith(f"{text} (dose corrected to ") and corrected.endswith(" ug/d)")


def test_a_split_line_restates_the_second_dose_of_its_step_part_only() -> None:
    written = days_1_to_28(rate(28), "28 mcg/day (1.167 mcg/h) continuous IV infusion days 1-28")
    assert label_corrected(written, ADULT, "relapsed-refractory") == [
        "9 mcg/day (0.375 mcg/h) continuous IV infusion days 1–7",
        "28 mcg/day (1.167 mcg/h) continuous IV infusion days 8–28"]  # its dose unchanged: its text too


def test_the_plan_limit_correction_restates_every_dose_of_the_text() -> None:
    written = days_1_to_28(rate(1.18, "ug/h"), "1.18 mcg/h (28.32 mcg/day) continuous IV infusion days 1-28")
    found = ceiling_card(written, ADULT, Decimal(28), "Florida Blue", order_checks(written, [written], ADULT),
                         "standard")
    assert found is not None
    [corrected] = apply_suggestion(found)["dosageInstruction"]
    assert corrected["text"] == "1.16 mcg/h (27.84 mcg/day) continuous IV infusion days 1-28"


@pytest.mark.parametrize(("text", "days", "expected"), [
    # A later cycle's line split into an order of its own (dosing/split.py): its days 43-70 are days 1-28 there.
    ("Cycle 2: 28 mcg/day continuous IV infusion days 43-70", (1, 28),
     "Cycle 2: 28 mcg/day continuous IV infusion days 1–28"),
    ("28 mcg/day (1.167 mcg/h) day 43 to 70 x 28 days", (1, 28), "28 mcg/day (1.167 mcg/h) days 1–28 x 28 days"),
    ("28 mcg/day days 43-70", (1, None), "28 mcg/day from day 1"),  # no end: the timing states none either
    ("28 ug/d continuous IV infusion", (1, 28), "28 ug/d continuous IV infusion"),  # no days: nothing stale
    # Days in a form not rewritten are kept, the line's own said after them: never stale days alone.
    ("28 mcg/day D43-D70", (1, 28), "28 mcg/day D43-D70 (days 1–28 of its own cycle)"),
    ("28 mcg/day days 43-56, days 57-70", (1, 28), "28 mcg/day days 43-56, days 57-70 (days 1–28 of its own cycle)"),
    ("28 mcg/day Jan 12 through Feb 8", (1, 28), "28 mcg/day Jan 12 through Feb 8 (days 1–28 of its own cycle)"),
])
def test_a_line_moved_to_a_cycle_of_its_own_states_its_own_days(text: str, days: tuple[int, int | None],
                                                                 expected: str) -> None:
    assert renumbered_text(text, days) == expected
