"""`cds-service migrate`: the audit schema created or upgraded to this release's revision, without serving. What
every worker does at start (db_schema.migrate, serialized by the database), as a step of its own: run with the owning
role where the service's role may not change the schema, or before restarting the service on a new release, to see the
migration end (or why it cannot) before any EHR calls."""
from __future__ import annotations

import argparse
import sys

from sqlalchemy.exc import SQLAlchemyError

from cds_service.cli_audit_store import database_url
from cds_service.config import ConfigError
from cds_service.db import create_db_engine, printable_url
from cds_service.db_errors import SchemaError, error_summary
from cds_service.db_schema import migrate, schema_revision


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = commands.add_parser("migrate", help="create or upgrade the audit database's schema to this release's "
                                                 "revision, as the service does at start, without serving")
    parser.add_argument(
        "--database-url", default=argparse.SUPPRESS,
        help="SQLAlchemy URL of the audit database, e.g. the owning role's (default: CDS_DATABASE_URL, else the "
             "SQLite file in CDS_DATA_DIR)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        url = database_url(args)
    except ConfigError as exc:
        print(f"cds-service migrate: {exc}", file=sys.stderr)
        return 2
    where = printable_url(url)
    engine = create_db_engine(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            before = schema_revision(connection)
        migrate(engine)
    except SchemaError as exc:  # a newer release's schema, a role without CREATE
        print(f"cds-service migrate: audit database {where}: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:  # not reached, refused, locked: in the service's words, never the password
        print(f"cds-service migrate: audit database {where} cannot be used: {error_summary(exc)}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"audit database {where}: " + {
        "none": f"schema created at revision {before.head}",
        "older": f"schema migrated from revision {before.current} to {before.head}",
    }.get(before.stage, f"schema already at revision {before.head}, this release's: nothing to do"))
    return 0
