"""Dose and quantity cards (service-contract.md §Response item 3; policy-rules.md §2 Aspirus II, §5).

Dose cards appear whatever the payer: a warning with one suggestion when a line is above the label, an info card
when the dose is more than 10% below the label dose of a matched indication, an info card when a dose cannot be
read. No weight (or, below 45 kg, no BSA): the label dose is unknown, so the only dose card is a warning, without a
suggestion, for a dose above the label maximum at any weight (weighed below 45 kg: at any height). Lines running on
the same days are compared as their sum; above the label, that is a warning without a suggestion (which line or
order to change is the prescriber's call).
"""
from __future__ import annotations

import copy
import uuid
from collections import Counter
from decimal import Decimal
from dataclasses import replace
from functools import partial
from typing import AbstractSet, Any, Callable

from cds_service.card_kinds import CardKind, kind_card, kind_of, set_kind
from cds_service.card_text import SUMMARY_LIMIT, CardText, render_card
from cds_service.dosing.api import QuantityLimit
from cds_service.dosing.checks import CycleLines, OrderDoseChecks, missing_body_size, needs_bsa_only
from cds_service.dosing.compare import ABOVE, BELOW, Finding, Patient, most_severe, stretches_of
from cds_service.dosing.cycle_end import CycleEnd, PastCycle
from cds_service.dosing.expected import (BSA_DOSE_TOLERANCE, FULL_PER_M2, STEP_DAYS, STEP_PER_M2, WEIGHT_BOUNDARY_KG,
                                        Expected, above_ceiling, dosed_by_bsa, is_step_day)
from cds_service.dosing.quantity import (UNREAD, VIAL_MCG, CycleNeeds, Offered, OrderNeed, OrderQuantity,
                                        QuantityCheck, read_quantity)
from cds_service.dosing.reading import DoseForm, DoseLine
from cds_service.dosing.rewrite import (Correction, Segment, correct_order, correct_to_ceiling, json_number,
                                       per_m2_daily, suggested_copy, written_dose)
from cds_service.dosing.text import (NAMED, bsa_text, counted, days_list, days_text, dose_said, dose_words,
                                    label_mcg_text, lines_text, mcg_text, mcg_text_against, order_words, per_m2_text,
                                    texts_apart)
from cds_service.facts.body import TALLEST_HEIGHT_CM, largest_bsa, weight_text
from cds_service.facts.model import WINDOWS, ClinicalFacts, read_within
from cds_service.facts.order import order_ref
from cds_service.facts.quantities import shown
from cds_service.sentences import mid_sentence

DOSE_KIND = CardKind("dose", "off-guideline")
# Days past a cycle's 28th infusion day: alone, or on the dose card whose suggestion ends them too. Kinds of their own,
# as the two `limits` cards have, for what their suggestions correct (reconcile_corrections).
DAYS_KIND = CardKind("infusion-days", "off-guideline")
DOSE_AND_DAYS_KIND = CardKind("dose-and-infusion-days", "off-guideline")
QUANTITY_KIND = CardKind("quantity-limit", "limits")
DOSE_LIMIT_KIND = CardKind("plan-dose-limit", "limits")
_SUMMARY_PREFIX = "Dose above label: "  # cards/dose-above.j2 and dose-below.j2 (same length)
SCHEDULE_TEXT = {
    "relapsed-refractory": "relapsed/refractory schedule",
    "standard": "standard schedule",
    "interfant": "Interfant: 15 mcg/m²/day",
    None: "label ceiling",
}


def dose_card(order: dict[str, Any], facts: ClinicalFacts, schedule: str | None, matched_indication: bool,
              source_label: str, checks: OrderDoseChecks, ceiling: Decimal | None = None) -> dict[str, Any] | None:
    """The order's dose card, or None when the dose is at the label (or the label dose is unknown).

    `checks`: the order's dose checks, which the policy may have run already: lines are read and compared once. A
    correction is written on the order ended on its cycle's 28th infusion day when it runs past it (`_to_correct`),
    and recorded on `checks` (`OrderDoseChecks.record_correction`: the lines the quantity card judges). `ceiling`:
    the payer's daily maximum, which the correction keeps within (`rewrite.correct_order`)."""
    lines = checks.lines
    patient, findings = checks.findings(schedule)
    above = [f for f in findings if f.kind == ABOVE]
    missing = missing_body_size(patient)
    if missing:
        return _above_maximum_card(order, facts, lines, patient, above, missing, source_label) if above else None
    below = _below_in_any_cycle(checks, schedule, facts, [f for f in findings if f.kind == BELOW])
    if above and any(f.together for f in above):
        return _above_together_card(order, facts, lines, patient, above, source_label)
    if above:
        return _above_card(order, facts, lines, patient, above, source_label, checks, ceiling)
    if needs_bsa_only(lines, checks.together):  # from 45 kg, outside Interfant: missing_body_size asks no BSA
        return _per_m2_without_bsa_card(order, facts, lines, patient, source_label, not checks.together, checks,
                                        ceiling)
    unread = [line for line in lines if line.unreadable]
    if unread or not lines:
        return _unreadable_card(order, unread, source_label)
    if below and matched_indication:
        text = render_card("dose-below.j2", **_finding_context(facts, patient, below, lines))
        card = _card(order, text, "info", source_label, DOSE_KIND)
        card["extension"]["dose-check"] = _dose_check(below, patient)
        return card
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


