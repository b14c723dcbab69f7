"""Random, unique status list indexes for new credentials (Token Status List §13.4 privacy).

A credential's `(status_list_id, status_idx)` is unique in the database; allocation picks a random
index in the current list and inserts the credential row with `ON CONFLICT (status_list_id,
status_idx) DO NOTHING`, retrying when no row went in. That is safe with several issuer
processes on one PostgreSQL: a concurrent insert of the same slot waits for the other
transaction, then does nothing, and we retry; any other constraint still raises. (It replaced a
savepoint around an ORM flush per credential, which cost a third of the slot's time.)
Publishing the lists is the lifecycle's job; here every list has 2 bits per entry.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer.config import IssuerConfig
from issuer.models import Credential, StatusListRecord, insert_on_conflict

__all__ = ["FULL_FRACTION", "allocate_status_slot", "current_status_list"]

_MAX_TRIES = 64
FULL_FRACTION = 0.75  # beyond this, random probing gets slow: start a new list
_COLLISIONS_BEFORE_COUNT = 4
_FILL_WINDOW = 4096
"""Slots sampled to judge a list's fill: counting a whole 2^20 list's 786,000 credentials on
every fourth collision cost each issuance near the limit milliseconds; a random window of
4,096 estimates the fill within about 1 % at any list size."""


def current_status_list(session: Session, config: IssuerConfig, now: datetime) -> StatusListRecord:
    """The oldest list that is not full, creating list 1 (or the next one) when needed."""
    for _ in range(_MAX_TRIES):
        found = session.scalar(
            select(StatusListRecord)
            .where(StatusListRecord.full.is_(False))
            .order_by(StatusListRecord.id)
            .limit(1)
        )
        if found is not None:
            return found
        next_id = (session.scalar(select(func.max(StatusListRecord.id))) or 0) + 1
        try:
            with session.begin_nested():
                record = StatusListRecord(
                    id=next_id,
                    uri=config.status_list_uri(next_id),
                    bits=config.status_list_bits,
                    size=config.status_list_size,
                    full=False,
                    created_at=now,
                )
                session.add(record)
            return record
        except IntegrityError:
            continue  # another transaction created it; read it again
    raise RuntimeError("could not create a status list")  # pragma: no cover


def allocate_status_slot(
    session: Session,
    config: IssuerConfig,
    now: datetime,
    row: Mapping[str, Any],
    randbelow: Callable[[int], int] = secrets.randbelow,
) -> tuple[StatusListRecord, int]:
    """Insert the credential `row` (all columns but its slot) at a free random slot of the
    current list, in the session's transaction; return that list and index."""
    collisions = 0
    for _ in range(_MAX_TRIES):
        status_list = current_status_list(session, config, now)
        idx = randbelow(status_list.size)
        into_free_slot = (
            insert_on_conflict(session, Credential)
            .on_conflict_do_nothing(index_elements=["status_list_id", "status_idx"])
            .returning(Credential.id)  # a row only if one went in: drivers' rowcount differs here
        )
        values = {**row, "status_list_id": status_list.id, "status_idx": idx}
        if session.connection().execute(into_free_slot, values).first() is not None:
            return status_list, idx
        collisions += 1
        if collisions >= _COLLISIONS_BEFORE_COUNT:
            if _fill(session, status_list, randbelow) >= FULL_FRACTION:
                status_list.full = True
                session.flush()
            collisions = 0
    raise RuntimeError("no free status list slot found")  # pragma: no cover


def _fill(
    session: Session, status_list: StatusListRecord, randbelow: Callable[[int], int]
) -> float:
    """The used share of a random window of the list (the whole list when it is smaller)."""
    window = min(_FILL_WINDOW, status_list.size)
    start = randbelow(status_list.size - window + 1)
    used = session.scalar(
        select(func.count())
        .select_from(Credential)
        .where(
            Credential.status_list_id == status_list.id,
            Credential.status_idx >= start,
            Credential.status_idx < start + window,
        )
    )
    return (used or 0) / window
