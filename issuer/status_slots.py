"""Random, unique status list indexes for new credentials (Token Status List §13.4 privacy).

A credential's `(status_list_id, status_idx)` is unique in the database; allocation picks a random
index in the current list and inserts the credential row inside a savepoint, retrying on a
collision. That is safe with several issuer processes on one PostgreSQL: a concurrent insert of
the same slot waits for the other transaction and then fails the unique constraint, and we retry.
Publishing the lists is the lifecycle's job; here every list has 2 bits per entry.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer.config import IssuerConfig
from issuer.models import Credential, StatusListRecord

__all__ = ["allocate_status_slot", "current_status_list"]

_MAX_TRIES = 64
_FULL_FRACTION = 0.75  # beyond this, random probing gets slow: start a new list
_COLLISIONS_BEFORE_COUNT = 4


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


def _slot_taken(session: Session, list_id: int, idx: int) -> bool:
    return (
        session.scalar(
            select(Credential.id).where(
                Credential.status_list_id == list_id, Credential.status_idx == idx
            )
        )
        is not None
    )


def allocate_status_slot(
    session: Session,
    config: IssuerConfig,
    now: datetime,
    insert: Callable[[StatusListRecord, int], Credential],
    randbelow: Callable[[int], int] = secrets.randbelow,
) -> Credential:
    """Insert the credential built by `insert(list, idx)` at a free random slot; return it."""
    collisions = 0
    for _ in range(_MAX_TRIES):
        status_list = current_status_list(session, config, now)
        idx = randbelow(status_list.size)
        try:
            with session.begin_nested():
                credential = insert(status_list, idx)
                session.flush()
            return credential
        except IntegrityError:
            if not _slot_taken(session, status_list.id, idx):
                raise
            collisions += 1
        if collisions >= _COLLISIONS_BEFORE_COUNT:
            used = (
                session.scalar(
                    select(func.count())
                    .select_from(Credential)
                    .where(Credential.status_list_id == status_list.id)
                )
                or 0
            )
            if used >= status_list.size * _FULL_FRACTION:
                status_list.full = True
                session.flush()
            collisions = 0
    raise RuntimeError("no free status list slot found")  # pragma: no cover
