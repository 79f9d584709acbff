"""The decision card of one order under one payer policy (service-contract.md, Response item 1), and the cards
the service says on its own: no recognized plan, an evaluation that failed, an order whose drug is unknown.

The wording lives in cards/decision.j2, decision-no-plan.j2, evaluation-failed.j2 and order-unidentified.j2; this
module picks what each card shows and shapes the CDS Hooks card.
"""
from __future__ import annotations

import re
from datetime import date
from functools import partial
from typing import Any, Callable, Sequence

from cds_service import SERVICE_NAME
from cds_service.card_config import DECISION_EXTENSION
from cds_service.card_kinds import DECISION_KIND, FAULT_KIND, NO_PLAN_KIND, UNIDENTIFIED_KIND, CardKind, kind_card
from cds_service.card_text import SUMMARY_LIMIT, CardText, Wording, render_card
from cds_service.coverage_info import LABEL_FINDING, as_ordered
from cds_service.decision import CLINICAL, CriterionResult, Decision, IndicationResult
from cds_service.evaluation import INFO_NEEDED, MEETS, NOT_MET_DECISION
from cds_service.dosing.checks import DoseReading
from cds_service.dosing.instruction_text import doses_said
from cds_service.dosing.reading import DoseLine
from cds_service.dosing.text import dose_words
from cds_service.facts.coverage import OutOfForce, Standing
from cds_service.facts.model import ClinicalFacts
from cds_service.facts.order import dosage_bounds, dosage_text, order_ref, recorded_start
from cds_service.label_safety import LabelNote, label_notes
from cds_service.override_reasons import override_reasons
from cds_service.policies import load_policy, payer_labels
from cds_service.printable import cut_between_words
from cds_service.questionnaire import card_question, questionnaire_url
from cds_service.sentences import listed, mid_sentence
from cds_service.summary_items import summary_item
from cds_service.verdict import NOT_MET, UNKNOWN, items

# What each prefetch key (record.PREFETCH_TEMPLATES) carries, as a clinician names it: the decision card says what
# the EHR did not send.
DATA_NAMES: dict[str, str] = {
    "patient": "patient demographics", "coverage": "insurance coverage", "conditions": "diagnoses",
    "observations": "lab results and vital signs", "medicationRequests": "medication history",
    "immunizations": "immunizations", "attestations": "attestation answers",
}
# The parts of the summary around the list of what to document ("<payer>: document ... to confirm coverage"), and
# around what the EHR did not send.
_DOCUMENT_FRAME = len(": document  to confirm coverage")
_NOT_RECEIVED_FRAME = len(": coverage not determined, EHR did not send ")


def decision_card(decision: Decision, facts: ClinicalFacts, order: dict[str, Any], base_url: str,
                  dose: DoseReading, determination: bool = True, which: str = "", coverage: Standing | None = None,
                  last_day: date | None = None, lines: Sequence[DoseLine] = ()) -> dict[str, Any]:
    """The CDS Hooks card for a Decision: summary, indicator, Markdown detail, links, override reasons, extension.

    `dose`: what the label dose check made of the order, for the label's notes (label_safety.py). `determination`
    is False where no authorization is issued (order-select, "what if" calls): a met decision then says so instead
    of "approved". `which`: words telling the order from the others answered with it (dosing.text.order_words), ""
    when it is alone: the summary ends with them when they fit, else two cards' summaries could read the same.
    `coverage`: the Coverage the decision is for, and `last_day` the cycle's last infusion day (_coverage_context).
    `lines`: the order's dosage lines as the dose reading read them, which say a line without a text (_order_text).
    """
    reference = order_ref(order)
    notes = label_notes(decision, facts, dose)
    said = _coverage_context(coverage, facts.start_date, last_day)
    order_text = _order_text(order, reference, lines)
    text = _decision_text(decision, facts, base_url, notes, which, said, determination, order_text,
                          _lapse(decision, last_day), _dose_card_days(decision, dose))
    raised = _raised(indicator(decision), notes)
    card = kind_card(reference, text, raised, decision.payer_label, DECISION_KIND)
    card["extension"][DECISION_EXTENSION] = decision.as_extension()
    card["links"] = _links(decision, base_url)
    if decision.decision == NOT_MET_DECISION:
        card["overrideReasons"] = override_reasons(critical=raised == "critical")
    return card


