"""Remote-work plans (원격근무 계획) and their approval by the department head.

Who is whose head: the employee's department is the `department` claim of their ID token when they
filed the plan; the heads of a department are the employee numbers the deployment lists for it
(`MOBILEID_REMOTE_WORK_DEPARTMENT_HEADS`). A head may not decide their own plan.

Functions take the SQLAlchemy connection and `now`; the caller commits (one unit of work).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, insert, select
from sqlalchemy.exc import IntegrityError

from remote_work.errors import RemoteWorkError
from remote_work.models import audit, plan_decisions, plans

__all__ = [
    "HOME",
    "KST",
    "MAX_OVERTIME_HOURS",
    "MAX_PLAN_DAYS",
    "DepartmentHeads",
    "Plan",
    "PlanRequest",
    "approved_plan_on",
    "check_head",
    "decide_plan",
    "file_plan",
    "get_plan",
    "headed_by",
    "heads_of",
    "inbox",
    "plans_of",
    "record_audit",
    "today",
]

KST = ZoneInfo("Asia/Seoul")
"""Plan days are days in Korea, whatever the server's zone."""
HOME = "home"
"""The place "home"; a smart-work centre is `centre:<id>`."""
MAX_PLAN_DAYS = 31
MAX_OVERTIME_HOURS = 12
MAX_TASKS_CHARS = 2000
DECISIONS = ("approved", "rejected")

DepartmentHeads = Mapping[str, frozenset[str]]
"""department (as in the ID token) -> the employee numbers of its heads."""


def today(now: float) -> date:
    return datetime.fromtimestamp(now, KST).date()


def record_audit(
    db: Connection, *, actor: str, action: str, subject: str, detail: Mapping[str, Any], now: float
) -> None:
    db.execute(
        insert(audit).values(
            at=now,
            actor=actor,
            action=action,
            subject=subject,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
        )
    )


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """What an employee files: days (inclusive), place, tasks, overtime hours asked."""

    start_date: date
    end_date: date
    place: str
    tasks: str
    overtime_hours: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    id: str
    employee_number: str
    employee_name: str
    department: str
    start_date: date
    end_date: date
    place: str
    tasks: str
    overtime_hours: int
    filed_at: float
    decision: str | None
    comment: str | None
    decided_by: str | None

    @property
    def status(self) -> str:
        return self.decision or "pending"

    def covers(self, day: date) -> bool:
        return self.start_date <= day <= self.end_date


def _check_place(place: str, centres: frozenset[str]) -> None:
    if place == HOME:
        return
    centre = place.removeprefix("centre:")
    if place == centre or centre not in centres:
        raise RemoteWorkError("invalid_plan", f"unknown place {place[:80]!r}")


def _check(request: PlanRequest, centres: frozenset[str], now: float) -> None:
    if request.end_date < request.start_date:
        raise RemoteWorkError("invalid_plan", "the plan ends before it starts")
    if (request.end_date - request.start_date).days >= MAX_PLAN_DAYS:
        raise RemoteWorkError("invalid_plan", f"a plan covers at most {MAX_PLAN_DAYS} days")
    if request.start_date < today(now):
        raise RemoteWorkError("plan_in_past")
    if not 0 <= request.overtime_hours <= MAX_OVERTIME_HOURS:
        raise RemoteWorkError("invalid_plan", f"overtime is 0 to {MAX_OVERTIME_HOURS} hours")
    if not request.tasks.strip() or len(request.tasks) > MAX_TASKS_CHARS:
        raise RemoteWorkError("invalid_plan", f"tasks: 1 to {MAX_TASKS_CHARS} characters")
    _check_place(request.place, centres)


def _query() -> Any:
    return select(
        plans, plan_decisions.c.decision, plan_decisions.c.comment, plan_decisions.c.decided_by
    ).outerjoin(plan_decisions, plan_decisions.c.plan_id == plans.c.id)


def _plan(row: Any) -> Plan:
    return Plan(
        row.id,
        row.employee_number,
        row.employee_name,
        row.department,
        row.start_date,
        row.end_date,
        row.place,
        row.tasks,
        row.overtime_hours,
        row.filed_at,
        row.decision,
        row.comment,
        row.decided_by,
    )


