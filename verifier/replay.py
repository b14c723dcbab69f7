"""Replay protection for presentations verified without a verifier nonce (a QR shown at a gate).

A gate cannot hand the phone a nonce before the phone shows its QR, so a presentation is fresh
when its KB-JWT `iat` is inside the window, and single-use because the gate remembers every
presentation it accepted until that window has passed for it. The key is a digest of what the
holder signed (the KB-JWT's header and payload: `nonce`, `iat`, `aud` and `sd_hash`, which covers
the credential and disclosures exactly), never of the signature: an ECDSA signature (r, s) also
verifies as (r, n - s), so anyone who photographed an ES256 QR could respell it. A gate keeps
its store in its own database (`verifier.gate.replay_store`), so it survives a restart; the
in-memory store serves a pipeline that has no database.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from typing import Protocol

__all__ = ["InMemoryReplayStore", "ReplayStore", "replay_key"]


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