def _unreadable_card(order: dict[str, Any], unread: list[DoseLine], source_label: str) -> dict[str, Any]:
    """The info card of lines that could not be read, each with why; a line unread for its period (an end before
    its start, no days while another line follows) is asked to correct its period, not to write its dose in mcg/day,
    which may be readable."""
    reasons = [f"Line {line.index + 1}: {line.unreadable}" for line in unread]
    reasons = reasons or ["The order has no dosage instruction"]
    # A line whose days cannot be placed (`DoseLine.placed`) is asked for its period too: its dose was never read.
    # Not the lines it leaves unplaced ("placed by line 1, ..."): their own periods are right, and "correct the
    # infusion period of lines 1, 2" had sent the clinician to a step dose's second line too.
    periods = [{"line": line.index + 1, "reason": line.unreadable} for line in unread
               if line.period_unread or not (line.placed or line.placed_by_another)]
    doses = not unread or any(line.dose_unread for line in unread)
    text = render_card("dose-unreadable.j2", reasons=reasons, periods=periods, doses=doses,
                       unread=_lines_said([line.index + 1 for line in unread]))
    return _card(order, text, "info", source_label, DOSE_KIND)


def _lines_said(numbers: list[int]) -> str:
    """The dosage lines not read, by number, as the summary names them: "dosage line 2", "dosage lines 1 and 3";
    past NAMED + 1, how many ("1 dosage line" had left the clinician to find which); "" for none (no dosage
    instruction)."""
    if len(numbers) > NAMED + 1:
        return f"{len(numbers)} dosage lines"
    return f"dosage {lines_text(numbers)}" if numbers else ""


def cycle_days_card(card: dict[str, Any] | None, order: dict[str, Any], facts: ClinicalFacts, source_label: str,
                    checks: OrderDoseChecks) -> dict[str, Any] | None:
    """The dose card `dose_card` gave (`card`), saying too that the order runs past its cycle's 28th infusion day
    (`dosing.cycle_end`); or, when `card` is not a warning (none, or an info card: a dose below the label, or not
    read), a warning saying that alone. Its one-click correction ends the order's line running past the day there,
    when that is the whole change (`OrderDoseChecks.ending`); on a dose card with a correction, that suggestion
    carries the end already (`dose_card` corrects the order so ended), and its label says so. A warning without a
    suggestion gets none: ending the days alone would leave the dose it could not correct."""
    past = checks.past
    if past is None:
        return card
    ending = checks.ending
    if card is None or card["indicator"] != "warning":
        unreadable = "; ".join(f"line {line.index + 1}: {line.unreadable}" for line in checks.lines if line.unreadable)
        return _days_card(order, facts, source_label, past, ending, unreadable)
    suggestions = card.get("suggestions") or []
    ends = bool(suggestions) and isinstance(ending, CycleEnd)
    # Why the suggestion does not end the days is said beside one only: without one, the card says why already.
    why_not = ending if suggestions and isinstance(ending, str) else ""
    added = _past_context(past, facts, "", ends, why_not)  # the card's own detail names its unread lines
    text = render_card("dose-past-cycle.j2", combined=True, **added)
    summary = f"{card['summary']}; {text.summary}"
    if len(summary) < SUMMARY_LIMIT:  # else the detail says it: the dose above the label is the summary's news
        card["summary"] = summary
    card["detail"] = f"{card['detail'].rstrip()}\n\n{text.detail.strip()}\n"
    if ends:
        action = suggestions[0]["actions"][0]
        suggestions[0]["label"] += f", {text.label}"
        action["description"] += f"; {text.action}"
        set_kind(card, DOSE_AND_DAYS_KIND)
    return card


def _days_card(order: dict[str, Any], facts: ClinicalFacts, source_label: str, past: PastCycle,
               ending: CycleEnd | str, unreadable: str) -> dict[str, Any]:
    """The warning that the order runs past its cycle's 28th infusion day, with the correction ending it there when
    that is one (`ending`)."""
    offered = isinstance(ending, CycleEnd)
    alone = _past_context(past, facts, unreadable, offered, ending if isinstance(ending, str) else "")
    text = render_card("dose-past-cycle.j2", combined=False, **alone)
    card = _card(order, text, "warning", source_label, DAYS_KIND)
    if isinstance(ending, CycleEnd):
        card["selectionBehavior"] = "at-most-one"
        card["suggestions"] = [_suggestion(text, ending.order, facts)]
    return card


def _past_context(past: PastCycle, facts: ClinicalFacts, unreadable: str, offered: bool,
                  why_not: str) -> dict[str, Any]:
    """dose-past-cycle.j2's context but `combined` (see its header)."""
    return {"last": past.last, "days": days_text(past.first, past.last),
            "infusion_day": None if past.infusion_day == past.last else past.infusion_day,
            "end": past.end.isoformat() if past.end else "", "cycle": facts.cycle.number.value, "rest": past.rest,
            "unreadable": unreadable, "offered": offered, "why_not": why_not}


def _to_correct(checks: OrderDoseChecks) -> tuple[dict[str, Any], list[DoseLine]]:
    """The order and lines a dose correction rewrites: the order ended on its cycle's 28th infusion day when that is
    a one-click correction (`OrderDoseChecks.ending`), so that the card's one suggestion carries both corrections
    (two suggestions, each replacing the whole order, would undo each other); else the order as written."""
    ending = checks.ending
    return (ending.order, ending.lines) if isinstance(ending, CycleEnd) else (checks.order, checks.lines)


