"""Each issued suggestion keeps the card that carried it, so feedback accepting a suggestion is checked against the
card it names: another card's suggestion is not stored as accepted there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issued_card") as batch:  # batch: SQLite alters by copying the table
        batch.add_column(sa.Column("card_uuid", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("issued_card") as batch:
        batch.drop_column("card_uuid")
