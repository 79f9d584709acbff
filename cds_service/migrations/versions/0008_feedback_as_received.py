"""Feedback is kept as received, and whether its card and its accepted suggestions were issued is worked out when the
trail is read (docs/audit.md §What is recorded). Decided when the feedback arrived, `feedback.card_known` was false
for good whenever the call that issued the card had been answered by another worker whose audit writer had not
written it yet (it writes every 0.1 s, later while the database is slow), and the suggestions accepted on that card
were dropped with it. `accepted_suggestions` now holds what the EHR sent; rows stored before hold those that were
matched then.

`card_known` is no longer written, but kept, nullable: a worker of the older release still running on the migrated
database (a rolling upgrade, one replica after another) still writes it, and its insert would fail on a dropped
column. A later revision may drop it once no such release runs.

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
    # Batch mode: SQLite cannot make a column nullable in place, and copies the table (no other table refers to it).
    with op.batch_alter_table("feedback") as batch:
        batch.alter_column("card_known", existing_type=sa.Boolean, nullable=True)


def downgrade() -> None:
    """The column as revision 0007 kept it: for the rows stored since, worked out from the cards issued (those still
    in the trail). The accepted suggestions stay as received: the older release shows them all, those never issued
    with the card included."""
    op.execute("UPDATE feedback SET card_known = EXISTS (SELECT 1 FROM issued_card WHERE issued_card.uuid = "
               "feedback.card_uuid AND issued_card.kind = 'card') WHERE card_known IS NULL")
    with op.batch_alter_table("feedback") as batch:
        batch.alter_column("card_known", existing_type=sa.Boolean, nullable=False)
