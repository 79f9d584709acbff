"""Draft orders of one cycle with the same dosage lines: a likely duplicate order (docs/dosing.md, "Duplicate
orders"), found and said on one warning card with the one-click removal of the copies.

The same lines as read (`CycleLines.of`: each line's dose, form and cycle days), every dose read: two orders whose
doses could not be read may differ in what was not read, and orders that share days with other lines are only
orders given together (dosing/together.py), whose sum the dose card judges. Orders of another cycle signed with them
are never compared (each cycle's days count from its own start). A draft with the same lines as an active
blinatumomab order of the record (`running_orders`: re-ordered, the patient would receive both) is one too, whatever
the sum: the active order is kept, the drafts are removed. A draft naming an active order as its `priorPrescription`
replaces it and repeats nothing.
"""
from __future__ import annotations

import uuid
from typing import Any, NamedTuple, Sequence

from fhir.resources.R4B.medicationrequest import MedicationRequest

from cds_service.card_kinds import DUPLICATE_KIND, kind_card
from cds_service.card_text import render_card
from cds_service.dosing.checks import CycleLines, OrderDoseChecks, schedule_for
from cds_service.dosing.reading import DoseLine
from cds_service.dosing.text import NAMED, dose_words
from cds_service.facts.model import CycleInfo
from cds_service.facts.order import dosage_text, is_blinatumomab, order_ref
from cds_service.facts.resolve import record_resolver, reference_key
from cds_service.model_proof import proof_for
from cds_service.record import PatientRecord

# An active order of the record is read only when it is a valid MedicationRequest: the record's orders are not
# validated as the drafts are, and a malformed one says nothing reliable of its lines.
_VALID = proof_for(MedicationRequest)


class DuplicateSet(NamedTuple):
    """Orders of one cycle with the same dosage lines, in the Bundle's order."""

    orders: tuple[dict[str, Any], ...]
    # The one the suggestion leaves: an active order of the record when there is one, else on order-select one
    # already drafted when there is one.
    kept: dict[str, Any]
    lines: tuple[DoseLine, ...]
    # The cycle the orders are for, as the card names it: "cycle 2", or "the cycle from 2026-12-01" when its number
    # is unknown. A duplicate of which cycle is what a clinician checks first when several are signed together.
    cycle: str

    @property
    def copies(self) -> list[dict[str, Any]]:
        """The orders the suggestion removes."""
        return [order for order in self.orders if order is not self.kept]

    @property
    def active(self) -> bool:
        """Whether the kept order is an active one of the record, not a draft."""
        return self.kept.get("status") == "active"


