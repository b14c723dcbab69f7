"""Console roles held by employees: grant, revoke, list, and the grants a signed-in person holds.

HR is the authority for who is who, so grants live here, next to the HR data, and every change is
an entry in the audit chain naming the person who made it. The roles (issue 19):
`hr_admin` and `login_admin` take no scope; `hr_officer` is scoped to an agency code and
`department_head` to a department code, each of which must exist in HR data; `gate_operator` is
scoped to one gate id, or to none (every gate). Every active employee is implicitly an
`employee` (own data only), which is never granted. Someone no longer in active service
(employment status, or a retirement date that has passed) holds no grants, whatever the table
says; their rows stay as history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from console.viewer import Grant
from issuer.audit import append_audit
from issuer.errors import GrantError, HrError, IssuerCode
from issuer.models import Employee, RoleGrant

__all__ = [
    "ADMIN_ROLE",
    "ConsoleRole",
    "EmployeeGrants",
    "GrantRecord",
    "employee_grants",
    "employee_in_service",
    "grant_role",
    "grants_for",
    "in_service",
    "list_grants",
    "revoke_grant",
]

ADMIN_ROLE = "admin"
"""The audit role of grant changes, as of API token changes (`issuer.api_tokens`)."""
_KST = timezone(timedelta(hours=9))
"""A retirement date is a day in Korea: service ends at the end of it, Korean time."""
_GATE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MAX_REASON_CHARS = 200


class ConsoleRole(StrEnum):
    hr_admin = "hr_admin"
    hr_officer = "hr_officer"
    department_head = "department_head"
    gate_operator = "gate_operator"
    login_admin = "login_admin"


_SCOPE_NAMES = {
    ConsoleRole.hr_officer: "an agency code",
    ConsoleRole.department_head: "a department code",
    ConsoleRole.gate_operator: "a gate id (or none: every gate)",
}


@dataclass(frozen=True, slots=True)
class GrantRecord:
    """One grant as listings show it (with the employee's name)."""

    id: int
    employee_number: str
    name: str
    role: str
    scope: str | None
    reason: str
    granted_by: str
    granted_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None
    revoke_reason: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _record(row: RoleGrant, employee: Employee) -> GrantRecord:
    return GrantRecord(
        id=row.id,
        employee_number=employee.employee_number,
        name=employee.name,
        role=row.role,
        scope=row.scope or None,
        reason=row.reason,
        granted_by=row.granted_by,
        granted_at=row.granted_at,
        revoked_by=row.revoked_by,
        revoked_at=row.revoked_at,
        revoke_reason=row.revoke_reason,
    )


def _role(role: str) -> ConsoleRole:
    try:
        return ConsoleRole(role)
    except ValueError:
        raise GrantError(
            IssuerCode.unknown_role, f"roles: {', '.join(r.value for r in ConsoleRole)}"
        ) from None


def _reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) > _MAX_REASON_CHARS:
        raise GrantError(
            IssuerCode.invalid_request, f"a reason is at most {_MAX_REASON_CHARS} characters"
        )
    return reason


def _scope_shape(role: ConsoleRole, scope: str | None) -> str:
    """The scope as stored ("" = none) if `role` takes it; nothing looked up yet."""
    scope = (scope or "").strip()
    if role not in _SCOPE_NAMES:
        if scope:
            raise GrantError(IssuerCode.scope_not_allowed, f"{role} takes no scope")
        return ""
    if not scope and role is not ConsoleRole.gate_operator:
        raise GrantError(IssuerCode.scope_required, f"{role} takes {_SCOPE_NAMES[role]}")
    if role is ConsoleRole.gate_operator and scope and not _GATE_ID.fullmatch(scope):
        raise GrantError(
            IssuerCode.invalid_scope, "a gate id is up to 64 letters, digits, '.', '_' or '-'"
        )
    return scope


def _check_scope_exists(session: Session, role: ConsoleRole, scope: str) -> None:
    """An agency or department scope names one that HR data has."""
    column = {
        ConsoleRole.hr_officer: Employee.agency_code,
        ConsoleRole.department_head: Employee.department_code,
    }.get(role)
    if column is not None and not session.scalar(select(exists().where(column == scope))):
        what = "agency" if role is ConsoleRole.hr_officer else "department"
        raise GrantError(IssuerCode.unknown_scope, f"no {what} {scope!r} in HR data")


def _employee(session: Session, employee_number: str) -> Employee:
    employee = session.scalar(select(Employee).where(Employee.employee_number == employee_number))
    if employee is None:
        raise HrError(IssuerCode.employee_not_found, "no such employee")
    return employee


def in_service(employee: Employee, now: datetime) -> bool:
    """Active in HR data at `now`: employment status active, and a retirement date (if any) not
    passed (service ends at the end of that day, Korean time)."""
    ends = employee.retirement_date
    return employee.employment_status == "active" and (
        ends is None or ends >= now.astimezone(_KST).date()
    )


def employee_in_service(session: Session, employee_number: str, now: datetime) -> Employee:
    """The employee if `in_service`; else `employee_not_found` or `employee_not_active`."""
    employee = _employee(session, employee_number)
    if not in_service(employee, now):
        raise HrError(IssuerCode.employee_not_active, "employee is not in active service")
    return employee


