"""Gate terminal: the presentations it accepted, kept in its own database across restarts.

Revision ID: g0002
Revises: g0001
Create Date: 2026-12-03 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "g0002"
down_revision = "g0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verifier_gate_seen_presentations",
        sa.Column("key", sa.LargeBinary(length=16), nullable=False),
        sa.Column("keep_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("verifier_gate_seen_presentations")
