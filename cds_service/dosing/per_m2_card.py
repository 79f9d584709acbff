"""The dose card of a dose written per m² for a patient from 45 kg without a BSA: the label dose is fixed from 45
kg, so the correction to it in mcg/day is offered when the dose is the label's regimen or above it."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from cds_service.card_kinds import DOSE_KIND
from cds_service.card_text import render_card
from cds_service.dosing.checks import OrderDoseChecks
from cds_service.dosing.compare import Patient
from cds_service.dosing.correction_text import label_segments, plan_limit
from cds_service.dosing.expected import BSA_DOSE_TOLERANCE, FULL_PER_M2, STEP_PER_M2, is_step_day
from cds_service.dosing.order_card import order_card
from cds_service.dosing.reading import DoseLine
from cds_service.dosing.rewrite import correct_order, per_m2_daily
from cds_service.dosing.suggestions import offer_correction, to_correct
from cds_service.dosing.text import days_text, mcg_text
from cds_service.facts.body import weight_text
from cds_service.facts.model import ClinicalFacts


def per_m2_without_bsa_card(order: dict[str, Any], facts: ClinicalFacts, lines: list[DoseLine], patient: Patient,
                            source_label: str, alone: bool, checks: OrderDoseChecks,
                            ceiling: Decimal | None) -> dict[str, Any]:
    """A dose per m² for a patient from 45 kg without a BSA: not checked, but from 45 kg the label dose is fixed
    whatever the BSA, so the correction to it in mcg/day is offered (as with a BSA, `rewrite._in_mcg`) when the dose
    per m² is the label's regimen or above it. A dose per m² more than 10% below it (5 mcg/m²/day after days 1-7)
    may be a deliberate reduction: raising it is not offered, and a height or BSA is asked for, as for a child.
    `alone`: no other line runs on its days (whose sum a one-click correction cannot settle). The correction rewrites
    the order and lines `to_correct` gives."""
    unread = [line for line in lines if line.needs_bsa]
    written, corrected = to_correct(checks)
    offered = alone and _label_regimen(order, unread, patient)
    correction = correct_order(written, corrected, patient, facts.cycle.start, facts.cycle.infusion_days_before,
                               unread_per_m2=True, ceiling=ceiling,
                               starts=checks.cycle.starts()) if offered else None
    segments = label_segments(written, corrected, correction, patient) if correction else []
    lines_after = len((correction.resource if correction else order).get("dosageInstruction") or [])
    # The label doses on the days the suggestion leaves: ended on the 28th infusion day when it ends the order.
    fixed = _fixed_doses([line for line in corrected if line.needs_bsa], patient)
    text = render_card("dose-per-m2-without-bsa.j2", lines=[line.index + 1 for line in unread],
                       weight=weight_text(patient.weight_kg or Decimal(0), facts.body.weight_recorded), fixed=fixed,
                       segments=segments, multi=lines_after > 1, plan=plan_limit(correction, source_label, ceiling))
    card = order_card(order, text, "warning" if correction else "info", source_label, DOSE_KIND)
    if correction is not None:
        offer_correction(card, text, correction, facts, checks)
    return card


def _label_regimen(order: dict[str, Any], lines: list[DoseLine], patient: Patient) -> bool:
    """Whether each line's dose per m² is, on every day, at least the label's dose per m² (15, 5 on step days) less
    the 10% below which a dose is "below label"."""
    for line in lines:
        assert line.form is not None  # unread for want of a BSA, its form was read
        per_m2 = per_m2_daily(order["dosageInstruction"][line.index], line.form)
        for day in line.days():
            label = STEP_PER_M2 if is_step_day(patient.schedule, patient.cycle, day) else FULL_PER_M2
            if per_m2 is None or per_m2 < label * (1 - BSA_DOSE_TOLERANCE):
                return False
    return True


def _fixed_doses(lines: list[DoseLine], patient: Patient) -> str:
    """The label's fixed doses on the lines' days ("9 mcg/day on days 1–7, 28 mcg/day on days 8–28")."""
    ranges: list[list[Any]] = []  # [first day, last day, mcg/day]
    for day in sorted({day for line in lines for day in line.days()}):
        expected = patient.expected(day)
        assert expected is not None  # fixed from 45 kg: known without a BSA
        if ranges and ranges[-1][2] == expected.mcg_per_day and ranges[-1][1] == day - 1:
            ranges[-1][1] = day
        else:
            ranges.append([day, day, expected.mcg_per_day])
    if len(ranges) == 1:
        return f"{mcg_text(ranges[0][2])} mcg/day"
    return ", ".join(f"{mcg_text(mcg)} mcg/day on {days_text(first, last)}" for first, last, mcg in ranges)
