"""The card of an order starting its cycle within the label's days without infusion (dosing/rest.py): a warning of
the days card's kind, without a suggestion (moving the order's dates is the prescriber's call, and a one-click shift
would move every dosage line, the dispense and what the nurses read)."""
from __future__ import annotations

from typing import Any

from cds_service.card_kinds import DAYS_KIND, kind_card
from cds_service.card_text import render_card
from cds_service.dosing.checks import OrderDoseChecks
from cds_service.facts.label_cycles import CYCLE_DAYS
from cds_service.facts.order import order_ref


def rest_card(order: dict[str, Any], source_label: str, checks: OrderDoseChecks,
              schedule: str | None) -> dict[str, Any] | None:
    """The warning that `order` starts its cycle of `schedule` (None: not known) too soon after the one before
    (`OrderDoseChecks.rest`), or None."""
    rest = checks.rest(schedule)
    if rest is None:
        return None
    owed = rest.owed
    long_cycle = owed.cycle_days if owed.cycle_days != CYCLE_DAYS else None
    text = render_card("cycle-rest.j2", cycle=rest.cycle, previous=rest.previous, days_off=rest.days_off,
                       last=rest.previous_last.isoformat(), start=rest.start.isoformat(),
                       earliest=rest.earliest.isoformat(), rest=owed.days, long_cycle=long_cycle,
                       unknown=owed.unknown, longer=owed.longer if owed.unknown else "")
    return kind_card(order_ref(order), text, "warning", source_label, DAYS_KIND)