def _decision_text(decision: Decision, facts: ClinicalFacts, base_url: str, notes: list[LabelNote], which: str,
                   said: dict[str, Any] | None, determination: bool, order: str, lapse: str,
                   dose_days: str) -> CardText:
    """decision.j2's texts, the summary composed within the limit and given up by whole parts, never cut in one.

    The label's word opens it, then the payer and its outcome: those stay (several notes in short when in full they
    leave the outcome no room, _openings). Given up first, one after the other, as the detail says them too: the
    indication's name, when the coverage ends mid-cycle, that it is the secondary coverage; then the words naming
    the order among those signed with it (`which`), which the outcome had been fitted to leave room for: without
    them, the outcome is fitted to the whole room again (its reason or list in full). Last, with the label's word
    in every form, a not-met reason's closing aside ("(not renewable)", _without_aside), given up before the label's
    warnings after the first are only counted, and before any cut."""
    # As decision.j2's met summary says it.
    ends = f"; coverage ends {said['end']}, mid-cycle" if said and said["mid_cycle"] else ""
    runs = f"; infusion runs to {lapse}" if lapse and determination else ""
    named, counted_notes = _openings(notes)
    layouts = [(opening, closing, asides) for openings in (named, counted_notes) for asides in (True, False)
               for opening in openings for closing in ([f" — {which}"] if which else []) + [""]]
    text = CardText("", "")
    counted: CardText | None = None  # the first that fits with what to document only counted ("2 items")
    for opening, closing, asides in layouts:
        # The payer as the summary names it: a secondary coverage's decision says so, as the primary's rules come
        # first; after a label's word, the room left is the outcome's, and the detail says it.
        rank = " (secondary coverage)" if said and said["secondary"] and not opening else ""
        taken = len(opening) + len(closing) + len(rank)
        context = _context(decision, facts, base_url, taken, asides, dose_days)
        text = render_card("decision.j2", **context, coverage=said, label_notes=[n.text for n in notes],
                           payer=decision.payer_label + rank, determination=determination, order=order, lapse=lapse)
        summary = _fitted(text.line, opening, closing, (f" ({decision.indication_title})", ends, runs, rank))
        # A label's word in full had left what to document a bare count ("document 2 items"): its short form, or
        # the order's words given up, may leave room to name the first item.
        if summary and not _COUNTED.fullmatch(context["document"]):
            return text._replace(summary=summary)
        counted = counted or (text._replace(summary=summary) if summary else None)
    if counted is not None:
        return counted
    # A reason too long even so (a criterion's long text, under the label's word): cut after a whole word of it,
    # the only part left to cut (the label's word and the payer fit: _openings); the detail has it whole.
    return text._replace(summary=cut_between_words(layouts[-1][0] + text.line, SUMMARY_LIMIT - 1))


def _dose_card_days(decision: Decision, dose: DoseReading) -> str:
    """The dose card's days above the label ("dose above label on days 8–28") where the decision's label-schedule
    criterion names others, else "". With no indication established, the dose card reads the label dose the chart
    supports (policy-rules.md §5: the phase's schedule, else the ceiling), while the closest indication's criterion
    reads that indication's own (its step days): the card had said days 1–7 and 8–28 beside a dose card, and its
    correction, for days 8–28 alone."""
    if decision.indication is not None or not dose.above or dose.by_copies:
        return ""
    failed = next((c for c in decision.not_met_criteria() if c.kind == "dose"), None)
    said = (failed.summary or "").split("; ")[0] if failed else ""
    return dose.finding if said.startswith(LABEL_FINDING) and said != dose.finding else ""


def _lapse(decision: Decision, last_day: date | None) -> str:
    """The cycle's last infusion day (ISO) when the authorization of a met decision ends before it, else "". A
    course-anchored period can end on the day a late cycle starts (policy-rules.md §4: an order starting on the end
    day is still within it): approved, yet most of its infusion days fall after the authorization."""
    end = decision.authorization.get("end") if decision.decision == MEETS and decision.authorization else None
    return last_day.isoformat() if end and last_day and date.fromisoformat(end) < last_day else ""


