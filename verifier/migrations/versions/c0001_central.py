"""Central verifier tables: entry records uploaded by the gates.

The schema `create_all` made before migrations existed; `verifier.migrate` stamps such a
database at this revision instead of creating the tables again.

Revision ID: c0001
Revises:
Create Date: 2026-12-01 21:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0001"
down_revision = None
branch_labels = ("central",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verifier_central_entry_records",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("gate_id", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=80), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("allow", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("stale_status", sa.Boolean(), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=True),
        sa.Column("employee_number", sa.String(length=20), nullable=True),
        sa.Column("agency_code", sa.String(length=16), nullable=True),
        sa.Column("member_id", sa.String(length=32), nullable=True),
        sa.Column("elapsed_ms", sa.Float(), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_verifier_central_entry_records_at",
        "verifier_central_entry_records",
        ["at"],
        unique=False,
    )
    op.create_index(
        "ix_verifier_central_entry_records_gate",
        "verifier_central_entry_records",
        ["gate_id", "at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_verifier_central_entry_records_gate", table_name="verifier_central_entry_records"
    )
    op.drop_index(
        "ix_verifier_central_entry_records_at", table_name="verifier_central_entry_records"
    )
    op.drop_table("verifier_central_entry_records")
