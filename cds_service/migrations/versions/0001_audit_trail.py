"""Audit trail: invocations, order outcomes, issued cards, feedback, used JWT ids.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invocation",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.DateTime, nullable=False, index=True),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("hook", sa.String(100), nullable=False),
        sa.Column("hook_instance", sa.String(200), nullable=False, index=True),
        sa.Column("client_iss", sa.String(500)),
        sa.Column("patient_id", sa.String(200), index=True),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
    )
    op.create_table(
        "order_outcome",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("invocation_id", sa.Integer, sa.ForeignKey("invocation.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("policy", sa.String(100)),
        sa.Column("policy_version", sa.String(100)),
        sa.Column("decision", sa.String(50)),
        sa.Column("indication", sa.String(200)),
        sa.Column("request_type", sa.String(50)),
        sa.Column("cycle", sa.Integer),
        sa.Column("coverage_assertion_id", sa.String(200), index=True),
        sa.Column("what_if", sa.Boolean, nullable=False),
        sa.Column("criteria", sa.JSON, nullable=False),
    )
    op.create_index("ix_order_outcome_policy_decision", "order_outcome", ["policy", "decision"])
    op.create_table(
        "issued_card",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("outcome_id", sa.Integer, sa.ForeignKey("order_outcome.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("uuid", sa.String(200), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("card_uuid", sa.String(200), nullable=False, index=True),
        sa.Column("card_known", sa.Boolean, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("outcome_timestamp", sa.DateTime),
        sa.Column("accepted_suggestions", sa.JSON, nullable=False),
        sa.Column("override_system", sa.String(500)),
        sa.Column("override_code", sa.String(200)),
        sa.Column("override_display", sa.Text),
        sa.Column("override_comment", sa.Text),
    )
    op.create_table(
        "used_jti",
        sa.Column("jti", sa.String(500), primary_key=True),
        sa.Column("expires_at", sa.DateTime, nullable=False, index=True),
    )


def downgrade() -> None:
    for table in ("used_jti", "feedback", "issued_card", "order_outcome", "invocation"):
        op.drop_table(table)
