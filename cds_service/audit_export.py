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
from typing import IO, Any, Iterable

from cds_service.audit_queries import InvocationDetail, decision_of
from cds_service.audit_rows import FeedbackEntry
from cds_service.evaluation import OrderOutcome
from cds_service.override_reasons import OVERRIDE_REASON_SYSTEM, OVERRIDE_REASONS
from cds_service.printable import json_value

# A spreadsheet takes a cell starting with one of these for a formula (OWASP's "CSV injection"); ids and the
# clinician's comment are the client's text: such a cell is written after a "'", which the spreadsheet shows.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_OUR_REASONS = dict(OVERRIDE_REASONS)  # the displays of the service's own override reasons, by code

# The columns read as they are: the call's (InvocationRecord) and the decision's (OrderOutcome) attributes, and the
# criterion's keys, by column. The others are worked out (_row).
_CALL = {"hook": "hook", "hook_instance": "hook_instance", "request_id": "request_id", "client": "client_iss",
         "tenant": "tenant", "patient": "patient_id", "user": "user_id", "encounter": "encounter_id"}
_DECISION = {"order": "order_id", "policy": "policy", "policy_version": "policy_version",
             "policy_digest": "policy_digest", "policy_source": "policy_source", "valueset_digest": "valueset_digest",
             "no_plan_reason": "no_plan_reason", "what_if": "what_if", "request_type": "request_type", "cycle": "cycle",
             "indication": "indication", "coverage": "coverage_reference",
             "coverage_assertion_id": "coverage_assertion_id", "covered": "covered", "pa_needed": "pa_needed"}
_CRITERION = {"criterion": "id", "criterion_status": "status", "criterion_citation": "citation",
              "criterion_text": "text", "criterion_note": "note", "criterion_attested": "attested"}
CSV_COLUMNS = ("time_utc", *_CALL, "order", "policy", "policy_version", "policy_digest", "policy_source",
               "valueset_digest", "decision", "no_plan_reason", "what_if", "request_type", "cycle", "indication",
               "coverage", "coverage_assertion_id", "covered", "pa_needed", "authorization_start",
               "authorization_end", "to_document", "not_received", "card_kinds", "indications_evaluated", "criterion",
               "criterion_status", "criterion_citation", "criterion_text", "criterion_evidence", "criterion_note",
               "criterion_attested", "feedback")


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
    [order], feedback = call.pop("outcomes"), call.pop("feedback")
    return {**call, **order, "feedback": feedback}


def write_csv(details: Iterable[InvocationDetail], out: IO[str]) -> int:
    """A header, then one row a criterion of each decision; how many decisions were written."""
    writer = csv.DictWriter(out, CSV_COLUMNS)
    writer.writeheader()
    written = 0
    for detail in details:
        [outcome] = detail.record.outcomes
        for criterion in outcome.criteria or [{}]:
            writer.writerow({column: _csv_cell(value) for column, value in _row(detail, outcome, criterion).items()})
        written += 1
    return written


def _row(detail: InvocationDetail, outcome: OrderOutcome, criterion: dict[str, Any]) -> dict[str, Any]:
    """The CSV row of one criterion of a decision (`criterion` empty for a decision without criteria)."""
    authorization = outcome.authorization or {}
    return {
        "time_utc": utc(detail.record.time).removesuffix(" UTC"),  # as a spreadsheet reads a date and time
        **{column: getattr(detail.record, name) for column, name in _CALL.items()},
        **{column: getattr(outcome, name) for column, name in _DECISION.items()},
        **{column: criterion.get(key) for column, key in _CRITERION.items()},
        "decision": decision_of(outcome),
        "authorization_start": authorization.get("start"), "authorization_end": authorization.get("end"),
        "to_document": "; ".join(outcome.missing), "not_received": ", ".join(outcome.not_received),
        # the kinds of the cards sent, in their order: a spreadsheet filters the decisions with a plan-dose-limit card
        "card_kinds": ", ".join(outcome.card_kinds[uuid] for uuid in outcome.card_uuids if uuid in outcome.card_kinds),
        "indications_evaluated": " | ".join(map(_indication, outcome.indications)),
        "criterion_evidence": ", ".join(criterion.get("evidence") or ()),
        "feedback": " | ".join(_feedback(detail, outcome)),
    }


