"""Each invocation refused with a 4xx keeps why: the field or check at fault (never its content), so that
`cds-service audit --rejected` tells an integration engineer why a client's calls fail.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invocation") as batch:  # batch: SQLite alters by copying the table
        batch.add_column(sa.Column("reason", sa.String(500)))


def downgrade() -> None:
    with op.batch_alter_table("invocation") as batch:
        batch.drop_column("reason")
