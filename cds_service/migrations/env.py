"""Alembic environment. `cds_service.db_schema.migrate` passes an open connection; there is no alembic.ini."""
from __future__ import annotations

from alembic import context

from cds_service.db_models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through cds_service.db_schema.migrate(engine)")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