def _audit(
    session: Session, action: str, row: RoleGrant, employee: Employee, now: datetime
) -> None:
    """A grant's change, by the one who made it, with their reason."""
    if row.revoked_at is None:
        actor, reason = row.granted_by, row.reason
    else:
        actor, reason = row.revoked_by or "", row.revoke_reason or ""
    append_audit(
        session,
        actor=actor,
        role=ADMIN_ROLE,
        action=action,
        subject=f"employee:{employee.employee_number}",
        now=now,
        detail={"grant": row.id, "role": row.role, "scope": row.scope or None, "reason": reason},
    )


def grant_role(
    session: Session,
    *,
    employee_number: str,
    role: str,
    scope: str | None,
    actor: str,
    now: datetime,
    reason: str = "",
) -> GrantRecord:
    """Grant `role` (within `scope`) to an employee in active service; audited with `actor`.
    An active grant of the same role and scope is `grant_exists` (a database constraint, so two
    concurrent grants cannot both succeed)."""
    console_role = _role(role)
    stored_scope = _scope_shape(console_role, scope)
    reason = _reason(reason)
    employee = employee_in_service(session, employee_number, now)
    _check_scope_exists(session, console_role, stored_scope)
    row = RoleGrant(
        employee_id=employee.id,
        role=console_role.value,
        scope=stored_scope,
        reason=reason,
        granted_by=actor,
        granted_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise GrantError(
            IssuerCode.grant_exists,
            f"{employee_number} already holds {console_role}" + _within(stored_scope),
        ) from None
    _audit(session, "grant.add", row, employee, now)
    return _record(row, employee)


def _within(scope: str) -> str:
    return f" within {scope}" if scope else ""


def revoke_grant(
    session: Session,
    *,
    employee_number: str,
    role: str,
    scope: str | None,
    actor: str,
    now: datetime,
    reason: str = "",
) -> GrantRecord:
    """Revoke the employee's active grant of `role` within `scope` (whether or not they are
    still in service); audited with `actor`. None active: `grant_not_found`."""
    console_role = _role(role)
    stored_scope = (scope or "").strip()
    reason = _reason(reason)
    employee = _employee(session, employee_number)
    row = session.scalar(
        select(RoleGrant).where(
            RoleGrant.employee_id == employee.id,
            RoleGrant.role == console_role.value,
            RoleGrant.scope == stored_scope,
            RoleGrant.revoked_at.is_(None),
        )
    )
    revoked = None
    if row is not None:  # a conditional UPDATE: of two concurrent revokes, one revokes
        revoked = session.execute(
            update(RoleGrant)
            .where(RoleGrant.id == row.id, RoleGrant.revoked_at.is_(None))
            .values(revoked_by=actor, revoked_at=now, revoke_reason=reason)
            .execution_options(synchronize_session=False)
        )
    if row is None or revoked is None or revoked.rowcount != 1:  # type: ignore[attr-defined]
        raise GrantError(
            IssuerCode.grant_not_found,
            f"{employee_number} holds no active {console_role}" + _within(stored_scope),
        )
    session.refresh(row)
    _audit(session, "grant.revoke", row, employee, now)
    return _record(row, employee)


def list_grants(
    session: Session, employee_number: str | None = None, *, include_revoked: bool = False
) -> list[GrantRecord]:
    """Active grants (with `include_revoked`, every grant ever made), of one employee when given
    (an unknown one is `employee_not_found`), by employee number, role and scope."""
    query = (
        select(RoleGrant, Employee)
        .join(Employee, Employee.id == RoleGrant.employee_id)
        .order_by(Employee.employee_number, RoleGrant.role, RoleGrant.scope, RoleGrant.id)
    )
    if employee_number is not None:
        query = query.where(RoleGrant.employee_id == _employee(session, employee_number).id)
    if not include_revoked:
        query = query.where(RoleGrant.revoked_at.is_(None))
    return [_record(row, employee) for row, employee in session.execute(query).all()]


def grants_for(session: Session, employee_number: str, now: datetime) -> list[Grant]:
    """The console grants `employee_number` holds at `now`: their active grants while they are
    `in_service`, else none (also for an unknown number)."""
    employee = session.scalar(select(Employee).where(Employee.employee_number == employee_number))
    if employee is None or not in_service(employee, now):
        return []
    rows = session.execute(
        select(RoleGrant.role, RoleGrant.scope)
        .where(RoleGrant.employee_id == employee.id, RoleGrant.revoked_at.is_(None))
        .order_by(RoleGrant.role, RoleGrant.scope)
    ).all()
    return [Grant(role, scope or None) for role, scope in rows]


@dataclass(frozen=True, slots=True)
class EmployeeGrants:
    """Who an employee is and what they may do in the consoles (the grant readers' answer)."""

    employee_number: str
    name: str
    grants: list[Grant]


def employee_grants(session: Session, employee_number: str, now: datetime) -> EmployeeGrants:
    """`grants_for`, with the employee's name; `employee_not_found` for a number HR lacks."""
    employee = _employee(session, employee_number)
    return EmployeeGrants(
        employee.employee_number, employee.name, grants_for(session, employee_number, now)
    )
