"""`used_jti.attempt`: which request stored a JWT id, so that a call refused with 503 after its jti's COMMIT went
unanswered (the request's deadline, a connection cut) releases its own row and no other (docs/audit.md §Used JWT
ids): the client's retry with the same token was refused as a replay. Rows stored before have none.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("used_jti", sa.Column("attempt", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("used_jti") as batch:
        batch.drop_column("attempt")
