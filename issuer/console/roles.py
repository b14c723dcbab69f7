"""Who a signed-in person is to the issuer's console: their name and roles, read from HR data
and the grants on every request (a revoked grant stops working at the next page)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from console.viewer import EMPLOYEE, Grant, RoleSource
from issuer.grants import grants_for, in_service
from issuer.models import Employee

__all__ = ["console_grants", "employee_name", "issuer_role_source"]


def console_grants(session: Session, employee_number: str, now: datetime) -> list[Grant]:
    """`employee` for someone in active service (every employee holds it implicitly), then the
    grants they hold (`issuer.grants.grants_for`); nothing for anyone else."""
    employee = session.scalar(select(Employee).where(Employee.employee_number == employee_number))
    if employee is None or not in_service(employee, now):
        return []
    return [Grant(EMPLOYEE), *grants_for(session, employee_number, now)]


def employee_name(session: Session, employee_number: str) -> str | None:
    """The name on the HR record, shown in the console's header."""
    return session.scalar(select(Employee.name).where(Employee.employee_number == employee_number))


def issuer_role_source(
    unit_of_work: Callable[[], AbstractContextManager[Session]], clock: Callable[[], datetime]
) -> RoleSource:
    """The console's `RoleSource`: `console_grants` in a transaction of its own (off the event
    loop, as every database call of the issuer)."""

    def read(employee_number: str) -> Sequence[Grant]:
        with unit_of_work() as session:
            return console_grants(session, employee_number, clock())

    async def roles(employee_number: str) -> Sequence[Grant]:
        return await run_in_threadpool(read, employee_number)

    return roles
