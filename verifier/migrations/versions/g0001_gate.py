"""Gate terminal tables: entry records (buffered for upload) and the offline bundle.

The schema `create_all` made before migrations existed; `verifier.migrate` stamps such a
database at this revision instead of creating the tables again.

Revision ID: g0001
Revises:
Create Date: 2026-12-01 21:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "g0001"
down_revision = None
branch_labels = ("gate",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verifier_gate_bundle_items",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("etag", sa.String(length=255), nullable=True),
        sa.Column("fetched_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key"),
    )
    op.create_table(
        "verifier_gate_entry_records",
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
        sa.Column("uploaded_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_verifier_gate_entry_records_at", "verifier_gate_entry_records", ["at"], unique=False
    )
    op.create_index(
        "ix_verifier_gate_entry_records_uploaded_at",
        "verifier_gate_entry_records",
        ["uploaded_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_verifier_gate_entry_records_uploaded_at", table_name="verifier_gate_entry_records"
    )
    op.drop_index("ix_verifier_gate_entry_records_at", table_name="verifier_gate_entry_records")
    op.drop_table("verifier_gate_entry_records")
    op.drop_table("verifier_gate_bundle_items")
