"""The orders a one-click split writes for an order whose dosage lines fall in several cycles (dosing/span.py): the
order itself keeps its first cycle's lines, and a new draft order holds each later cycle's, each with the quantity
its own days use (docs/dosing.md, "One order, several cycles").
"""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from cds_service.dosing.instruction_text import edit_texts, renumbered_text
from cds_service.dosing.quantity import VIAL_MCG, order_need, read_quantity
from cds_service.dosing.reading import NO_SEQUENCE, DoseLine, cycle_day_date, line_order, read_order_doses
from cds_service.dosing.rewrite import json_number, suggested_copy
from cds_service.dosing.span import CyclePart
from cds_service.dosing.text import counted
from cds_service.facts.model import ClinicalFacts
from cds_service.facts.quantities import shown, unit_text

# What a new order does not take from the order it is split from: its id and business identifiers (another order's),
# its narrative and its metadata (which describe that order).
_NOT_COPIED = ("id", "identifier", "text", "meta")


class Piece(NamedTuple):
    """One cycle's order of the split."""

    resource: dict[str, Any]  # the order updated (the first piece) or a new draft order
    lines: list[DoseLine]  # its dosage lines, a later cycle's days counted from its own start
    quantity: str  # what its dispense quantity is set to ("28 vials"); "" when left as it was
    first: date  # the dates it runs, as its quantity counts them: a line stating no end runs to its cycle's 28th day
    last: date


def split_order(order: dict[str, Any], parts: list[CyclePart], facts: ClinicalFacts,
                medication: dict[str, Any] | None) -> tuple[list[Piece], str]:
    """One order per cycle of `parts` (`span.cycle_parts`), and why the quantities are left as they were: "" when
    each is set to what its days use, or when none is ordered. `medication`: the Medication the order references,
    which reads a volume."""
    resources = [_with_lines(order, part) for part in parts]
    for resource in resources[1:]:
        _as_new(resource)
    cycle = facts.cycle
    bsa = facts.body.bsa_m2.value
    # The first piece stays where the cycle put it (its days after any given before it); a later one is a cycle of
    # its own, from day 1 on its first line's date (a line stating no end then runs to its own 28th day).
    anchors = [(cycle.start, cycle.infusion_days_before)] + [(part.first, 0) for part in parts[1:]]
    lines = [read_order_doses(resource, bsa, anchor, before, medication)
             for resource, (anchor, before) in zip(resources, anchors)]
    dates = [_dates(own, *anchor) for own, anchor in zip(lines, anchors)]
    for resource, own in zip(resources[1:], lines[1:]):
        _renumber_texts(resource, own)
    quantity = read_quantity(order)
    needs = [order_need(quantity, own, False) for own in lines]
    why = (quantity.unreadable if quantity.per_unit is None
           else next((need.undecided for need in needs if need.undecided), ""))
    if quantity.per_unit is None or why:  # none ordered, or not read: nothing to split
        for resource in resources[1:]:  # the order keeps its quantity: the new ones would add to it
            (resource.get("dispenseRequest") or {}).pop("quantity", None)
        return [Piece(resource, own, "", *days) for resource, own, days in zip(resources, lines, dates)], why
    values = [need.most_mcg / quantity.per_unit for need in needs]
    for resource, value in zip(resources, values):
        resource["dispenseRequest"]["quantity"]["value"] = json_number(value)
    return [Piece(resource, own, quantity_text(value, resource), *days)
            for resource, own, value, days in zip(resources, lines, values, dates)], ""


def _dates(lines: list[DoseLine], anchor: date, days_before: int) -> tuple[date, date]:
    """The first and last date `lines` run, read from cycle day 1 on `anchor` after `days_before` infusion days: a
    line stating no end to the cycle's 28th day, as the dose check and the quantity read it (`DoseLine.through`)."""
    placed = [line for line in lines if line.placed]  # every line of a piece is: it was placed in a cycle
    return (min(cycle_day_date(anchor, line.first_day, days_before) for line in placed),
            max(cycle_day_date(anchor, line.through, days_before) for line in placed))


def _with_lines(order: dict[str, Any], part: CyclePart) -> dict[str, Any]:
    """A copy of `order` (without its coverage information) holding `part`'s lines, their sequence numbers renumbered
    from 1 in the same order (lines given together keep one number)."""
    resource = suggested_copy(order)
    lines = [resource["dosageInstruction"][line.index] for line in part.lines]
    numbers = sorted({line_order(line) for line in lines} - {NO_SEQUENCE})
    for line in lines:
        if line_order(line) != NO_SEQUENCE:
            line["sequence"] = numbers.index(line["sequence"]) + 1
    resource["dosageInstruction"] = lines
    return resource


def _renumber_texts(resource: dict[str, Any], lines: list[DoseLine]) -> None:
    """A later cycle's new order: each line's instruction texts state its days in that cycle (nurses read them), as
    the split of a line and the end on day 28 keep them (instruction_text.renumbered_text). The first order keeps its
    lines' days, and so their texts."""
    for line in lines:
        days = (line.first_day, line.last_day)
        edit_texts(resource["dosageInstruction"][line.index], lambda text: renumbered_text(text, days))


def _as_new(resource: dict[str, Any]) -> None:
    """A new draft order (CDS Hooks `create`) of the same medication, patient, prescriber and dispense."""
    for key in _NOT_COPIED:
        resource.pop(key, None)
    resource["id"] = str(uuid.uuid4())
    resource["status"] = "draft"


def quantity_text(value: Decimal, order: dict[str, Any]) -> str:
    """'28 vials', '980 ug', '0.245 mg': a value in the unit of the order's quantity, as written but for vials (to
    the mcg: a vial is 0.035 mg)."""
    quantity = read_quantity(order)
    unit = "vials" if quantity.per_unit == VIAL_MCG else unit_text(order["dispenseRequest"]["quantity"])
    return counted(shown(value, 3), unit)
