"""Failed secret checks counted per source address, in a table every worker of a database shares.

Both services guard their secrets with it: the issuer its HR API tokens, the login service its
OIDC client secrets, session handles and desk API token. Each counts in a table of its own schema
(`issuer_secret_failures`, `verifier_secret_failures`, the same columns); the parties cannot
import each other, so the one implementation lives here in the assembly and is handed to each as
an object with the two methods they call.

A source's window opens at its first failure of a kind and lasts `window_s`; with `max_failures`
failures in it the source is refused, before its secret is even looked at, until the window
closes. A success changes no count. A failure is one atomic upsert (`INSERT ... ON CONFLICT DO
UPDATE` on SQLite and PostgreSQL alike), so workers on one database never lose one; closed
windows are deleted as failures are recorded, skipping rows another transaction holds.
"""

from __future__ import annotations

import math

from sqlalchemy import Connection, Table, case, delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["MAX_FAILURES", "WINDOW_S", "FailureThrottle"]

MAX_FAILURES = 10
"""Failures of one kind a source may make per window (both services' default)."""
WINDOW_S = 60
"""Seconds a window lasts (both services' default)."""

MAX_SOURCE_CHARS = 64
"""An IPv6 address in text is at most 45; anything longer is cut (and so shares a count)."""
_PURGE_BATCH = 100


class FailureThrottle:
    """Failures of `kind` (a name per guarded secret) from `source` (a client address), counted
    in `table` (the columns of `issuer_secret_failures`)."""

    def __init__(
        self, table: Table, *, max_failures: int = MAX_FAILURES, window_s: int = WINDOW_S
    ) -> None:
        self.table = table
        self.max_failures = max_failures
        self.window_s = window_s

    def retry_after(self, db: Connection, kind: str, source: str, now: float) -> int | None:
        """Whole seconds until `source` may present a `kind` secret again; None while it may."""
        t = self.table.c
        row = db.execute(
            select(t.failures, t.window_ends_at).where(
                t.kind == kind, t.source == source[:MAX_SOURCE_CHARS]
            )
        ).first()
        if row is None or row.failures < self.max_failures or row.window_ends_at <= now:
            return None
        return max(1, math.ceil(float(row.window_ends_at) - now))

    def record_failure(self, db: Connection, kind: str, source: str, now: float) -> None:
        """Count one failed check of a `kind` secret from `source`, in the caller's transaction;
        a closed window starts again at one, closing `window_s` from now."""
        t = self.table.c
        closed = t.window_ends_at <= now
        dialect = postgresql if db.dialect.name == "postgresql" else sqlite
        one_more = dialect.insert(self.table).values(
            kind=kind,
            source=source[:MAX_SOURCE_CHARS],
            failures=1,
            window_ends_at=now + self.window_s,
        )
        db.execute(
            one_more.on_conflict_do_update(
                index_elements=[t.kind, t.source],
                set_={
                    "failures": case((closed, 1), else_=t.failures + 1),
                    "window_ends_at": case(
                        (closed, one_more.excluded.window_ends_at), else_=t.window_ends_at
                    ),
                },
            )
        )
        passed = (
            select(t.kind, t.source)
            .where(closed)
            .limit(_PURGE_BATCH)
            .with_for_update(skip_locked=True)  # two purging workers never wait on each other
        )
        db.execute(delete(self.table).where(tuple_(t.kind, t.source).in_(passed)))
