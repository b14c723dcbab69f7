"""Failed secret checks counted per source address, in a table every worker of a database shares.

Both services guard their secrets with it: the issuer its HR API tokens, the login service its
OIDC client secrets, session handles and desk API token. Each counts in a table of its own schema
(`issuer_secret_failures`, `verifier_secret_failures`, the same columns); the parties cannot
import each other, so the one implementation lives here in the assembly and is handed to each as
an object with the two methods they call.

A source's window opens at its first failure of a kind and lasts `window_s`; with `max_failures`
failures in it the source is refused until the window closes. Only failures cost anything: a
failure is one atomic upsert (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` on SQLite and
PostgreSQL alike), so workers on one database never lose one, and the count it returns tells the
worker when the source is over the limit. From then on that worker refuses the source before its
secret is even looked at, from memory, without a query; a success reads and changes nothing.
A worker that has not seen the source fail since it went over looks at one more of its secrets:
a wrong one is answered as refused and teaches it. So within a window a source has its secrets
looked at no more than `max_failures` times plus once per worker. (Reading the count on every
check was a SELECT per login request and HR API call, about 6 % of a login's CPU in `bench.login`;
the login service's target is 200 logins/s per worker.) Closed windows are deleted as failures are
recorded, skipping rows another transaction holds.
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
MAX_REMEMBERED = 10_000
"""Refused sources a worker keeps in memory; past it, it forgets them (each then has one more
secret looked at by that worker, whose wrong answer teaches it again)."""
_PURGE_BATCH = 100


class FailureThrottle:
    """Failures of `kind` (a name per guarded secret) from `source` (a client address), counted
    in `table` (the columns of `issuer_secret_failures`); the sources over the limit that this
    worker has seen are kept in memory until their window closes."""

    def __init__(
        self, table: Table, *, max_failures: int = MAX_FAILURES, window_s: int = WINDOW_S
    ) -> None:
        self.table = table
        self.max_failures = max_failures
        self.window_s = window_s
        self._refused: dict[tuple[str, str], float] = {}
        """(kind, source) -> when its window closes, for the sources seen over the limit."""

    def retry_after(self, kind: str, source: str, now: float) -> int | None:
        """Whole seconds until `source` may present a `kind` secret again, as far as this worker
        has seen; None while it may."""
        ends = self._refused.get((kind, source[:MAX_SOURCE_CHARS]))
        if ends is None:
            return None
        if ends <= now:
            self._refused.pop((kind, source[:MAX_SOURCE_CHARS]), None)
            return None
        return max(1, math.ceil(ends - now))

    def record_failure(self, db: Connection, kind: str, source: str, now: float) -> int | None:
        """Count one failed check of a `kind` secret from `source`, in the caller's transaction;
        a closed window starts again at one, closing `window_s` from now.

        Returns the seconds to wait when the source was over the limit before this failure (the
        caller answers it as refused), else None.
        """
        t = self.table.c
        source = source[:MAX_SOURCE_CHARS]
        closed = t.window_ends_at <= now
        dialect = postgresql if db.dialect.name == "postgresql" else sqlite
        one_more = dialect.insert(self.table).values(
            kind=kind, source=source, failures=1, window_ends_at=now + self.window_s
        )
        counted = db.execute(
            one_more.on_conflict_do_update(
                index_elements=[t.kind, t.source],
                set_={
                    "failures": case((closed, 1), else_=t.failures + 1),
                    "window_ends_at": case(
                        (closed, one_more.excluded.window_ends_at), else_=t.window_ends_at
                    ),
                },
            ).returning(t.failures, t.window_ends_at)
        ).one()
        passed = (
            select(t.kind, t.source)
            .where(closed)
            .limit(_PURGE_BATCH)
            .with_for_update(skip_locked=True)  # two purging workers never wait on each other
        )
        db.execute(delete(self.table).where(tuple_(t.kind, t.source).in_(passed)))
        if counted.failures < self.max_failures:
            return None
        if len(self._refused) >= MAX_REMEMBERED:
            self._refused.clear()
        self._refused[(kind, source)] = float(counted.window_ends_at)
        return self.retry_after(kind, source, now) if counted.failures > self.max_failures else None
