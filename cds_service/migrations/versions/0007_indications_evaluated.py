"""Every indication a decision evaluated, compactly (docs/audit.md §What is recorded): its id, its status and the ids
of its criteria not met and unknown. The trail kept only the criteria of the indication the card showed, so a denial
(every indication not met) could not be reconstructed from it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_outcome") as batch:  # adding a column: SQLite alters in place, no copy
        batch.add_column(sa.Column("indications", sa.JSON))


def downgrade() -> None:
    # Not in batch mode: on SQLite a batch drop copies the table and drops the old one, and with foreign keys on (the
    # service's connections turn them on) dropping `order_outcome` deletes its issued cards through ON DELETE CASCADE.
    # SQLite (3.35 and later) drops a plain column in place.
    op.drop_column("order_outcome", "indications")
