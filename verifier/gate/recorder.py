"""Entry records without a database write on the decision path, and without losing one.

A scan's record is appended to a journal segment (one JSON line, one `write(2)` on an O_APPEND
file) before the gate answers: a crashed process loses nothing the kernel has. A background task
rotates the segment and moves closed segments into SQLite in one transaction each, ignoring ids
already there, then deletes them; start-up does the same with whatever a crash left behind.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from vc.private_files import ensure_private_dir
from verifier.models import RECORD_COLUMNS, entry_records

__all__ = ["EntryRecorder"]

log = logging.getLogger("mobileid.verifier.gate.recorder")
_SEGMENT_PREFIX = "journal-"


class EntryRecorder:
    """Journal + SQLite; `record` is safe from any thread, `flush` from one at a time."""

    def __init__(
        self, engine: Engine, journal_dir: Path, *, rng: Callable[[int], bytes] = os.urandom
    ) -> None:
        self._engine = engine
        self._dir = journal_dir
        self._rng = rng
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._fd: int | None = None
        self._seq = 0
        self._written = 0

    def open(self) -> int:
        """Create the journal directory, ingest what a previous run left, open a new segment."""
        ensure_private_dir(self._dir)
        existing = sorted(self._segments())
        self._seq = max((self._seq_of(p) for p in existing), default=0) + 1
        recovered = self._ingest(existing)
        self._open_segment()
        return recovered

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def new_id(self) -> str:
        return self._rng(16).hex()

    def record(self, entry: Mapping[str, Any]) -> None:
        """Append one record (with its `id`) to the journal; durable against a process crash."""
        line = orjson.dumps(entry) + b"\n"
        with self._lock:
            if self._fd is None:
                raise RuntimeError("recorder is not open")
            os.write(self._fd, line)
            self._written += 1

    def flush(self) -> int:
        """Rotate the journal and move every closed segment into SQLite; returns rows added."""
        with self._flush_lock:
            with self._lock:
                if self._fd is not None and self._written:
                    os.close(self._fd)
                    self._seq += 1
                    self._open_segment()
                current = self._segment_path(self._seq)
            closed = sorted(p for p in self._segments() if p != current)
            return self._ingest(closed)

    # --- internals ----------------------------------------------------------------------------

    def _segment_path(self, seq: int) -> Path:
        return self._dir / f"{_SEGMENT_PREFIX}{seq:012d}.jsonl"

    @staticmethod
    def _seq_of(path: Path) -> int:
        return int(path.stem.removeprefix(_SEGMENT_PREFIX))

    def _segments(self) -> list[Path]:
        return [p for p in self._dir.glob(f"{_SEGMENT_PREFIX}*.jsonl") if p.stem[8:].isdigit()]

    def _open_segment(self) -> None:
        path = self._segment_path(self._seq)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._written = 0

    def _ingest(self, paths: list[Path]) -> int:
        added = 0
        for path in paths:
            rows = []
            for line in path.read_bytes().splitlines():
                try:
                    entry = orjson.loads(line)
                except orjson.JSONDecodeError:
                    log.warning("skipping a torn journal line in %s", path.name)
                    continue
                if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                    rows.append({c: entry.get(c) for c in RECORD_COLUMNS})
            if rows:
                statement = sqlite_insert(entry_records).on_conflict_do_nothing(
                    index_elements=["id"]
                )
                with self._engine.begin() as conn:
                    count = conn.execute(statement, rows).rowcount
                    added += count if count >= 0 else len(rows)
            path.unlink()
        return added
