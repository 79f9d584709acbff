"""`cds-service audit`: recent decisions (or `--rejected` calls, or `--feedback`) as a table or JSON lines;
`cds-service audit show HOOKINSTANCE-OR-ASSERTION`; `cds-service audit export` (JSON lines or CSV, for a payer's
review); `cds-service audit prune --before DATE`.

Here the command line, its options and the `show` and `export` commands; the listings are cli_audit_listing.py's, a
call in words cli_audit_record.py's, prune cli_audit_prune.py's, and opening the trail cli_audit_store.py's. A query
tool: it never creates or migrates the audit database, and only `prune` writes it."""
from __future__ import annotations

import argparse
import calendar
import json
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from cds_service import cli_audit_listing, cli_audit_prune
from cds_service.audit import AuditStore
from cds_service.audit_export import write_csv, write_jsonl
from cds_service.audit_queries import NO_PLAN, InvocationDetail
from cds_service.audit_words import counted
from cds_service.card_kinds import CARD_KINDS
from cds_service.cli_audit_listing import DEFAULT_LIMIT, MAX_LIMIT, empty_period, say_unknown_policy, selection
from cds_service.cli_audit_record import format_detail
from cds_service.cli_audit_store import query
from cds_service.printable import quoted_id

_RELATIVE = re.compile(r"^(\d+)([mhdwy])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}  # and years, by the calendar (_back)
_SINCE_UNITS, _SINCE_SPANS = "mhdw", "30m, 24h, 7d, 2w"
# Retention counts back in days or more: `18m` meant as 18 months would keep 18 minutes of the trail.
_PRUNE_UNITS, _PRUNE_SPANS = "dwy", "180d, 26w, 2y"
# The calls `show` prints by default: an order of a busy trail has tens (39 with the examples), each a screenful.
SHOW_LIMIT = 10
DECISIONS = ("meets-criteria", "information-needed", "criteria-not-met", "evaluation-failed", NO_PLAN)
# The codes of the kinds of card (each card's card-kind extension) from the registry the cards take their kinds from:
# a kind spelt again here could drift from the one the cards send, and `--card-kind` would refuse the kind the trail
# holds.
_KIND_CODES = tuple(kind.code for kind in CARD_KINDS)
# The listings other than the decisions', by the attribute each sets: the listing's options alone (export refuses them).
_OTHER_LISTINGS = {"rejected": "--rejected", "feedback": "--feedback"}


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
    parser.add_argument("--limit", type=_positive_int,
                        help=f"at most this many rows (default {DEFAULT_LIMIT}; with show, calls: default {SHOW_LIMIT})")
    # None, not "table": the listing prints a table, but export must tell `audit --format table export` (refused, as
    # it writes no table) from `audit export`.
    parser.add_argument("--format", choices=("table", "jsonl"), default=None)
    parser.set_defaults(handler=cli_audit_listing.run)
    actions = parser.add_subparsers(dest="action")
    show = actions.add_parser("show", parents=[common], help="one call with its criteria and feedback, found by its "
                              "hookInstance, its request id (X-Request-ID), a coverage-assertion-id or a card or "
                              "suggestion uuid; or every call "
                              "about an order (a MedicationRequest id): those that decided it, and the split that "
                              f"created it; the {SHOW_LIMIT} newest (--limit)")
    show.add_argument("key", type=_text, metavar="KEY",
                      help="a hookInstance, a request id, a coverage-assertion-id, a card or suggestion uuid, "
                      "or an order id")
    # SUPPRESS: a listing's --format given before `show` reaches run_show, which says it is not show's (a default
    # here replaced it, and `audit --format jsonl show KEY` printed text to a JSON reader).
    show.add_argument("--format", choices=("text", "json"), default=argparse.SUPPRESS,
                      help="text (the default) or json: a JSON list of the calls")
    # SUPPRESS: `audit --limit 5 show KEY` keeps the limit given before the action, as export keeps the filters.
    show.add_argument("--limit", type=_positive_int, default=argparse.SUPPRESS,
                      help=f"at most this many calls, the newest (default {SHOW_LIMIT})")
    show.set_defaults(handler=run_show)
    export = actions.add_parser("export", parents=[common], help="the decisions selected, oldest first, with their "
                                "call, policy version and digests, criteria (status, citation, evidence, note) and "
                                "feedback, for a payer's review: JSON lines or CSV (docs/audit.md §Export)")
    _add_filters(export, argparse.SUPPRESS)
    # SUPPRESS: a listing's --format given before `export` reaches run_export, which refuses `table` (a default here
    # replaced it, and `audit --format table export` wrote JSON lines).
    export.add_argument("--format", choices=("jsonl", "csv"), default=argparse.SUPPRESS,
                        help="jsonl: one object a decision; csv: one row a criterion (default jsonl)")
    export.add_argument("--output", type=Path, metavar="FILE",
                        help="a new file to write (readable by its owner alone: the trail holds PHI), not stdout")
    # The listing's own options, taken after `export` too, to be refused by run_export saying why (argparse would call
    # them unrecognized, as if they did not exist).
    export.add_argument("--limit", type=_positive_int, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    for listing in _OTHER_LISTINGS.values():
        export.add_argument(listing, action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    export.set_defaults(handler=run_export)
    prune = actions.add_parser("prune", parents=[common], help="delete the calls before a date with their decisions, "
                               "cards and the feedback on them, and the feedback received before it (docs/audit.md "
                               "§Retention)")
    prune.add_argument("--before", type=parse_before, required=True,
                       help="ISO date or date-time (UTC), or a span back from now in days, weeks or years: 180d, 26w, "
                            "2y (not in the future)")
    prune.add_argument("--dry-run", action="store_true", help="print how many rows would go, delete nothing")
    prune.add_argument("--yes", action="store_true", help="delete even when --before is less than a day ago")
    prune.set_defaults(handler=cli_audit_prune.run)


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
    parser.add_argument("--card-kind", choices=_KIND_CODES, default=default, metavar="KIND",
                        help="only the decisions that issued a card of this kind (with --feedback: the feedback on "
                             f"such a card): {', '.join(_KIND_CODES)}; cards recorded before it was kept have none")


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
    number = int(value) if value.isascii() and value.isdigit() and len(value) <= len(str(MAX_LIMIT)) else 0
    if not 0 < number <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"{quoted_id(value)} is not a positive integer up to {MAX_LIMIT}")
    return number


def _text(value: str) -> str:
    """An id to look up, as given. On POSIX, Python keeps the bytes of an argument that is not UTF-8 as lone
    surrogates, which no query can send: such an argument is refused, quoted escaped and cut."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(f"{quoted_id(value)} is not UTF-8 text") from None
    return value


def run_export(args: argparse.Namespace) -> int:
    listing = [option for option, given in (("--rejected", args.rejected), ("--feedback", args.feedback),
                                            ("--limit", args.limit)) if given]
    if listing:  # an export cut at a limit, or of another listing, would pass for the decisions selected
        print(f"export writes every decision selected; {', '.join(listing)}: the listing's only", file=sys.stderr)
        return 2
    if args.format == "table":
        print("export writes JSON lines (the default) or CSV (--format csv after export); --format table is the "
              "listing's", file=sys.stderr)
        return 2
    if empty_period(args):
        return 2
    chosen = selection(args)
    write = write_csv if args.format == "csv" else write_jsonl
    try:
        out = sys.stdout if args.output is None else _new_private_file(args.output, args.format == "csv")
    except OSError as exc:
        print(f"Cannot write {quoted_id(str(args.output))}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    written = None
    try:
        written = query(args, lambda store: write(store.export(chosen), out))
    finally:
        if out is not sys.stdout:
            out.close()
            if written is None:  # failed, or stopped (Ctrl-C): a file cut short would pass for the whole selection
                args.output.unlink()
    if written is None:
        return 2
    where = f" to {args.output}" if args.output is not None else ""
    print(f"{counted(written, 'decision')} exported{where}", file=sys.stderr)
    if not written:
        say_unknown_policy(args)
    return 0


def _new_private_file(path: Path, csv_file: bool) -> TextIO:
    """`path` created for writing, its owner's alone whatever the umask; an existing file is refused (FileExistsError),
    never overwritten: an earlier export is evidence too. A CSV file starts with a UTF-8 byte order mark, without
    which Excel reads it in the machine's code page ("–", "≥" and "µ" of the notes garbled)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    # newline="": the csv module writes CRLF itself
    return open(descriptor, "w", encoding="utf-8-sig" if csv_file else "utf-8", newline="")


# A refused call decided no order, so its order ids are not kept: an operator asked about an order must not read
# "no call" as "the EHR never called".
_REFUSED_HINT = ("A call refused with a 4xx or 5xx decided no order: list those with cds-service audit --rejected "
                 "--patient ID, and show one by its hookInstance or request id")


def _listing_options() -> dict[str, str]:
    """The listing's filters (those `_add_filters` defines: a filter added there is refused by `show` too) and its
    other listings, by the attribute each sets: its option. Given before `show`, argparse keeps them, and `show`
    takes none."""
    filters = argparse.ArgumentParser(add_help=False)
    _add_filters(filters, None)
    return {**{action.dest: action.option_strings[0] for action in filters._actions}, **_OTHER_LISTINGS}


def run_show(args: argparse.Namespace) -> int:
    ignored = [option for name, option in _listing_options().items() if getattr(args, name)]
    if ignored:  # `audit --policy X show KEY` printed the call whatever its policy, as if the filter had selected it
        print(f"show finds calls by KEY alone and takes no {', '.join(ignored)}: they select the listing's rows "
              "(cds-service audit without show)", file=sys.stderr)
        return 2
    if args.format == "jsonl":
        print("show prints text, or a JSON list with --format json given after show; --format jsonl is the "
              "listing's", file=sys.stderr)
        return 2
    limit = args.limit or SHOW_LIMIT
    found = query(args, lambda store: _shown(store, args.key, limit))
    if found is None:
        return 2
    details, total = found
    if not details:
        print(f"No call with hookInstance, request id, coverage-assertion-id, card or suggestion uuid, or order "
              f"{quoted_id(args.key)}\n"
              f"{_REFUSED_HINT}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps([detail.as_dict() for detail in details], indent=2))
    else:  # an EHR may send a hookInstance again, and an order has a call per signing: the newest first
        print(f"\n\n{'=' * 80}\n\n".join(format_detail(detail) for detail in details))
    if total > limit:  # after the calls, where a reader of the screen or of a file's end looks
        print(f"{counted(limit, 'call')} shown, the newest; {total - limit} more: --limit {total} for all",
              file=sys.stderr)
    return 0


def _shown(store: AuditStore, key: str, limit: int) -> tuple[list[InvocationDetail], int]:
    """The newest `limit` calls `show` finds for `key`, and how many it finds: one more is read than shown, so the
    calls are counted only when some are left out (the count names how many to ask for)."""
    details, total = store.show_counted(key, min(limit + 1, MAX_LIMIT))
    return details[:limit], total
