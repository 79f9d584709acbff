"""`cds-service audit`: recent decisions as a table or JSON lines; `cds-service audit show HOOKINSTANCE`."""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from cds_service.audit import AuditStore, DecisionRow, FeedbackEntry, InvocationDetail
from cds_service.config import default_database_url
from cds_service.db import migrate
from cds_service.evaluation import OrderOutcome

_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_COLUMNS = ("time", "patient", "order", "policy", "decision", "indication", "hookInstance")
_MAX_CELL = 40


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url", default=argparse.SUPPRESS,
        help="SQLAlchemy URL of the audit database (default: CDS_DATABASE_URL, else the SQLite file in CDS_DATA_DIR)",
    )
    parser = commands.add_parser("audit", parents=[common], help="list recent coverage decisions")
    parser.add_argument("--since", type=parse_since, help="ISO date or date-time (UTC), or relative: 30m, 24h, 7d, 2w")
    parser.add_argument("--patient", help="only this patient id")
    parser.add_argument("--decision", help="only this decision, e.g. criteria-not-met")
    parser.add_argument("--limit", type=_positive_int, default=50, help="at most this many rows (default 50)")
    parser.add_argument("--format", choices=("table", "jsonl"), default="table")
    parser.set_defaults(handler=run)
    actions = parser.add_subparsers(dest="action")
    show = actions.add_parser("show", parents=[common], help="one invocation with its criteria and feedback")
    show.add_argument("hook_instance", metavar="HOOKINSTANCE")
    show.add_argument("--format", choices=("text", "json"), default="text")
    show.set_defaults(handler=run_show)


def parse_since(value: str) -> datetime:
    """`24h`-style relative spans count back from now; ISO dates and date-times without a zone are UTC."""
    match = _RELATIVE.match(value.strip())
    if match:
        return datetime.now(timezone.utc) - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: use an ISO date/date-time or 30m, 24h, 7d, 2w") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) == 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive integer")
    return int(value)


def run(args: argparse.Namespace) -> int:
    store = _open_store(args)
    try:
        rows = store.recent(since=args.since, patient=args.patient, decision=args.decision, limit=args.limit)
    finally:
        store.close()
    if args.format == "jsonl":
        for row in rows:
            print(json.dumps(row.as_dict()))
    else:
        print(format_table(rows) if rows else "No decisions found.")
    return 0


def run_show(args: argparse.Namespace) -> int:
    store = _open_store(args)
    try:
        detail = store.show(args.hook_instance)
    finally:
        store.close()
    if detail is None:
        print(f"No invocation with hookInstance {args.hook_instance!r}", file=sys.stderr)
        return 1
    print(json.dumps(detail.as_dict(), indent=2) if args.format == "json" else format_detail(detail))
    return 0


def _open_store(args: argparse.Namespace) -> AuditStore:
    # The same default as the app (config.Settings.from_env), without loading the auth configuration.
    url = getattr(args, "database_url", None) or os.environ.get("CDS_DATABASE_URL")
    store = AuditStore(url or default_database_url(os.environ.get("CDS_DATA_DIR")))
    migrate(store.engine)  # a fresh data directory lists nothing instead of failing on a missing table
    return store


# --- rendering -------------------------------------------------------------------------------------------------

def format_table(rows: Sequence[DecisionRow]) -> str:
    """Aligned columns for a terminal; long values are cut with an ellipsis."""
    cells = [[_cell(value) for value in _table_values(row)] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(_COLUMNS)]
    lines = [_COLUMNS, tuple("-" * width for width in widths), *cells]
    return "\n".join("  ".join(value.ljust(width) for value, width in zip(line, widths)).rstrip() for line in lines)


def _table_values(row: DecisionRow) -> tuple[Any, ...]:
    decision = f"{row.decision} (what-if)" if row.what_if else row.decision
    time = row.time.strftime("%Y-%m-%d %H:%M:%S")
    return time, row.patient_id, row.order_id, row.policy, decision, row.indication, row.hook_instance


def _cell(value: Any) -> str:
    text = "-" if value is None else str(value)
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def format_detail(detail: InvocationDetail) -> str:
    record = detail.record
    lines = [
        f"hookInstance  {record.hook_instance}",
        f"time          {record.time.isoformat()}",
        f"service       {record.service_id} ({record.hook})",
        f"client        {record.client_iss or '-'}",
        f"patient       {record.patient_id or '-'}",
        f"status        {record.status} in {record.latency_ms:.1f} ms",
    ]
    for outcome in record.outcomes:
        lines += ["", *_outcome_lines(outcome)]
    lines += ["", "Feedback:" if detail.feedback else "Feedback: none"]
    lines += [f"  {_feedback_line(entry)}" for entry in detail.feedback]
    return "\n".join(lines)


def _outcome_lines(outcome: OrderOutcome) -> list[str]:
    lines = [
        f"Order {outcome.order_id}",
        f"  policy       {outcome.policy or '-'} {outcome.policy_version or ''}".rstrip(),
        f"  decision     {outcome.decision or '-'}{' (what-if call)' if outcome.what_if else ''}",
        f"  indication   {outcome.indication or '-'}",
        f"  request      {outcome.request_type or '-'}, cycle {outcome.cycle if outcome.cycle is not None else '-'}",
        f"  assertion    {outcome.coverage_assertion_id or '-'}",
        f"  cards        {', '.join(outcome.card_uuids) or '-'}",
        f"  suggestions  {', '.join(outcome.suggestion_uuids) or '-'}",
        "  criteria:" if outcome.criteria else "  criteria:    none",
    ]
    return lines + [f"    {_criterion_line(criterion)}" for criterion in outcome.criteria]


def _criterion_line(criterion: dict[str, Any]) -> str:
    status = f"[{criterion.get('status', '?')}]".ljust(10)
    citation = f" ({criterion['citation']})" if criterion.get("citation") else ""
    evidence = ", ".join(criterion.get("evidence") or ())
    text = f" {criterion['text']}" if criterion.get("text") else ""
    return f"{status} {criterion.get('id', '?')}{citation}{text}{f'  evidence: {evidence}' if evidence else ''}"


def _feedback_line(entry: FeedbackEntry) -> str:
    parts = [f"card {entry.card_uuid}: {entry.outcome}"]
    if entry.accepted_suggestions:
        parts.append(f"suggestions {', '.join(entry.accepted_suggestions)}")
    reason = entry.override_display or entry.override_code
    if reason:
        parts.append(f"reason {reason}")
    if entry.override_comment:
        parts.append(f"comment {entry.override_comment!r}")
    if entry.outcome_timestamp:
        parts.append(f"at {entry.outcome_timestamp.isoformat()}")
    if entry.client_iss:
        parts.append(f"from {entry.client_iss}")
    return "; ".join(parts)