def ceiling_card(order: dict[str, Any], facts: ClinicalFacts, ceiling: Decimal, payer: str,
                 checks: OrderDoseChecks, schedule: str | None, ended: bool = False,
                 citation: str = "") -> dict[str, Any] | None:
    """A warning, with a one-click correction, for lines above a payer's fixed daily maximum that the label allows
    (Florida Blue's 28 mcg/day has no rounding allowance: 28.3 is within the label, not within the plan); without
    one when such a line is a volume (`_ceiling_by_volume_card`).

    From 45 kg (outside Interfant, `schedule`) the label dose is a fixed mcg/day: a line per m² is corrected to the
    maximum in mcg/day, not per m² (the label's per m² dosing is for patients under 45 kg). `ended`: the days card
    beside it offers to end the order on its cycle's 28th infusion day; the correction is then written on the order
    so ended (`_to_correct`), and reconcile_corrections gives both suggestions the order with both corrections.
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
    corrected, lines = _to_correct(checks) if ended else (order, checks.lines)
    above = {line.index for line, _ in over}
    correction = correct_to_ceiling(corrected, [line for line in lines if line.index in above], ceiling,
                                    facts.body.bsa_m2.value, fixed)
    # What was ordered on the days it was ordered for (a line ended on the 28th infusion day was ordered to day 35),
    # beside what the suggestion writes.
    ordered = {line.index: (days_text(line.first_day, line.last_day), mcg) for line, mcg in over}
    rows = [{"days": ordered[s.line][0], "ordered": mcg_text_against(ordered[s.line][1], ceiling),
             "corrected": mcg_text(s.mcg_per_day), "read": ""} for s in correction.segments]
    # The label names what the suggestion writes (1.16 mcg/h, not its 27.84 mcg/day): per line when they differ.
    forms = _forms(checks.lines)
    written = [" ".join(_written(order, forms, s)) for s in correction.segments]
    change = (written[0] + (" (each line)" if len(written) > 1 else "") if len(set(written)) == 1
              else ", ".join(f"{w} on {days_text(s.first_day, s.last_day)}"
                             for w, s in zip(written, correction.segments)))
    text = render_card("dose-above-plan-limit.j2", payer=payer, ceiling=mcg_text(ceiling), citation=citation,
                       lines=rows, first=rows[0], other_days=_other_days(rows, rows[0]), change=change,
                       in_mcg=any(s.unit for s in correction.segments), by_volume="")
    card = _card(order, text, "warning", payer, DOSE_LIMIT_KIND)
    card["selectionBehavior"] = "at-most-one"
    card["suggestions"] = [_suggestion(text, correction.resource, facts)]
    return card


def _ceiling_by_volume_card(order: dict[str, Any], ceiling: Decimal, payer: str,
                            over: list[tuple[DoseLine, Decimal]], citation: str) -> dict[str, Any]:
    """The plan limit card when a line above it is a volume read through its Medication's strength: a warning
    naming the dose read and the limit, without a correction, as the label card's for a volume (`_above_card`): the
    bag's contents, which pharmacy prepares, set the dose as much as the rate. Correcting the other lines alone would
    leave the volume above the limit. `over`: the lines above the limit, with their mcg/day, in day order."""
    rows = [{"days": days_text(line.first_day, line.last_day), "ordered": mcg_text_against(mcg, ceiling),
             "corrected": "", "read": line.form.volume if line.form else ""} for line, mcg in over]
    by_volume = "; ".join(f"line {line.index + 1} ({line.form.volume})" for line, _ in over
                          if line.form is not None and line.form.volume)
    text = render_card("dose-above-plan-limit.j2", payer=payer, ceiling=mcg_text(ceiling), citation=citation,
                       lines=rows, first=rows[0], other_days=_other_days(rows, rows[0]), change="", in_mcg=False,
                       by_volume=by_volume)
    return _card(order, text, "warning", payer, DOSE_LIMIT_KIND)


_THIS_ORDER = "this order"  # how the quantity card's summary names its order when its dose in words does not fit


def quantity_card(order: dict[str, Any], facts: ClinicalFacts, limit: QuantityLimit, source_label: str,
                  cycle: CycleLines, answered: AbstractSet[int], first: bool) -> dict[str, Any] | None:
    """`order`'s quantity card when the cycle's orders together exceed the limit (policy-rules.md §2, Aspirus II).

    Each order's quantity is compared with what its own lines use on their own days (`OrderNeed`): an order holding
    more gets a warning whose suggestion sets it to that, whatever the others hold (the largest order cut to what the
    limit left had set a full-dose order to 8 vials, beside a step-dose order holding 20). When no answered order
    (`answered`: id() of each; on order-select the selected ones, the only ones a card may change or name) has such a
    correction, the `first` answered order gets the warning without a suggestion, and its detail says why for each
    order. `cycle`: the group's dose lines, whose quantity and needs are read once. An order whose dose or days card
    offers a suggestion rewriting its lines (the dose corrected, the end on its cycle's 28th infusion day, or both)
    is judged on the lines it writes (`CycleLines.offer`), even when its dose as written could not be read, and its
    suggestion, which reconcile_corrections gives that correction too, sets what they use."""
    check = cycle.quantity(limit)
    if not check.over:
        return None
    needs = cycle.needs(limit)
    mine = needs.of[id(order)]
    if not mine.above and (not first or any(key in answered for key in needs.above)):
        return None
    target = mine.quantity
    value = mine.most_mcg / target.per_unit if mine.above and target.per_unit else None
    which = order_words(cycle.of(order)) if len(check.orders) > 1 else ""
    context = _quantity_context(check, needs, _need_rows(check, needs, cycle, order, answered), facts, limit,
                                _in_unit(value, target) if value is not None else "", answered)
    text = render_card("quantity-over.j2", which=_THIS_ORDER, **context)
    # The order's dose in words in the summary when they fit (two orders' cards must not read the same), else
    # "this order": a summary cut short would lose what the suggestion sets.
    if value is not None and which and len(text.summary) - len(_THIS_ORDER) + len(which) < SUMMARY_LIMIT:
        text = render_card("quantity-over.j2", which=which, **context)
    card = _card(order, text, "warning", source_label, QUANTITY_KIND)
    if value is not None:
        resource = suggested_copy(order)
        resource["dispenseRequest"]["quantity"]["value"] = json_number(value)
        card["selectionBehavior"] = "at-most-one"
        card["suggestions"] = [_suggestion(text, resource, facts)]
    return card


def _quantity_context(check: QuantityCheck, needs: CycleNeeds, rows: list[dict[str, Any]], facts: ClinicalFacts,
                      limit: QuantityLimit, target: str, answered: AbstractSet[int]) -> dict[str, Any]:
    """quantity-over.j2's context but `which` (see its header). `unselected` and `unread` are said on the card
    without a correction (one a request), where they are why there is none: read only for it."""
    ordered, allowed = _amounts(check)
    return {"ordered": ordered, "allowed": allowed, "window": check.window_days,
            "supply": mcg_text(check.supply_days), "cycle": facts.cycle.number.value, "orders": check.counted,
            "several": len(check.orders) > 1, "limit": limit, "target": target, "rows": rows,
            "more": len(check.orders) - len(rows), "overlapping": needs.shared,
            "unselected": not target and any(key not in answered for key in needs.above),
            "unread": not target and any(need.undecided in UNREAD for need in needs.of.values()),
            "beyond": not target and any(need.beyond_days for need in needs.of.values())}


def _need_rows(check: QuantityCheck, needs: CycleNeeds, cycle: CycleLines, order: dict[str, Any],
               answered: AbstractSet[int]) -> list[dict[str, Any]]:
    """The quantity card's table: the cycle's orders up to NAMED + 1, else the first NAMED and this order (as the
    quantity criterion's evidence names them), each against what its own days use as its suggestions leave them
    (`CycleNeeds.offered`), so that the table does not contradict the quantity a suggestion sets."""
    shown = list(enumerate(check.orders))[:NAMED + 1]
    if len(check.orders) > NAMED + 1:
        position = needs.positions[id(order)]
        shown = shown[:NAMED] + ([] if position < NAMED else [(position, check.orders[position])])
    rows = [_need_row(position, needs.of[id(q.order)], needs.offered.get(id(q.order)), cycle.of(q.order),
                      q.order is order, id(q.order) in answered) for position, q in shown]
    # Orders with the same lines (a likely duplicate) read the same by their dose: each row says which it is too.
    named = Counter(row["which"] for row in rows)
    for (position, _), row in zip(shown, rows):
        if named[row["which"]] > 1:
            row["which"] = f"{row['which']} (blinatumomab order {position + 1})"
    return rows


def _need_row(position: int, need: OrderNeed, offered: Offered | None, lines: list[DoseLine], this: bool,
              answered: bool) -> dict[str, Any]:
    """One order of the table (quantity-over.j2's `rows`), named by its dose, as clinicians see no order ids (its
    dose and days as written); `need` on the lines its suggestion writes (`offered`) when it rewrites them."""
    quantity = need.quantity
    finding = ("no quantity" if quantity.mcg is None and not quantity.unreadable else
               "unreadable" if quantity.mcg is None else "undecided" if need.undecided else
               "above" if need.above else "short" if need.short else "within")
    per_unit = quantity.per_unit or Decimal(1)  # an order without a readable quantity has no need shown
    told = quantity.per_unit is not None and not need.undecided
    bound = quantity.per_unit is not None and need.most_mcg > 0  # told, or the days of a dose not read bound it
    return {"which": dose_words(lines) or f"blinatumomab order {position + 1}", "this": this,
            "answered": answered, "finding": finding, "why": need.undecided or quantity.unreadable,
            "beyond": need.beyond_days,
            "ended": offered.ended if offered else None, "corrected": offered is not None and offered.dose_corrected,
            "ordered": _in_unit(quantity.mcg / per_unit, quantity) if quantity.mcg is not None else "",
            "dose": mcg_text(need.dose_mcg) if told else "", "unit": _unit(quantity),
            "fewest": _number(need.fewest_mcg / per_unit, quantity) if told else "",
            "most": _number(need.most_mcg / per_unit, quantity) if bound else ""}


# What a card's suggestion corrects, by the card's kind (not its topic: the plan's dose limit and the quantity limit
# share the code `limits`, the dose and days cards `off-guideline`), as another suggestion's label names it
# ("" for the quantity, named by its value). In this order, the one whose dosage lines a combined order takes.
_CORRECTS = (
    (DOSE_KIND, "the dose to the label dose"),
    (DOSE_AND_DAYS_KIND, "the dose to the label dose and the end to the 28th infusion day"),
    (DOSE_LIMIT_KIND, "the dose to the plan's dose limit"),
    (DAYS_KIND, "the end to the 28th infusion day"),
    (QUANTITY_KIND, ""),
)


def reconcile_corrections(cards: list[dict[str, Any]]) -> None:
    """Suggestions for the same order each replace the whole order: accepted together, the one applied last would
    undo the others. Each then carries every correction, and its label says so. A dose correction is the label
    dose's or the plan's dose limit's (never both for one order: the pipeline's plan-limit card comes only without a
    label dose card); an end on the 28th infusion day is written into it where the order has both (the days card
    then offers the end alone, and the plan limit's correction is written on the order so ended)."""
    by_order: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for card in cards:
        if card.get("suggestions"):
            which = kind_of(card)
            kind = next((rank for rank, (corrects, _) in enumerate(_CORRECTS) if corrects.code == which), None)
            if kind is not None:
                order = card["extension"]["davinci-crd.associated-resource"][0]["reference"]
                by_order.setdefault(order, []).append((kind, card["suggestions"][0]))
    for found in by_order.values():
        if len(found) > 1:
            _combine(sorted(found, key=lambda item: item[0]))


def _combine(found: list[tuple[int, dict[str, Any]]]) -> None:
    """`found`: each suggestion of one order with its rank in `_CORRECTS`, in that order. The order they all write
    takes the first one's dosage lines and the quantity correction's quantity (what the lines use once ended, when
    the end on the 28th infusion day or the dose correction is offered: `CycleLines.offer`)."""
    actions = [suggestion["actions"][0] for _, suggestion in found]
    merged = copy.deepcopy(actions[0]["resource"])
    if _CORRECTS[found[-1][0]][0] is QUANTITY_KIND:
        merged["dispenseRequest"]["quantity"] = copy.deepcopy(actions[-1]["resource"]["dispenseRequest"]["quantity"])
    says = [_CORRECTS[kind][1] or f"quantity to {_quantity_text(merged)}" for kind, _ in found]
    described = [mid_sentence(action["description"]) for action in actions]
    for position, (_, suggestion) in enumerate(found):
        others = [index for index in range(len(found)) if index != position]
        suggestion["label"] += f" (and {' and '.join(says[index] for index in others)})"
        actions[position]["resource"] = copy.deepcopy(merged)
        actions[position]["description"] += "".join(f"; also: {described[index]}" for index in others)


def _quantity_text(order: dict[str, Any]) -> str:
    quantity = read_quantity(order)  # readable: the quantity card wrote it
    assert quantity.mcg is not None and quantity.per_unit is not None
    return _in_unit(quantity.mcg / quantity.per_unit, quantity)


def _above_card(order: dict[str, Any], facts: ClinicalFacts, lines: list[DoseLine], patient: Patient,
                above: list[Finding], source_label: str, checks: OrderDoseChecks,
                ceiling: Decimal | None) -> dict[str, Any]:
    """A warning with the one-click correction (of the order and lines `_to_correct` gives); without one when a line
    above the label is a volume read through its Medication's strength (`DoseForm.volume`): the rate alone is not the
    dose to change (the bag's contents are pharmacy's, and a new rate changes how long it runs), and correcting the
    other lines would leave it above."""
    by_volume = "; ".join(dict.fromkeys(f"line {f.line + 1} ({f.volume})" for f in above if f.volume))
    written, corrected = _to_correct(checks)
    correction = None if by_volume else correct_order(written, corrected, patient, facts.cycle.start,
                                                      facts.cycle.infusion_days_before, ceiling=ceiling,
                                                      starts=checks.cycle.starts())
    context = _finding_context(facts, patient, above, lines)
    unreadable = "; ".join(f"line {line.index + 1}: {line.unreadable}" for line in lines if line.unreadable)
    segments = _label_segments(written, corrected, correction, patient) if correction else []
    lines_after = len((correction.resource if correction else order).get("dosageInstruction") or [])
    in_mcg = correction is not None and any(s.unit for s in correction.segments)
    text = render_card("dose-above.j2", segments=segments, unreadable=unreadable, lines=lines_after,
                       multi=lines_after > 1, in_mcg=in_mcg, by_volume=by_volume,
                       plan=_plan_limit(correction, source_label, ceiling), **context)
    card = _card(order, text, "warning", source_label, DOSE_KIND)
    card["extension"]["dose-check"] = _dose_check(above, patient)
    if correction is not None:
        _suggest(card, text, correction, facts, checks)
    return card


def _plan_limit(correction: Correction | None, payer: str, ceiling: Decimal | None) -> dict[str, str] | None:
    """The dose cards' `plan`: the days the correction sets to the label dose though within the label's rounding,
    being above the payer's `ceiling` (`Segment.for_ceiling`), else None. A clinician sees days 8-28 change that the
    card does not call above the label."""
    days = [days_text(s.first_day, s.last_day) for s in correction.segments if s.for_ceiling] if correction else []
    return {"days": ", ".join(days), "payer": payer, "ceiling": mcg_text(ceiling)} if days and ceiling else None


def _per_m2_without_bsa_card(order: dict[str, Any], facts: ClinicalFacts, lines: list[DoseLine], patient: Patient,
                             source_label: str, alone: bool, checks: OrderDoseChecks,
                             ceiling: Decimal | None) -> dict[str, Any]:
    """A dose per m² for a patient from 45 kg without a BSA: not checked, but from 45 kg the label dose is fixed
    whatever the BSA, so the correction to it in mcg/day is offered (as with a BSA, `rewrite._in_mcg`) when the dose
    per m² is the label's regimen or above it. A dose per m² more than 10% below it (5 mcg/m²/day after days 1-7)
    may be a deliberate reduction: raising it is not offered, and a height or BSA is asked for, as for a child.
    `alone`: no other line runs on its days (whose sum a one-click correction cannot settle). The correction rewrites
    the order and lines `_to_correct` gives."""
    unread = [line for line in lines if line.needs_bsa]
    written, corrected = _to_correct(checks)
    offered = alone and _label_regimen(order, unread, patient)
    correction = correct_order(written, corrected, patient, facts.cycle.start, facts.cycle.infusion_days_before,
                               unread_per_m2=True, ceiling=ceiling,
                               starts=checks.cycle.starts()) if offered else None
    segments = _label_segments(written, corrected, correction, patient) if correction else []
    lines_after = len((correction.resource if correction else order).get("dosageInstruction") or [])
    # The label doses on the days the suggestion leaves: ended on the 28th infusion day when it ends the order.
    fixed = _fixed_doses([line for line in corrected if line.needs_bsa], patient)
    text = render_card("dose-per-m2-without-bsa.j2", lines=[line.index + 1 for line in unread],
                       weight=weight_text(patient.weight_kg or Decimal(0), facts.body.weight_recorded), fixed=fixed,
                       segments=segments, multi=lines_after > 1, plan=_plan_limit(correction, source_label, ceiling))
    card = _card(order, text, "warning" if correction else "info", source_label, DOSE_KIND)
    if correction is not None:
        _suggest(card, text, correction, facts, checks)
    return card


def _suggest(card: dict[str, Any], text: CardText, correction: Correction, facts: ClinicalFacts,
             checks: OrderDoseChecks) -> None:
    """The dose card's one suggestion, `correction`, recorded on `checks` as the lines it writes."""
    card["selectionBehavior"] = "at-most-one"
    card["suggestions"] = [_suggestion(text, correction.resource, facts)]
    checks.record_correction(correction.resource)


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


def _above_together_card(order: dict[str, Any], facts: ClinicalFacts, lines: list[DoseLine], patient: Patient,
                         above: list[Finding], source_label: str) -> dict[str, Any]:
    """Lines (of this order, or of the cycle's orders) that add up above the label: no one-click correction can know
    which of them to lower, stop or move, and correcting this order's other days alone would leave the sum."""
    unreadable = "; ".join(f"line {line.index + 1}: {line.unreadable}" for line in lines if line.unreadable)
    # A likely duplicate order has its own card, whose one click removes the copies: this card says so rather than
    # that no change is suggested, when on every day above the label the order runs only with its copies (their
    # removal then leaves one order's dose): how many.
    together = [f.together for f in above if f.together is not None]
    duplicate = together[0].order_count if together and all(t.duplicate for t in together) else 0
    text = render_card("dose-above-together.j2", unreadable=unreadable, duplicate=duplicate,
                       **_finding_context(facts, patient, above, lines))
    card = _card(order, text, "warning", source_label, DOSE_KIND)
    card["extension"]["dose-check"] = _dose_check(above, patient)
    return card


def _above_maximum_card(order: dict[str, Any], facts: ClinicalFacts, lines: list[DoseLine], patient: Patient,
                        above: list[Finding], missing: str, source_label: str) -> dict[str, Any]:
    found = _finding_context(facts, patient, above, lines)
    any_height = _any_height(patient, facts)
    text = render_card("dose-above-maximum.j2", missing=missing, any_height=any_height, **found)
    if len(text.line) >= SUMMARY_LIMIT and found["other_days"]:
        # The other days give way, whole, to what to record; the table lists them (a cut had ended "; r…").
        found["other_days"] = ""
        text = render_card("dose-above-maximum.j2", missing=missing, any_height=any_height, **found)
    card = _card(order, text, "warning", source_label, DOSE_KIND)
    card["extension"]["dose-check"] = _dose_check(above, patient)
    return card


def _any_height(patient: Patient, facts: ClinicalFacts) -> dict[str, str] | None:
    """For a weighed patient dosed by BSA who has no BSA (`label_maximum`): why the label dose is per m², and the
    tallest height accepted and the BSA it gives at this weight, for which the label maximum shown was computed.
    None without a weight: the maximum is the fixed dose."""
    if patient.weight_kg is None:
        return None
    return {"why": "Interfant" if patient.schedule == "interfant" else f"Under {WEIGHT_BOUNDARY_KG} kg",
            "weight": weight_text(patient.weight_kg, facts.body.weight_recorded), "tallest": f"{TALLEST_HEIGHT_CM}",
            "bsa": bsa_text(largest_bsa(patient.weight_kg))}


def _card(order: dict[str, Any], text: CardText, indicator: str, source_label: str,
          kind: CardKind) -> dict[str, Any]:
    return kind_card(order_ref(order), text, indicator, source_label, kind)


def recommended(facts: ClinicalFacts) -> bool:
    """Whether a one-click correction is recommended: not when the chart (or the prescriber) says the drug is to stop
    for an unacceptable toxicity (a grade 4 CRS or ICANS, this course or an earlier one: the label says discontinue
    permanently); a corrected order is then offered, not advised."""
    return facts.unacceptable_toxicity.value is not True and not facts.severe_toxicity_before_course.value


def _suggestion(text: CardText, resource: dict[str, Any], facts: ClinicalFacts) -> dict[str, Any]:
    """The one-click correction (`recommended` or not)."""
    return {
        "uuid": str(uuid.uuid4()),
        "label": text.label,
        "isRecommended": recommended(facts),
        "actions": [{"type": "update", "description": text.action, "resource": resource}],
    }


def _dose_check(findings: list[Finding], patient: Patient) -> dict[str, Any]:
    """service-contract.md `dose-check`: the first off range, plus every off range under `findings`."""
    shaped = [f.as_json(patient) for f in findings]
    return {**shaped[0], "findings": shaped}


def _finding_context(facts: ClinicalFacts, patient: Patient, findings: list[Finding],
                     lines: list[DoseLine]) -> dict[str, Any]:
    # A sum of lines is read in mcg/day: its lines may be written in different terms.
    per_m2 = {line.index for line in lines if line.form is not None and line.form.per_m2}
    rows = [
        {
            "days": days_text(f.first_day, f.last_day),
            "ordered": _ordered_number(f, f.ordered),
            "read": f.volume,  # how a volume was read: "12 mL/h of 28 mcg per 240 mL"
            "together": f.together.text if f.together else "",
            "expected": label_mcg_text(f.expected.mcg_per_day),
            # In the summary, a dose written per m² is read in the clinician's own terms first.
            "ordered_said": dose_said(f.ordered, _said(f.ordered, patient.bsa_m2 if f.line in per_m2
                                                       and not f.together else None, shown=partial(_ordered_number, f)))
                            + (f" ({f.together.brief})" if f.together else ""),
            "expected_said": _expected_said(f.expected, patient.bsa_m2 if f.line in per_m2 else None),
            "basis": _basis_text(f, patient),
            "cap": mcg_text(f.expected.cap),
            "cap_applies": f.expected.basis == "bsa" and f.expected.mcg_per_day == f.expected.cap,
        }
        for f in findings
    ]
    body = "; ".join(fact.note for fact in (facts.body.weight_kg, facts.body.bsa_m2) if fact.note)
    worst = rows[findings.index(most_severe(findings))]
    other_days = _other_days(rows, worst)
    direction = "above" if findings[0].ordered > findings[0].expected.mcg_per_day else "below"
    # `first` and `cycle` are printed by no shipped template since the summaries name the ranges (`ranges`), but
    # stay in the context the templates' headers document: an operator's copy may print them (cards/README.md).
    return {"first": rows[0], "worst": worst, "findings": rows, "other_days": other_days,
            "ranges": _ranges(rows, worst, patient.cycle, direction, other_days),
            "cycle": patient.cycle, "body": body,
            "schedule_text": SCHEDULE_TEXT.get(patient.schedule, patient.schedule),
            "counted_first_cycle": _counted_first_cycle(facts, patient, findings)}


def _counted_first_cycle(facts: ClinicalFacts, patient: Patient, findings: list[Finding]) -> str:
    """How the record makes this cycle 1, when step days are at stake for a patient with an earlier authorization
    attested: a continuation whose earlier cycles are not on record is asked for the step dose of a first cycle, and
    the clinician should know the cycle number can be attested instead (clinical review). "" otherwise."""
    number = facts.cycle.number
    if number.value != 1 or number.attested or patient.schedule != "relapsed-refractory":
        return ""
    if not any(f.first_day in STEP_DAYS for f in findings):
        return ""
    earlier = read_within(facts.prior_authorization_on_file, WINDOWS["prior_authorization_on_file"])
    return number.note if earlier.value is True else ""


def _ordered_number(finding: Finding, mcg_per_day: Decimal) -> str:
    """An ordered dose told from the highest dose the label allows (`Expected.allowed`) however close: 28.504 mcg/day
    shown as 28.5 read as within the fixed dose's 0.5 mcg/day rounding, on a card saying it was above."""
    return mcg_text_against(mcg_per_day, finding.expected.allowed)


def _said(mcg_per_day: Decimal, bsa_m2: Decimal | None, per_m2: Decimal | None = None,
          shown: Callable[[Decimal], str] = mcg_text) -> str:
    """'18.63 mcg/day', or with the BSA of a line written per m² '20 mcg/m²/day (18.63 mcg/day)'; the mcg/day
    `shown` by `label_mcg_text` for a label dose."""
    if not bsa_m2:
        return f"{shown(mcg_per_day)} mcg/day"
    per_m2 = per_m2 if per_m2 is not None else mcg_per_day / bsa_m2
    return f"{mcg_text(per_m2)} mcg/m²/day ({shown(mcg_per_day)} mcg/day)"


def _other_days(rows: list[dict[str, Any]], shown: dict[str, Any]) -> str:
    """The days of the `rows` besides the one a summary `shown`, in words ("days 1–7 and 29–35"; "" when none)."""
    others = list(dict.fromkeys(r["days"] for r in rows if r["days"] != shown["days"]))
    return days_list(others) if others else ""


def _ranges(rows: list[dict[str, Any]], worst: dict[str, Any], cycle: int | None, direction: str,
            other_days: str) -> str:
    """The summary's account of the off days, after "Dose above (below) label: ": every range when they fit (a
    clinician correcting days 1-7 must not miss days 8-28), else the `worst` (`most_severe`: 56 mcg/day against 28
    on days 8-28 rather than the first, 18 against 9 on days 1-7) and the days of the others ("also above on days
    1–7"; "(+1 more day range)" had left the clinician to open the card for them), else how many others: a cut
    within their days would leave some out unsaid."""
    of_cycle = f" of cycle {cycle}" if cycle else ""
    one = f"{worst['ordered_said']} on {worst['days']}{of_cycle}; label is {worst['expected_said']}"
    if len(rows) == 1:
        return one
    every = "; ".join(f"{r['ordered_said']} on {r['days']} (label {r['expected_said']})" for r in rows)
    if len(_SUMMARY_PREFIX) + len(every) < SUMMARY_LIMIT:
        return every
    shorter = one.replace(of_cycle, "", 1)  # the cycle, which the card's detail says, before the other days
    also = f"also {direction} on {other_days}"
    others = len({r["days"] for r in rows} - {worst["days"]})
    counted = f"also {direction} on {others} other day range{'s' if others > 1 else ''}"
    return next((said for said in (f"{one}; {also}", f"{shorter}; {also}")
                 if len(_SUMMARY_PREFIX) + len(said) < SUMMARY_LIMIT), f"{shorter}; {counted}")


def _expected_said(expected: Expected, bsa_m2: Decimal | None) -> str:
    """The label dose per m² only when it is one: a fixed dose (45 kg or more) or the cap is a dose per day."""
    if expected.per_m2 is None or expected.mcg_per_day == expected.cap:
        return _said(expected.mcg_per_day, None, shown=label_mcg_text)
    return _said(expected.mcg_per_day, bsa_m2, expected.per_m2, label_mcg_text)


def _basis_text(finding: Finding, patient: Patient) -> str:
    if finding.expected.basis == "fixed" or finding.expected.per_m2 is None or patient.bsa_m2 is None:
        return f"fixed dose ({WEIGHT_BOUNDARY_KG} kg or more)"
    return per_m2_text(finding.expected.per_m2, patient.bsa_m2)


def _label_segments(order: dict[str, Any], lines: list[DoseLine], correction: Correction,
                    patient: Patient) -> list[dict[str, Any]]:
    forms = _forms(lines)
    segments = []
    for s in correction.segments:
        value, unit = _written(order, forms, s)
        segments.append({"written": f"{value} {unit}", "days": days_text(s.first_day, s.last_day),
                         "explain": _explain(s, forms[s.line], unit, patient)})
    return segments


def _forms(lines: list[DoseLine]) -> dict[int, DoseForm]:
    """Each read line's dose form, by its index: every corrected line has one."""
    return {line.index: line.form for line in lines if line.form is not None}


def _written(order: dict[str, Any], forms: dict[int, DoseForm], segment: Segment) -> tuple[str, str]:
    """What the suggestion writes on a segment's line, and its unit: ('1.16', 'mcg/h'), not its 27.84 mcg/day."""
    return written_dose(order["dosageInstruction"][segment.line], forms[segment.line], segment.value, segment.unit)


def _explain(segment: Segment, form: DoseForm, unit: str, patient: Patient) -> str:
    """What a segment's dose is, after it in the suggestion's label, so that its arithmetic checks. In mcg/day: the
    label dose it follows (`_arithmetic`). In another unit (0.375 mcg/h, 0.028 mg/day, 15 mcg/m²/day), the daily dose
    it gives first, as a clinician knows doses, unless its cap says it: '9 mcg/day', '4.584 mcg/day: 5 mcg/m²/day ×
    0.932 m² = 4.66, rounded down', '22.125 mcg/day at 1.475 m²', 'capped at 9 mcg/day'."""
    arithmetic = _arithmetic(segment, patient)
    expected = segment.expected
    capped = expected is not None and _capped(expected, patient)
    if unit == "mcg/day" or (capped and expected is not None and segment.mcg_per_day == expected.mcg_per_day):
        return arithmetic
    daily = f"{label_mcg_text(segment.mcg_per_day)} mcg/day"
    if form.per_m2 and segment.unit is None and patient.bsa_m2 is not None and not capped:  # still per m²
        return f"{daily} at {bsa_text(patient.bsa_m2)}"
    return f"{daily}: {arithmetic}" if arithmetic else daily


def _arithmetic(segment: Segment, patient: Patient) -> str:
    """The label dose a corrected segment follows: its BSA dose ('15 mcg/m²/day × 1.2 m²') or cap ('capped at 28
    mcg/day'); and when the correction is below it, being rounded down (never above the label: rewrite.py), that too,
    with the label dose the table shows: '15 mcg/m²/day × 1.333 m² = 19.995, rounded down', 'label 28 mcg/day, rounded
    down'. "" for a fixed dose written whole, or a segment kept."""
    expected = segment.expected
    if expected is None:
        return ""
    label, capped = label_mcg_text(expected.mcg_per_day), _capped(expected, patient)
    per_m2 = None if capped or expected.basis != "bsa" else expected.per_m2
    if per_m2 is not None and patient.bsa_m2 is not None:
        basis = per_m2_text(per_m2, patient.bsa_m2)
        below = f"{basis} = {label}, rounded down"
    else:
        basis = f"capped at {label} mcg/day" if capped else ""
        below = f"{basis or f'label {label} mcg/day'}, rounded down"
    return basis if segment.mcg_per_day >= expected.mcg_per_day else below


def _capped(expected: Expected, patient: Patient) -> bool:
    """Whether the label dose is the cap, the BSA dose being above it."""
    return (expected.basis == "bsa" and expected.per_m2 is not None and patient.bsa_m2 is not None
            and expected.mcg_per_day == expected.cap and expected.per_m2 * patient.bsa_m2 > expected.cap)


def _in_unit(value: Decimal, quantity: OrderQuantity) -> str:
    """'7 vials', '1 vial', '245 mcg', '0.245 mg': a value in the unit of the order's own quantity."""
    return counted(_number(value, quantity), _unit(quantity))


def _number(value: Decimal, quantity: OrderQuantity) -> str:
    """A value in the unit of the order's quantity as a card shows it: in mg to the mcg (a vial is 0.035 mg: two
    decimals would show 0.245 mg, what a suggestion writes, as 0.25)."""
    return shown(value, 3 if _unit(quantity) == 'mg' else 2)


def _unit(quantity: OrderQuantity) -> str:
    return "vials" if quantity.per_unit == VIAL_MCG else "mcg" if quantity.per_unit == 1 else "mg"


def _amounts(check: QuantityCheck) -> tuple[str, str]:
    """The quantity ordered, in the whole vials it takes, and the limit: "29 vials (1003.5 mcg, rounded up to whole
    vials of 35 mcg)" beside "28.667 vials (1003.33 mcg)": each number with the decimals that tell the two apart
    (text.texts_apart), as a dose is told from its limit."""
    vials = texts_apart(check.vials, check.allowed_mcg / VIAL_MCG)
    mcg = texts_apart(check.total_mcg, check.allowed_mcg)
    # "Rounded up" alone, in a summary: the detail says a vial is single-use.
    rounded_up = ", rounded up" if check.rounded_up else ""
    return f"{counted(vials[0], 'vials')} ({mcg[0]} mcg{rounded_up})", f"{vials[1]} vials ({mcg[1]} mcg)"
