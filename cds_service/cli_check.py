"""`cds-service check`: the configuration and the clinical files the service would start with, checked and listed
without serving and without a request: what an operator runs after editing the environment, CDS_POLICY_DIR,
CDS_VALUESET_DIR or CDS_CARDS_DIR, before restarting the service. With `--connect`, also the audit database: whether
it lets the service in (a password refused, a database that does not exist, no server there) and where its schema
stands; and each client's `jwks_url`: the keys its tokens would be verified with, or why there are none."""
from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from cds_service.card_text import cards_dir
from cds_service.config import ConfigError, Settings
from cds_service.db import create_db_engine, printable_url
from cds_service.db_errors import error_summary
from cds_service.db_schema import schema_revision
from cds_service.db_sqlite import sqlite_file
from cds_service.facts.coverage import routed_policy_ids
from cds_service.jwks import inline_key_sets
from cds_service.policies import load_policy, policy_ids
from cds_service.startup_checks import check_files
from cds_service.startup_report import (
    client_lines, key_set_states, mode_line, settings_line, trust_line, warn_base_url,
)
from cds_service.valuesets import get_valuesets


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser("check", help="check the configuration and the policy, value-set and card files the "
                                               "service would start with, and list what it would apply")
    parser.add_argument("--connect", action="store_true",
                        help="also connect to the audit database and read its schema revision, as the service would "
                             "at start (a PostgreSQL server that does not answer is given up after 2 s), and fetch "
                             "each client's jwks_url as its first token would")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:  # what the service reads and checks at start-up, in the same words
        settings = Settings.from_env()
        check_files()
        if settings.auth is not None:
            inline_key_sets(settings.auth)
    except ConfigError as exc:
        print(f"cds-service check: {exc}", file=sys.stderr)
        return 2
    routed = routed_policy_ids()
    for policy_id in policy_ids():
        policy = load_policy(policy_id)
        unrouted = "" if policy_id in routed else "; no payer is routed to it (payers value set): never applied"
        print(f"policy {policy_id}: {policy.payer_label}, version {policy.version}, file {policy.digest} "
              f"({policy.source}){unrouted}")
    print(f"value sets: digest {get_valuesets().digest}")
    print(f"card templates: {cards_dir()}")
    print(mode_line(settings))
    warn_base_url(settings)
    for line in client_lines(settings.auth):
        print(line)
    print(settings_line(settings))
    print(trust_line())
    url = make_url(settings.database_url)
    if not args.connect:
        print(f"audit database: {printable_url(url)} (not connected: --connect tries it)")
        return 0
    usable, state = _database_state(settings.database_url)
    if usable:
        print(f"audit database: {printable_url(url)}: {state}")
    else:
        print(f"cds-service check: audit database {printable_url(url)} cannot be used: {state}", file=sys.stderr)
    key_sets = key_set_states(settings.auth)
    for key_set_usable, line in key_sets:
        if key_set_usable:
            print(line)
        else:
            print(f"cds-service check: {line}", file=sys.stderr)
    return 0 if usable and all(key_set_usable for key_set_usable, _ in key_sets) else 2


def _create_problem(connection: Connection, stage: str) -> str | None:
    """Why the service could not create the schema (PostgreSQL: the role's privilege; an SQLite file the service can
    write, config.py has checked)."""
    if stage != "none" or connection.dialect.name != "postgresql":
        return None
    from cds_service import db_postgres  # psycopg: installed with the postgres extra only

    return db_postgres.create_problem(connection)


def _database_state(database_url: str) -> tuple[bool, str]:
    """Whether the service could use the audit database at start, and what it would find there in one phrase:
    where the schema stands (the service creates or migrates it), or why it cannot (db_errors.error_summary: classes and
    the cause, never the driver's message, which names the server and the user, nor the password)."""
    url = make_url(database_url)
    named = sqlite_file(url) if url.get_backend_name() == "sqlite" else None
    if named and not named.in_memory and not os.path.exists(named.path):  # connecting would create it: not done
        if named.option("mode") == "rw":  # nor would the service (db_sqlite.create_file)
            return False, "no SQLite file, and mode=rw opens only one that exists: every audit write fails until it " \
                "is there"
        return True, "no SQLite file yet: the service creates it at start"
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            revision = schema_revision(connection)
            problem = _create_problem(connection, revision.stage)
    except SQLAlchemyError as exc:
        return False, error_summary(exc)
    finally:
        engine.dispose()
    if problem:
        return False, f"connected; {problem}"
    current, head = revision.current, revision.head
    return {
        "none": (True, "connected; no audit schema yet: the service creates it at start"),
        "head": (True, f"connected; schema at revision {current}, this release's"),
        "older": (True, f"connected; schema at revision {current}: the service migrates it to {head}"),
        "newer": (False, f"its schema is at revision {current}, which this release does not know (its newest is "
                         f"{head}): the service would not start"),
    }[revision.stage]
