"""The gate's SQLite file as a scan writes it: one `sqlite3` connection in autocommit mode.

Before the gate answers, a scan writes two rows: the presentation it accepted
(`verifier.gate.replay_store`) and its entry record (`verifier.gate.recorder`). Each is one
statement, committed on its own (WAL, `synchronous=NORMAL`: durable against a crash of the
process, not of the machine). They go through a connection of the gate's own rather than its
SQLAlchemy engine: an engine transaction costs about 320 us on the bench machine, and two of
them a scan would take most of a gate worker's budget at 1,000 scans/s over HTTP
(`bench.gate`); a statement here costs a few microseconds.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

__all__ = ["GateWriter"]

_BUSY_TIMEOUT_S = 30.0


class GateWriter:
    """Runs single statements on the gate's SQLite file; safe to use from any thread."""

    def __init__(self, database: Path) -> None:
        self._database = database
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, engine: Engine) -> GateWriter:
        """The writer for the database file of a gate's engine (SQLite, as `gate run` makes it)."""
        url = engine.url
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            raise ValueError("a gate keeps its records and what it accepted in its SQLite file")
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

    def execute(self, sql: str, params: Mapping[str, Any]) -> int:
        """One statement, committed; returns the rows it changed."""
        with self._lock:
            return self._connection().execute(sql, params).rowcount

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
