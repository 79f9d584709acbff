"""The trail's decisions for a payer's review (`cds-service audit export`, docs/audit.md §Export), and the words of a
feedback item that `show` prints too.

JSON lines: one object a decision, its call's fields and its order's beside each other, with the feedback on its
cards. CSV: one row a criterion (a decision without criteria, one row), the decision's columns repeated on each, so a
spreadsheet filters and sorts by criterion, status or citation; the indications evaluated and the feedback in a cell
each, in `show`'s words, one after the other split by " | ".
"""
from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from typing import IO, Any, Callable, Iterable

from cds_service.audit_queries import NO_PLAN, InvocationDetail
from cds_service.audit_rows import FeedbackEntry
from cds_service.evaluation import OrderOutcome
from cds_service.printable import json_value

# A spreadsheet takes a cell starting with one of these for a formula (OWASP's "CSV injection"); ids and the
# clinician's comment are the client's text: such a cell is written after a "'", which the spreadsheet shows.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_Cell = Callable[[InvocationDetail, OrderOutcome, dict[str, Any]], Any]
_CALL: tuple[tuple[str, _Cell], ...] = (
    ("time_utc", lambda detail, _o, _c: utc(detail.record.time)),
    ("hook", lambda detail, _o, _c: detail.record.hook),
    ("hook_instance", lambda detail, _o, _c: detail.record.hook_instance),
    ("request_id", lambda detail, _o, _c: detail.record.request_id),
    ("client", lambda detail, _o, _c: detail.record.client_iss),
    ("tenant", lambda detail, _o, _c: detail.record.tenant),
    ("patient", lambda detail, _o, _c: detail.record.patient_id),
    ("user", lambda detail, _o, _c: detail.record.user_id),
    ("encounter", lambda detail, _o, _c: detail.record.encounter_id),
)
_DECISION: tuple[tuple[str, _Cell], ...] = (
    ("order", lambda _d, outcome, _c: outcome.order_id),
    ("policy", lambda _d, outcome, _c: outcome.policy),
    ("policy_version", lambda _d, outcome, _c: outcome.policy_version),
    ("policy_digest", lambda _d, outcome, _c: outcome.policy_digest),
    ("policy_source", lambda _d, outcome, _c: outcome.policy_source),
    ("valueset_digest", lambda _d, outcome, _c: outcome.valueset_digest),
    ("decision", lambda _d, outcome, _c: outcome.decision or (NO_PLAN if outcome.no_plan_reason else None)),
    ("no_plan_reason", lambda _d, outcome, _c: outcome.no_plan_reason),
    ("what_if", lambda _d, outcome, _c: outcome.what_if),
    ("request_type", lambda _d, outcome, _c: outcome.request_type),
    ("cycle", lambda _d, outcome, _c: outcome.cycle),
    ("indication", lambda _d, outcome, _c: outcome.indication),
    ("coverage", lambda _d, outcome, _c: outcome.coverage_reference),
    ("coverage_assertion_id", lambda _d, outcome, _c: outcome.coverage_assertion_id),
    ("covered", lambda _d, outcome, _c: outcome.covered),
    ("pa_needed", lambda _d, outcome, _c: outcome.pa_needed),
    ("authorization_start", lambda _d, outcome, _c: (outcome.authorization or {}).get("start")),
    ("authorization_end", lambda _d, outcome, _c: (outcome.authorization or {}).get("end")),
    ("to_document", lambda _d, outcome, _c: "; ".join(outcome.missing)),
    ("not_received", lambda _d, outcome, _c: ", ".join(outcome.not_received)),
    ("indications_evaluated", lambda _d, outcome, _c: " | ".join(map(_indication, outcome.indications))),
)
_CRITERION: tuple[tuple[str, _Cell], ...] = (
    ("criterion", lambda _d, _o, criterion: criterion.get("id")),
    ("criterion_status", lambda _d, _o, criterion: criterion.get("status")),
    ("criterion_citation", lambda _d, _o, criterion: criterion.get("citation")),
    ("criterion_text", lambda _d, _o, criterion: criterion.get("text")),
    ("criterion_evidence", lambda _d, _o, criterion: ", ".join(criterion.get("evidence") or ())),
    ("criterion_note", lambda _d, _o, criterion: criterion.get("note")),
    ("criterion_attested", lambda _d, _o, criterion: criterion.get("attested")),
    ("feedback", lambda detail, outcome, _c: " | ".join(_feedback(detail, outcome))),
)
CSV_COLUMNS = tuple(name for name, _ in (*_CALL, *_DECISION, *_CRITERION))


def write_jsonl(details: Iterable[InvocationDetail], out: IO[str]) -> int:
    """One JSON object a decision; how many were written."""
    written = 0
    for detail in details:
        out.write(json.dumps(decision_object(detail)) + "\n")
        written += 1
    return written


