"""`cds-service check`: the configuration and the clinical files the service would start with, checked and listed
without serving and without a request: what an operator runs after editing the environment, CDS_POLICY_DIR,
CDS_VALUESET_DIR or CDS_CARDS_DIR, before restarting the service. With `--connect`, also the audit database: whether
it lets the service in (a password refused, a database that does not exist, no server there) and where its schema
stands; and each client's `jwks_url`: the keys its tokens would be verified with, or why there are none."""
from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime

from jwt import PyJWK
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from cds_service.card_text import cards_dir
from cds_service.config import AuthConfig, ClientConfig, ConfigError, Settings
from cds_service.db import create_db_engine, error_summary, printable_url, schema_revision, sqlite_file
from cds_service.facts.coverage import routed_policy_ids
from cds_service.http_errors import Unauthorized
from cds_service.jwks import declared_algorithm, fetch_key_set, inline_key_sets
from cds_service.printable import json_value
from cds_service.policies import load_policy, policy_ids
from cds_service.startup_checks import check_files
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
    mode = "JWT required (CDS_AUTH_CONFIG)" if settings.auth else "local mode: no JWT required (no CDS_AUTH_CONFIG)"
    print(f"{mode}; public base URL {settings.public_base_url}")
    for line in _client_lines(settings.auth):
        print(line)
    print(_settings_line(settings))
    url = make_url(settings.database_url)
    if not args.connect:
        print(f"audit database: {printable_url(url)} (not connected: --connect tries it)")
        return 0
    usable, state = _database_state(settings.database_url)
    if usable:
        print(f"audit database: {printable_url(url)}: {state}")
    else:
        print(f"cds-service check: audit database {printable_url(url)} cannot be used: {state}", file=sys.stderr)
    keys_usable = [_key_set_usable(client.iss, client.jwks_url) for client in _fetched_clients(settings.auth)]
    return 0 if usable and all(keys_usable) else 2


def _fetched_clients(auth: AuthConfig | None) -> list[ClientConfig]:
    return [client for client in (auth.clients if auth else ()) if client.jwks_url]


def _key_set_usable(iss: str, url: str | None) -> bool:
    """A client's JWK Set URL fetched as the service fetches it: the keys listed, or why every token of that client
    would get a 401 (the host unreachable from here, a private CA, a 404, no usable key), which the start-up cannot
    see (it fetches on the first token)."""
    try:
        keys = fetch_key_set(str(url))
    except Unauthorized as exc:
        print(f"cds-service check: client {iss}: {exc.reason}", file=sys.stderr)
        return False
    print(f"client {iss}: JWK Set {url}: keys {', '.join(map(_described, keys.keys))}")
    return True


def _described(key: PyJWK) -> str:
    algorithm = declared_algorithm(key)
    return f"{json_value(key.key_id)} ({key.key_type}{f' for {algorithm}' if algorithm else ''})"


def _client_lines(auth: AuthConfig | None) -> list[str]:
    """The clients the auth file trusts, as the service read it: an integration engineer checks the keys, servers and
    tenants of each EHR before it calls (a misread file is refused, but a wrong URL in it is not)."""
    if auth is None:
        return []
    return [f"client {client.iss}: keys {client.jwks_url or 'inline JWK Set'}; FHIR servers "
            f"{', '.join(client.fhir_servers) or 'none'}; tenants {', '.join(client.tenants) or 'any'}"
            for client in auth.clients]


def _settings_line(settings: Settings) -> str:
    """The other settings in effect, their defaults included: what an unset variable gave."""
    zone = settings.time_zone.key if settings.time_zone else f"the server's ({datetime.now().astimezone().tzname()})"
    return (f"CORS origins {', '.join(settings.cors_origins)}; clinical date in {zone}; fetch budget "
            f"{settings.fetch_budget_seconds:g} s; body limit {settings.max_body_bytes} bytes; log level "
            f"{settings.log_level}; metrics {settings.metrics_dir or 'of each process alone'}")


def _create_problem(connection: Connection, stage: str) -> str | None:
    """Why the service could not create the schema (PostgreSQL: the role's privilege; an SQLite file the service can
    write, config.py has checked)."""
    if stage != "none" or connection.dialect.name != "postgresql":
        return None
    from cds_service import db_postgres  # psycopg: installed with the postgres extra only

    return db_postgres.create_problem(connection)


def _database_state(database_url: str) -> tuple[bool, str]:
    """Whether the service could use the audit database at start, and what it would find there in one phrase:
    where the schema stands (the service creates or migrates it), or why it cannot (db.error_summary: classes and
    the cause, never the driver's message, which names the server and the user, nor the password)."""
    url = make_url(database_url)
    named = sqlite_file(url) if url.get_backend_name() == "sqlite" else None
    if named and not named.in_memory and not os.path.exists(named.path):  # connecting would create it: not done
        if named.option("mode") == "rw":  # nor would the service (db._sqlite_engine)
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
