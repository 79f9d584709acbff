"""`cds-service audit`'s listings: the latest decisions, the calls refused (`--rejected`) or the feedback received
(`--feedback`), as an aligned table or JSON lines; and the filters they share with `export`."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from cds_service.audit import AuditStore
from cds_service.audit_export import override_reason
from cds_service.audit_queries import DecisionRow, FeedbackRow, RejectedRow, Selection, recorded_policies
from cds_service.audit_words import counted
from cds_service.cli_audit_record import decision_words, unmet_criteria, why_not_authorized
from cds_service.cli_audit_store import query
from cds_service.evaluation import INFO_NEEDED, NOT_MET_DECISION
from cds_service.printable import printable, quoted_id

Listed = DecisionRow | RejectedRow | FeedbackRow  # a row of the listing

DEFAULT_LIMIT = 50
# The largest LIMIT SQLite (a 64-bit integer) and PostgreSQL (bigint) take: a larger one failed inside the query.
MAX_LIMIT = 2**63 - 1
# A patient id means one patient only within one client and tenant: both are listed with it. Times are UTC, as the
# database keeps them, and say so: a reader comparing them with local logs or a clinic's clock would be hours off.
_TIME = "time (UTC)"
_UNMET = "unmet criteria"
# What the EHR was given (covered/pa-needed), the period when issued as an authorization, and the assertion id a
# claim carries: what an auditor matches claims with (--format jsonl has the period recorded, and the request id).
# A decision not met beside an indication met is no contradiction: its unmet criteria (a universal one, the quantity,
# the dose) are named in its row, as `show` names them; "none met" when no indication's clinical criteria were.
_COLUMNS = (_TIME, "hook", "client", "tenant", "patient", "order", "policy", "decision", "indication", _UNMET, "sent",
            "authorized", "hookInstance", "assertion")
# The request id last: `show` finds a refused call by it, and one refused before its body was read has no hookInstance.
_REJECTED_COLUMNS = (_TIME, "hook", "client", "tenant", "patient", "status", "reason", "hookInstance", "request id")
# What the clinician did, then with which decision's card: feedback's reason and comment are what a pharmacist
# reviewing overrides came for; on a dose or quantity card, the change accepted (its suggestion's label).
_ACCEPTED = "accepted"
_FEEDBACK_COLUMNS = ("received (UTC)", "outcome", "reason", "comment", "card", "topic", "kind", _ACCEPTED, "patient",
                     "order", "policy", "decision", "hookInstance", "client", "tenant")
# Feedback on a card no call issued to its sender: an EHR's integration bug, or a call not written yet.
_NOT_ISSUED = "card not issued"
_MAX_CELL = 40
# The column a reader came for: a rejected call's reason; the override reason with its code, of which the service's
# own longest ("Criteria are met; ... (criteria-met-documentation-to-follow)", 96 characters) was cut at 90; the dose
# change accepted, whose doses and days come last ("Change dose to 9 mcg/day on days 1–7, then 28 mcg/day on days
# 8–28": 66 characters).
_WIDE_CELLS = {"reason": 100, _UNMET: 80, _ACCEPTED: 80}


def run(args: argparse.Namespace) -> int:
    if _usage_problem(args) or empty_period(args):
        return 2
    args.limit = args.limit or DEFAULT_LIMIT
    # One row more than the limit: whether the listing was cut, which a file of JSON lines would not show.
    limit = min(args.limit + 1, MAX_LIMIT)
    listing = AuditStore.rejected if args.rejected else AuditStore.feedback if args.feedback else AuditStore.recent
    rows: Sequence[Listed] | None = query(args, lambda store: listing(store, selection(args), limit))
    if rows is None:
        return 2
    _print_rows(rows[:args.limit], args)
    if not rows:
        say_unknown_policy(args)
    if len(rows) > args.limit:
        print(f"{counted(args.limit, 'row')} shown, the limit: --limit N for more", file=sys.stderr)
    return 0


def _usage_problem(args: argparse.Namespace) -> bool:
    """Whether the listing's options contradict each other (said on stderr)."""
    if args.rejected and args.feedback:
        print("--rejected and --feedback are two listings: choose one", file=sys.stderr)
        return True
    if args.rejected and (args.decision or args.order or args.policy or args.card_kind):
        print("--rejected lists calls that got no decision: it cannot be combined with --decision, --order, --policy "
              "or --card-kind", file=sys.stderr)
        return True
    return False


def selection(args: argparse.Namespace) -> Selection:
    return Selection(args.since, args.until, args.patient, args.client, args.tenant, args.order, args.decision,
                     args.policy, args.card_kind)


