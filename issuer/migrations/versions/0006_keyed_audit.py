"""No issuance secret at rest in the outbox; the audit chain keyed with a key outside the database.

Outbox: the text to send waits sealed in `sealed_body` (the key comes from MOBILEID_SECRET_KEY,
which this migration does not know), `body` keeps only what operators may see. Messages of an
earlier release held offer links and tx_codes in `body`: their bodies are redacted here, and one
still pending is never sent (no sealed text; `outbox list` shows it refused) - reissue its offer.

Audit: `hash_alg` says how each entry is chained; entries of an earlier release are plain
"sha256", new ones "hmac-sha256" (`issuer.audit` explains how the two eras are kept apart).
`key_check` on the head names the key the chain is under.

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

_REDACTED = "[전달 후 삭제됨 / redacted after delivery]"


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): the audit log's append-only triggers stay in place.
    op.add_column('issuer_outbox', sa.Column('sealed_body', sa.Text(), nullable=True))
    op.add_column(
        'issuer_audit_log',
        sa.Column('hash_alg', sa.String(length=12), server_default='sha256', nullable=False),
    )
    op.add_column('issuer_audit_head', sa.Column('key_check', sa.String(length=16), nullable=True))
    op.execute(
        sa.text(
            "UPDATE issuer_outbox SET body = :redacted WHERE kind IN ('offer_link', 'tx_code')"
        ).bindparams(redacted=_REDACTED)
    )


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place, as PostgreSQL does; a batch copy would lose the
    # triggers. Keyed entries stay keyed: an earlier release cannot verify them.
    op.execute("ALTER TABLE issuer_audit_head DROP COLUMN key_check")
    op.execute("ALTER TABLE issuer_audit_log DROP COLUMN hash_alg")
    op.execute("ALTER TABLE issuer_outbox DROP COLUMN sealed_body")
