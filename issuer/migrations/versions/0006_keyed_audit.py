"""The audit chain keyed with a key outside the database.

`hash_alg` says how each entry is chained; entries of an earlier release are plain "sha256", new
ones "hmac-sha256" (`issuer.audit` explains how the two eras are kept apart). `key_check` on the
head names the key the chain is under.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): the audit log's append-only triggers stay in place.
    op.add_column(
        'issuer_audit_log',
        sa.Column('hash_alg', sa.String(length=12), server_default='sha256', nullable=False),
    )
    op.add_column('issuer_audit_head', sa.Column('key_check', sa.String(length=16), nullable=True))


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place, as PostgreSQL does; a batch copy would lose the
    # triggers. Keyed entries stay keyed: an earlier release cannot verify them.
    op.execute("ALTER TABLE issuer_audit_head DROP COLUMN key_check")
    op.execute("ALTER TABLE issuer_audit_log DROP COLUMN hash_alg")
