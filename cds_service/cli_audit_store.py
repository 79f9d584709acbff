"""The audit database as `cds-service audit` and `cds-service migrate` open it: the URL the service would use, the
trail opened only when this version can read it as it is (a query never creates or migrates one), and a query's
failure said in one line."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, TypeVar

from sqlalchemy import URL, Engine
from sqlalchemy.exc import SQLAlchemyError

from cds_service.audit import AuditStore
from cds_service.config import (ConfigError, check_not_blank, check_not_misspelt, default_database_url,
                                parse_database_url)
from cds_service.db import printable_url
from cds_service.db_errors import error_summary
from cds_service.db_schema import schema_revision
from cds_service.db_sqlite import sqlite_file

T = TypeVar("T")


def query(args: argparse.Namespace, use: Callable[[AuditStore], T]) -> T | None:
    """`use` on the audit database, closed afterwards; None when it cannot be opened or the query fails (said on
    stderr)."""
    store = open_store(args)
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


def open_store(args: argparse.Namespace) -> AuditStore | None:
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
