"""What an employee sees of themself (the console's `/console/me`): HR record, applications with
their decisions and offers, credentials with their state and phone. Own data only: every read
goes through an `employee` principal's scope (`issuer.hr.applications.get_employee`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.api_tokens import Principal, Role
from issuer.errors import AuthError, IssuerCode
from issuer.hr.applications import (
    ApplicationRecord,
    file_application,
    get_employee,
    list_applications,
    phones_on_record,
)
from issuer.models import LIVE_CREDENTIAL_STATES, Application, Credential, Employee

__all__ = [
    "CredentialSummary",
    "EmployeeOverview",
    "apply_for_credential",
    "employee_overview",
    "employee_principal",
    "names_of",
    "shown_state",
]


@dataclass(frozen=True, slots=True)
class CredentialSummary:
    credential: Credential
    state: str
    """As a holder understands it: `valid`, `suspended`, `revoked` or `expired`."""
    phone: str | None
    """The phone the credential was offered to (its application's), if known."""


@dataclass(frozen=True, slots=True)
class EmployeeOverview:
    employee: Employee
    applications: Sequence[ApplicationRecord]
    credentials: Sequence[CredentialSummary]
    phones: Sequence[str]
    """The phones on record, preferred first (the form's suggestion)."""

    @property
    def open_application(self) -> ApplicationRecord | None:
        return next(
            (r for r in self.applications if r.application.state in ("pending", "approved")),
            None,
        )

    @property
    def live_credential(self) -> CredentialSummary | None:
        return next(
            (c for c in self.credentials if c.credential.state in LIVE_CREDENTIAL_STATES), None
        )


def employee_principal(employee_number: str, actor: str) -> Principal:
    """The principal a signed-in employee acts as: role `employee`, their own number, and the
    console's actor name recorded in the audit chain."""
    return Principal(token_id=0, role=Role.employee, employee_number=employee_number, name=actor)


def shown_state(credential: Credential, now: datetime) -> str:
    if credential.state == "active":
        return "valid" if credential.expires_at > now else "expired"
    return credential.state


def employee_overview(
    session: Session, principal: Principal, employee_number: str, *, now: datetime, limit: int = 50
) -> EmployeeOverview:
    """The employee's record, applications (newest first) and credentials (newest first)."""
    employee = get_employee(session, principal, employee_number)
    applications = list_applications(session, principal, limit=limit)
    rows = session.execute(
        select(Credential, Application.phone)
        .outerjoin(Application, Application.id == Credential.application_id)
        .where(Credential.employee_id == employee.id)
        .order_by(Credential.issued_at.desc(), Credential.id)
        .limit(limit)
    ).all()
    credentials = [CredentialSummary(c, shown_state(c, now), phone) for c, phone in rows]
    return EmployeeOverview(
        employee, applications, credentials, phones_on_record(session, employee)
    )


def names_of(session: Session, employee_numbers: Collection[str]) -> Mapping[str, str]:
    """Employee number -> name, for showing who filed or decided an application."""
    if not employee_numbers:
        return {}
    rows = session.execute(
        select(Employee.employee_number, Employee.name).where(
            Employee.employee_number.in_(list(employee_numbers)[:200])
        )
    ).all()
    return {number: name for number, name in rows}


def apply_for_credential(
    session: Session, principal: Principal, *, phone: str, now: datetime
) -> ApplicationRecord:
    """The employee's own application to `phone`: `reissue` while they hold a live credential
    (the new one supersedes it when issued), else `new`."""
    if principal.role is not Role.employee or principal.employee_number is None:
        raise AuthError(IssuerCode.forbidden_role, "employees apply for themselves here")
    employee = get_employee(session, principal, principal.employee_number)
    live = session.scalar(
        select(Credential.id).where(
            Credential.employee_id == employee.id, Credential.state.in_(LIVE_CREDENTIAL_STATES)
        )
    )
    return file_application(
        session,
        principal,
        employee_number=employee.employee_number,
        phone=phone,
        reason="new" if live is None else "reissue",
        now=now,
    )
