"""Login verifier tables: OpenID4VP sessions, OIDC clients, codes, tokens, keys, login records.

The schema `create_all` made before migrations existed; `verifier.migrate` stamps such a
database at this revision instead of creating the tables again.

Revision ID: l0001
Revises:
Create Date: 2026-12-01 21:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "l0001"
down_revision = None
branch_labels = ("login",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verifier_login_records",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=512), nullable=False),
        sa.Column("session_id", sa.String(length=43), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("flow", sa.String(length=16), nullable=True),
        sa.Column("employee_number", sa.String(length=20), nullable=True),
        sa.Column("issuer", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_verifier_login_records_at", "verifier_login_records", ["at"], unique=False)
    op.create_table(
        "verifier_oidc_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.Column("allowed_claims", sa.Text(), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("id_token_alg", sa.String(length=8), nullable=False),
        sa.Column("allowed_agencies", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_table(
        "verifier_oidc_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("grant", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    op.create_index(
        "ix_verifier_oidc_codes_expires_at", "verifier_oidc_codes", ["expires_at"], unique=False
    )
    op.create_table(
        "verifier_oidc_keys",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("material", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "verifier_oidc_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("claims", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(
        "ix_verifier_oidc_tokens_expires_at", "verifier_oidc_tokens", ["expires_at"], unique=False
    )
    op.create_table(
        "verifier_vp_sessions",
        sa.Column("id", sa.String(length=43), nullable=False),
        sa.Column("state", sa.String(length=43), nullable=False),
        sa.Column("nonce", sa.String(length=43), nullable=False),
        sa.Column("client_id", sa.String(length=512), nullable=False),
        sa.Column("handle_hash", sa.String(length=64), nullable=False),
        sa.Column("dcql_query", sa.Text(), nullable=False),
        sa.Column("flow", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("response_code_hash", sa.String(length=64), nullable=True),
        sa.Column("enc_key", sa.Text(), nullable=True),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("completed_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("state"),
    )
    op.create_index(
        "ix_verifier_vp_sessions_expires_at", "verifier_vp_sessions", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_verifier_vp_sessions_expires_at", table_name="verifier_vp_sessions")
    op.drop_table("verifier_vp_sessions")
    op.drop_index("ix_verifier_oidc_tokens_expires_at", table_name="verifier_oidc_tokens")
    op.drop_table("verifier_oidc_tokens")
    op.drop_table("verifier_oidc_keys")
    op.drop_index("ix_verifier_oidc_codes_expires_at", table_name="verifier_oidc_codes")
    op.drop_table("verifier_oidc_codes")
    op.drop_table("verifier_oidc_clients")
    op.drop_index("ix_verifier_login_records_at", table_name="verifier_login_records")
    op.drop_table("verifier_login_records")
