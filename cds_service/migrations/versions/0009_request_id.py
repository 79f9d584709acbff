"""The request id of each call (the `X-Request-ID` the response carried, the client's or one the service made), so that
a log line, a proxy's access log and the EHR's own logs lead to the audit record (`cds-service audit show` finds a
call by it), and the record back to them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invocation") as batch:  # adding a column: SQLite alters in place, no copy
        batch.add_column(sa.Column("request_id", sa.String(128)))
    op.create_index("ix_invocation_request_id", "invocation", ["request_id"])


def downgrade() -> None:
    # Not in batch mode: on SQLite a batch drop copies the table, and dropping `invocation` would delete its children
    # through ON DELETE CASCADE (revision 0006). SQLite (3.35 and later) drops a plain column in place.
    op.drop_index("ix_invocation_request_id", "invocation")
    op.drop_column("invocation", "request_id")
