"""Two ids that tie records to what they belong to (docs/audit.md §What is recorded):

- `invocation.request_id`: the request id of each call (the `X-Request-ID` the response carried, the client's or one
  the service made), so that a log line, a proxy's access log and the EHR's own logs lead to the audit record
  (`cds-service audit show` finds a call by it), and the record back to them.
- `feedback.tenant`: the verified JWT's tenant of the feedback call. Feedback counts only on the cards of calls by
  the same client and tenant: any configured client could otherwise write an override and its comment into another
  EHR's (or site's) decisions. Feedback stored before took its sender's tenant from the card's call when the client is
  the same (what `show` then assumed); from another client it stays apart.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The tenant of the call whose card the feedback names, when that call's client sent the feedback (nulls compared as
# equal, in SQL both SQLite and PostgreSQL take).
_CARD_CALL_TENANT = """
UPDATE feedback SET tenant = (
    SELECT invocation.tenant FROM issued_card
    JOIN order_outcome ON order_outcome.id = issued_card.outcome_id
    JOIN invocation ON invocation.id = order_outcome.invocation_id
    WHERE issued_card.uuid = feedback.card_uuid AND issued_card.kind = 'card'
      AND (invocation.client_iss = feedback.client_iss
           OR (invocation.client_iss IS NULL AND feedback.client_iss IS NULL))
    ORDER BY invocation.id LIMIT 1)
"""


def upgrade() -> None:
    with op.batch_alter_table("invocation") as batch:  # adding a column: SQLite alters in place, no copy
        batch.add_column(sa.Column("request_id", sa.String(128)))
    op.create_index("ix_invocation_request_id", "invocation", ["request_id"])
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("tenant", sa.String(200)))
    op.execute(_CARD_CALL_TENANT)


def downgrade() -> None:
    # Not in batch mode: on SQLite a batch drop copies the table, and dropping `invocation` would delete its children
    # through ON DELETE CASCADE (revision 0006). SQLite (3.35 and later) drops a plain column in place.
    op.drop_column("feedback", "tenant")
    op.drop_index("ix_invocation_request_id", "invocation")
    op.drop_column("invocation", "request_id")
