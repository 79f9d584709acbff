"""One call of the audit trail in words (`cds-service audit show`): the call, each order's decision with what the
EHR was given, its criteria and the indications evaluated, and the feedback on its cards. What was sent with a
decision is worded here for the listing's table too (`decision_words`, `why_not_authorized`)."""
from __future__ import annotations

from itertools import chain
from typing import Any, Protocol

from cds_service.audit_export import card_named, card_words, failed_criteria, feedback_line, indication_notes, utc
from cds_service.audit_queries import NO_PLAN, InvocationDetail, criterion_ids
from cds_service.audit_words import counted
from cds_service.evaluation import INFO_NEEDED, NOT_MET_DECISION, OrderOutcome
from cds_service.hook_request import ORDER_SIGN
from cds_service.printable import printable

_INDENT = " " * 15  # where the values of `show` begin


def format_detail(detail: InvocationDetail) -> str:
    record = detail.record
    lines = [
        # A call refused before its body was read (a 415) has neither hookInstance nor hook: "-", as for the others.
        f"hookInstance  {record.hook_instance or '-'}",
        f"time          {utc(record.time)}",
        f"service       {record.service_id} ({record.hook or '-'})",
        f"client        {record.client_iss or '-'}{f' (tenant {record.tenant})' if record.tenant else ''}",
        f"patient       {record.patient_id or '-'}",
        f"user          {record.user_id or '-'}",
        f"encounter     {record.encounter_id or '-'}",
        f"request id    {record.request_id or '-'}",
        f"status        {record.status} in {record.latency_ms:.1f} ms{f': {record.reason}' if record.reason else ''}",
    ]
    for outcome in record.outcomes:
        lines += ["", *_outcome_lines(outcome, record.hook)]
    labels = {uuid: label for outcome in record.outcomes for uuid, label in outcome.suggestion_labels.items()}
    lines += ["", "Feedback:" if detail.feedback else "Feedback: none"]
    lines += [f"  {feedback_line(entry, card_named(detail, entry.card_uuid), labels)}" for entry in detail.feedback]
    return "\n".join(map(printable, lines))  # each line one line: a comment's newline or escape printed escaped


def _outcome_lines(outcome: OrderOutcome, hook: str) -> list[str]:
    lines = [
        f"Order {outcome.order_id}",
        f"  policy       {outcome.policy or '-'} {outcome.policy_version or ''}".rstrip() + _policy_file(outcome),
        f"  value sets   {outcome.valueset_digest or '-'}",
        f"  decision     {decision_words(outcome.decision, outcome.no_plan_reason)}"
        + (" (what-if call)" if outcome.what_if else ""),
        f"  indication   {_indication(outcome)}",
        f"  request      {outcome.request_type or '-'}, cycle {outcome.cycle if outcome.cycle is not None else '-'}",
        f"  coverage     {outcome.coverage_reference or '-'}",
        f"  assertion    {outcome.coverage_assertion_id or '-'}",
        f"  sent         {_coverage_sent(outcome)}",
        f"  authorized   {_authorized(outcome, hook)}",
        f"  to document  {'; '.join(outcome.missing) or '-'}",
        f"  not received {', '.join(outcome.not_received) or '-'}",
        *_listed("cards", [_card(uuid, outcome) for uuid in outcome.card_uuids]),
        *_listed("suggestions", [_suggestion(uuid, outcome) for uuid in outcome.suggestion_uuids]),
        "  criteria:" if outcome.criteria else "  criteria:    none",
    ]
    lines += [line for criterion in outcome.criteria for line in _criterion_lines(criterion)]
    # Every pathway and why it failed (rows before migration 0007 do not say): a denial is every indication not met.
    if outcome.indications:
        lines += ["  indications evaluated:", *chain.from_iterable(map(_indication_lines, outcome.indications))]
    return lines


def _indication(outcome: OrderOutcome) -> str:
    """The indication reported (its clinical criteria met) and, of a decision not met all the same, the criteria not
    met or unknown (a dose, a quantity); of a decision with none, the one whose criteria the card showed (the closest:
    docs/policy-reading.md §The decision), named by its criteria's ids ("<indication>.<id>"). Without them, a met
    indication beside "criteria-not-met" reads as a contradiction, and a denial's criteria as of no pathway."""
    if outcome.decision not in (NOT_MET_DECISION, INFO_NEEDED):
        return outcome.indication or "-"
    if not outcome.indication:
        shown = {str(c.get("id")).split(".")[0] for c in outcome.criteria if "." in str(c.get("id"))}
        return f"none met; the card showed {shown.pop()}'s criteria" if len(shown) == 1 else "none met"
    failed = unmet_criteria(outcome.indication, criterion_ids(outcome.criteria, "not-met"),
                            criterion_ids(outcome.criteria, "unknown"))
    return f"{outcome.indication} (clinical criteria met; {failed})" if failed else outcome.indication


def unmet_criteria(indication: str | None, not_met: list[str], unknown: list[str]) -> str:
    """`not-met: quantity; unknown: U1`: the criteria a decision failed on, not met then unknown, those of the
    indication reported named without its prefix ("<indication>.<id>"); "" when none failed."""
    prefix = f"{indication}." if indication else None
    by_status = [(status, ", ".join(criterion.removeprefix(prefix) if prefix else criterion for criterion in ids))
                 for status, ids in (("not-met", not_met), ("unknown", unknown))]
    return "; ".join(f"{status}: {ids}" for status, ids in by_status if ids)


