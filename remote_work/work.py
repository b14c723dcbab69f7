"""Work sessions (근무 기록): from sign-in on an approved day to sign-out, idle timeout or
back-channel logout; daily and monthly totals; a head's correction as a new audited entry.

A session idle longer than the timeout ends at its last activity (`last_seen_at`): time away
is not work. A clock that went back mid-session ends the session at its last activity too
(`clock_changed`) rather than record negative time. Totals count a session on the day (in Korea)
it started. Functions take the connection and `now`; the caller commits.
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from remote_work.errors import RemoteWorkError
from remote_work.models import (
    audit,
    plans,
    signins,
    signouts,
    work_corrections,
    work_ends,
    work_sessions,
)
from remote_work.plans import (
    KST,
    DepartmentHeads,
    approved_plan_on,
    check_head,
    get_plan,
    record_audit,
    today,
)

__all__ = [
    "ENDINGS",
    "WorkRecord",
    "audit_entries",
    "close_idle_sessions",
    "correct_record",
    "daily_totals",
    "department_of",
    "end_sid",
    "open_session_for",
    "record_signin",
    "sid_ended",
    "sid_known",
    "start_work",
    "touch",
    "work_records",
]

ENDINGS = {
    "signout": "로그아웃 / Signed out",
    "idle_timeout": "미사용 시간 초과 / Idle timeout",
    "backchannel_logout": "신분증 무효·로그인 종료 / Credential or login ended",
    "clock_changed": "시계 변경 / Clock changed",
}
"""How a session ended -> its label."""


def record_signin(
    db: Connection,
    *,
    employee_number: str,
    name: str,
    department: str | None,
    amr: Sequence[str],
    sid: str | None,
    now: float,
) -> None:
    db.execute(
        insert(signins).values(
            employee_number=employee_number,
            name=name,
            department=department,
            amr=" ".join(amr),
            sid=sid,
            at=now,
        )
    )
    record_audit(
        db,
        actor=f"console:{employee_number}",
        action="signed_in",
        subject=sid or "-",
        detail={"amr": list(amr), "department": department},
        now=now,
    )


def department_of(db: Connection, employee_number: str) -> str | None:
    """The department of the person's latest sign-in (the ID token's `department` claim)."""
    return db.execute(
        select(signins.c.department)
        .where(signins.c.employee_number == employee_number)
        .order_by(signins.c.id.desc())
        .limit(1)
    ).scalar()


def _open(db: Connection, **match: Any) -> list[Any]:
    query = (
        select(work_sessions)
        .outerjoin(work_ends, work_ends.c.session_id == work_sessions.c.id)
        .where(work_ends.c.session_id.is_(None))
    )
    for column, value in match.items():
        query = query.where(work_sessions.c[column] == value)
    return list(db.execute(query))


def open_session_for(db: Connection, sid: str | None, employee_number: str) -> Any | None:
    rows = _open(db, sid=sid, employee_number=employee_number) if sid else []
    return rows[0] if rows else None


def start_work(
    db: Connection, *, employee_number: str, sid: str | None, amr: Sequence[str], now: float
) -> str:
    """Open a work session for today's approved plan (`no_approved_plan` otherwise); the open
    session of the same login (`sid`) when there is one. Returns the session id. Without a
    `sid` (a login service without back-channel logout) nothing could end it: `no_sid`."""
    if not sid:
        raise RemoteWorkError("no_sid", status=403)
    current = open_session_for(db, sid, employee_number)
    if current is not None:
        return str(current.id)
    plan = approved_plan_on(db, employee_number, today(now))
    if plan is None:
        raise RemoteWorkError("no_approved_plan", status=403)
    session_id = secrets.token_hex(8)
    db.execute(
        insert(work_sessions).values(
            id=session_id,
            employee_number=employee_number,
            sid=sid,
            plan_id=plan.id,
            place=plan.place,
            amr=" ".join(amr),
            started_at=now,
            last_seen_at=now,
        )
    )
    record_audit(
        db,
        actor=f"console:{employee_number}",
        action="work_started",
        subject=session_id,
        detail={"plan": plan.id, "place": plan.place, "amr": list(amr)},
        now=now,
    )
    return session_id


def _end(db: Connection, row: Any, *, at: float, how: str, actor: str, now: float) -> None:
    db.execute(insert(work_ends).values(session_id=row.id, ended_at=at, how=how, recorded_at=now))
    record_audit(
        db,
        actor=actor,
        action="work_ended",
        subject=row.id,
        detail={"how": how, "ended_at": at, "employee": row.employee_number},
        now=now,
    )


def end_sid(db: Connection, sid: str, *, how: str, actor: str, now: float) -> int:
    """The login `sid` ended (sign-out, back-channel logout): its open work sessions close now
    and any browser holding it is signed out. Returns how many sessions closed."""
    open_rows = _open(db, sid=sid)
    for row in open_rows:
        _end(db, row, at=now, how=how, actor=actor, now=now)
    if db.execute(select(signouts.c.sid).where(signouts.c.sid == sid)).first() is None:
        db.execute(insert(signouts).values(sid=sid, at=now, how=how))
    return len(open_rows)


def sid_known(db: Connection, sid: str) -> bool:
    return db.execute(select(signins.c.id).where(signins.c.sid == sid).limit(1)).first() is not None


def sid_ended(db: Connection, sid: str | None) -> bool:
    if not sid:
        return False
    return db.execute(select(signouts.c.sid).where(signouts.c.sid == sid)).first() is not None


def touch(db: Connection, *, sid: str | None, employee_number: str, now: float) -> bool:
    """The person is active: their open session's `last_seen_at` moves to `now`. A clock that
    went back ends it at its last activity (`clock_changed`) and returns False: the caller
    commits, then refuses the request with that code."""
    row = open_session_for(db, sid, employee_number)
    if row is None:
        return True
    if now < row.last_seen_at:
        _end(db, row, at=row.last_seen_at, how="clock_changed", actor="system", now=now)
        return False
    db.execute(update(work_sessions).where(work_sessions.c.id == row.id).values(last_seen_at=now))
    return True


def close_idle_sessions(
    db: Connection, *, idle_timeout_s: float, now: float, employee_number: str | None = None
) -> int:
    """End every open session (of `employee_number` when given) idle longer than the timeout,
    at its last activity."""
    match = {} if employee_number is None else {"employee_number": employee_number}
    rows = [r for r in _open(db, **match) if now - r.last_seen_at > idle_timeout_s]
    for row in rows:
        _end(db, row, at=row.last_seen_at, how="idle_timeout", actor="system", now=now)
        if row.sid and not sid_ended(db, row.sid):
            db.execute(insert(signouts).values(sid=row.sid, at=now, how="idle_timeout"))
    return len(rows)


@dataclass(frozen=True, slots=True)
class WorkRecord:
    """One session as the record shows it: the latest correction's times when there is one."""

    session_id: str
    employee_number: str
    employee_name: str
    department: str
    plan_id: str
    place: str
    started_at: float
    ended_at: float | None
    how: str | None
    corrected_by: str | None
    correction_reason: str | None

    @property
    def day(self) -> date:
        return datetime.fromtimestamp(self.started_at, KST).date()

    def seconds(self, now: float) -> float:
        end = self.ended_at if self.ended_at is not None else now
        return max(0.0, end - self.started_at)