def _coverage_context(coverage: Standing | None, start: date, last_day: date | None) -> dict[str, Any] | None:
    """What the decision card says of the Coverage it is for, None when nothing: that it is the secondary coverage
    (its primary named, if the record holds it), or that its period ends on or after the cycle's `start` (else no
    plan decides) and before its `last_day`. The policies' criteria read neither, so the card says them: an
    approval must not read as covering the whole cycle, nor as the only plan's word."""
    if coverage is None:
        return None
    end = coverage.end.isoformat() if coverage.end else ""
    mid_cycle = coverage.end is not None and last_day is not None and start <= coverage.end < last_day
    if not (mid_cycle or coverage.secondary):
        return None
    primary = coverage.primary
    plan = load_policy(primary.policy_id).payer_label if primary and primary.policy_id else ""
    return {"reference": coverage.reference, "period": _period_text(coverage.start, end), "end": end,
            "last_day": last_day.isoformat() if last_day else "", "mid_cycle": mid_cycle,
            "secondary": coverage.secondary, "rank": _rank(coverage.order),
            "primary": primary.reference if primary else "", "primary_plan": plan,
            "primary_payer": plan or (primary.payer if primary else "")}


def _rank(order: int | None) -> str:
    """A secondary coverage's Coverage.order in words, where "secondary" does not say it: "ranked 3rd" ("" for 2 or
    none). The raw "order 2" read as an order of the drug on the card."""
    if order is None or order <= 2:
        return ""
    suffix = "th" if 11 <= order % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(order % 10, "th")
    return f"ranked {order}{suffix}"


def _period_text(first: date | None, end: str) -> str:
    """A Coverage's period as the card writes it ("" when open-ended: then only its rank is said)."""
    if not end:
        return f"from {first.isoformat()}" if first else ""
    return f"{first.isoformat()} to {end}" if first else f"until {end}"


def no_plan_card(order: dict[str, Any], facts: ClinicalFacts, dose: DoseReading, not_received: str = "",
                 coverage: str | None = None, unreadable: str = "", out_of_force: OutOfForce | None = None,
                 in_force: str | None = None, in_force_payer: str = "") -> dict[str, Any]:
    """The info card for an order whose patient has no recognized payer: no decision is made. What was not received
    ("coverage": the Coverage itself; "payer": its payer's Organization) changes what the card says
    (service-contract.md: it names data not received), and so does a Coverage that could not be read (`unreadable`:
    why, shape.problem), or a supported plan's Coverage out of force at the order's start (`out_of_force`): the
    patient has had a plan, not "no supported plan", and may have another in force (`in_force`, an unsupported
    plan's Coverage, and `in_force_payer`, the payer it names: the card says whose plan it does not check).
    `coverage`: the Coverage the card names (facts/coverage.py NoPlan).
    The label's notes (label_safety.py) are said here too: no policy reads the chart in their place."""
    notes = label_notes(None, facts, dose)
    lapsed = _out_of_force_context(out_of_force, facts.start_date, in_force)
    text = render_card("decision-no-plan.j2", not_received=not_received, coverage=coverage, unreadable=unreadable,
                       out_of_force=lapsed, plans=payer_labels(), payer=in_force_payer if in_force else "",
                       label_notes=[n.text for n in notes], dose_checked=not dose.missing or dose.above)
    openings = [opening for forms in _openings(notes) for opening in forms]
    summary = next((fitted for opening in openings if (fitted := _fitted(text.line, opening))),
                   cut_between_words(openings[-1] + text.line, SUMMARY_LIMIT - 1))
    return kind_card(order_ref(order), text._replace(summary=summary), _raised("info", notes), SERVICE_NAME,
                     NO_PLAN_KIND)


