"""Remote-work tables: sign-ins, plans, decisions, work sessions, ends, corrections,
logout jtis, audit.

Revision ID: r0001
Revises:
Create Date: 2026-12-03 19:45:38.392021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rw_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "rw_logout_jtis",
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("exp", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("jti"),
    )
    op.create_table(
        "rw_plans",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("employee_number", sa.String(length=64), nullable=False),
        sa.Column("employee_name", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=200), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=80), nullable=False),
        sa.Column("tasks", sa.Text(), nullable=False),
        sa.Column("overtime_hours", sa.Integer(), nullable=False),
        sa.Column("filed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rw_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rw_plans_department"), ["department"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_rw_plans_employee_number"), ["employee_number"], unique=False
        )

    op.create_table(
        "rw_signins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("employee_number", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=200), nullable=True),
        sa.Column("amr", sa.String(length=200), nullable=False),
        sa.Column("sid", sa.String(length=200), nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rw_signins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rw_signins_employee_number"), ["employee_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rw_signins_sid"), ["sid"], unique=False)

    op.create_table(
        "rw_signouts",
        sa.Column("sid", sa.String(length=200), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("how", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("sid"),
    )
    op.create_table(
        "rw_plan_decisions",
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["rw_plans.id"],
        ),
        sa.PrimaryKeyConstraint("plan_id"),
    )
    op.create_table(
        "rw_work_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("employee_number", sa.String(length=64), nullable=False),
        sa.Column("sid", sa.String(length=200), nullable=True),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("place", sa.String(length=80), nullable=False),
        sa.Column("amr", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("last_seen_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["rw_plans.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rw_work_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rw_work_sessions_employee_number"), ["employee_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rw_work_sessions_sid"), ["sid"], unique=False)

    op.create_table(
        "rw_work_corrections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["rw_work_sessions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "rw_work_ends",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=False),
        sa.Column("how", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["rw_work_sessions.id"],
        ),
        sa.PrimaryKeyConstraint("session_id"),
    )


def downgrade() -> None:
    op.drop_table("rw_work_ends")
    op.drop_table("rw_work_corrections")
    with op.batch_alter_table("rw_work_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rw_work_sessions_sid"))
        batch_op.drop_index(batch_op.f("ix_rw_work_sessions_employee_number"))

    op.drop_table("rw_work_sessions")
    op.drop_table("rw_plan_decisions")
    op.drop_table("rw_signouts")
    with op.batch_alter_table("rw_signins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rw_signins_sid"))
        batch_op.drop_index(batch_op.f("ix_rw_signins_employee_number"))

    op.drop_table("rw_signins")
    with op.batch_alter_table("rw_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rw_plans_employee_number"))
        batch_op.drop_index(batch_op.f("ix_rw_plans_department"))

    op.drop_table("rw_plans")
    op.drop_table("rw_logout_jtis")
    op.drop_table("rw_audit")
