"""Console roles held by employees (issue 19). Placeholder of helper G's module of the same name,
which holds the grants table, `mobileid admin grant|revoke-grant` and the audit of each change;
on merge, G's file replaces this one. Until then nobody holds a grant (every employee in active
service is still an `employee`, which is never granted: `issuer.console.roles`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from console.viewer import Grant

__all__ = ["grants_for"]


def grants_for(session: Session, employee_number: str, now: datetime) -> list[Grant]:
    """The console grants `employee_number` holds at `now` (none before the grants table)."""
    del session, employee_number, now
    return []
