"""Finding employees for HR people, within their reach (issue 19, the HR officer's console).

An `HrReach` says whose records a person may see and act on: every employee for an HR
administrator, the employees of some agencies and those dispatched to them for an HR officer
(one `hr_officer` grant per agency). It hands the lifecycle services the `Principal` they check
again for one employee, so the services' own scope rules stay the last word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session

from issuer.api_tokens import Principal, Role
from issuer.errors import AuthError, HrError, IssuerCode
from issuer.models import Application, Employee

__all__ = [
    "EmployeePage",
    "HrReach",
    "employee_applications",
    "employee_in_reach",
    "find_employees",
]

MAX_QUERY_CHARS = 100
MAX_PER_PAGE = 100


@dataclass(frozen=True, slots=True)
class HrReach:
    """Whose HR records `actor` may see: `agencies` None = everyone (HR administrator)."""

    actor: str
    agencies: frozenset[str] | None

    @property
    def everyone(self) -> bool:
        return self.agencies is None

    @property
    def role(self) -> str:
        """The role audit entries record."""
        return Role.hr_admin.value if self.agencies is None else Role.hr_officer.value

    def covers(self, employee: Employee) -> bool:
        return self.agencies is None or bool(
            {employee.agency_code, employee.dispatched_to_agency_code} & self.agencies
        )

    def condition(self) -> ColumnElement[bool]:
        if self.agencies is None:
            return true()
        return or_(
            Employee.agency_code.in_(self.agencies),
            Employee.dispatched_to_agency_code.in_(self.agencies),
        )

    def principal_for(self, employee: Employee) -> Principal:
        """The principal the lifecycle services check, for acting on `employee`."""
        if self.agencies is None:
            return Principal(token_id=0, role=Role.hr_admin, name=self.actor)
        for agency in (employee.agency_code, employee.dispatched_to_agency_code):
            if agency in self.agencies:
                return Principal(0, Role.hr_officer, agency_code=agency, name=self.actor)
        raise AuthError(IssuerCode.forbidden_scope, "employee outside the officer's agencies")

    def principal_for_agency(self, agency_code: str | None) -> Principal:
        """The principal for a mass action: an officer's within `agency_code` (one of theirs;
        with one agency, that one by default)."""
        if self.agencies is None:
            return Principal(token_id=0, role=Role.hr_admin, name=self.actor)
        if agency_code is None and len(self.agencies) == 1:
            (agency_code,) = self.agencies
        if agency_code not in self.agencies:
            raise AuthError(IssuerCode.forbidden_scope, "outside the officer's agencies")
        return Principal(0, Role.hr_officer, agency_code=agency_code, name=self.actor)


@dataclass(frozen=True, slots=True)
class EmployeePage:
    employees: Sequence[Employee]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def find_employees(
    session: Session, reach: HrReach, query: str, *, page: int = 1, per_page: int = 20
) -> EmployeePage:
    """Employees within `reach` whose number starts with `query`, or whose name, department or
    department code contains it; by employee number. An empty query lists everyone in reach."""
    page, per_page = max(1, page), min(max(1, per_page), MAX_PER_PAGE)
    text = query.strip()[:MAX_QUERY_CHARS]
    where: list[ColumnElement[bool]] = [reach.condition()]
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            or_(
                Employee.employee_number.startswith(text, autoescape=True),
                Employee.name.like(like, escape="\\"),
                Employee.department.like(like, escape="\\"),
                Employee.department_code.like(like, escape="\\"),
            )
        )
    total = session.scalar(select(func.count()).select_from(Employee).where(*where)) or 0
    rows = session.scalars(
        select(Employee)
        .where(*where)
        .order_by(Employee.employee_number)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return EmployeePage(rows, total, page, per_page)


def employee_in_reach(session: Session, reach: HrReach, employee_number: str) -> Employee:
    """The employee, `employee_not_found` if there is none, `forbidden_scope` if outside
    `reach` (an HR officer may learn that an employee number exists elsewhere, never more)."""
    employee = (
        session.scalar(select(Employee).where(Employee.employee_number == employee_number))
        if 0 < len(employee_number) <= 20
        else None
    )
    if employee is None:
        raise HrError(IssuerCode.employee_not_found, "no such employee")
    if not reach.covers(employee):
        raise AuthError(IssuerCode.forbidden_scope, "employee outside the officer's agencies")
    return employee


def employee_applications(session: Session, employee: Employee) -> Sequence[Application]:
    """The employee's applications, newest first."""
    return session.scalars(
        select(Application)
        .where(Application.employee_id == employee.id)
        .order_by(Application.created_at.desc(), Application.id)
    ).all()
