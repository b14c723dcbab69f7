"""A department head's inbox (the console's `/console/inbox`): the applications of the
departments one person heads, and their decisions, through `issuer.hr.applications`.

A person may head several departments (one `department_head` grant each); each decision is
taken as the head of the application's own department, so `decide_application`'s rules (a
second person approves, an application is decided once) hold unchanged. An application of a
department the person does not head is refused with `forbidden_scope`, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.api_tokens import Principal, Role
from issuer.config import IssuerConfig
from issuer.errors import AuthError, HrError, IssuerCode
from issuer.hr.applications import ApplicationRecord, decide_application, list_applications
from issuer.models import Application, Employee

__all__ = ["APPLICATION_STATES", "decide_in_inbox", "head_principal", "inbox"]

APPLICATION_STATES = ("pending", "approved", "rejected", "issued", "lapsed")
_MAX_ID_CHARS = 32


def head_principal(actor: str, department_code: str) -> Principal:
    """The principal a department head acts as for one department they head."""
    return Principal(
        token_id=0, role=Role.department_head, department_code=department_code, name=actor
    )


def inbox(
    session: Session,
    actor: str,
    departments: Collection[str],
    *,
    states: Collection[str],
    limit: int = 100,
) -> Sequence[ApplicationRecord]:
    """Applications of `departments` in one of `states`, newest first."""
    unknown = set(states) - set(APPLICATION_STATES)
    if unknown:
        raise HrError(IssuerCode.invalid_request, f"state must be one of {APPLICATION_STATES}")
    records = [
        record
        for code in sorted(departments)
        for state in sorted(states)
        for record in list_applications(
            session, head_principal(actor, code), state=state, limit=limit
        )
    ]
    records.sort(key=lambda r: (r.application.created_at, r.application.id), reverse=True)
    return records[:limit]


def decide_in_inbox(
    session: Session,
    actor: str,
    departments: Collection[str],
    application_id: str,
    *,
    approve: bool,
    comment: str,
    config: IssuerConfig,
    now: datetime,
) -> ApplicationRecord:
    """Approve or reject as the head of the application's department; `forbidden_scope` when
    the person heads another one, `application_not_found` when there is no such application."""
    department = (
        session.scalar(
            select(Employee.department_code)
            .join(Application, Application.employee_id == Employee.id)
            .where(Application.id == application_id)
        )
        if 0 < len(application_id) <= _MAX_ID_CHARS
        else None
    )
    if department is None:
        raise HrError(IssuerCode.application_not_found, "no such application")
    if department not in departments:
        raise AuthError(IssuerCode.forbidden_scope, "not the head of the application's department")
    return decide_application(
        session,
        head_principal(actor, department),
        application_id,
        approve=approve,
        comment=comment,
        config=config,
        now=now,
    )
