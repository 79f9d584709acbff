"""The audit schema's migrations (alembic, `migrations/`): run by every worker at start (`migrate`, serialized by the
database) or by `cds-service migrate`, and where a database's schema stands against this release (`schema_revision`)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from cds_service.db_errors import (INSUFFICIENT_PRIVILEGE, SchemaError, error_summary, is_unavailable,
                                   sqlstate_of)

# The logger the schema's log lines have always had (they were db.py's): an operator's log filter may name it.
log = logging.getLogger("cds_service.db")

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Key of the PostgreSQL advisory lock held while migrating: any constant shared by every worker of this service.
_PG_MIGRATION_LOCK = 0x0CD5A0D17


def alembic_config() -> Config:
    """Alembic configuration built in code: no alembic.ini is needed at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config



def migrate(engine: Engine) -> None:
    """Upgrade the schema to the latest revision.

    Several gunicorn workers start at once: on PostgreSQL the upgrade runs in one transaction holding an advisory
    lock, so the others wait and then find nothing to do; on SQLite `BEGIN IMMEDIATE` takes the write lock first.
    """
    config = alembic_config()
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # No statement timeout here: a revision may rewrite a large table, and a worker waits on the lock while
            # another migrates. The connect timeout still bounds a server that is not there.
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_MIGRATION_LOCK})
        elif engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        try:
            before = _check_revision(connection, config)
            command.upgrade(config, "head")
        except DBAPIError as exc:
            if is_unavailable(exc) and sqlstate_of(exc) != INSUFFICIENT_PRIVILEGE:  # no CREATE: no release will do
                raise
            raise SchemaError(_upgrade_failure(exc)) from exc
    _log_migration(before)


def _log_migration(before: SchemaRevision) -> None:
    """Say in the log when the schema was created or moved (committed by then): after an upgrade the operator can
    tell when, and in which process, it happened. A worker finding it at this release's revision says nothing."""
    if before.stage == "none":
        log.info("audit schema created at revision %s", before.head)
    elif before.stage == "older":
        log.info("audit schema migrated from revision %s to %s", before.current, before.head)


@dataclass(frozen=True)
class SchemaRevision:
    """Where a database's audit schema stands against this release's migrations."""

    current: str | None  # None: no audit schema yet
    head: str  # this release's newest revision
    known: bool  # `current` is one of this release's revisions (or None): else a newer release migrated it

    @property
    def stage(self) -> str:
        """"none" (no schema yet), "head" (this release's), "older" (the service migrates it) or "newer" (a newer
        release migrated it: this one cannot read it)."""
        if self.current is None:
            return "none"
        if self.current == self.head:
            return "head"
        return "older" if self.known else "newer"


def schema_revision(connection: Connection, config: Config | None = None) -> SchemaRevision:
    """The audit schema's revision in the database `connection` reaches (for the start-up, `cds-service check
    --connect` and `cds-service audit`)."""
    current = MigrationContext.configure(connection).get_current_revision()
    scripts = ScriptDirectory.from_config(config or alembic_config())
    known = current is None or current in {script.revision for script in scripts.walk_revisions()}
    return SchemaRevision(current, str(scripts.get_current_head()), known)


def _check_revision(connection: Connection, config: Config) -> SchemaRevision:
    """Where the schema stands before migrating. A schema migrated by a newer release cannot be read by this one
    (alembic would only say it cannot locate the revision): a rollback of the service needs the database from before
    the upgrade."""
    revision = schema_revision(connection, config)
    if not revision.known:
        raise SchemaError(f"the audit database is at schema revision {revision.current}, which this release does not "
                          f"know (its newest is {revision.head}): a newer release migrated it; run that release, or "
                          "restore the database from before the upgrade")
    return revision


_UPGRADE_CAUSES = {
    INSUFFICIENT_PRIVILEGE: "the database role needs CREATE on its schema (docs/configuration.md, Database)",
    "3F000": "no schema of the role's search_path exists",  # PostgreSQL's invalid_schema_name: nowhere to create
}


def _upgrade_failure(exc: DBAPIError) -> str:
    return f"cannot create or upgrade the audit schema: {error_summary(exc, _UPGRADE_CAUSES.get(sqlstate_of(exc)))}"
