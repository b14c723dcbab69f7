"""The audit log by subject: an employee's history (`/console/hr/employees/...`) is read at every
visit of their page, and without an index that is a scan of the whole chain (two entries per
issuance, millions in a national deployment).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 19:30:00
"""

from __future__ import annotations

from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        'ix_issuer_audit_log_subject_seq', 'issuer_audit_log', ['subject', 'seq'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_issuer_audit_log_subject_seq', table_name='issuer_audit_log')
