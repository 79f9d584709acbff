"""Each issued suggestion keeps the orders its `create` actions make (docs/audit.md §What is recorded): the split of
an order spanning cycles creates a draft order per later cycle with an id of the service's making, and a later call
signing that order could not be traced back to the split.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issued_card") as batch:  # adding a column: SQLite alters in place, no copy
        batch.add_column(sa.Column("creates", sa.JSON))


def downgrade() -> None:
    # Not in batch mode: on SQLite a batch drop copies the table (issued_card has no children, but no copy is needed).
    # SQLite (3.35 and later) drops a plain column in place.
    op.drop_column("issued_card", "creates")