def _out_of_force_context(out_of_force: OutOfForce | None, start: date, in_force: str | None) -> dict[str, Any] | None:
    """What the no-plan card says of a supported plan's Coverage whose period leaves out the order's `start`, and of
    the unsupported plan's Coverage in force then (`in_force`, "" when none)."""
    if out_of_force is None:
        return None
    first, last = out_of_force.start, out_of_force.end
    return {"payer": load_policy(out_of_force.payer.policy_id).payer_label,
            "start": first.isoformat() if first else "", "end": last.isoformat() if last else "",
            "order_start": start.isoformat(), "ended": last is not None and last < start, "in_force": in_force or ""}


def fault_card(order: dict[str, Any], hook_instance: str) -> dict[str, Any]:
    """The info card for an order this service failed to evaluate: without it the clinician would read silence as
    "no problem", though neither coverage nor the dose was checked."""
    return _service_note(order, render_card("evaluation-failed.j2", hook_instance=hook_instance), FAULT_KIND)


def unidentified_card(order: dict[str, Any]) -> dict[str, Any]:
    """The note for a draft order whose drug could not be identified: silence would read as "not blinatumomab". No
    400 (a valid MedicationRequest whose Medication is data the service could not read, service-contract.md
    §Prefetch)."""
    return _service_note(order, render_card("order-unidentified.j2"), UNIDENTIFIED_KIND)


def _service_note(order: dict[str, Any], text: CardText, kind: CardKind) -> dict[str, Any]:
    """An info card from this service itself, not from a payer's decision."""
    return kind_card(order_ref(order), text, "info", SERVICE_NAME, kind)


def _order_text(order: dict[str, Any], reference: str, lines: Sequence[DoseLine]) -> str:
    """The order the card answers, as the prescriber wrote it and when it starts, its id last for the pharmacist: with
    several orders signed together, their cards would otherwise differ only in an evidence reference (CRD 2.2 dev-24:
    disambiguate in the detail), and the clinician tells orders by their doses and dates, not their ids. Its doses
    in the dose cards' units (`doses_said`: "9 mcg/day", not the chart's "9 ug/d"), as the two cards are read
    together; the criteria's evidence keeps the chart's own text. A dosage line without a text is said as the dose
    reading read it (`lines`, `_untexted`): left out, the others had read as the whole order."""
    written = dosage_text(order, doses_said, partial(_untexted, lines))
    return f"{written or 'blinatumomab'}{_order_start(order)} ({reference})"


def _untexted(lines: Sequence[DoseLine], index: int) -> str:
    """Dosage line `index`, which has no text, in the dose cards' words and marked as such: "28 mcg/day on days 8–28
    (line 2, no text)"; "dose not read (line 2, no text)" when its dose could not be read (its dose card says why)."""
    words = dose_words([line for line in lines if line.index == index]) or "dose not read"
    return f"{words} (line {index + 1}, no text)"


def _order_start(order: dict[str, Any]) -> str:
    """When the order starts as the service reads it (facts/order.py `recorded_start`), after all its lines (" —
    starts 2026-12-01": not read as the last line's alone); "" for a start given only by a month or a year, or none.
    Its end is left to the dose card: an end given by a line's duration is the dose reading's, not the record's."""
    bounds = dosage_bounds(order)
    start = recorded_start(order, bounds)
    return "" if start is None or bounds.first_last != bounds.first else f" — starts {start}"


def _openings(notes: list[LabelNote]) -> tuple[list[str], list[str]]:
    """What may open the summary, the first that leaves the payer's outcome room: the words of the label notes it
    names, before the outcome ("" when none); else each in short (LabelNote.short). Then, apart, the first (the most
    urgent: label_notes lists them so) in short and how many more warnings the detail says ("(+1 label note)" had
    named a thing of this code, not of the clinician's), when there are more."""
    named = [note for note in notes if note.summary]
    if not named:
        return [""], []
    more = len(named) - 1
    forms = ("; ".join(n.summary for n in named), "; ".join(n.short or n.summary for n in named))
    counted = f"{named[0].short or named[0].summary} (+{more} warning{'s' if more > 1 else ''}) — "
    return [f"{form} — " for form in dict.fromkeys(forms)], [counted] if more else []


