"""Login verifier: failed secret checks per source, shared by the processes of one database.

Revision ID: l0002
Revises: l0001
Create Date: 2026-12-03 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "l0002"
down_revision = "l0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verifier_secret_failures",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_ends_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "source"),
    )
    op.create_index(
        "ix_verifier_secret_failures_window_ends_at",
        "verifier_secret_failures",
        ["window_ends_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_verifier_secret_failures_window_ends_at", table_name="verifier_secret_failures"
    )
    op.drop_table("verifier_secret_failures")
