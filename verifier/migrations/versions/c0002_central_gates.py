"""Central verifier: when each gate was last heard from (operators' overview).

Revision ID: c0002
Revises: c0001
Create Date: 2026-12-03 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0002"
down_revision = "c0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verifier_central_gates",
        sa.Column("gate_id", sa.String(length=64), nullable=False),
        sa.Column("last_contact_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("gate_id"),
    )


def downgrade() -> None:
    op.drop_table("verifier_central_gates")
