"""`cds-service audit`: recent decisions (or `--rejected` calls, or `--feedback`) as a table or JSON lines;
`cds-service audit show HOOKINSTANCE-OR-ASSERTION`; `cds-service audit export` (JSON lines or CSV, for a payer's
review); `cds-service audit prune --before DATE`.

A query tool: it never creates or migrates the audit database, and only `prune` writes it."""
from __future__ import annotations

import argparse
import calendar
import json
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence, TextIO, TypeVar

from sqlalchemy import URL, Engine
from sqlalchemy.exc import SQLAlchemyError

from cds_service.audit import AuditStore
from cds_service.audit_export import (card_named, failed_criteria, feedback_line, indication_notes, override_reason,
                                      utc, write_csv, write_jsonl)
from cds_service.audit_queries import NO_PLAN, DecisionRow, FeedbackRow, InvocationDetail, RejectedRow, Selection
from cds_service.audit_words import counted
from cds_service.config import (ConfigError, check_not_blank, check_not_misspelt, default_database_url,
                                parse_database_url)
from cds_service.db import error_summary, printable_url, schema_revision, sqlite_file
from cds_service.evaluation import OrderOutcome
from cds_service.hook_request import ORDER_SIGN
from cds_service.printable import printable, quoted_id

T = TypeVar("T")
Listed = DecisionRow | RejectedRow | FeedbackRow  # a row of the listing

_RELATIVE = re.compile(r"^(\d+)([mhdwy])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}  # and years, by the calendar (_back)
_SINCE_UNITS, _SINCE_SPANS = "mhdw", "30m, 24h, 7d, 2w"
# Retention counts back in days or more: `18m` meant as 18 months would keep 18 minutes of the trail.
_PRUNE_UNITS, _PRUNE_SPANS = "dwy", "180d, 26w, 2y"
# A prune deleting calls of the last day needs --yes: it deletes (nearly) the whole trail, and is more likely a
# typo in the year than meant.
_RECENT = timedelta(days=1)
# A patient id means one patient only within one client and tenant: both are listed with it. Times are UTC, as the
# database keeps them, and say so: a reader comparing them with local logs or a clinic's clock would be hours off.
_TIME = "time (UTC)"
# What the EHR was given (covered/pa-needed), the period when issued as an authorization, and the assertion id a
# claim carries: what an auditor matches claims with (--format jsonl has the period recorded, and the request id).
_COLUMNS = (_TIME, "hook", "client", "tenant", "patient", "order", "policy", "decision", "indication", "sent",
            "authorized", "hookInstance", "assertion")
_REJECTED_COLUMNS = (_TIME, "hook", "client", "tenant", "patient", "status", "reason", "hookInstance")
# What the clinician did, then with which decision's card: feedback's reason and comment are what a pharmacist
# reviewing overrides came for.
_FEEDBACK_COLUMNS = ("received (UTC)", "outcome", "reason", "comment", "card", "topic", "patient", "order", "policy",
                     "decision", "hookInstance", "client", "tenant")
# Feedback on a card no call issued to its sender: an EHR's integration bug, or a call not written yet.
_NOT_ISSUED = "card not issued"
DECISIONS = ("meets-criteria", "information-needed", "criteria-not-met", "evaluation-failed", NO_PLAN)
_MAX_CELL = 40
_INDENT = " " * 15  # where the values of `show` begin
_WIDE_CELLS = {"reason": 90}  # the column a reader of rejected calls came for
# What prune counts, by table, in the order a reader thinks of them: the calls, the decisions, what they handed out.
_PRUNED = (("invocation", ("call",)), ("order_outcome", ("decision",)),
           ("issued_card", ("card or suggestion", "cards and suggestions")), ("feedback", ("feedback item",)))
_DEFAULT_LIMIT = 50
# The largest LIMIT SQLite (a 64-bit integer) and PostgreSQL (bigint) take: a larger one failed inside the query.
_MAX_LIMIT = 2**63 - 1


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url", default=argparse.SUPPRESS,
        help="SQLAlchemy URL of the audit database (default: CDS_DATABASE_URL, else the SQLite file in CDS_DATA_DIR)",
    )
    parser = commands.add_parser("audit", parents=[common], help="list recent coverage decisions")
    _add_filters(parser, None)
    parser.add_argument("--rejected", action="store_true",
                        help="list the calls refused with a 4xx or 5xx (and why) instead of the decisions")
    parser.add_argument("--feedback", action="store_true",
                        help="list the feedback received (what the clinician did with each card), newest first, with "
                             "the decision its card was about, instead of the decisions: --since and --until select "
                             "by when it was received")
    parser.add_argument("--limit", type=_positive_int, help=f"at most this many rows (default {_DEFAULT_LIMIT})")
    parser.add_argument("--format", choices=("table", "jsonl"), default="table")
    parser.set_defaults(handler=run)
    actions = parser.add_subparsers(dest="action")
    show = actions.add_parser("show", parents=[common], help="one call with its criteria and feedback, found by its "
                              "hookInstance, its request id (X-Request-ID), a coverage-assertion-id or a card or "
                              "suggestion uuid; or every call "
                              "about an order (a MedicationRequest id): those that decided it, and the split that "
                              "created it")
    show.add_argument("key", type=_text, metavar="KEY",
                      help="a hookInstance, a request id, a coverage-assertion-id, a card or suggestion uuid, "
                      "or an order id")
    show.add_argument("--format", choices=("text", "json"), default="text")
    show.set_defaults(handler=run_show)
    export = actions.add_parser("export", parents=[common], help="the decisions selected, oldest first, with their "
                                "call, policy version and digests, criteria (status, citation, evidence, note) and "
                                "feedback, for a payer's review: JSON lines or CSV (docs/audit.md §Export)")
    _add_filters(export, argparse.SUPPRESS)
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl",
                        help="jsonl: one object a decision; csv: one row a criterion (default jsonl)")
    export.add_argument("--output", type=Path, metavar="FILE",
                        help="a new file to write (readable by its owner alone: the trail holds PHI), not stdout")
    export.set_defaults(handler=run_export)
    prune = actions.add_parser("prune", parents=[common], help="delete the calls before a date with their decisions "
                               "and cards, and the feedback received before it (docs/audit.md §Retention)")
    prune.add_argument("--before", type=parse_before, required=True,
                       help="ISO date or date-time (UTC), or a span back from now in days, weeks or years: 180d, 26w, "
                            "2y (not in the future)")
    prune.add_argument("--dry-run", action="store_true", help="print how many rows would go, delete nothing")
    prune.add_argument("--yes", action="store_true", help="delete even when --before is less than a day ago")
    prune.set_defaults(handler=run_prune)