def running_orders(record: PatientRecord, drafts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The record's active blinatumomab orders but the drafts being signed and the orders they replace (named as
    their `priorPrescription`: a changed order is sent as a new one replacing the old): one a draft repeats is running
    already. An order's Medication is looked up in the record first (a history searched with `_include`), as the
    history's orders are (facts/medications.py): through the server alone, an active bag referencing one in the
    prefetch was not known as blinatumomab."""
    signed = {order.get("id") for order in drafts}
    replaced = set(map(reference_key, filter(None, map(_prior_prescription, drafts))))
    resolve = record_resolver(record)
    return [order for order in record.resources("medicationRequests", "MedicationRequest")
            if order.get("status") == "active" and isinstance(order.get("id"), str) and order["id"] not in signed
            and order_ref(order) not in replaced and is_blinatumomab(order, resolve) and _VALID(order)]


def _prior_prescription(order: dict[str, Any]) -> str | None:
    prior = order.get("priorPrescription")
    reference = prior.get("reference") if isinstance(prior, dict) else None
    return reference if isinstance(reference, str) else None


def duplicate_sets(orders: list[dict[str, Any]], cycle: CycleLines, answered: frozenset[int],
                   running: Sequence[dict[str, Any]] = ()) -> list[DuplicateSet]:
    """The sets of `orders` (one cycle's) with the same dosage lines, with one another or with an order `running`
    (`running_orders`), each with an answered order (`answered`: their id()s). An order without an id cannot be
    named for removal: it takes no part. Drafts alone are a duplicate only when their sum is off the label
    (`_sum_off_label`); with an active order, always: it is not part of the dose being written."""
    if len(orders) + len(running) < 2:
        return []
    alike: dict[tuple[DoseLine, ...], list[dict[str, Any]]] = {}
    for order in orders:
        lines = tuple(cycle.of(order))
        if isinstance(order.get("id"), str) and _comparable(lines):
            alike.setdefault(lines, []).append(order)
    found = []
    for lines, members in alike.items():
        active = [order for order in running if tuple(cycle.of(order)) == lines][:1]
        together = cycle if not active else cycle.among([*active, *members])
        if (len(active + members) > 1 and any(id(order) in answered for order in members)
                and _shared(members[0], together) and (active or _sum_off_label(members[0], together))):
            kept = next((order for order in active + members if id(order) not in answered), members[0])
            found.append(DuplicateSet((*active, *members), kept, lines, _cycle_words(cycle.facts.cycle)))
    return found


def _cycle_words(cycle: CycleInfo) -> str:
    number = cycle.number.value
    return f"cycle {number}" if number is not None else f"the cycle from {cycle.start.isoformat()}"


def _comparable(lines: tuple[DoseLine, ...]) -> bool:
    return bool(lines) and all(line.mcg_per_day is not None for line in lines)


def _shared(order: dict[str, Any], cycle: CycleLines) -> bool:
    """Whether the order's lines run on a day with another order's: lines running no day double no dose."""
    return any(together.order_count for together in cycle.together(order))


def _sum_off_label(order: dict[str, Any], cycle: CycleLines) -> bool:
    """Whether the copies' sum is off the label on a day they share, above or below it (the dose card's finding, for
    the schedule it checks). Two 14 mcg/day orders of an adult are 28 mcg/day, the label dose: one dose written as two
    orders, likely, and removing one, recommended in one click, halved it. For a child of 0.93 m² (label 13.95
    mcg/day) they are twice the dose, and two 5 mcg/day orders double what may be a deliberate lower dose: duplicates.
    Without the body size the label dose needs, only a sum above the label maximum is told."""
    checks = OrderDoseChecks(order, cycle.orders, cycle.facts, cycle)
    _, findings = checks.findings(schedule_for(cycle.facts))
    return any(finding.together for finding in findings)


def duplicate_card(found: DuplicateSet, label: str) -> dict[str, Any]:
    """The warning on `found`, associated with each of its orders, and the suggestion removing the copies (one
    CDS Hooks 2.0 `delete` action each); `label`: the source label of the orders' other cards."""
    text = render_card("duplicate-order.j2", folded=False, **_context(found))
    card = kind_card(order_ref(found.orders[0]), text, "warning", label, DUPLICATE_KIND)
    card["extension"]["davinci-crd.associated-resource"] = [{"reference": order_ref(o)} for o in found.orders]
    card["selectionBehavior"] = "at-most-one"
    # One click removes every copy: a suggestion's actions are taken together.
    actions = [{"type": "delete", "description": text.action, "resourceId": order_ref(copy)} for copy in found.copies]
    card["suggestions"] = [{"uuid": str(uuid.uuid4()), "label": text.label, "isRecommended": True,
                            "actions": actions}]
    return card


def folded_note(found: DuplicateSet) -> str:
    """The paragraph added to a card shown once for the orders of `found` (duplicate_answers.py)."""
    return render_card("duplicate-order.j2", folded=True, **_context(found)).detail


def _context(found: DuplicateSet) -> dict[str, Any]:
    """duplicate-order.j2's context but `folded` (see its header): the orders named up to NAMED + 1, else NAMED and
    how many more, so that the card does not grow with them."""
    shown = [found.kept, *found.copies]
    shown = shown if len(shown) <= NAMED + 1 else shown[:NAMED]
    rows = [{"reference": order_ref(order), "written": dosage_text(order), "kept": order is found.kept}
            for order in shown]
    return {"count": len(found.orders), "doses": dose_words(list(found.lines)), "rows": rows,
            "more": len(found.orders) - len(shown), "kept": order_ref(found.kept), "cycle": found.cycle,
            "active": found.active}

