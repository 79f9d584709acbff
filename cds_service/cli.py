"""`cds-service` command line: serve, evaluate, check, audit, migrate. Each subcommand lives in its own module."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from cds_service import __version__, cli_audit, cli_check, cli_evaluate, cli_migrate, cli_serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cds-service", description="Blinatumomab coverage CDS Hooks service")
    # Which release a host runs, after an upgrade or before a rollback.
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (cli_serve, cli_evaluate, cli_check, cli_audit, cli_migrate):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:  # Ctrl-C (a long prune): stopped, its transaction rolled back; no traceback
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head`: the reader has what it wanted
        # Python flushes stdout again at exit and would complain: point it at devnull (the Python docs' recipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