def _fitted(summary: str, opening: str, closing: str = "", droppable: tuple[str, ...] = ()) -> str:
    """`opening` + `summary` + `closing` under the limit, the `droppable` parts of `summary` given up whole, one after
    the other; "" when even the summary without them does not fit."""
    base = summary
    for part in ("", *droppable):
        base = base.replace(part, "", 1) if part else base
        if len(opening) + len(base) + len(closing) < SUMMARY_LIMIT:
            return opening + base + closing
    return ""


_RANK = {"info": 0, "warning": 1, "critical": 2}


def _raised(indicator: str, notes: list[LabelNote]) -> str:
    """The card's indicator, raised to the most urgent a note its summary names asks for (label_safety.LabelNote)."""
    return max([indicator, *(note.indicator for note in notes if note.summary)], key=_RANK.__getitem__)


def indicator(decision: Decision) -> str:
    """info when met; critical when not met because of a criterion its policy marks critical; warning otherwise."""
    if decision.decision == MEETS:
        return "info"
    return "critical" if decision.critical else "warning"


def _context(decision: Decision, facts: ClinicalFacts, base_url: str, opening: int, asides: bool,
             dose_days: str = "") -> dict[str, Any]:
    """What decision.j2 is given. `opening`: the characters the label's words take before the payer's outcome in the
    summary (_opening); the outcome's parts are fitted to what is left, or the cut after them had taken the reason
    ("not covered — meets adult relapsed/refractory…"). `asides` False: the reason without its aside (_reason).
    `dose_days`: the dose card's days above the label where the criterion's differ (_dose_card_days)."""
    general = [c for c in decision.criteria if "." not in c.id]
    shown = next((r for r in decision.indications if r.id == decision.shown_indication), None)
    needed, alternatives = decision.to_document()
    blocked = _blocked(decision, opening, asides)
    # Listed by ", " in the summary and the detail: the name holding "and" last, where it reads as the list's end
    # ("immunizations, lab results and vital signs", not "lab results and vital signs, immunizations").
    data_names = sorted((DATA_NAMES.get(key, key) for key in facts.not_received), key=lambda name: " and " in name)
    before = opening + len(decision.payer_label)  # the summary's characters before the payer's outcome
    if blocked:  # documentation opens only other indications: named in full after the failure, or left to the detail
        said = [summary_item(item) for item in alternatives]
        document = f"; or, for another indication, document {listed(said)}" if said else ""
        room = SUMMARY_LIMIT - 1 - before - len(f": not covered as ordered — {blocked}")
        document, document_hint = (document if len(document) <= room else ""), ""
    elif decision.not_received:  # the chart may hold it all: first say what did not arrive, the data by its name
        frame = before + _NOT_RECEIVED_FRAME
        # The data by name as the detail lists them ("diagnoses, lab results and vital signs"), else the items.
        joined = ", ".join if data_names else listed
        document, document_hint = _summary_request(data_names or decision.not_received, [], frame, joined)
    else:  # the shown indication's items; with none of its own, what the other indications need
        frame = before + _DOCUMENT_FRAME
        document, document_hint = _summary_request(needed or alternatives, alternatives if needed else [], frame)
    return {
        "d": decision,
        "blocked": blocked,
        "needed": needed,
        "alternatives": alternatives,
        "document": document,
        "document_hint": document_hint,
        # Only a not-met card says it.
        "reason": _reason(decision, opening, asides, dose_days) if decision.decision == NOT_MET_DECISION else "",
        "dose_days": dose_days,
        "as_ordered": as_ordered(decision),
        "general": general,
        "shown": shown,
        "shown_role": _role(decision, shown),
        # Routes still open, for a card that is not yet met (on a met card they would only distract).
        "others": [r.title for r in decision.indications
                   if decision.decision != MEETS and r.status != NOT_MET and shown is not None and r.id != shown.id],
        "not_met_others": _not_met_others(decision, shown),
        # Joined by "; " after a colon: each reads on in the sentence (sentences.py).
        "attested": [mid_sentence(card_question(link_id))
                     for link_id in dict.fromkeys((*facts.attested_items, *decision.attested_items))],
        "not_received": data_names,
        # A criterion the data not received left unknown, on a card whose decision it cannot change (not met): the
        # detail had said "no criterion was left unknown by it" beside one marked "not received from the EHR".
        "unknown_for_want": any(c.status == UNKNOWN and not c.received
                                for c in (*general, *(shown.criteria if shown else ()))),
        # Whether the attestation Questionnaire can answer something left unknown: it asks about some facts only,
        # and offering it for a weight or a lab result it cannot record sent clinicians to a form of no use.
        "askable": _askable(decision, [*needed, *alternatives, *decision.not_received]),
        "questionnaire": questionnaire_url(base_url),
    }


