"""What an auditor needs to reconstruct a decision (docs/audit.md §What is recorded): who asked (the prescriber's
`userId` and the `encounterId`); which rules decided (the policy file's digest and where it came from, the value
sets' digest); why an order had no plan; what the EHR was given (the covered and pa-needed codes of the
coverage-information action sent, each card's indicator and summary, each suggestion's label).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _columns() -> dict[str, tuple[sa.Column[str], ...]]:
    """New Column objects on each call: one is bound to its table when added."""
    return {
        "invocation": (
            sa.Column("user_id", sa.String(200)),
            sa.Column("encounter_id", sa.String(200)),
        ),
        "order_outcome": (
            sa.Column("policy_digest", sa.String(64)),
            sa.Column("policy_source", sa.String(20)),
            sa.Column("valueset_digest", sa.String(64)),
            sa.Column("no_plan_reason", sa.String(50)),
            sa.Column("covered", sa.String(20)),
            sa.Column("pa_needed", sa.String(20)),
        ),
        "issued_card": (
            sa.Column("indicator", sa.String(20)),
            sa.Column("summary", sa.String(300)),
            sa.Column("label", sa.String(300)),
        ),
    }


def upgrade() -> None:
    for table, columns in _columns().items():
        with op.batch_alter_table(table) as batch:  # adding columns: SQLite alters in place, no copy
            for column in columns:
                batch.add_column(column)


def downgrade() -> None:
    # Not in batch mode: on SQLite a batch drop copies the table and drops the old one, and with foreign keys on
    # (the service's connections turn them on) dropping `invocation` or `order_outcome` deletes their children
    # through ON DELETE CASCADE. SQLite (3.35 and later) drops a plain column in place.
    for table, columns in reversed(_columns().items()):
        for column in reversed(columns):
            op.drop_column(table, column.name)
