"""The dose criterion's note of an order signed with a likely duplicate: whose doses each range sums is said once,
after the ranges, not repeated inside each (the doses and label doses had been buried in it)."""
from __future__ import annotations

from typing import Any

from tests.test_duplicate_orders import decision_cards, with_copies
from tests.test_pipeline import post

_WHOSE = ("this order and the other blinatumomab order being signed, which has the same dosage lines: likely a "
          "duplicate order")


def _dose_note(answer: dict[str, Any]) -> str:
    [line] = [line for card in decision_cards(answer) for line in card["detail"].splitlines()
              if "Daily dose per the label schedule" in line]
    return line


def test_a_step_dose_signed_twice_names_the_duplicate_once_after_its_two_ranges(client: Any) -> None:
    note = _dose_note(post(client, with_copies("aspirus-adult-relapsed-refractory-cycle1", "copy-1")))
    assert note.count("likely a duplicate order") == 1
    assert ("18 mcg/day on days 1–7 (label 9 mcg/day); 56 mcg/day on days 8–28 (label 28 mcg/day); each range: "
            + _WHOSE) in note


def test_one_order_alone_has_no_sum_to_name(client: Any) -> None:
    answer = post(client, with_copies("aspirus-adult-relapsed-refractory-cycle1"))
    assert all("Daily dose per the label schedule" not in line or "each range" not in line
               for card in decision_cards(answer) for line in card["detail"].splitlines())
