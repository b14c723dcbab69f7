"""Entry records: one row of the gate's SQLite database per scan, committed before the answer.

The database runs in WAL mode with `synchronous=NORMAL` (`mobileid.db`): a commit is an append
to the write-ahead log, durable against a crash of the process (not of the machine), as the
replay store's row beside it.

A plain insert replaced a hand-written journal (an O_APPEND file moved into SQLite by a
background task): the insert costs about 3.5 raw Ed25519 verifications a scan (about 160 us
on the 2-core bench machine), and `bench.gate` keeps its targets with it (over 1,000 scans/s
per worker over HTTP, p99 under 20 ms at 500 scans/s), so the journal bought nothing needed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine, insert

from verifier.models import RECORD_COLUMNS, entry_records

__all__ = ["EntryRecorder"]


class EntryRecorder:
    """Writes entry records; safe from any thread (the engine serializes SQLite's writers)."""

    def __init__(self, engine: Engine, *, rng: Callable[[int], bytes] = os.urandom) -> None:
        self._engine = engine
        self._rng = rng

    def new_id(self) -> str:
        return self._rng(16).hex()

    def record(self, entry: Mapping[str, Any]) -> None:
        """Insert one record (with its `id`) in a transaction of its own."""
        with self._engine.begin() as conn:
            conn.execute(insert(entry_records), {c: entry.get(c) for c in RECORD_COLUMNS})