def _not_met_others(decision: Decision, shown: IndicationResult | None) -> list[tuple[str, list[CriterionResult]]]:
    """On a card that is no approval (not met, or information needed), the indications not met besides the one shown,
    each with the first criterion it fails (clinical first: the dose of a pathway the patient is not on is no news),
    and those failing on the same criterion and finding named together ("pediatric MRD-positive ALL; pediatric
    relapsed/refractory ALL: age ..., born 1980-05-10"): a pharmacist sees why every pathway is closed (two may fail
    on one criterion each, and the one shown is the first of them) without a line per pathway repeating one finding.
    The audit trail keeps every criterion of each (docs/audit.md)."""
    if decision.decision == MEETS:
        return []
    grouped: dict[tuple[str, str, str], tuple[list[str], CriterionResult]] = {}
    for result in decision.indications:
        if result.status != NOT_MET or (shown is not None and result.id == shown.id):
            continue
        failed = [c for c in result.criteria if c.status == NOT_MET]
        first = next((c for c in failed if c.kind == CLINICAL), failed[0])
        titles, _ = grouped.setdefault((first.text, first.citation, first.note), ([], first))
        titles.append(result.title)
    return [("; ".join(titles), [first]) for titles, first in grouped.values()]


def _askable(decision: Decision, asked: list[str]) -> bool:
    """Whether the attestation Questionnaire can answer one of the `asked` items (what the card asks to document):
    an unknown criterion's, or an unanswered attestation-only one's (not met, not attested: engine._answer_wanting)."""
    answerable = {item for c in (*decision.criteria, *(c for r in decision.indications for c in r.criteria))
                  if c.askable and (c.status == UNKNOWN or (c.status == NOT_MET and not c.attested))
                  for item in items(c.missing)}
    return not answerable.isdisjoint(asked)


# The shown indication's role, fixed words: their Markdown form made once (Wording), not searched on every card.
_MET_ROLE = Wording("Indication met")
_CLINICAL_ROLE = Wording("Indication (clinical criteria met)")
_CLOSEST_ROLE = Wording("Closest indication")


def _role(decision: Decision, shown: IndicationResult | None) -> str:
    if shown is None:
        return ""
    if decision.decision == MEETS:
        return _MET_ROLE
    return _CLINICAL_ROLE if decision.indication == shown.id else _CLOSEST_ROLE


def _blocked(decision: Decision, opening: int, asides: bool) -> str:
    """The failure the summary puts first (Decision.blocking), worded as a not-met card's reason; "" when none."""
    return _reason(decision, opening, asides) if decision.blocking() else ""


_COUNTED = re.compile(r"\d+ items?")  # what to document only counted, with no room to name an item (_summary_request)
_SHORTEST_CUT_ITEM = 40  # characters of room at least for the start of an item too long for the summary


