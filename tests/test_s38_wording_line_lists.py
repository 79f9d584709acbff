"""Dose cards name several dosage lines as every other card does, "lines 1 and 2" (session 38): the unreadable-period
card and the per-m²-without-a-BSA card had "lines 1, 2" beside the dose cards' "dosage lines 1 and 2 could not be
read" and "lines 1 and 2 together"."""
from __future__ import annotations

from tests.test_dosing_cards import card_for
from tests.test_dosing_period_unread import BEFORE, card_of, checks_of
from tests.test_dosing_support import facts, line, order, rate


def test_two_lines_unread_for_their_period_are_named_with_and() -> None:
    card = card_of(checks_of(line(rate(9), *BEFORE, sequence=1), line(rate(28), *BEFORE, sequence=2)))
    assert card["summary"] == "Dose not checked: correct the infusion period of lines 1 and 2"
    assert "Correct the infusion period of lines 1 and 2: each line states its start" in " ".join(card["detail"].split())


def test_three_lines_unread_for_their_period_are_named_as_a_list() -> None:
    lines = [line(rate(9), *BEFORE, sequence=index) for index in (1, 2, 3)]
    assert card_of(checks_of(*lines))["summary"] == "Dose not checked: correct the infusion period of lines 1, 2 and 3"


def test_two_lines_per_m2_without_a_bsa_are_named_with_and() -> None:
    two = order(line(rate(5, "ug/m2/d"), "2026-12-01", "2026-12-07", 1),
                line(rate(15, "ug/m2/d"), "2026-12-08", "2026-12-28", 2))
    card = card_for(two, facts(weight="80"), "relapsed-refractory")
    assert card is not None
    assert card["detail"].startswith("**The dose is written per m² of body surface (lines 1 and 2), and the chart")
