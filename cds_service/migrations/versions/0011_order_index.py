"""`order_outcome.order_id` indexed: `cds-service audit --order` and `audit show <order id>` look an order's calls up
by it (docs/audit.md §Querying), which was a scan of every decision ever recorded.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24
"""
from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_order_outcome_order_id", "order_outcome", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_order_outcome_order_id", "order_outcome")