# The most characters a spreadsheet keeps in a cell (Excel, LibreOffice: 32,767); a longer one is cut by it silently
# or refused. A cell is cut below it and says so (the feedback of a card overridden hundreds of times).
CELL_MAX = 32_000


def _csv_cell(value: Any) -> str:
    """Empty for none, true/false as JSON says them, text that a spreadsheet would run as a formula quoted, and one
    too long for a spreadsheet's cell cut saying so (the JSON lines export holds it whole)."""
    if value is None:
        return ""
    text = json.dumps(value) if isinstance(value, bool) else str(value)
    text = f"'{text}" if text.startswith(_FORMULA_STARTS) else text
    if len(text) > CELL_MAX:
        text = f"{text[:CELL_MAX]} … (cut at {CELL_MAX} of {len(text)} characters: --format jsonl has it whole)"
    return text


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
    """A card feedback names: its uuid, topic and kind, and in a call deciding several orders, the order and decision
    it was about (each order's cards are listed under it, far above the feedback): each of them for a card told once
    for several (a likely duplicate's, duplicate_answers.py), not the first alone."""
    card = detail.card_of(uuid)
    about = [card_words(card["card_topic"], card["card_kind"])] if card["card_topic"] else []
    if len(detail.record.outcomes) > 1:
        about += [f"{outcome.order_id}, {decision_of(outcome) or '-'}" for outcome in detail.record.outcomes
                  if uuid in outcome.card_uuids]
    return f"{uuid} ({'; '.join(about)})" if about else uuid


def card_words(topic: str, kind: str | None) -> str:
    """`limits, plan-dose-limit`: a card's topic, and its kind where recorded (migration 0015): one topic covers
    several kinds."""
    return f"{topic}, {kind}" if kind else topic


def feedback_line(entry: FeedbackEntry, card: str, labels: dict[str, str]) -> str:
    """`card <uuid> (<topic>): overridden; reason ...; comment "..."; at ...; received ...`."""
    parts = [f"card {card}: {entry.outcome}"]
    issued = [uuid for uuid in entry.accepted_suggestions if uuid not in entry.unknown_suggestions]
    if issued:  # with their labels: what the prescriber accepted to change
        accepted = (f"{uuid} ({labels[uuid]})" if uuid in labels else uuid for uuid in issued)
        parts.append(f"suggestions {', '.join(accepted)}")
    if entry.unknown_suggestions:  # sent back by the EHR, but not what this card offered
        parts.append(f"suggestions not issued with this card {', '.join(entry.unknown_suggestions)}")
    reason = override_reason(entry)
    if reason:
        parts.append(f"reason {reason}")
    if entry.override_comment:
        parts.append(f"comment {json_value(entry.override_comment, None)}")
    if entry.outcome_timestamp:
        parts.append(f"at {utc(entry.outcome_timestamp)}")
    if entry.received_at:
        parts.append(f"received {utc(entry.received_at)}")
    return "; ".join(parts)  # no sender: only the call's own client and tenant's feedback is shown (audit_queries)


def override_reason(entry: FeedbackEntry) -> str | None:
    """`Patient-specific clinical judgment (patient-specific)`: the words the clinician chose, and the code a report
    counts by. One of the service's own reasons sent back by its code alone (CDS Hooks lets a reason be a bare code)
    is said with its display: a pharmacist reviewing overrides read `plan-exception-requested` where the card had
    offered "Exception or peer-to-peer review requested from the plan"."""
    code = entry.override_code
    ours = _OUR_REASONS.get(code or "") if entry.override_system == OVERRIDE_REASON_SYSTEM else None
    display = entry.override_display or ours
    return f"{display} ({code})" if display and code and code != display else display or code


def utc(moment: datetime) -> str:
    """A time of the trail: in UTC (the records' times are), to the millisecond, and saying so."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "milliseconds") + " UTC"
