"""Consoles (issue 19): role grants, single-use sign-in links and one-time sign-in codes.

`issuer_grants` holds every grant ever made (revoked ones keep `revoked_at`); at most one active
grant per employee, role and scope. `issuer_login_links` and `issuer_signin_codes` hold only
digests of what they redeem.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'issuer_grants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('scope', sa.String(length=64), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('granted_by', sa.String(length=100), nullable=False),
        sa.Column('granted_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_by', sa.String(length=100), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('revoke_reason', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ['employee_id'],
            ['issuer_employees.id'],
            name=op.f('fk_issuer_grants_employee_id_issuer_employees'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_issuer_grants')),
    )
    op.create_index(
        op.f('ix_issuer_grants_employee_id'), 'issuer_grants', ['employee_id'], unique=False
    )
    op.create_index(
        'uq_issuer_grants_one_active',
        'issuer_grants',
        ['employee_id', 'role', 'scope'],
        unique=True,
        sqlite_where=sa.text('revoked_at IS NULL'),
        postgresql_where=sa.text('revoked_at IS NULL'),
    )
    op.create_table(
        'issuer_login_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['employee_id'],
            ['issuer_employees.id'],
            name=op.f('fk_issuer_login_links_employee_id_issuer_employees'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_issuer_login_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_issuer_login_links_token_hash')),
    )
    op.create_index(
        op.f('ix_issuer_login_links_employee_id'),
        'issuer_login_links',
        ['employee_id'],
        unique=False,
    )
    op.create_table(
        'issuer_signin_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=8), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['employee_id'],
            ['issuer_employees.id'],
            name=op.f('fk_issuer_signin_codes_employee_id_issuer_employees'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_issuer_signin_codes')),
    )
    op.create_index(
        op.f('ix_issuer_signin_codes_employee_id'),
        'issuer_signin_codes',
        ['employee_id'],
        unique=False,
    )
    op.create_index(
        'uq_issuer_signin_codes_one_active',
        'issuer_signin_codes',
        ['employee_id'],
        unique=True,
        sqlite_where=sa.text("state = 'active'"),
        postgresql_where=sa.text("state = 'active'"),
    )


def downgrade() -> None:
    op.drop_table('issuer_signin_codes')
    op.drop_table('issuer_login_links')
    op.drop_table('issuer_grants')
