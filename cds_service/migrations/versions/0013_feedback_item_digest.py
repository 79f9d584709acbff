"""`feedback.item_digest`, unique: a feedback item posted again (the retry of a call answered 503 whose COMMIT was
made all the same) is stored once (docs/audit.md §Feedback endpoint). Rows stored before have none, and keep any
duplicate they hold; an older release's worker, still running during a rolling upgrade, inserts none either.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("feedback", sa.Column("item_digest", sa.String(64), nullable=True))
    op.create_index("ux_feedback_item_digest", "feedback", ["item_digest"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_feedback_item_digest", "feedback")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("item_digest")
