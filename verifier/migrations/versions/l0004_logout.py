"""Login service: sessions at the provider (`sid`), back-channel logout deliveries, and the
clients' logout metadata (OpenID Connect Back-Channel Logout 1.0, RP-Initiated Logout 1.0).

Revision ID: l0004
Revises: l0003
Create Date: 2026-12-03 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "l0004"
down_revision = "l0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "verifier_oidc_clients", sa.Column("backchannel_logout_uri", sa.Text(), nullable=True)
    )
    op.add_column(
        "verifier_oidc_clients",
        sa.Column(
            "backchannel_logout_session_required",
            sa.Boolean(),
            nullable=False,
            server_default=sa.false(),
        ),
    )
    op.add_column(
        "verifier_oidc_clients",
        sa.Column("post_logout_redirect_uris", sa.Text(), nullable=False, server_default="[]"),
    )
    op.create_table(
        "verifier_oidc_sessions",
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("sub", sa.String(length=128), nullable=False),
        sa.Column("employee_number", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("status_uri", sa.Text(), nullable=True),
        sa.Column("status_idx", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("sid"),
    )
    op.create_index(
        "ix_verifier_oidc_sessions_status_uri", "verifier_oidc_sessions", ["status_uri"]
    )
    op.create_index(
        "ix_verifier_oidc_sessions_employee", "verifier_oidc_sessions", ["employee_number"]
    )
    op.create_table(
        "verifier_oidc_logouts",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("jti"),
    )
    op.create_index("ix_verifier_oidc_logouts_state", "verifier_oidc_logouts", ["state"])


def downgrade() -> None:
    op.drop_index("ix_verifier_oidc_logouts_state", table_name="verifier_oidc_logouts")
    op.drop_table("verifier_oidc_logouts")
    op.drop_index("ix_verifier_oidc_sessions_employee", table_name="verifier_oidc_sessions")
    op.drop_index("ix_verifier_oidc_sessions_status_uri", table_name="verifier_oidc_sessions")
    op.drop_table("verifier_oidc_sessions")
    with op.batch_alter_table("verifier_oidc_clients") as batch:
        batch.drop_column("post_logout_redirect_uris")
        batch.drop_column("backchannel_logout_session_required")
        batch.drop_column("backchannel_logout_uri")
