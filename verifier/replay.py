"""Replay protection for presentations verified without a verifier nonce (a QR shown at a gate).

A gate cannot hand the phone a nonce before the phone shows its QR, so a presentation is fresh
when its KB-JWT `iat` is inside the window, and single-use because the gate remembers every
presentation it accepted until that window has passed for it. The key is a digest of what the
holder signed (the KB-JWT's header and payload: `nonce`, `iat`, `aud` and `sd_hash`, which covers
the credential and disclosures exactly), never of the signature: an ECDSA signature (r, s) also
verifies as (r, n - s), so anyone who photographed an ES256 QR could respell it. Gates of one
site share protection by sharing a `SqliteReplayStore` file.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import deque
from pathlib import Path
from typing import Protocol

__all__ = ["InMemoryReplayStore", "ReplayStore", "SqliteReplayStore", "replay_key"]


def replay_key(kb_jwt: str) -> bytes:
    """128 bits of SHA-256 over the KB-JWT's signing input (header.payload), not its signature."""
    return hashlib.sha256(kb_jwt[: kb_jwt.rindex(".")].encode("ascii")).digest()[:16]


class ReplayStore(Protocol):
    def first_use(self, key: bytes, *, now: float, keep_until: float) -> bool:
        """Record `key`; True if it was not seen before (and is kept until `keep_until`)."""
        ...


class InMemoryReplayStore:
    """One process's memory: O(1) per check, expired keys dropped in insertion order."""

    __slots__ = ("_expiry", "_lock", "_order")

    def __init__(self) -> None:
        self._expiry: dict[bytes, float] = {}
        self._order: deque[tuple[float, bytes]] = deque()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def first_use(self, key: bytes, *, now: float, keep_until: float) -> bool:
        with self._lock:
            order, expiry = self._order, self._expiry
            while order and order[0][0] <= now:
                until, old = order.popleft()
                if expiry.get(old) == until:
                    del expiry[old]
            seen = expiry.get(key)
            if seen is not None and seen > now:
                return False
            expiry[key] = keep_until
            order.append((keep_until, key))
            return True


class SqliteReplayStore:
    """A SQLite file shared by the gates of a site (one host or a shared volume)."""

    def __init__(self, path: Path | str) -> None:
        self._path = str(path)
        self._local = threading.local()
        conn = self._connection()
        conn.execute(
            "CREATE TABLE IF NOT EXISTS seen_presentations "
            "(key BLOB PRIMARY KEY, keep_until REAL NOT NULL) WITHOUT ROWID"
        )
        self._counter = 0

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=5, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def first_use(self, key: bytes, *, now: float, keep_until: float) -> bool:
        conn = self._connection()
        self._counter += 1
        if self._counter % 1024 == 0:
            conn.execute("DELETE FROM seen_presentations WHERE keep_until <= ?", (now,))
        # An expired row may be reused; a live one makes the insert change nothing.
        cursor = conn.execute(
            "INSERT INTO seen_presentations (key, keep_until) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET keep_until = excluded.keep_until "
            "WHERE seen_presentations.keep_until <= ?",
            (key, keep_until, now),
        )
        return cursor.rowcount == 1

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
