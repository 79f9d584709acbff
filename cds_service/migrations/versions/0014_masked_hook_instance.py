"""A JWT a client sent as a call's hookInstance or request id, stored as sent until now, replaced by the marker the
service stores since (audit_rows.masked_id: `<token sha256:...>`, which `audit show` finds from the original value):
the trail never holds a token (docs/audit.md §What is recorded). The upgrade reads the ids holding "eyJ" (the start
of every JWT) once; nothing else changes. The downgrade leaves the markers: the tokens are gone.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cds_service.audit_rows import masked_id

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_INVOCATION = sa.table("invocation", sa.column("id", sa.Integer), sa.column("hook_instance", sa.String),
                       sa.column("request_id", sa.String))


def upgrade() -> None:
    connection = op.get_bind()
    ids = (_INVOCATION.c.hook_instance.contains("eyJ", autoescape=True)
           | _INVOCATION.c.request_id.contains("eyJ", autoescape=True))
    for row in connection.execute(sa.select(_INVOCATION).where(ids)).all():
        masked = {"hook_instance": masked_id(row.hook_instance),
                  "request_id": row.request_id and masked_id(row.request_id)}
        if masked != {"hook_instance": row.hook_instance, "request_id": row.request_id}:
            connection.execute(sa.update(_INVOCATION).where(_INVOCATION.c.id == row.id).values(masked))


def downgrade() -> None:
    """Nothing to undo: a marker stays a marker."""
