"""Dose and quantity cards (service-contract.md §Response item 3; policy-rules.md §2 Aspirus II, §5): which dose card
an order gets (`dose_card`); the other cards the pipeline asks for are each in its own module.

Dose cards appear whatever the payer: a warning with one suggestion when a line is above the label, an info card
when the dose is more than 10% below the label dose of a matched indication, an info card when a dose cannot be
read. No weight (or, below 45 kg, no BSA): the label dose is unknown, so the only dose card is a warning, without a
suggestion, for a dose above the label maximum at any weight (weighed below 45 kg: at any height). Lines running on
the same days are compared as their sum; above the label, that is a warning without a suggestion (which line or
order to change is the prescriber's call).

The cards: above or below the label dose, and their words (`label_dose_cards`), per m² without a BSA from 45 kg
(`per_m2_card`), not read (`unreadable_card`), past the cycle's 28th infusion day (`days_card`), above the plan's
daily maximum (`plan_limit_card`), above the plan's quantity limit (`quantity_card`); the words of a correction
(`correction_text`), the suggestions (`suggestions`) and those of one order made one (`reconcile`).
"""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from cds_service.dosing.checks import OrderDoseChecks, missing_body_size, needs_bsa_only
from cds_service.dosing.compare import ABOVE, BELOW, Finding, stretches_of
from cds_service.dosing.label_dose_cards import above_card, above_maximum_card, above_together_card, below_card
from cds_service.dosing.per_m2_card import per_m2_without_bsa_card
from cds_service.dosing.unreadable_card import unreadable_card
from cds_service.facts.model import ClinicalFacts


def dose_card(order: dict[str, Any], facts: ClinicalFacts, schedule: str | None, matched_indication: bool,
              source_label: str, checks: OrderDoseChecks, ceiling: Decimal | None = None) -> dict[str, Any] | None:
    """The order's dose card, or None when the dose is at the label (or the label dose is unknown).

    `checks`: the order's dose checks, which the policy may have run already: lines are read and compared once. A
    correction is written on the order ended on its cycle's 28th infusion day when it runs past it
    (`suggestions.to_correct`), and recorded on `checks` (`OrderDoseChecks.record_correction`: the lines the quantity
    card judges). `ceiling`: the payer's daily maximum, which the correction keeps within (`rewrite.correct_order`)."""
    lines = checks.lines
    patient, findings = checks.findings(schedule)
    above = [f for f in findings if f.kind == ABOVE]
    missing = missing_body_size(patient)
    if missing:
        return above_maximum_card(order, facts, lines, patient, above, missing, source_label) if above else None
    below = _below_in_any_cycle(checks, schedule, facts, [f for f in findings if f.kind == BELOW])
    if above and any(f.together for f in above):
        return above_together_card(order, facts, lines, patient, above, source_label)
    if above:
        return above_card(order, facts, lines, patient, above, source_label, checks, ceiling)
    if needs_bsa_only(lines, checks.together):  # from 45 kg, outside Interfant: missing_body_size asks no BSA
        return per_m2_without_bsa_card(order, facts, lines, patient, source_label, not checks.together, checks,
                                       ceiling)
    unread = [line for line in lines if line.unreadable]
    if unread or not lines:
        return unreadable_card(order, unread, source_label, checks.together)
    if below and matched_indication:
        return below_card(order, facts, lines, patient, below, source_label)
    return None


def _below_in_any_cycle(checks: OrderDoseChecks, schedule: str | None, facts: ClinicalFacts,
                        below: list[Finding]) -> list[Finding]:
    """The days below the label; with the cycle number unknown, only those below it as cycle 1 too. An unknown cycle is
    compared without step days (docs/dosing.md), which had called cycle 1's 9 mcg/day step dose below the label when
    the medication history was not received: missing data is no finding. A finding is cut to those days, not
    dropped: 9 mcg/day on days 1-28 is below the label on days 8-28 in any cycle."""
    if not below or facts.cycle.number.value is not None:
        return below
    _, as_first = checks.findings(schedule, 1)
    days = {day for f in as_first if f.kind == BELOW for day in range(f.first_day, f.last_day + 1)}
    return [replace(f, first_day=run.start, last_day=run.stop - 1) for f in below
            for run in stretches_of(day for day in range(f.first_day, f.last_day + 1) if day in days)]
