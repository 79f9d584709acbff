"""Feedback records which verified client (JWT issuer) sent it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("feedback", sa.Column("client_iss", sa.String(500)))


def downgrade() -> None:
    op.drop_column("feedback", "client_iss")
