"""The status-list change feed: each list's latest publication carries a sequence number.

`issuer_status_lists.feed_seq` is the feed position of the list's current token (NULL until its
next publication); `issuer_status_feed_head` holds the last number handed out (one row).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('issuer_status_lists', sa.Column('feed_seq', sa.Integer(), nullable=True))
    op.create_index(
        op.f('ix_issuer_status_lists_feed_seq'), 'issuer_status_lists', ['feed_seq'], unique=False
    )
    op.create_table(
        'issuer_status_feed_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_issuer_status_feed_head')),
    )
    op.execute(sa.text("INSERT INTO issuer_status_feed_head (id, seq) VALUES (1, 0)"))


def downgrade() -> None:
    op.drop_table('issuer_status_feed_head')
    op.drop_index(op.f('ix_issuer_status_lists_feed_seq'), table_name='issuer_status_lists')
    op.execute("ALTER TABLE issuer_status_lists DROP COLUMN feed_seq")
