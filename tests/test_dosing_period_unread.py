"""A line unread for its infusion period, not its dose (dosing/reading.py `DoseLine.period_unread`): a boundsPeriod
ending before its start, at the moment it starts, or longer than a cycle. The decision asked to "document each dosage
line's dose written in mcg/day" and the dose card to "Write the dose in mcg/day" of a dose written in mcg/day (review):
both now ask to correct the line's period."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from cds_service.dosing.cards import dose_card
from cds_service.dosing.checks import MISSING_DOSE, OrderDoseChecks
from cds_service.dosing.reading import read_order_doses
from cds_service.verdict import UNKNOWN
from tests.test_dosing_support import facts, line, order, order_checks, rate

BEFORE = ("2026-12-10", "2026-12-01")  # a period ending before its start
PERIOD = "a corrected infusion period for dosage line 1 (its end is before its start)"


def checks_of(*lines: dict[str, Any]) -> OrderDoseChecks:
    written = order(*lines)
    return order_checks(written, [written], facts())


def test_only_a_line_unread_for_its_period_is_said_so() -> None:
    timed = line(rate(28), "2026-12-01T10:00:00Z", "2026-12-01T10:00:00Z")
    long = line(rate(28), "2026-12-01", "2027-12-31")
    no_dose = line(None, "2026-12-01", "2026-12-28")
    unread = read_order_doses(order(line(rate(28), *BEFORE), timed, long, no_dose), None)
    assert [bool(found.period_unread) for found in unread] == [True, True, True, False]
    assert all(found.mcg_per_day is None for found in unread)
    no_days = read_order_doses(order(line(rate(9)), line(rate(28), "2026-12-08", "2026-12-28")), None)
    assert not any(found.period_unread for found in no_days)  # unplaced: its days are asked for (MISSING_DAYS)


def test_the_criterion_asks_for_a_corrected_period_not_the_dose() -> None:
    """The label's schedule (Aspirus V) and the plan's 28 mcg/day limit (Florida Blue) alike."""
    checks = checks_of(line(rate(28), *BEFORE))
    for verdict in (checks.schedule("relapsed-refractory"), checks.ceiling(Decimal(28))):
        assert verdict.status == UNKNOWN and verdict.missing == PERIOD
        assert verdict.note == "infusion period not readable (line 1: its end is before its start)"


def test_several_lines_are_named_with_their_reasons() -> None:
    checks = checks_of(line(rate(9), *BEFORE, sequence=1),
                       line(rate(28), "2026-12-08T10:00:00Z", "2026-12-08T10:00:00Z", sequence=2))
    assert checks.schedule("standard").missing == ("a corrected infusion period for dosage lines 1, 2 (its end is "
                                                   "before its start; it ends at the moment it starts)")


def test_a_dose_unread_too_is_asked_beside_the_period() -> None:
    checks = checks_of(line(rate(9), *BEFORE, sequence=1), line(None, "2026-12-08", "2026-12-28", sequence=2))
    verdict = checks.schedule("standard")
    assert verdict.missing == f"{MISSING_DOSE} (or mcg/m²/day) and {PERIOD}"
    assert verdict.note.startswith("dose not readable (line 1: its end is before its start; line 2: no dose")


def card_of(checks: OrderDoseChecks) -> dict[str, Any]:
    card = dose_card(checks.order, checks.facts, "standard", True, "Plan", checks)
    assert card is not None and card["indicator"] == "info" and "suggestions" not in card
    return card


def test_the_dose_card_asks_to_correct_the_period() -> None:
    card = card_of(checks_of(line(rate(28), *BEFORE)))
    assert card["summary"] == "Dose not checked: correct the infusion period of line 1 (its end is before its start)"
    detail = " ".join(card["detail"].split())
    assert "Correct the infusion period of line 1: each line states its start" in detail
    assert "For the EHR team: the period is the line's `timing.repeat.boundsPeriod` (or `boundsDuration`)." in detail
    assert "Write the dose" not in detail and "- Line 1: its end is before its start" in detail


def test_the_dose_card_of_a_period_and_a_dose_unread_asks_for_both() -> None:
    card = card_of(checks_of(line(rate(9), *BEFORE, sequence=1), line(None, "2026-12-08", "2026-12-28", sequence=2)))
    assert card["summary"] == "Dose not checked: dosage lines 1 and 2 could not be read"
    detail = " ".join(card["detail"].split())
    assert "Correct the infusion period of line 1" in detail and "Write the dose in mcg/day" in detail


def test_the_dose_card_of_lines_whose_days_cannot_be_placed_asks_for_their_period() -> None:
    """A first line stating no days with a line after it: neither line's days are known, and neither dose was read
    (dosing/reading.py `_unplaced`), so writing the dose in mcg/day would fix nothing. The period to correct is the
    first line's: the second's is right (it is "placed by line 1"); its reason, too long for the summary, is in the
    detail."""
    card = card_of(checks_of(line(rate(9)), line(rate(28), "2026-12-08", "2026-12-28")))
    assert card["summary"] == "Dose not checked: correct the infusion period of line 1"
    detail = " ".join(card["detail"].split())
    assert "Correct the infusion period of line 1: each line states its start and an end" in detail
    assert "Line 2: placed by line 1, which states no days" in detail
    assert "Write the dose" not in detail


def test_a_line_whose_period_and_dose_are_both_unread_is_asked_for_both_at_once() -> None:
    """Review: its dose's reason was dropped for its period's, and signing the corrected period asked for the dose."""
    [read] = read_order_doses(order(line(None, *BEFORE)), None)
    assert read.period_unread == "its end is before its start" and read.dose_unread
    assert read.unreadable.startswith("its end is before its start; ") and read.unreadable != read.period_unread
    checks = checks_of(line(None, *BEFORE))
    verdict = checks.schedule("standard")
    assert verdict.missing == f"{MISSING_DOSE} (or mcg/m²/day) and {PERIOD}"
    assert verdict.note.startswith("dose not readable (line 1: its end is before its start; ")
    detail = " ".join(card_of(checks)["detail"].split())
    assert "Correct the infusion period of line 1" in detail and "Write the dose in mcg/day" in detail


def test_the_unread_lines_are_named_by_number_and_an_order_without_lines_is_said_so() -> None:
    """"1 dosage line could not be read" left the clinician to find which; an order with no dosage instruction had
    read "1 dosage line could not be read" too."""
    card = card_of(checks_of(line(rate(9), "2026-12-01", "2026-12-07", sequence=1),
                             line(None, "2026-12-08", "2026-12-28", sequence=2)))
    assert card["summary"] == "Dose not checked: dosage line 2 could not be read; write the dose in mcg/day"
    written = order(line(rate(9), "2026-12-01", "2026-12-07"))
    del written["dosageInstruction"]
    bare = card_of(order_checks(written, [written], facts()))
    assert bare["summary"] == "Dose not checked: the order has no dosage instruction; write the dose in mcg/day"