def say_unknown_policy(args: argparse.Namespace) -> None:
    """After a selection found nothing: whether its --policy is an id no decision of the trail has (a typo, as
    `florida_blue`), said on stderr with those it has, so that "nothing found" is not read as "none under that
    payer"."""
    if args.policy is None:
        return
    held = query(args, lambda store: recorded_policies(store.engine))
    if held is not None and args.policy not in held:
        print(f"No decision in the trail is under policy {quoted_id(args.policy)}: it holds "
              f"{', '.join(held) or 'none'} (`cds-service check` lists each plan's id)", file=sys.stderr)


def empty_period(args: argparse.Namespace) -> bool:
    """Whether --until is not after --since (said on stderr): no call can be between."""
    if args.since and args.until and args.until <= args.since:
        print(f"--until {args.until.isoformat()} is not after --since {args.since.isoformat()}: no call is between",
              file=sys.stderr)
        return True
    return False


def _print_rows(rows: Sequence[Listed], args: argparse.Namespace) -> None:
    if args.format == "jsonl":
        for row in rows:
            print(json.dumps(row.as_dict()))
    elif not rows:
        print("No rejected calls found." if args.rejected else "No feedback found." if args.feedback
              else "No decisions found.")
    else:
        print(format_table(rows))


def format_table(rows: Sequence[Listed]) -> str:
    """Aligned columns for a terminal (decisions, rejected calls or feedback); long values are cut with an
    ellipsis."""
    columns = _FEEDBACK_COLUMNS if isinstance(rows[0], FeedbackRow) else \
        _REJECTED_COLUMNS if isinstance(rows[0], RejectedRow) else _COLUMNS
    limits = [_WIDE_CELLS.get(column, _MAX_CELL) for column in columns]
    cells = [[_cell(value, limit) for value, limit in zip(_table_values(row), limits)] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    lines = [columns, tuple("-" * width for width in widths), *cells]
    return "\n".join("  ".join(value.ljust(width) for value, width in zip(line, widths)).rstrip() for line in lines)


def _table_values(row: Listed) -> tuple[Any, ...]:
    if isinstance(row, FeedbackRow):
        return _feedback_values(row)
    time = row.time.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(row, RejectedRow):
        return (time, row.hook, row.client_iss, row.tenant, row.patient_id, row.status, row.reason,
                row.hook_instance, row.request_id)
    decision = decision_words(row.decision, row.no_plan_reason) + (" (what-if)" if row.what_if else "")
    sent = "/".join(code for code in (row.covered, row.pa_needed) if code) or None
    period = row.authorization if row.authorization and not why_not_authorized(row, row.hook) else None
    authorized = f"{period.get('start')}/{period.get('end')}" if period else None  # ISO 8601's interval: compact
    evaluated = row.decision in (NOT_MET_DECISION, INFO_NEEDED)  # under a policy: else no criteria to name
    indication = row.indication or ("none met" if evaluated else None)
    unmet = unmet_criteria(row.indication, row.criteria_not_met, row.criteria_unknown) or None
    return (time, row.hook, row.client_iss, row.tenant, row.patient_id, row.order_id, row.policy, decision,
            indication, unmet, sent, authorized, row.hook_instance, row.coverage_assertion_id)


def _feedback_values(row: FeedbackRow) -> tuple[Any, ...]:
    item = row.entry
    decision = row.decision if row.hook_instance else _NOT_ISSUED
    received = item.received_at.strftime("%Y-%m-%d %H:%M:%S") if item.received_at else None
    return (received, item.outcome, override_reason(item),
            item.override_comment, item.card_uuid, row.card_topic, row.card_kind, _accepted(row), row.patient_id,
            row.order_id, row.policy, decision, row.hook_instance, item.client_iss, item.tenant)


def _accepted(row: FeedbackRow) -> str | None:
    """The changes accepted, by their labels (the uuid of one recorded without its label), then how many of the
    suggestions sent back its card did not offer (`show CARD-UUID` names them)."""
    said = [row.accepted_labels[uuid] or uuid for uuid in row.entry.accepted_suggestions if uuid in row.accepted_labels]
    stray = sum(uuid not in row.accepted_labels for uuid in row.entry.accepted_suggestions)
    if stray:
        said.append(f"{counted(stray, 'suggestion')} not issued with this card")
    return "; ".join(said) or None


def _cell(value: Any, limit: int) -> str:
    # "-" for an empty value too: a call refused before its body was read has an empty hook and hookInstance, and a
    # blank cell read as the next column's value. A client's id could drive the terminal (printable.py).
    text = "-" if value is None or value == "" else printable(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"
