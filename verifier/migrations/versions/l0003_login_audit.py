"""Login service: the login administrators' append-only audit log (the database refuses UPDATE
and DELETE on it, as on the issuer's audit log).

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
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER verifier_login_audit_no_{verb.lower()} BEFORE {verb} "
                "ON verifier_login_audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION verifier_login_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER verifier_login_audit_append_only BEFORE UPDATE OR DELETE "
        "ON verifier_login_audit FOR EACH ROW EXECUTE FUNCTION verifier_login_audit_append_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP TRIGGER IF EXISTS verifier_login_audit_append_only ON verifier_login_audit"
        )
        op.execute("DROP FUNCTION IF EXISTS verifier_login_audit_append_only()")
    op.drop_index("ix_verifier_login_audit_at", table_name="verifier_login_audit")
    op.drop_table("verifier_login_audit")