def decision_object(detail: InvocationDetail) -> dict[str, Any]:
    """A decision as one flat object: the call's fields (ids, time, status, who asked), the order's (policy, its
    version and digests, criteria, indications evaluated, what was sent, cards) and the feedback on its cards."""
    call = detail.as_dict()
    [order] = call.pop("outcomes")
    return {**call, **order, "feedback": call["feedback"]}


def write_csv(details: Iterable[InvocationDetail], out: IO[str]) -> int:
    """A header, then one row a criterion of each decision; how many decisions were written."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    written = 0
    for detail in details:
        [outcome] = detail.record.outcomes
        for criterion in outcome.criteria or [{}]:
            writer.writerow([_csv_cell(cell(detail, outcome, criterion))
                             for _, cell in (*_CALL, *_DECISION, *_CRITERION)])
        written += 1
    return written


def _csv_cell(value: Any) -> str:
    """Empty for none, true/false as JSON says them, and text that a spreadsheet would run as a formula quoted."""
    if value is None:
        return ""
    text = json.dumps(value) if isinstance(value, bool) else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _indication(indication: dict[str, Any]) -> str:
    """`adult-maintenance not-met: maintenance-phase (unknown: mrd); maintenance-phase: relapsed ...`: an indication
    evaluated, the criteria it failed on and what the record showed for each, as `show` words them."""
    notes = "".join(f"; {criterion}: {note}" for criterion, note in indication_notes(indication))
    return f"{indication.get('status', '?')} {failed_criteria(indication)}{notes}"


def failed_criteria(indication: dict[str, Any]) -> str:
    """`adult-relapsed-refractory: relapsed-refractory-phase (unknown: mrd)`: an indication evaluated and its
    criteria not met and unknown, named without the indication's id that prefixes theirs."""
    name = str(indication.get("id", "?"))
    not_met, unknown = (", ".join(str(criterion).removeprefix(f"{name}.") for criterion in indication.get(key) or ())
                        for key in ("not_met", "unknown"))
    failed = f"{not_met} (unknown: {unknown})" if not_met and unknown else not_met or unknown
    return f"{name}: {failed}" if failed else name


def indication_notes(indication: dict[str, Any]) -> list[tuple[str, str]]:
    """What the record showed for each criterion of the indication not met or unknown, by criterion (named without
    the indication's id); none on rows written before the notes were kept."""
    name, notes = str(indication.get("id", "?")), indication.get("notes")
    shown = notes.items() if isinstance(notes, dict) else ()
    return [(str(criterion).removeprefix(f"{name}."), str(note)) for criterion, note in shown]


def _feedback(detail: InvocationDetail, outcome: OrderOutcome) -> list[str]:
    return [feedback_line(entry, card_named(detail, entry.card_uuid), outcome.suggestion_labels)
            for entry in detail.feedback if entry.card_uuid in outcome.card_uuids]


# --- a feedback item in words (also `show`'s) ------------------------------------------------------------------

def card_named(detail: InvocationDetail, uuid: str) -> str:
    """A card feedback names: its uuid and topic, and in a call deciding several orders, the order and decision it
    was about (each order's cards are listed under it, far above the feedback)."""
    card = detail.card_of(uuid)
    about = [card["card_topic"]] if card["card_topic"] else []
    if len(detail.record.outcomes) > 1 and card["order_id"]:
        about.append(f"{card['order_id']}, {card['decision'] or '-'}")
    return f"{uuid} ({'; '.join(about)})" if about else uuid


def feedback_line(entry: FeedbackEntry, card: str, labels: dict[str, str]) -> str:
    """`card <uuid> (<topic>): overridden; reason ...; comment "..."; at ...; received ...`."""
    parts = [f"card {card}: {entry.outcome}"]
    issued = [uuid for uuid in entry.accepted_suggestions if uuid not in entry.unknown_suggestions]
    if issued:  # with their labels: what the prescriber accepted to change
        accepted = (f"{uuid} ({labels[uuid]})" if uuid in labels else uuid for uuid in issued)
        parts.append(f"suggestions {', '.join(accepted)}")
    if entry.unknown_suggestions:  # sent back by the EHR, but not what this card offered
        parts.append(f"suggestions not issued with this card {', '.join(entry.unknown_suggestions)}")
    reason = override_reason(entry.override_display, entry.override_code)
    if reason:
        parts.append(f"reason {reason}")
    if entry.override_comment:
        parts.append(f"comment {json_value(entry.override_comment, None)}")
    if entry.outcome_timestamp:
        parts.append(f"at {utc(entry.outcome_timestamp)}")
    if entry.received_at:
        parts.append(f"received {utc(entry.received_at)}")
    return "; ".join(parts)  # no sender: only the call's own client and tenant's feedback is shown (audit_queries)


def override_reason(display: str | None, code: str | None) -> str | None:
    """`Patient-specific clinical judgment (patient-specific)`: the words the clinician chose, and the code a report
    counts by."""
    return f"{display} ({code})" if display and code and code != display else display or code


def utc(moment: datetime) -> str:
    """A time of the trail: in UTC (the records' times are), to the millisecond, and saying so."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "milliseconds") + " UTC"
