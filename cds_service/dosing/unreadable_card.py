"""The dose card of dosage lines that could not be read, each with why and what to correct."""
from __future__ import annotations

from typing import Any, Sequence

from cds_service.card_kinds import DOSE_KIND
from cds_service.card_text import render_card
from cds_service.dosing.order_card import order_card
from cds_service.dosing.reading import DoseLine
from cds_service.dosing.text import NAMED, days_list, days_text, lines_text
from cds_service.dosing.together import Together, unread_elsewhere


def unreadable_card(order: dict[str, Any], unread: list[DoseLine], source_label: str,
                    together: Sequence[Together] = ()) -> dict[str, Any]:
    """The info card of lines that could not be read, each with why; a line unread for its period (an end before
    its start, no days while another line follows) is asked to correct its period, not to write its dose in mcg/day,
    which may be readable. `together`: the days the order's lines run with other orders' (`OrderDoseChecks.together`),
    whose unreadable lines are said too: their sum is what the label is compared with on those days."""
    reasons = [f"Line {line.index + 1}: {line.unreadable}" for line in unread]
    reasons = reasons or ["The order has no dosage instruction"]
    shared, others = _others_unread(together)
    if others:
        reasons.append(f"Another order being signed, on {shared}: {others}")
    # A line whose days cannot be placed (`DoseLine.placed`) is asked for its period too: its dose was never read.
    # Not the lines it leaves unplaced ("placed by line 1, ..."): their own periods are right, and "correct the
    # infusion period of lines 1, 2" had sent the clinician to a step dose's second line too.
    periods = [{"line": line.index + 1, "reason": line.unreadable} for line in unread
               if line.period_unread or not (line.placed or line.placed_by_another)]
    doses = not unread or any(line.dose_unread for line in unread)
    text = render_card("dose-unreadable.j2", reasons=reasons, periods=periods, doses=doses,
                       unread=_lines_said([line.index + 1 for line in unread]), shared=shared)
    return order_card(order, text, "info", source_label, DOSE_KIND)


def _lines_said(numbers: list[int]) -> str:
    """The dosage lines not read, by number, as the summary names them: "dosage line 2", "dosage lines 1 and 3";
    past NAMED + 1, how many ("1 dosage line" had left the clinician to find which); "" for none (no dosage
    instruction)."""
    if len(numbers) > NAMED + 1:
        return f"{len(numbers)} dosage lines"
    return f"dosage {lines_text(numbers)}" if numbers else ""


def _others_unread(together: Sequence[Together]) -> tuple[str, str]:
    """The days on which another order's line runs with this order's and cannot be read ("days 1–7"), and those
    lines with why ("order pump-order line 1: volume (mL/h) without a concentration"), named as the dose criterion's
    note names them (together.unread_elsewhere); ("", "") when there are none. The decision card
    explained such a line while the dose card named only this order's, and asked for a height that would not tell
    the dose on those days."""
    found = [t for t in together if t.unreadable]
    if not found:
        return "", ""
    return days_list([days_text(t.first_day, t.last_day) for t in found]), "; ".join(unread_elsewhere(found))
