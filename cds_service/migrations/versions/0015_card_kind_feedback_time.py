"""Each issued card keeps its kind (`issued_card.card_kind`, the card's `card-kind` extension: `decision`, `dose`,
`plan-dose-limit`, ...), which its topic code does not tell (one topic covers several kinds), so a pharmacist can
list every card of one kind; rows stored before have none. And `feedback.received_at` indexed: the feedback listing
selects and sorts by it (docs/audit.md §Querying), which was a scan of every item ever received.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-24
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issued_card") as batch:  # adding a column: SQLite alters in place, no copy
        batch.add_column(sa.Column("card_kind", sa.String(30)))
    op.create_index("ix_feedback_received_at", "feedback", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_feedback_received_at", "feedback")
    # Not in batch mode: SQLite (3.35 and later) drops a plain column in place, where a batch drop copies the table.
    op.drop_column("issued_card", "card_kind")
