"""Feedback is kept as received, and whether its card and its accepted suggestions were issued is worked out when the
trail is read: `feedback.card_known` goes (docs/audit.md §What is recorded). Decided when the feedback arrived, it
was false for good whenever the call that issued the card had been answered by another worker whose audit writer had
not written it yet (it writes every 0.1 s, later while the database is slow), and the suggestions accepted on that
card were dropped with it. `accepted_suggestions` now holds what the EHR sent; rows stored before hold those that
were matched then. A worker of an older release still running on the migrated database cannot store feedback (its
insert names the dropped column).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not in batch mode: SQLite (3.35 and later) drops a plain column in place, without copying the table.
    op.drop_column("feedback", "card_known")


def downgrade() -> None:
    """The column as revision 0007 kept it, worked out from the cards issued (those still in the trail). The accepted
    suggestions stay as received: the older release shows them all, those never issued with the card included."""
    op.add_column("feedback", sa.Column("card_known", sa.Boolean))
    op.execute("UPDATE feedback SET card_known = EXISTS (SELECT 1 FROM issued_card WHERE issued_card.uuid = "
               "feedback.card_uuid AND issued_card.kind = 'card')")
    # Batch mode: SQLite cannot make a column NOT NULL in place, and copies the table (no other table refers to it).
    with op.batch_alter_table("feedback") as batch:
        batch.alter_column("card_known", existing_type=sa.Boolean, nullable=False)