def _add_filters(parser: argparse.ArgumentParser, default: Any) -> None:
    """Which decisions: of the listing, and of `export` (whose `default` is SUPPRESS: `audit --policy X export` keeps
    the filter given before the action)."""
    parser.add_argument("--since", type=parse_since, default=default,
                        help="ISO date or date-time (UTC), or relative: 30m, 24h, 7d, 2w")
    parser.add_argument("--until", type=parse_since, default=default,
                        help="only calls before this moment: the forms of --since (2026-12-01: up to November's end)")
    parser.add_argument("--patient", type=_text, default=default,
                        help="only this patient id (unique only within one --client and --tenant)")
    parser.add_argument("--client", type=_text, metavar="ISS", default=default,
                        help="only calls of this client (the verified JWT's iss)")
    parser.add_argument("--tenant", type=_text, default=default,
                        help="only calls of this tenant (the verified JWT's tenant claim)")
    parser.add_argument("--order", type=_text, metavar="ID", default=default,
                        help="only the decisions on this order (a MedicationRequest id, with or without the type)")
    parser.add_argument("--policy", type=_text, metavar="ID", default=default,
                        help="only the decisions under this payer's policy (its id: aspirus-magellan, florida-blue; "
                             "cds-service check lists the plans)")
    parser.add_argument("--decision", choices=DECISIONS, default=default, help="only this decision")


def parse_since(value: str) -> datetime:
    """`--since`: an ISO date or date-time, or a span back from now (30m, 24h, 7d, 2w)."""
    return _moment(value, _SINCE_UNITS, _SINCE_SPANS)


def parse_before(value: str) -> datetime:
    """`prune --before`: as `--since`, but a span counts days, weeks or years (`2y`: the same date two years back).
    Minutes and hours are refused: `6m` meant as six months would delete all but the last six minutes."""
    match = _RELATIVE.match(value.strip())
    if match and match.group(2) not in _PRUNE_UNITS:
        unit = "minutes, not months" if match.group(2) == "m" else _UNITS[match.group(2)]
        raise argparse.ArgumentTypeError(f"{quoted_id(value)} counts {unit}; prune counts back in days, weeks or "
                                         f"years: {_PRUNE_SPANS}")
    return _moment(value, _PRUNE_UNITS, _PRUNE_SPANS)


