"""The quantity card (policy-rules.md §2, Aspirus II): the cycle's orders together above the plan's quantity limit,
each order against what its own lines use, and the one-click correction of an order holding more."""
from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import AbstractSet, Any

from cds_service.card_kinds import QUANTITY_KIND
from cds_service.card_text import SUMMARY_LIMIT, render_card
from cds_service.dosing.api import QuantityLimit
from cds_service.dosing.checks import CycleLines
from cds_service.dosing.order_card import order_card
from cds_service.dosing.quantity import UNREAD, VIAL_MCG, CycleNeeds, Offered, OrderNeed, OrderQuantity, QuantityCheck
from cds_service.dosing.reading import DoseLine
from cds_service.dosing.rewrite import json_number, suggested_copy
from cds_service.dosing.suggestions import suggestion
from cds_service.dosing.text import NAMED, counted, dose_words, mcg_text, order_words, texts_apart
from cds_service.facts.model import ClinicalFacts
from cds_service.facts.quantities import shown

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
                                in_unit(value, target) if value is not None else "", answered)
    text = render_card("quantity-over.j2", which=_THIS_ORDER, **context)
    # The order's dose in words in the summary when they fit (two orders' cards must not read the same), else
    # "this order": a summary cut short would lose what the suggestion sets.
    if value is not None and which and len(text.summary) - len(_THIS_ORDER) + len(which) < SUMMARY_LIMIT:
        text = render_card("quantity-over.j2", which=which, **context)
    card = order_card(order, text, "warning", source_label, QUANTITY_KIND)
    if value is not None:
        resource = suggested_copy(order)
        resource["dispenseRequest"]["quantity"]["value"] = json_number(value)
        card["selectionBehavior"] = "at-most-one"
        card["suggestions"] = [suggestion(text, resource, facts)]
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
            "ordered": in_unit(quantity.mcg / per_unit, quantity) if quantity.mcg is not None else "",
            "dose": mcg_text(need.dose_mcg) if told else "", "unit": _unit(quantity),
            "fewest": _number(need.fewest_mcg / per_unit, quantity) if told else "",
            "most": _number(need.most_mcg / per_unit, quantity) if bound else ""}


def in_unit(value: Decimal, quantity: OrderQuantity) -> str:
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
