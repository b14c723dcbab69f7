"""Signing keys sealed in the database (one key set per deployment).

The issuer's signing keys move from `<data_dir>/issuer_keys/key-*.json` (plaintext private JWKs)
into `issuer_signing_keys`, the private JWK sealed under MOBILEID_SECRET_KEY; the files are
imported at the first start on this revision (`issuer.keys.store`), not here: the migration does
not know the secret.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'issuer_signing_keys',
        sa.Column('number', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('kid', sa.String(length=100), nullable=False),
        sa.Column('alg', sa.String(length=10), nullable=False),
        sa.Column('public_jwk', sa.Text(), nullable=False),
        sa.Column('sealed_private_jwk', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('activates_at', sa.DateTime(), nullable=True),
        sa.Column('publish_until', sa.DateTime(), nullable=True),
        sa.Column('retired_at', sa.DateTime(), nullable=True),
        sa.Column('retired_reason', sa.String(length=30), nullable=True),
        sa.PrimaryKeyConstraint('number', name=op.f('pk_issuer_signing_keys')),
        sa.UniqueConstraint('kid', name=op.f('uq_issuer_signing_keys_kid')),
    )


def downgrade() -> None:
    op.drop_table('issuer_signing_keys')