def file_plan(
    db: Connection,
    *,
    employee_number: str,
    employee_name: str,
    department: str,
    request: PlanRequest,
    centres: frozenset[str],
    now: float,
) -> Plan:
    """File a plan; `plan_in_past`, `plan_overlaps` (another plan not rejected shares a day) or
    `invalid_plan` refuse it and nothing is written."""
    _check(request, centres, now)
    overlapping = db.execute(
        _query().where(
            plans.c.employee_number == employee_number,
            plans.c.start_date <= request.end_date,
            plans.c.end_date >= request.start_date,
        )
    ).all()
    if any(row.decision != "rejected" for row in overlapping):
        raise RemoteWorkError("plan_overlaps")
    plan_id = secrets.token_hex(8)
    db.execute(
        insert(plans).values(
            id=plan_id,
            employee_number=employee_number,
            employee_name=employee_name,
            department=department,
            start_date=request.start_date,
            end_date=request.end_date,
            place=request.place,
            tasks=request.tasks.strip(),
            overtime_hours=request.overtime_hours,
            filed_at=now,
        )
    )
    record_audit(
        db,
        actor=f"console:{employee_number}",
        action="plan_filed",
        subject=plan_id,
        detail={
            "start": request.start_date,
            "end": request.end_date,
            "place": request.place,
            "overtime_hours": request.overtime_hours,
        },
        now=now,
    )
    return get_plan(db, plan_id)


def get_plan(db: Connection, plan_id: str) -> Plan:
    row = db.execute(_query().where(plans.c.id == plan_id)).first()
    if row is None:
        raise RemoteWorkError("plan_not_found", status=404)
    return _plan(row)


def plans_of(db: Connection, employee_number: str) -> list[Plan]:
    rows = db.execute(
        _query()
        .where(plans.c.employee_number == employee_number)
        .order_by(plans.c.start_date.desc())
    )
    return [_plan(r) for r in rows]


def heads_of(heads: DepartmentHeads, department: str) -> frozenset[str]:
    return heads.get(department, frozenset())


def headed_by(heads: DepartmentHeads, employee_number: str) -> list[str]:
    """The departments `employee_number` heads."""
    return sorted(d for d, numbers in heads.items() if employee_number in numbers)


def inbox(db: Connection, heads: DepartmentHeads, head: str) -> list[Plan]:
    """The plans of the departments `head` heads, undecided first, newest first."""
    departments = headed_by(heads, head)
    if not departments:
        return []
    rows = db.execute(
        _query().where(plans.c.department.in_(departments)).order_by(plans.c.filed_at.desc())
    )
    found = [_plan(r) for r in rows if r.employee_number != head]
    return sorted(found, key=lambda p: p.decision is not None)


def check_head(heads: DepartmentHeads, plan: Plan, head: str) -> None:
    if head == plan.employee_number or head not in heads_of(heads, plan.department):
        raise RemoteWorkError("not_department_head", status=403)


def decide_plan(
    db: Connection,
    heads: DepartmentHeads,
    *,
    plan_id: str,
    head: str,
    decision: str,
    comment: str,
    now: float,
) -> Plan:
    """Approve or reject a plan (`decision` "approved" | "rejected"); once only."""
    if decision not in DECISIONS or len(comment) > MAX_TASKS_CHARS:
        raise RemoteWorkError("invalid_plan", "decision: approved or rejected")
    plan = get_plan(db, plan_id)
    check_head(heads, plan, head)
    if plan.decision is not None:
        raise RemoteWorkError("already_decided", status=409)
    try:
        with db.begin_nested():  # two heads at once: the primary key lets one decide
            db.execute(
                insert(plan_decisions).values(
                    plan_id=plan_id,
                    decision=decision,
                    comment=comment.strip(),
                    decided_by=head,
                    at=now,
                )
            )
    except IntegrityError:
        raise RemoteWorkError("already_decided", status=409) from None
    record_audit(
        db,
        actor=f"console:{head}",
        action=f"plan_{decision}",
        subject=plan_id,
        detail={"employee": plan.employee_number, "comment": comment.strip()},
        now=now,
    )
    return get_plan(db, plan_id)


def approved_plan_on(db: Connection, employee_number: str, day: date) -> Plan | None:
    row = db.execute(
        _query().where(
            and_(
                plans.c.employee_number == employee_number,
                plans.c.start_date <= day,
                plans.c.end_date >= day,
                plan_decisions.c.decision == "approved",
            )
        )
    ).first()
    return _plan(row) if row is not None else None


def pending(plans_: Sequence[Plan]) -> list[Plan]:
    return [p for p in plans_ if p.decision is None]
