"""Each order outcome keeps what a pharmacist needs to verify it: what was missing, the authorization period, the
data not received, and the Coverage the decision was made under; each issued card its topic (which card feedback
overrode: the coverage decision or a dose warning); each invocation the tenant of the verified JWT.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invocation") as batch:
        batch.add_column(sa.Column("tenant", sa.String(200)))
    with op.batch_alter_table("order_outcome") as batch:  # batch: SQLite alters by copying the table
        batch.add_column(sa.Column("missing", sa.JSON))
        batch.add_column(sa.Column("authorization", sa.JSON))
        batch.add_column(sa.Column("not_received", sa.JSON))
        batch.add_column(sa.Column("coverage_reference", sa.String(200)))
    with op.batch_alter_table("issued_card") as batch:
        batch.add_column(sa.Column("topic", sa.String(50)))


def downgrade() -> None:
    with op.batch_alter_table("issued_card") as batch:
        batch.drop_column("topic")
    with op.batch_alter_table("order_outcome") as batch:
        for column in ("coverage_reference", "not_received", "authorization", "missing"):
            batch.drop_column(column)
    with op.batch_alter_table("invocation") as batch:
        batch.drop_column("tenant")
