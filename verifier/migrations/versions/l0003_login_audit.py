"""Login service: the login administrators' append-only audit log.

Revision ID: l0003
Revises: l0002
Create Date: 2026-12-03 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "l0003"
down_revision = "l0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verifier_login_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_verifier_login_audit_at", "verifier_login_audit", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_verifier_login_audit_at", table_name="verifier_login_audit")
    op.drop_table("verifier_login_audit")
