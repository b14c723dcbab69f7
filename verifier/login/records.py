"""Login records as administrators look for them: by system, employee, time and outcome.

One query for `mobileid login records` and the login console's records page. Records are
written by the OpenID4VP flow (`verifier.oid4vp.outcomes`) and purged after `retention_days`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from verifier.oid4vp.models import login_records

__all__ = ["RecordFilter", "find_login_records"]


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Every field optional; `since` inclusive and `until` exclusive, Unix seconds."""

    client_id: str | None = None
    employee_number: str | None = None
    outcome: str | None = None
    since: float | None = None
    until: float | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        c = login_records.c
        out: list[ColumnElement[bool]] = []
        if self.client_id:
            out.append(c.client_id == self.client_id)
        if self.employee_number:
            out.append(c.employee_number == self.employee_number)
        if self.outcome:
            out.append(c.outcome == self.outcome)
        if self.since is not None:
            out.append(c.at >= self.since)
        if self.until is not None:
            out.append(c.at < self.until)
        return out


def find_login_records(
    db: Connection,
    where: RecordFilter,
    *,
    offset: int = 0,
    limit: int | None = None,
    newest_first: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """The matching records (a page of them with `limit`) and how many match in all."""
    conditions = where.conditions()
    total = db.execute(
        select(func.count()).select_from(login_records).where(*conditions)
    ).scalar_one()
    order = login_records.c.at.desc() if newest_first else login_records.c.at
    query = select(login_records).where(*conditions).order_by(order).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [dict(row) for row in db.execute(query).mappings()], int(total)
