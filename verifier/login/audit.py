"""The login administrators' audit log: who changed which business system, when, and how.

Append-only: `record_admin_action` inserts, `admin_actions` reads; nothing here (or elsewhere)
updates or deletes a row. Secrets never enter it (a new client's secret is not recorded).
Functions take the connection of the caller's unit of work, so the change and its entry commit
together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select

from verifier.login.models import login_audit

__all__ = ["AdminAction", "admin_actions", "record_admin_action"]


@dataclass(frozen=True, slots=True)
class AdminAction:
    id: int
    at: float
    actor: str
    action: str
    target: str
    details: dict[str, Any]


def record_admin_action(
    db: Connection,
    *,
    actor: str,
    action: str,
    target: str,
    details: Mapping[str, Any],
    now: float,
) -> None:
    """Append one entry (`actor`: `console:<employee_number>` or `cli`)."""
    db.execute(
        insert(login_audit).values(
            at=now,
            actor=actor,
            action=action,
            target=target,
            details=orjson.dumps(dict(details)).decode(),
        )
    )


def admin_actions(
    db: Connection, *, target: str | None = None, offset: int = 0, limit: int = 50
) -> tuple[list[AdminAction], int]:
    """Entries newest first (one client's with `target`), and how many there are in all."""
    where = [login_audit.c.target == target] if target else []
    total = db.execute(select(func.count()).select_from(login_audit).where(*where)).scalar_one()
    rows = db.execute(
        select(login_audit)
        .where(*where)
        .order_by(login_audit.c.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    entries = [
        AdminAction(r.id, r.at, r.actor, r.action, r.target, orjson.loads(r.details)) for r in rows
    ]
    return entries, int(total)
