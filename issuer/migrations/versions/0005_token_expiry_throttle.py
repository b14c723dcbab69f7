"""API tokens expire; failed secret checks per source, shared by the workers of one database.

Tokens made before this revision expire 90 days (the default lifetime) after their creation.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 11:00:00
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_DEFAULT_LIFETIME = timedelta(days=90)
_tokens = sa.table(
    'issuer_api_tokens',
    sa.column('id', sa.Integer()),
    sa.column('created_at', sa.DateTime()),
    sa.column('expires_at', sa.DateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table('issuer_api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(sa.select(_tokens.c.id, _tokens.c.created_at)).all()
    for token_id, created_at in rows:
        connection.execute(
            sa.update(_tokens)
            .where(_tokens.c.id == token_id)
            .values(expires_at=created_at + _DEFAULT_LIFETIME)
        )
    with op.batch_alter_table('issuer_api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(), nullable=False)
    op.create_table(
        'issuer_secret_failures',
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_ends_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'source', name=op.f('pk_issuer_secret_failures')),
    )
    with op.batch_alter_table('issuer_secret_failures', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_issuer_secret_failures_window_ends_at'), ['window_ends_at'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('issuer_secret_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issuer_secret_failures_window_ends_at'))
    op.drop_table('issuer_secret_failures')
    with op.batch_alter_table('issuer_api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