def _policy_file(outcome: OrderOutcome) -> str:
    """Which file decided: its digest and folder (rows before migration 0006 have neither)."""
    return f" (file {outcome.policy_digest}, {outcome.policy_source})" if outcome.policy_digest else ""


def _coverage_sent(outcome: OrderOutcome) -> str:
    """The coverage information the EHR was given with the order."""
    if outcome.covered is not None:
        return f"coverage-information covered={outcome.covered}" + (
            f", pa-needed={outcome.pa_needed}" if outcome.pa_needed else "")
    if outcome.coverage_assertion_id is None:
        return "no coverage information"
    return "coverage-information (its codes are not recorded before migration 0006)"


def _authorized(outcome: OrderOutcome, hook: str) -> str:
    """The period, when the EHR was given it as an authorization (pa-needed satisfied, with satisfied-pa-id); else
    why none was issued, and the period an approval would have: a what-if call or a preview approves nothing."""
    if not outcome.authorization:
        return "-"
    period = _period(outcome.authorization)
    unissued = why_not_authorized(outcome, hook)
    return f"none issued ({unissued}); period if approved: {period}" if unissued else period


class _Sent(Protocol):
    """What was sent with a decision, as an order's outcome (`show`) and a listing's row (the table) both say it."""

    @property
    def what_if(self) -> bool: ...
    @property
    def coverage_assertion_id(self) -> str | None: ...
    @property
    def covered(self) -> str | None: ...
    @property
    def pa_needed(self) -> str | None: ...


def why_not_authorized(outcome: _Sent, hook: str) -> str:
    """Why a met decision's period was not an authorization ("" when it was)."""
    if outcome.what_if:
        return "what-if call"
    if hook != ORDER_SIGN:
        return f"{hook} preview"
    if outcome.coverage_assertion_id is None:
        return "no coverage information sent"
    if outcome.covered is None:  # a row before migration 0006: such an action carried the authorization
        return ""
    return "" if outcome.pa_needed == "satisfied" else f"pa-needed {outcome.pa_needed or 'not sent'}"


def decision_words(decision: str | None, no_plan_reason: str | None) -> str:
    """The decision, or why there was none: no plan, and why (rows before migration 0006 do not say)."""
    return decision or (f"{NO_PLAN} ({no_plan_reason})" if no_plan_reason else "-")


def _period(period: dict[str, Any]) -> str:
    cycles = f" ({counted(period['cycles'], 'cycle')})" if period.get("cycles") else ""
    return f"{period.get('start')} to {period.get('end')}{cycles}"


def _listed(label: str, items: list[str]) -> list[str]:
    """`label`, then one item a line, aligned."""
    if not items:
        return [f"  {label:<12} -"]
    return [f"  {label:<12} {items[0]}", *(_INDENT + item for item in items[1:])]


def _card(uuid: str, outcome: OrderOutcome) -> str:
    """The card, and what it said when it was sent: [indicator] summary (none for a card cut by max-cards, or
    recorded before migration 0006)."""
    indicator = outcome.card_indicators.get(uuid)
    said = f" [{indicator}] {outcome.card_summaries.get(uuid, '')}" if indicator else ""
    topic = outcome.card_topics.get(uuid)
    return (f"{uuid} ({card_words(topic, outcome.card_kinds.get(uuid))})" if topic else uuid) + said


def _suggestion(uuid: str, outcome: OrderOutcome) -> str:
    """The suggestion, its label and the orders its create actions make (rows before migration 0010 do not say): a
    later call signing one of them is the split's."""
    said = f"{uuid}: {outcome.suggestion_labels[uuid]}" if uuid in outcome.suggestion_labels else uuid
    creates = outcome.suggestion_creates.get(uuid)
    return f"{said}; creates {', '.join(creates)}" if creates else said


def _criterion_lines(criterion: dict[str, Any]) -> list[str]:
    """The criterion, then on a second line what decided it (its note), which is what a pharmacist checks. Two
    lines, not one string with a newline: format_detail escapes each line's control characters (the stored note's
    too), so a newline joined in here would be printed as "\\n"."""
    status = f"[{criterion.get('status', '?')}]".ljust(10)
    citation = f" ({criterion['citation']})" if criterion.get("citation") else ""
    evidence = ", ".join(criterion.get("evidence") or ())
    text = f" {criterion['text']}" if criterion.get("text") else ""
    line = f"{status} {criterion.get('id', '?')}{citation}{text}{f'  evidence: {evidence}' if evidence else ''}"
    note = (criterion.get("note") or "") + (" (attested)" if criterion.get("attested") else "")
    return [f"    {line}", f"{_INDENT}{note.strip()}"] if note.strip() else [f"    {line}"]


def _indication_lines(indication: dict[str, Any]) -> list[str]:
    """`not-met   adult-relapsed-refractory: relapsed-refractory-phase (unknown: mrd)`: its criteria that failed; under
    it, what the record showed for each (rows before the notes were kept have none)."""
    return [f"    {str(indication.get('status', '?')):<9} {failed_criteria(indication)}",
            *(f"{_INDENT}{criterion}: {note}" for criterion, note in indication_notes(indication))]