def _summary_request(needed: list[str], alternatives: list[str], frame: int,
                     joined: Callable[[list[str]], str] = listed) -> tuple[str, str]:
    """What the summary asks to document: every needed item with what other indications would need instead, if it
    all fits beside the `frame` (the summary's other text); else as many needed items as fit, then how many more, and
    the alternatives left to the detail. The card's own items come first: a count of another indication's items
    ("would need 3 more") hid them and told the clinician nothing to act on. A malformed resource's item is said
    in words (summary_items.py), its element's path left to the detail."""
    if not needed:
        return "the missing information", ""
    needed, alternatives = [summary_item(i) for i in needed], [summary_item(i) for i in alternatives]
    # "Would need", not "or": another indication may need these besides, not instead of, the shown one's.
    hint = f" (another indication would need: {listed(alternatives)})" if alternatives else ""
    if len(joined(needed)) <= SUMMARY_LIMIT - 1 - frame - len(hint):
        return joined(needed), hint
    budget = SUMMARY_LIMIT - 1 - frame
    # The items in full, else without their closing asides, which the detail lists, before an item is cut: an aside
    # cut in its middle told the clinician nothing.
    for items in (needed, [_without_aside(item) for item in needed]):
        # No more items than fit apart (2 characters between each at least): each count tried joins them, and
        # trying all of thousands of unreadable answers' items had cost a second.
        for count in range(min(len(needed), budget // 2 + 1), 0, -1):
            text = joined(items) if count == len(items) else "; ".join(items[:count]) + _more_items(len(needed) - count)
            if len(text) <= budget:
                return text, ""
    # The first item alone is too long: cut between its words, so that the summary still ends as it says ("to
    # confirm coverage"), not cut in mid-word at the limit; the detail lists it whole. With too little room for its
    # first words (a label's word before the payer), how many items: a word or two of it named nothing ("ALL…").
    counted = _more_items(len(needed) - 1)
    if budget - len(counted) >= _SHORTEST_CUT_ITEM:
        return cut_between_words(needed[0], budget - len(counted)) + counted, ""
    return (f"{len(needed)} items" if len(needed) > 1 else "1 item"), ""


def _more_items(more: int) -> str:
    """After the items a summary names, the others the detail lists: "and 1 more item" ("(+1 more)" had read as one
    more of the last item's kind, or a dose)."""
    return f" and {more} more item{'s' if more > 1 else ''}" if more else ""


def _reason(decision: Decision, opening: int, asides: bool, dose_days: str = "") -> str:
    """Why it is not covered: the first not-met criterion, policy-level ones first, in the plan's terms; of an order
    failing on both its dose and its quantity, the dose (a doubled dose matters more than the vials it takes). Fitted
    to the summary after an `opening` of that many characters (_context); `asides` False: without its closing aside
    (_without_aside)."""
    failed = decision.not_met_criteria()
    if not failed:
        return "no indication of the policy is met"
    ordered = as_ordered(decision)
    first = next((c for c in failed if c.kind == "dose"), failed[0]) if ordered else failed[0]
    reason = first.summary or first.text
    if first.kind == "dose" and dose_days:  # the dose card's days, not the closest indication's schedule's
        reason = "; ".join([dose_days, *reason.split("; ")[1:]])
    reason = reason if asides else _without_aside(reason)
    frame = ": not covered as ordered — " if ordered else ": not covered — "
    room = SUMMARY_LIMIT - 1 - opening - len(decision.payer_label) - len(frame)
    note = first.note
    if first.critical and note:
        # The evidence in full if it fits, else the vaccine and its date with the start that would clear it (the
        # next step), else as many of its first clauses as fit (the vaccine and its date, then the window), else the
        # first with the vaccine's name shortened: a summary cut in the middle of a date misleads, and one without
        # the vaccine and its date leaves the clinician to open the card for them.
        clauses = note.split(";")
        notes = (note, *_next_step(clauses), *(";".join(clauses[:count]) for count in range(len(clauses) - 1, 0, -1)),
                 _name_shortened(clauses[0], room - len(reason) - len(" ()")))
        fitting = (f"{reason} ({note})" for note in notes if note)
        reason = next((text for text in fitting if len(text) <= room), reason)
    if first.kind == "clinical":  # what the policy requires, then what the chart showed instead, if it fits
        required = f"requires {mid_sentence(reason)}"
        charts = (note, _named_part(note.split("; ")[0])) if note and not first.critical else ()
        return next((shown for chart in charts if chart and len(shown := f"{required}; chart: {chart}") <= room),
                    required)
    if decision.indication_title and first.kind != "universal":
        met_except = f"meets {decision.indication_title} except {reason}"
        if len(met_except) <= room:
            return met_except
    return _parts_fitted(reason, room)  # the failure, not the indication, is the news


_LATER_START = "a start on or after "  # the clause of a live vaccine's note that says when a start clears it


def _next_step(clauses: list[str]) -> list[str]:
    """The note's vaccines and their dates with the start that would clear them, in short, when the note gives one
    (facts/immunizations.py): what the clinician can do, in place of the window they were judged in; then the first
    vaccine and how many others, with that start."""
    later = next((c.strip() for c in clauses if c.strip().startswith(_LATER_START)), "")
    if not later:
        return []
    start = later.split(" would ")[0].removeprefix("a ")
    vaccines = [c for c in clauses if not c.strip().startswith((_LATER_START, "window "))]
    others = len(vaccines) - 1
    counted = [f"{vaccines[0]} and {others} other{'s' if others > 1 else ''}; {start}"] if others else []
    return [f"{';'.join(vaccines)}; {start}", *counted]


def _named_part(note: str) -> str:
    """What a note's first clause names after its colon ("other antineoplastics active at the start date: cytarabine"
    → "cytarabine"), "" when it has none: beside "requires single agent" the drug's name is the news, and the words
    before it had left no room for it in the summary."""
    return note.rsplit(": ", 1)[1] if ": " in note else ""


# A schedule finding (dosing/checks.schedule_finding) in fewest words, once its days and aside are given up too.
_TERSE = {"infusion past day 28": "past day 28",
          "cycle starts before the previous one ended": "overlaps previous cycle"}


def _parts_fitted(reason: str, room: int) -> str:
    """A reason of several findings joined by "; " ("dose above label on days 1–7 and 8–33; infusion past day 28;
    rest too short (2 of 14 days)") within `room`, read whole: every finding, each in full, else without its aside,
    else without its days ("dose above label"), which the detail gives, else in fewest words ("past day 28"); else
    the first findings (the most important: the dose check names them so) and how many other schedule problems
    ("and 2 other schedule problems", "+ 2 schedule problems"), else only how many ("3 schedule problems"): never
    "(+1 more)", which had left the clinician to guess one more of what. `reason` as it is when it fits or has one
    part, or when not even the count fits."""
    parts = reason.split("; ")
    if len(reason) <= room or len(parts) == 1:
        return reason
    bare = [_without_aside(p).split(" on day", 1)[0] for p in parts]
    forms = (parts, [_without_aside(p) for p in parts], bare, [_TERSE.get(p, p) for p in bare])
    for count in range(len(parts), 0, -1):
        more = len(parts) - count
        problems = f"schedule problem{'s' if more > 1 else ''}"
        for form in forms:
            for counted in ((f" and {more} other {problems}", f" + {more} {problems}") if more else ("",)):
                if len(said := "; ".join(form[:count]) + counted) <= room:
                    return said
    counted = f"{len(parts)} schedule problems"
    return counted if len(counted) <= room else reason


def _without_aside(text: str) -> str:
    """`text` without the parenthesis closing it ("more than 5 maintenance cycles (not renewable)" → "... cycles"),
    a whole part the detail still says: a summary had cut it in its middle ("(not…"). `text` when it has none."""
    if not text.endswith(")"):
        return text
    depth = 0
    for at in range(len(text) - 1, 0, -1):
        depth += (text[at] == ")") - (text[at] == "(")
        if depth == 0:
            return text[:at - 1] if text[at - 1] == " " else text
    return text


_DATED = " dated "
_SHORTEST_NAME = 8  # characters of a vaccine's name kept at least: fewer no longer name it


def _name_shortened(clause: str, width: int) -> str:
    """"<name> dated <date>" within `width` characters, the name cut with an ellipsis and the date kept whole; ""
    when it cannot be done."""
    at = clause.find(_DATED)
    room = width - (len(clause) - at)  # for the name and its ellipsis
    if at < 0 or room - 1 < _SHORTEST_NAME:
        return ""
    return cut_between_words(clause[:at], room, _SHORTEST_NAME) + clause[at:]


def _links(decision: Decision, base_url: str) -> list[dict[str, str]]:
    links = [{"label": f"{decision.payer_label} policy", "url": decision.policy_url, "type": "absolute"}]
    if decision.decision == INFO_NEEDED:
        links.append({"label": "Attestation questionnaire", "url": questionnaire_url(base_url), "type": "absolute"})
    return links