def _moment(value: str, units: str, spans: str) -> datetime:
    """A span of `units` counts back from now; ISO dates and date-times without a zone are UTC. The moment in UTC,
    as the database keeps times: one that is not in the years 1 to 9999 there (`9999999999d`, or
    `9999-12-31T23:59:59-14:00`) is refused here, not by a traceback of the query."""
    match = _RELATIVE.match(value.strip())
    try:
        if match and match.group(2) in units:
            return _back(int(match.group(1)), match.group(2))
        moment = datetime.fromisoformat(value.strip())
        return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{quoted_id(value)}: use an ISO date/date-time or {spans}") from None
    except OverflowError:
        raise argparse.ArgumentTypeError(f"{quoted_id(value)}: not within the years 1 to 9999 in UTC") from None


def _back(count: int, unit: str) -> datetime:
    """`count` `unit`s before now."""
    now = datetime.now(timezone.utc)
    return years_before(now, count) if unit == "y" else now - timedelta(**{_UNITS[unit]: count})


def years_before(moment: datetime, years: int) -> datetime:
    """The same date and time `years` calendar years earlier (from a 29 February, the 28th if need be): a records
    policy's "two years" is not 730 days. OverflowError before the year 1."""
    year = moment.year - years
    if year < 1:
        raise OverflowError(year)
    return moment.replace(year=year, day=min(moment.day, calendar.monthrange(year, moment.month)[1]))


def _positive_int(value: str) -> int:
    # Checked by length before int(), which refuses more than 4,300 digits with a ValueError.
    number = int(value) if value.isascii() and value.isdigit() and len(value) <= len(str(_MAX_LIMIT)) else 0
    if not 0 < number <= _MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"{quoted_id(value)} is not a positive integer up to {_MAX_LIMIT}")
    return number


def _text(value: str) -> str:
    """An id to look up, as given. On POSIX, Python keeps the bytes of an argument that is not UTF-8 as lone
    surrogates, which no query can send: such an argument is refused, quoted escaped and cut."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(f"{quoted_id(value)} is not UTF-8 text") from None
    return value


def run(args: argparse.Namespace) -> int:
    if _usage_problem(args) or _empty_period(args):
        return 2
    args.limit = args.limit or _DEFAULT_LIMIT
    # One row more than the limit: whether the listing was cut, which a file of JSON lines would not show.
    limit = min(args.limit + 1, _MAX_LIMIT)
    calls = {"since": args.since, "until": args.until, "patient": args.patient, "client": args.client,
             "tenant": args.tenant, "limit": limit}
    decisions = {"decision": args.decision, "order": args.order, "policy": args.policy}
    rows: Sequence[Listed] | None = _query(args, lambda store: (
        store.rejected(**calls) if args.rejected
        else store.feedback(_selection(args), limit) if args.feedback else store.recent(**decisions, **calls)))
    if rows is None:
        return 2
    _print_rows(rows[:args.limit], args)
    if len(rows) > args.limit:
        print(f"{counted(args.limit, 'row')} shown, the limit: --limit N for more", file=sys.stderr)
    return 0


def _usage_problem(args: argparse.Namespace) -> bool:
    """Whether the listing's options contradict each other (said on stderr)."""
    if args.rejected and args.feedback:
        print("--rejected and --feedback are two listings: choose one", file=sys.stderr)
        return True
    if args.rejected and (args.decision or args.order or args.policy):
        print("--rejected lists calls that got no decision: it cannot be combined with --decision, --order or --policy",
              file=sys.stderr)
        return True
    return False


def _selection(args: argparse.Namespace) -> Selection:
    return Selection(args.since, args.until, args.patient, args.client, args.tenant, args.order, args.decision,
                     args.policy)


def _empty_period(args: argparse.Namespace) -> bool:
    """Whether --until is not after --since (said on stderr): no call can be between."""
    if args.since and args.until and args.until <= args.since:
        print(f"--until {args.until.isoformat()} is not after --since {args.since.isoformat()}: no call is between",
              file=sys.stderr)
        return True
    return False


