"""Issuer tables: HR records, tokens, applications, offers, credentials, outbox, audit.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 03:57:48.607955
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('issuer_api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('department_code', sa.String(length=20), nullable=True),
    sa.Column('agency_code', sa.String(length=7), nullable=True),
    sa.Column('employee_number', sa.String(length=20), nullable=True),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issuer_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_issuer_api_tokens_token_hash'))
    )
    op.create_table('issuer_audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issuer_audit_head'))
    )
    op.create_table('issuer_audit_log',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('subject', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_issuer_audit_log'))
    )
    op.create_table('issuer_employees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employee_number', sa.String(length=20), nullable=False),
    sa.Column('hr_source', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=True),
    sa.Column('agency', sa.String(length=100), nullable=False),
    sa.Column('agency_code', sa.String(length=7), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('department_code', sa.String(length=20), nullable=False),
    sa.Column('position', sa.String(length=50), nullable=False),
    sa.Column('grade', sa.String(length=50), nullable=False),
    sa.Column('employment_type', sa.String(length=20), nullable=False),
    sa.Column('employment_status', sa.String(length=16), nullable=False),
    sa.Column('retirement_date', sa.Date(), nullable=True),
    sa.Column('dispatched_to_agency_code', sa.String(length=7), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('photo', sa.Text(), nullable=True),
    sa.Column('opaque_id', sa.String(length=43), nullable=False),
    sa.Column('record_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issuer_employees')),
    sa.UniqueConstraint('employee_number', name=op.f('uq_issuer_employees_employee_number')),
    sa.UniqueConstraint('opaque_id', name=op.f('uq_issuer_employees_opaque_id'))
    )
    with op.batch_alter_table('issuer_employees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issuer_employees_agency_code'), ['agency_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_issuer_employees_department_code'), ['department_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_issuer_employees_dispatched_to_agency_code'), ['dispatched_to_agency_code'], unique=False)

    op.create_table('issuer_nonces',
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('value', name=op.f('pk_issuer_nonces'))
    )
    with op.batch_alter_table('issuer_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issuer_nonces_expires_at'), ['expires_at'], unique=False)

    op.create_table('issuer_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('recipient', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issuer_outbox'))
    )
    with op.batch_alter_table('issuer_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issuer_outbox_state'), ['state'], unique=False)

    op.create_table('issuer_status_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uri', sa.String(length=300), nullable=False),
    sa.Column('bits', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issuer_status_lists')),
    sa.UniqueConstraint('uri', name=op.f('uq_issuer_status_lists_uri'))
    )
    op.create_table('issuer_applications',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=10), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('filed_by', sa.String(length=100), nullable=False),
    sa.Column('filed_by_role', sa.String(length=20), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decision_comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['employee_id'], ['issuer_employees.id'], name=op.f('fk_issuer_applications_employee_id_issuer_employees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issuer_applications'))
    )
    with op.batch_alter_table('issuer_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issuer_applications_employee_id'), ['employee_id'], unique=False)
        batch_op.create_index('uq_issuer_applications_one_open', ['employee_id'], unique=True, sqlite_where=sa.text("state IN ('pending', 'approved')"), postgresql_where=sa.text("state IN ('pending', 'approved')"))

    op.create_table('issuer_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.String(length=32), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('ref_hash', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('tx_code_hash', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('tx_attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['issuer_applications.id'], name=op.f('fk_issuer_offers_application_id_issuer_applications')),
    sa.ForeignKeyConstraint(['employee_id'], ['issuer_employees.id'], name=op.f('fk_issuer_offers_employee_id_issuer_employees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issuer_offers')),
    sa.UniqueConstraint('application_id', name=op.f('uq_issuer_offers_application_id')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_issuer_offers_code_hash')),
    sa.UniqueConstraint('ref_hash', name=op.f('uq_issuer_offers_ref_hash'))
    )
    with op.batch_alter_table('issuer_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issuer_offers_employee_id'), ['employee_id'], unique=False)

    op.create_table('issuer_access_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('credential_issued', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['issuer_employees.id'], name=op.f('fk_issuer_access_tokens_employee_id_issuer_employees')),
    sa.ForeignKeyConstraint(['offer_id'], ['issuer_offers.id'], name=op.f('fk_issuer_access_tokens_offer_id_issuer_offers')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_issuer_access_tokens'))
    )
    with op.batch_alter_table('issuer_access_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issuer_access_tokens_offer_id'), ['offer_id'], unique=False)

    op.create_table('issuer_credentials',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.String(length=32), nullable=True),
    sa.Column('offer_id', sa.Integer(), nullable=True),
    sa.Column('holder_jkt', sa.String(length=43), nullable=False),
    sa.Column('kid', sa.String(length=100), nullable=False),
    sa.Column('status_list_id', sa.Integer(), nullable=False),
    sa.Column('status_idx', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revocation_reason', sa.String(length=30), nullable=True),
    sa.Column('notification_id', sa.String(length=43), nullable=False),
    sa.Column('notification_event', sa.String(length=30), nullable=True),
    sa.Column('notified_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['issuer_applications.id'], name=op.f('fk_issuer_credentials_application_id_issuer_applications')),
    sa.ForeignKeyConstraint(['employee_id'], ['issuer_employees.id'], name=op.f('fk_issuer_credentials_employee_id_issuer_employees')),
    sa.ForeignKeyConstraint(['offer_id'], ['issuer_offers.id'], name=op.f('fk_issuer_credentials_offer_id_issuer_offers')),
    sa.ForeignKeyConstraint(['status_list_id'], ['issuer_status_lists.id'], name=op.f('fk_issuer_credentials_status_list_id_issuer_status_lists')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issuer_credentials')),
    sa.UniqueConstraint('notification_id', name=op.f('uq_issuer_credentials_notification_id')),
    sa.UniqueConstraint('status_list_id', 'status_idx', name='uq_issuer_credentials_status_slot')
    )
    with op.batch_alter_table('issuer_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issuer_credentials_employee_id'), ['employee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issuer_credentials_holder_jkt'), ['holder_jkt'], unique=False)
        batch_op.create_index('uq_issuer_credentials_one_live', ['employee_id'], unique=True, sqlite_where=sa.text("state IN ('active', 'suspended')"), postgresql_where=sa.text("state IN ('active', 'suspended')"))

    op.execute(
        sa.text(
            "INSERT INTO issuer_audit_head (id, seq, hash) VALUES (1, 0, :genesis)"
        ).bindparams(genesis="0" * 64)
    )
    _append_only_triggers()



def _append_only_triggers() -> None:
    """The audit log refuses UPDATE and DELETE at the database (the hash chain detects the rest)."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER issuer_audit_log_no_{verb.lower()} BEFORE {verb} "
                "ON issuer_audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION issuer_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER issuer_audit_log_append_only BEFORE UPDATE OR DELETE "
        "ON issuer_audit_log FOR EACH ROW EXECUTE FUNCTION issuer_audit_log_append_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS issuer_audit_log_append_only ON issuer_audit_log")
        op.execute("DROP FUNCTION IF EXISTS issuer_audit_log_append_only()")
    op.drop_table('issuer_credentials')
    op.drop_table('issuer_access_tokens')
    op.drop_table('issuer_offers')
    op.drop_table('issuer_applications')
    op.drop_table('issuer_status_lists')
    op.drop_table('issuer_outbox')
    op.drop_table('issuer_nonces')
    op.drop_table('issuer_employees')
    op.drop_table('issuer_audit_log')
    op.drop_table('issuer_audit_head')
    op.drop_table('issuer_api_tokens')
