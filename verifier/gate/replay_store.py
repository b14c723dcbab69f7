"""The gate's replay store: the presentations it accepted, in the gate's own SQLite database.

A QR carries no nonce from the gate, so a presentation is single-use because the gate remembers
it (`verifier.replay`) until its KB-JWT `iat` can no longer pass the window. The memory is the
table `verifier_gate_seen_presentations` of the gate's database, beside its entry records: a QR
photographed at the gate and shown again after a restart is still `replayed`, and a gate has one
file to protect and back up. `first_use` is one INSERT, committed before the gate answers (WAL,
`synchronous=NORMAL`: it survives the process, as the entry record does); a live row with the
same key means replayed. The gate's background worker purges rows whose time has passed.

By default a gate's audience is its own (`gate:<site>:<gate id>`), so no presentation is good at
two gates and gates need not share this memory. (Gates given one `audience` in their policies
lose that: a QR shown at one of them would pass once at each.)
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from sqlalchemy import Engine, bindparam, delete
from sqlalchemy.dialects import sqlite

from verifier.models import seen_presentations

__all__ = ["GateReplayStore"]

_SQLITE = sqlite.dialect(paramstyle="named")
_ROW = sqlite.insert(seen_presentations).values(
    key=bindparam("key"), keep_until=bindparam("keep_until")
)
# An expired row (not purged yet) is taken over; a live one makes the statement change nothing.
_INSERT = str(
    _ROW.on_conflict_do_update(
        index_elements=[seen_presentations.c.key],
        set_={"keep_until": _ROW.excluded.keep_until},
        where=seen_presentations.c.keep_until <= bindparam("now"),
    ).compile(dialect=_SQLITE)
)
_PURGE = str(
    delete(seen_presentations)
    .where(seen_presentations.c.keep_until <= bindparam("now"))
    .compile(dialect=_SQLITE)
)
_BUSY_TIMEOUT_S = 30.0


class GateReplayStore:
    """A `verifier.replay.ReplayStore` in a gate's SQLite file; safe to use from any thread.

    It writes through a `sqlite3` connection of its own rather than the gate's SQLAlchemy engine:
    an engine transaction costs about 320 us a scan on the bench machine, a third of a gate
    worker's budget at 1,000 scans/s over HTTP (`bench.gate`); the one statement, about 60 us
    (median in `bench.gate`'s worker).
    """

    def __init__(self, database: Path) -> None:
        self._database = database
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, engine: Engine) -> GateReplayStore:
        """The store in the database file of a gate's engine (SQLite, as `gate run` makes it)."""
        url = engine.url
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            raise ValueError("a gate keeps the presentations it accepted in its SQLite file")
        return cls(Path(url.database))

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # mode=rw: the engine made the file (0600, with its tables); never create one here
            conn = sqlite3.connect(
                f"{self._database.resolve().as_uri()}?mode=rw",
                uri=True,
                timeout=_BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute("PRAGMA synchronous=NORMAL")
            self._conn = conn
        return self._conn

    def first_use(self, key: bytes, *, now: float, keep_until: float) -> bool:
        """Record `key` until `keep_until`; False when a live row holds it (a replay)."""
        with self._lock:
            row = {"key": key, "keep_until": keep_until, "now": now}
            return self._connection().execute(_INSERT, row).rowcount == 1

    def purge(self, *, now: float) -> int:
        """Delete the rows whose time has passed; returns how many."""
        with self._lock:
            return self._connection().execute(_PURGE, {"now": now}).rowcount

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