def run_export(args: argparse.Namespace) -> int:
    listing = [option for option, given in (("--rejected", args.rejected), ("--feedback", args.feedback),
                                            ("--limit", args.limit)) if given]
    if listing:  # an export cut at a limit, or of another listing, would pass for the decisions selected
        print(f"export writes every decision selected; {', '.join(listing)}: the listing's only", file=sys.stderr)
        return 2
    if _empty_period(args):
        return 2
    selection = _selection(args)
    write = write_csv if args.format == "csv" else write_jsonl
    try:
        out = sys.stdout if args.output is None else _new_private_file(args.output, args.format == "csv")
    except OSError as exc:
        print(f"Cannot write {quoted_id(str(args.output))}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    written = None
    try:
        written = _query(args, lambda store: write(store.export(selection), out))
    finally:
        if out is not sys.stdout:
            out.close()
            if written is None:  # failed, or stopped (Ctrl-C): a file cut short would pass for the whole selection
                args.output.unlink()
    if written is None:
        return 2
    where = f" to {args.output}" if args.output is not None else ""
    print(f"{counted(written, 'decision')} exported{where}", file=sys.stderr)
    return 0


def _new_private_file(path: Path, csv_file: bool) -> TextIO:
    """`path` created for writing, its owner's alone whatever the umask; an existing file is refused (FileExistsError),
    never overwritten: an earlier export is evidence too. A CSV file starts with a UTF-8 byte order mark, without
    which Excel reads it in the machine's code page ("–", "≥" and "µ" of the notes garbled)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    # newline="": the csv module writes CRLF itself
    return open(descriptor, "w", encoding="utf-8-sig" if csv_file else "utf-8", newline="")


def _print_rows(rows: Sequence[Listed], args: argparse.Namespace) -> None:
    if args.format == "jsonl":
        for row in rows:
            print(json.dumps(row.as_dict()))
    elif not rows:
        print("No rejected calls found." if args.rejected else "No feedback found." if args.feedback
              else "No decisions found.")
    else:
        print(format_table(rows))


# A refused call decided no order, so its order ids are not kept: an operator asked about an order must not read
# "no call" as "the EHR never called".
_REFUSED_HINT = ("A call refused with a 4xx or 5xx decided no order: list those with cds-service audit --rejected "
                 "--patient ID, and show one by its hookInstance or request id")


def run_show(args: argparse.Namespace) -> int:
    details = _query(args, lambda store: store.show(args.key))
    if details is None:
        return 2
    if not details:
        print(f"No call with hookInstance, request id, coverage-assertion-id or order {quoted_id(args.key)}\n"
              f"{_REFUSED_HINT}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps([detail.as_dict() for detail in details], indent=2))
    else:  # an EHR may send a hookInstance again: every call, newest first
        print(f"\n\n{'=' * 80}\n\n".join(format_detail(detail) for detail in details))
    return 0


def run_prune(args: argparse.Namespace) -> int:
    now = datetime.now(timezone.utc)
    if args.before > now:  # a typo in the year, or a span meant back from now
        print(f"--before {args.before.isoformat()} is in the future: it would delete every call, today's too; nothing "
              "deleted (--before 0d --yes deletes everything up to now)", file=sys.stderr)
        return 2
    if args.before > now - _RECENT and not (args.yes or args.dry_run):
        print(f"--before {args.before.isoformat()} is less than a day ago: it would delete the calls up to then, the "
              "last day's too; nothing deleted (--yes if you mean it, --dry-run to count them)", file=sys.stderr)
        return 2
    deleted = _query(args, lambda store: store.prune(args.before, args.dry_run))
    if deleted is None:
        return 2
    counts = ", ".join(f"{counted(deleted[table], *words)} ({table})" for table, words in _PRUNED)
    print(f"{'Would delete' if args.dry_run else 'Deleted'} before {args.before.isoformat()}: {counts}")
    return 0


def _query(args: argparse.Namespace, use: Callable[[AuditStore], T]) -> T | None:
    """`use` on the audit database, closed afterwards; None when it cannot be opened or the query fails (said on
    stderr)."""
    store = _open_store(args)
    if store is None:
        return None
    try:
        return use(store)
    except SQLAlchemyError as exc:  # opened, then a query failed: a lock held past its timeout, the server gone
        print(f"The audit database at {printable_url(database_url(args))} failed the query: {error_summary(exc)}",
              file=sys.stderr)
        return None
    finally:
        store.close()


def _open_store(args: argparse.Namespace) -> AuditStore | None:
    """The audit database, or None (said on stderr in one line) when it cannot be read as it is: a query never
    creates or migrates one."""
    try:
        parsed = database_url(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return None
    where = printable_url(parsed)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not os.path.exists(sqlite_file(parsed).path):
        print(f"No audit database at {where}{_default_hint(args)}", file=sys.stderr)
        return None
    store = AuditStore(parsed.render_as_string(hide_password=False))
    problem = _schema_problem(store.engine, where)
    if problem:
        print(problem, file=sys.stderr)
        store.close()
        return None
    return store


def database_url(args: argparse.Namespace) -> URL:
    """The same default as the app (config.Settings.from_env), without loading the auth configuration."""
    if getattr(args, "database_url", None) is not None:
        return parse_database_url(args.database_url, "--database-url")
    check_not_blank(os.environ, ("CDS_DATABASE_URL", "CDS_DATA_DIR"))  # not the trail of ./data instead
    check_not_misspelt(os.environ)
    if os.environ.get("CDS_DATABASE_URL"):
        return parse_database_url(os.environ["CDS_DATABASE_URL"], "CDS_DATABASE_URL")
    return parse_database_url(default_database_url(os.environ.get("CDS_DATA_DIR")), "CDS_DATA_DIR")


def _default_hint(args: argparse.Namespace) -> str:
    """The default file is relative to the folder the command runs in, which need not be the service's."""
    if getattr(args, "database_url", None) is not None or os.environ.get("CDS_DATABASE_URL") \
            or os.environ.get("CDS_DATA_DIR"):
        return ""
    return (" (the default, ./data in the current folder): run it in the service's folder, or with the service's "
            "CDS_DATABASE_URL or CDS_DATA_DIR, or --database-url")


def _schema_problem(engine: Engine, where: str) -> str:
    """Why this version cannot read the audit trail at `where` ("" when it can): none yet, or a schema at another
    migration than this version's, whose queries would fail on missing columns."""
    try:
        with engine.connect() as connection:
            revision = schema_revision(connection)
    except SQLAlchemyError as exc:  # its cause in the service's words: a password refused is not an outage
        return f"Cannot read the audit database at {where}: {error_summary(exc)}"
    current, head = revision.current, revision.head
    return {
        "none": f"No audit trail in {where} (the service has not run with this database)",
        "head": "",
        "older": (f"The audit database at {where} is at revision {current}, this cds-service reads {head}: "
                  "start the service once to migrate it"),
        "newer": f"The audit database at {where} is at revision {current}, newer than this cds-service ({head})",
    }[revision.stage]


# --- rendering -------------------------------------------------------------------------------------------------

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
                row.hook_instance)
    decision = _decision(row.decision, row.no_plan_reason) + (" (what-if)" if row.what_if else "")
    sent = "/".join(code for code in (row.covered, row.pa_needed) if code) or None
    period = row.authorization if row.authorization and not _why_not_authorized(row, row.hook) else None
    authorized = f"{period.get('start')}/{period.get('end')}" if period else None  # ISO 8601's interval: compact
    return (time, row.hook, row.client_iss, row.tenant, row.patient_id, row.order_id, row.policy, decision,
            row.indication, sent, authorized, row.hook_instance, row.coverage_assertion_id)


