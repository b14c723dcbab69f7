"""The remote-work tables (SQLAlchemy Core). Times are Unix seconds (the injected clock's),
plan days are calendar dates in Korea (`service.KST`).

Decisions, session ends, corrections and the audit are append-only: a plan is decided once (the
primary key refuses a second decision), a session ends once, and a head's correction is a new
row beside the original, never an update of it.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "audit",
    "logout_jtis",
    "metadata",
    "plan_decisions",
    "plans",
    "signins",
    "signouts",
    "work_corrections",
    "work_ends",
    "work_sessions",
]

metadata = MetaData()

signins = Table(
    "rw_signins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("employee_number", String(64), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("department", String(200), nullable=True),
    Column("amr", String(200), nullable=False),
    Column("sid", String(200), nullable=True, index=True),
    Column("at", Float, nullable=False),
)
"""Every sign-in with the mobile ID: who, their department and `amr` from the ID token."""

signouts = Table(
    "rw_signouts",
    metadata,
    Column("sid", String(200), primary_key=True),
    Column("at", Float, nullable=False),
    Column("how", String(32), nullable=False),
)
"""Login sessions (`sid`) that ended: a browser still holding one is signed out."""

plans = Table(
    "rw_plans",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("employee_number", String(64), nullable=False, index=True),
    Column("employee_name", String(200), nullable=False),
    Column("department", String(200), nullable=False, index=True),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("place", String(80), nullable=False),
    Column("tasks", Text, nullable=False),
    Column("overtime_hours", Integer, nullable=False),
    Column("filed_at", Float, nullable=False),
)

plan_decisions = Table(
    "rw_plan_decisions",
    metadata,
    Column("plan_id", String(32), ForeignKey("rw_plans.id"), primary_key=True),
    Column("decision", String(16), nullable=False),
    Column("comment", Text, nullable=False),
    Column("decided_by", String(64), nullable=False),
    Column("at", Float, nullable=False),
)

work_sessions = Table(
    "rw_work_sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("employee_number", String(64), nullable=False, index=True),
    Column("sid", String(200), nullable=True, index=True),
    Column("plan_id", String(32), ForeignKey("rw_plans.id"), nullable=False),
    Column("place", String(80), nullable=False),
    Column("amr", String(200), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("last_seen_at", Float, nullable=False),
)
"""A work session; `last_seen_at` is the person's last request (for the idle timeout)."""

work_ends = Table(
    "rw_work_ends",
    metadata,
    Column("session_id", String(32), ForeignKey("rw_work_sessions.id"), primary_key=True),
    Column("ended_at", Float, nullable=False),
    Column("how", String(32), nullable=False),
    Column("recorded_at", Float, nullable=False),
)

work_corrections = Table(
    "rw_work_corrections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(32), ForeignKey("rw_work_sessions.id"), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("at", Float, nullable=False),
)

logout_jtis = Table(
    "rw_logout_jtis",
    metadata,
    Column("jti", String(200), primary_key=True),
    Column("exp", Float, nullable=False),
)
"""Logout tokens accepted, kept until they expire (Back-Channel Logout 1.0 §2.6, replay)."""

audit = Table(
    "rw_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(100), nullable=False),
    Column("detail", Text, nullable=False),
)
"""Every action by a person (and by the login service), append-only."""
