"""The gate's replay store: the presentations it accepted, in the gate's own SQLite database.

A QR carries no nonce from the gate, so a presentation is single-use because the gate remembers
it (`verifier.replay`) until its KB-JWT `iat` can no longer pass the window. The memory is the
table `verifier_gate_seen_presentations` of the gate's database, beside its entry records: a QR
photographed at the gate and shown again after a restart is still `replayed`, and a gate has one
file to protect and back up. `first_use` is one INSERT, committed before the gate answers
(`verifier.gate.sqlite_writer`); a live row with the same key means replayed. The gate's
background worker purges rows whose time has passed.

By default a gate's audience is its own (`gate:<site>:<gate id>`), so no presentation is good at
two gates and gates need not share this memory. (Gates given one `audience` in their policies
lose that: a QR shown at one of them would pass once at each.)
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete
from sqlalchemy.dialects import sqlite

from verifier.gate.sqlite_writer import GateWriter
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


class GateReplayStore:
    """A `verifier.replay.ReplayStore` in a gate's SQLite file; safe to use from any thread."""

    def __init__(self, writer: GateWriter) -> None:
        self._writer = writer

    def first_use(self, key: bytes, *, now: float, keep_until: float) -> bool:
        """Record `key` until `keep_until`; False when a live row holds it (a replay)."""
        row = {"key": key, "keep_until": keep_until, "now": now}
        return self._writer.execute(_INSERT, row) == 1

    def purge(self, *, now: float) -> int:
        """Delete the rows whose time has passed; returns how many."""
        return self._writer.execute(_PURGE, {"now": now})