def _feedback_values(row: FeedbackRow) -> tuple[Any, ...]:
    item = row.entry
    decision = row.decision if row.hook_instance else _NOT_ISSUED
    received = item.received_at.strftime("%Y-%m-%d %H:%M:%S") if item.received_at else None
    return (received, item.outcome, override_reason(item.override_display, item.override_code),
            item.override_comment, item.card_uuid, row.card_topic, row.patient_id, row.order_id, row.policy, decision,
            row.hook_instance, item.client_iss, item.tenant)


def _decision(decision: str | None, no_plan_reason: str | None) -> str:
    """The decision, or why there was none: no plan, and why (rows before migration 0006 do not say)."""
    return decision or (f"{NO_PLAN} ({no_plan_reason})" if no_plan_reason else "-")


def _cell(value: Any, limit: int) -> str:
    text = "-" if value is None else printable(str(value))  # a client's id could drive the terminal (printable.py)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_detail(detail: InvocationDetail) -> str:
    record = detail.record
    lines = [
        f"hookInstance  {record.hook_instance}",
        f"time          {utc(record.time)}",
        f"service       {record.service_id} ({record.hook})",
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
        f"  decision     {_decision(outcome.decision, outcome.no_plan_reason)}"
        + (" (what-if call)" if outcome.what_if else ""),
        f"  indication   {outcome.indication or '-'}",
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
    unissued = _why_not_authorized(outcome, hook)
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


def _why_not_authorized(outcome: _Sent, hook: str) -> str:
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
    return _with_topic(uuid, outcome.card_topics) + said


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


def _with_topic(uuid: str, topics: dict[str, str]) -> str:
    return f"{uuid} ({topics[uuid]})" if uuid in topics else uuid
