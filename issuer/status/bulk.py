"""Status slots for many credentials at once (a population issued in bulk, for load and scale
work), under the same rules as one credential's (`issuer.status.slots`).

Each index is random within the current list (Token Status List §13.4), chosen against the list's
used indexes read once per call, and a list is closed when `FULL_FRACTION` of it is used, so a
national population of 1.2 million spreads over two 2^20-entry lists. The rows go in with `ON
CONFLICT (status_list_id, status_idx) DO NOTHING` as one executemany (RETURNING would cost
PostgreSQL's driver three times as long on its 50,000 placeholders); when fewer rows went in
than were sent (a slot another process took meanwhile), those left out are tried again at
other indexes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.config import IssuerConfig
from issuer.models import Credential, insert_on_conflict
from issuer.status.slots import FULL_FRACTION, current_status_list

__all__ = ["insert_with_status_slots"]


def insert_with_status_slots(
    session: Session,
    config: IssuerConfig,
    now: datetime,
    rows: Sequence[Mapping[str, Any]],
    randbelow: Callable[[int], int] = secrets.randbelow,
) -> None:
    """Insert the credential `rows` (every column but the slot; each with its `id`) at free
    random slots of the open lists, in the session's transaction."""
    connection = session.connection()
    statement = insert_on_conflict(session, Credential).on_conflict_do_nothing(
        index_elements=["status_list_id", "status_idx"]
    )
    pending = list(rows)
    while pending:
        status_list = current_status_list(session, config, now)
        used = bytearray(status_list.size)
        taken = session.scalars(
            select(Credential.status_idx).where(Credential.status_list_id == status_list.id)
        ).all()
        for idx in taken:
            used[idx] = 1
        room = int(status_list.size * FULL_FRACTION) - len(taken)
        if room <= 0:
            status_list.full = True
            session.flush()
            continue
        batch, pending = pending[:room], pending[room:]
        values = []
        for row in batch:
            idx = randbelow(status_list.size)
            while used[idx]:
                idx = randbelow(status_list.size)
            used[idx] = 1
            values.append({**row, "status_list_id": status_list.id, "status_idx": idx})
        done = connection.execute(statement, values, execution_options={"preserve_rowcount": True})
        if done.rowcount != len(values):  # another process took some of these slots meanwhile
            pending.extend(_left_out(session, batch))


def _left_out(session: Session, rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows that are not in the table."""
    ids = [row["id"] for row in rows]
    present: set[str] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        present.update(session.scalars(select(Credential.id).where(Credential.id.in_(chunk))))
    return [row for row in rows if row["id"] not in present]
