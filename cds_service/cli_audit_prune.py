"""`cds-service audit prune --before DATE`: the calls before a date deleted with their decisions, their cards and the
feedback on them, and the feedback received before it (docs/audit.md §Retention); the only command of `audit` that
writes."""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone

from cds_service.audit_words import counted
from cds_service.cli_audit_store import query

# A prune deleting calls of the last day needs --yes: it deletes (nearly) the whole trail, and is more likely a
# typo in the year than meant.
_RECENT = timedelta(days=1)
# What prune counts, by table, in the order a reader thinks of them: the calls, the decisions, what they handed out.
_PRUNED = (("invocation", ("call",)), ("order_outcome", ("decision",)),
           ("issued_card", ("card or suggestion", "cards and suggestions")), ("feedback", ("feedback item",)))


def run(args: argparse.Namespace) -> int:
    now = datetime.now(timezone.utc)
    if args.before > now:  # a typo in the year, or a span meant back from now
        print(f"--before {args.before.isoformat()} is in the future: it would delete every call, today's too; nothing "
              "deleted (--before 0d --yes deletes everything up to now)", file=sys.stderr)
        return 2
    if args.before > now - _RECENT and not (args.yes or args.dry_run):
        print(f"--before {args.before.isoformat()} is less than a day ago: it would delete the calls up to then, the "
              "last day's too; nothing deleted (--yes if you mean it, --dry-run to count them)", file=sys.stderr)
        return 2
    deleted = query(args, lambda store: store.prune(args.before, args.dry_run))
    if deleted is None:
        return 2
    counts = ", ".join(f"{counted(deleted[table], *words)} ({table})" for table, words in _PRUNED)
    print(f"{'Would delete' if args.dry_run else 'Deleted'} before {args.before.isoformat()}: {counts}")
    return 0
