"""The card of a dose above a payer's fixed daily maximum that the label allows (Florida Blue's 28 mcg/day), with
the one-click correction to it."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from cds_service.card_kinds import DOSE_LIMIT_KIND
from cds_service.card_text import render_card
from cds_service.dosing.checks import OrderDoseChecks
from cds_service.dosing.correction_text import dose_forms, segment_written
from cds_service.dosing.expected import above_ceiling, dosed_by_bsa
from cds_service.dosing.label_dose_cards import days_besides
from cds_service.dosing.order_card import order_card
from cds_service.dosing.reading import DoseLine
from cds_service.dosing.rewrite import correct_to_ceiling
from cds_service.dosing.suggestions import suggestion, to_correct
from cds_service.dosing.text import days_text, mcg_text, mcg_text_against
from cds_service.facts.model import ClinicalFacts


def ceiling_card(order: dict[str, Any], facts: ClinicalFacts, ceiling: Decimal, payer: str,
                 checks: OrderDoseChecks, schedule: str | None, ended: bool = False,
                 citation: str = "") -> dict[str, Any] | None:
    """A warning, with a one-click correction, for lines above a payer's fixed daily maximum that the label allows
    (Florida Blue's 28 mcg/day has no rounding allowance: 28.3 is within the label, not within the plan); without
    one when such a line is a volume (`_ceiling_by_volume_card`).

    From 45 kg (outside Interfant, `schedule`) the label dose is a fixed mcg/day: a line per m² is corrected to the
    maximum in mcg/day, not per m² (the label's per m² dosing is for patients under 45 kg). `ended`: the days card
    beside it offers to end the order on its cycle's 28th infusion day; the correction is then written on the order
    so ended (`to_correct`), and reconcile_corrections gives both suggestions the order with both corrections.
    `citation`: the policy's section setting the maximum, which the card cites."""
    over = sorted(((line, line.mcg_per_day) for line in checks.lines
                   if line.mcg_per_day is not None and above_ceiling(line.mcg_per_day, ceiling)),
                  key=lambda item: (item[0].first_day, item[0].index))
    if not over:
        return None
    if any(line.form is not None and line.form.volume for line, _ in over):
        return _ceiling_by_volume_card(order, ceiling, payer, over, citation)
    weight = facts.body.weight_kg.value
    fixed = weight is not None and not dosed_by_bsa(schedule, weight)
    corrected, lines = to_correct(checks) if ended else (order, checks.lines)
    above = {line.index for line, _ in over}
    correction = correct_to_ceiling(corrected, [line for line in lines if line.index in above], ceiling,
                                    facts.body.bsa_m2.value, fixed)
    # What was ordered on the days it was ordered for (a line ended on the 28th infusion day was ordered to day 35),
    # beside what the suggestion writes.
    ordered = {line.index: (days_text(line.first_day, line.last_day), mcg) for line, mcg in over}
    rows = [{"days": ordered[s.line][0], "ordered": mcg_text_against(ordered[s.line][1], ceiling),
             "corrected": mcg_text(s.mcg_per_day), "read": ""} for s in correction.segments]
    # The label names what the suggestion writes (1.16 mcg/h, not its 27.84 mcg/day): per line when they differ.
    forms = dose_forms(checks.lines)
    written = [" ".join(segment_written(order, forms, s)) for s in correction.segments]
    change = (written[0] + (" (each line)" if len(written) > 1 else "") if len(set(written)) == 1
              else ", ".join(f"{w} on {days_text(s.first_day, s.last_day)}"
                             for w, s in zip(written, correction.segments)))
    text = render_card("dose-above-plan-limit.j2", payer=payer, ceiling=mcg_text(ceiling), citation=citation,
                       lines=rows, first=rows[0], other_days=days_besides(rows, rows[0]), change=change,
                       in_mcg=any(s.unit for s in correction.segments), by_volume="")
    card = order_card(order, text, "warning", payer, DOSE_LIMIT_KIND)
    card["selectionBehavior"] = "at-most-one"
    card["suggestions"] = [suggestion(text, correction.resource, facts)]
    return card


def _ceiling_by_volume_card(order: dict[str, Any], ceiling: Decimal, payer: str,
                            over: list[tuple[DoseLine, Decimal]], citation: str) -> dict[str, Any]:
    """The plan limit card when a line above it is a volume read through its Medication's strength: a warning
    naming the dose read and the limit, without a correction, as the label card's for a volume
    (`label_dose_cards.above_card`): the bag's contents, which pharmacy prepares, set the dose as much as the rate.
    Correcting the other lines alone would leave the volume above the limit. `over`: the lines above the limit, with their mcg/day, in day order."""
    rows = [{"days": days_text(line.first_day, line.last_day), "ordered": mcg_text_against(mcg, ceiling),
             "corrected": "", "read": line.form.volume if line.form else ""} for line, mcg in over]
    by_volume = "; ".join(f"line {line.index + 1} ({line.form.volume})" for line, _ in over
                          if line.form is not None and line.form.volume)
    text = render_card("dose-above-plan-limit.j2", payer=payer, ceiling=mcg_text(ceiling), citation=citation,
                       lines=rows, first=rows[0], other_days=days_besides(rows, rows[0]), change="", in_mcg=False,
                       by_volume=by_volume)
    return order_card(order, text, "warning", payer, DOSE_LIMIT_KIND)
