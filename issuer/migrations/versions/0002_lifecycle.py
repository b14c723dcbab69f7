"""Lifecycle: published status list tokens, suspension columns, indexes for status and key lookups.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('issuer_status_lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('token_version', sa.Integer(), server_default=sa.text('-1'), nullable=False))
        batch_op.add_column(sa.Column('token', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('etag', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('token_kid', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('token_iat', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('token_exp', sa.DateTime(), nullable=True))
    with op.batch_alter_table('issuer_credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspended_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('suspension_reason', sa.String(length=30), nullable=True))
        batch_op.create_index('ix_issuer_credentials_list_state', ['status_list_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_issuer_credentials_kid'), ['kid'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('issuer_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issuer_credentials_kid'))
        batch_op.drop_index('ix_issuer_credentials_list_state')
        batch_op.drop_column('suspension_reason')
        batch_op.drop_column('suspended_at')
    with op.batch_alter_table('issuer_status_lists', schema=None) as batch_op:
        for column in ('token_exp', 'token_iat', 'token_kid', 'etag', 'token', 'token_version', 'version'):
            batch_op.drop_column(column)