def work_records(
    db: Connection,
    employee_number: str | None = None,
    *,
    departments: Sequence[str] | None = None,
    month: tuple[int, int] | None = None,
) -> list[WorkRecord]:
    """The sessions of a person, or of the people of `departments` (a head's team view), of
    `month` (year, month) in Korea when given, newest first."""
    query = (
        select(
            work_sessions,
            work_ends.c.ended_at,
            work_ends.c.how,
            plans.c.employee_name,
            plans.c.department,
        )
        .join(plans, plans.c.id == work_sessions.c.plan_id)
        .outerjoin(work_ends, work_ends.c.session_id == work_sessions.c.id)
        .order_by(work_sessions.c.started_at.desc())
    )
    if employee_number is not None:
        query = query.where(work_sessions.c.employee_number == employee_number)
    if departments is not None:
        query = query.where(plans.c.department.in_(list(departments)))
    rows = db.execute(query).all()
    corrections: dict[str, Any] = {}
    ids = [r.id for r in rows]
    if ids:
        for found in db.execute(
            select(work_corrections)
            .where(work_corrections.c.session_id.in_(ids))
            .order_by(work_corrections.c.id)
        ):
            corrections[found.session_id] = found  # the latest wins
    records = []
    for r in rows:
        c: Any = corrections.get(r.id)
        record = WorkRecord(
            r.id,
            r.employee_number,
            r.employee_name,
            r.department,
            r.plan_id,
            r.place,
            c.started_at if c is not None else r.started_at,
            c.ended_at if c is not None else r.ended_at,
            r.how,
            c.actor if c is not None else None,
            c.reason if c is not None else None,
        )
        if month is None or (record.day.year, record.day.month) == month:
            records.append(record)
    return records


def daily_totals(records: Sequence[WorkRecord], now: float) -> dict[date, float]:
    """Seconds worked per day (a session counts on the day it started), oldest day first."""
    totals: dict[date, float] = defaultdict(float)
    for record in records:
        totals[record.day] += record.seconds(now)
    return dict(sorted(totals.items()))


def correct_record(
    db: Connection,
    heads: DepartmentHeads,
    *,
    session_id: str,
    head: str,
    started_at: float,
    ended_at: float,
    reason: str,
    now: float,
) -> None:
    """A head's correction of a closed session: a new entry (the original stays), audited."""
    row = db.execute(
        select(work_sessions, work_ends.c.ended_at)
        .join(work_ends, work_ends.c.session_id == work_sessions.c.id)
        .where(work_sessions.c.id == session_id)
    ).first()
    if row is None:
        raise RemoteWorkError("record_not_found", status=404)
    check_head(heads, get_plan(db, row.plan_id), head)
    if not reason.strip() or len(reason) > 2000 or not started_at < ended_at <= now:
        raise RemoteWorkError("invalid_correction")
    if ended_at - started_at > 24 * 3600:
        raise RemoteWorkError("invalid_correction", "a session lasts at most 24 hours")
    db.execute(
        insert(work_corrections).values(
            session_id=session_id,
            started_at=started_at,
            ended_at=ended_at,
            reason=reason.strip(),
            actor=f"console:{head}",
            at=now,
        )
    )
    record_audit(
        db,
        actor=f"console:{head}",
        action="work_corrected",
        subject=session_id,
        detail={
            "before": [row.started_at, row.ended_at],
            "after": [started_at, ended_at],
            "reason": reason.strip(),
        },
        now=now,
    )


def audit_entries(db: Connection, subject: str) -> list[Mapping[str, Any]]:
    """The audit entries about `subject` (tests, the head's view)."""
    rows = db.execute(select(audit).where(audit.c.subject == subject).order_by(audit.c.id))
    return [{**r._mapping, "detail": json.loads(r.detail)} for r in rows]
