"""The card of an order running past its cycle's 28th infusion day (`dosing.cycle_end`): alone, or said on the dose
card whose suggestion ends the order there too."""
from __future__ import annotations

from typing import Any

from cds_service.card_kinds import DAYS_KIND, DOSE_AND_DAYS_KIND, set_kind
from cds_service.card_text import SUMMARY_LIMIT, render_card
from cds_service.dosing.checks import OrderDoseChecks
from cds_service.dosing.cycle_end import CycleEnd, PastCycle
from cds_service.dosing.order_card import order_card
from cds_service.dosing.suggestions import suggestion
from cds_service.dosing.text import days_text
from cds_service.facts.model import ClinicalFacts


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
    card = order_card(order, text, "warning", source_label, DAYS_KIND)
    if isinstance(ending, CycleEnd):
        card["selectionBehavior"] = "at-most-one"
        card["suggestions"] = [suggestion(text, ending.order, facts)]
    return card


def _past_context(past: PastCycle, facts: ClinicalFacts, unreadable: str, offered: bool,
                  why_not: str) -> dict[str, Any]:
    """dose-past-cycle.j2's context but `combined` (see its header)."""
    return {"last": past.last, "days": days_text(past.first, past.last),
            "infusion_day": None if past.infusion_day == past.last else past.infusion_day,
            "end": past.end.isoformat() if past.end else "", "cycle": facts.cycle.number.value, "rest": past.rest,
            "unreadable": unreadable, "offered": offered, "why_not": why_not}
