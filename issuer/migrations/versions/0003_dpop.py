"""DPoP (RFC 9449): access tokens bound to a key's thumbprint, and the proofs seen (replays).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('issuer_access_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpop_jkt', sa.String(length=64), nullable=True))
    op.create_table(
        'issuer_dpop_proofs',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    with op.batch_alter_table('issuer_dpop_proofs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issuer_dpop_proofs_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('issuer_dpop_proofs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issuer_dpop_proofs_expires_at'))
    op.drop_table('issuer_dpop_proofs')
    with op.batch_alter_table('issuer_access_tokens', schema=None) as batch_op:
        batch_op.drop_column('dpop_jkt')
