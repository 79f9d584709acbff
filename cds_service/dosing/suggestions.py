"""The one-click corrections of the dose cards: the suggestion, whether it is recommended, and the order and lines a
dose correction rewrites."""
from __future__ import annotations

import uuid
from typing import Any

from cds_service.card_text import CardText
from cds_service.dosing.checks import OrderDoseChecks
from cds_service.dosing.cycle_end import CycleEnd
from cds_service.dosing.reading import DoseLine
from cds_service.dosing.rewrite import Correction
from cds_service.facts.model import ClinicalFacts


def recommended(facts: ClinicalFacts) -> bool:
    """Whether a one-click correction is recommended: not when the chart (or the prescriber) says the drug is to stop
    for an unacceptable toxicity (a grade 4 CRS or ICANS, this course or an earlier one: the label says discontinue
    permanently); a corrected order is then offered, not advised."""
    return facts.unacceptable_toxicity.value is not True and not facts.severe_toxicity_before_course.value


def suggestion(text: CardText, resource: dict[str, Any], facts: ClinicalFacts) -> dict[str, Any]:
    """The one-click correction (`recommended` or not)."""
    return {
        "uuid": str(uuid.uuid4()),
        "label": text.label,
        "isRecommended": recommended(facts),
        "actions": [{"type": "update", "description": text.action, "resource": resource}],
    }


def offer_correction(card: dict[str, Any], text: CardText, correction: Correction, facts: ClinicalFacts,
                     checks: OrderDoseChecks) -> None:
    """The dose card's one suggestion, `correction`, recorded on `checks` as the lines it writes."""
    card["selectionBehavior"] = "at-most-one"
    card["suggestions"] = [suggestion(text, correction.resource, facts)]
    checks.record_correction(correction.resource)


def to_correct(checks: OrderDoseChecks) -> tuple[dict[str, Any], list[DoseLine]]:
    """The order and lines a dose correction rewrites: the order ended on its cycle's 28th infusion day when that is
    a one-click correction (`OrderDoseChecks.ending`), so that the card's one suggestion carries both corrections
    (two suggestions, each replacing the whole order, would undo each other); else the order as written."""
    ending = checks.ending
    return (ending.order, ending.lines) if isinstance(ending, CycleEnd) else (checks.order, checks.lines)
