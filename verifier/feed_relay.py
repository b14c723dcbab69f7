"""The central verifier relays the status-list change feed: it follows each trusted issuer's feed
once and serves the same events to its gates, so a site's gates hold one upstream connection
between them.

The relay keeps the last `window` events in memory and numbers them itself (`<epoch>-<n>`, the
epoch drawn at start), so a gate resumes with `Last-Event-ID` within the window; a position from
before the window or from an earlier run of the relay gets `resync`, as does every gate when an
upstream feed asks for one. The relay passes announcements on unchanged and trusts none of them:
gates fetch and verify each signed token themselves.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import AsyncIterator

import httpx
import orjson

from vc.status_feed import (
    EVENT_RESYNC,
    EVENT_STATUS_LIST,
    MAX_EVENT_ID_CHARS,
    StatusListChanged,
    encode_comment,
    encode_event,
)
from verifier.errors import VerifierError
from verifier.status_feed import FEED_PATH, FeedSubscription

__all__ = ["FeedRelay", "InvalidLastEventId"]


class InvalidLastEventId(VerifierError):
    """`Last-Event-ID` is not a position of this relay's form."""

    def __init__(self) -> None:
        super().__init__("invalid_last_event_id", "Last-Event-ID must be <epoch>-<number>")


class FeedRelay:
    """Follows the upstream feeds while the central service runs; fans them out to gates."""

    def __init__(
        self,
        issuers: list[str],
        *,
        allow_insecure_loopback: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        window: int = 1000,
        heartbeat_s: float = 15.0,
    ) -> None:
        self.upstream = [
            FeedSubscription(
                issuer.rstrip("/") + FEED_PATH,
                on_change=self._changed,
                on_resync=self._resync,
                allow_insecure_loopback=allow_insecure_loopback,
                transport=transport,
            )
            for issuer in issuers
        ]
        self.heartbeat_s = heartbeat_s
        self._epoch = secrets.token_hex(4)
        self._events: deque[tuple[int, bytes]] = deque(maxlen=window)
        self._last = 0
        self._moved: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    async def start(self) -> None:
        self._moved = asyncio.Event()
        self._tasks = [asyncio.create_task(s.run()) for s in self.upstream]

    async def stop(self) -> None:
        self._closed = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._announce()

    def position(self, last_event_id: str | None) -> int | None:
        """A gate's `Last-Event-ID` as a position here; None: absent, or not of this run."""
        if not last_event_id:
            return None
        epoch, _, number = last_event_id.partition("-")
        if len(last_event_id) > MAX_EVENT_ID_CHARS or not (number.isascii() and number.isdigit()):
            raise InvalidLastEventId()
        return int(number) if epoch == self._epoch else None

    def _announce(self) -> None:
        moved, self._moved = self._moved, asyncio.Event()
        if moved is not None:
            moved.set()

    def _publish(self, event: str, data: str) -> None:
        self._last += 1
        self._events.append((self._last, encode_event(event, data, f"{self._epoch}-{self._last}")))
        self._announce()

    async def _changed(self, changed: StatusListChanged) -> None:
        self._publish(EVENT_STATUS_LIST, changed.to_data())

    async def _resync(self) -> None:
        self._publish(EVENT_RESYNC, orjson.dumps({"reason": "upstream"}).decode())

    def _resync_here(self) -> bytes:
        data = orjson.dumps({"reason": "replay_unavailable"}).decode()
        return encode_event(EVENT_RESYNC, data, f"{self._epoch}-{self._last}")

    def _replayable(self, position: int) -> bool:
        oldest = self._events[0][0] if self._events else self._last + 1
        return oldest - 1 <= position <= self._last

    async def stream(self, position: int | None) -> AsyncIterator[bytes]:
        """The relayed feed after `position` (None: from now on, beginning with a `resync`)."""
        while not self._closed and self._moved is not None:
            moved = self._moved
            if position is None or not self._replayable(position):
                position = self._last
                yield self._resync_here()
            for number, event in list(self._events):
                if number > position:
                    yield event
            position = self._last
            try:
                await asyncio.wait_for(moved.wait(), self.heartbeat_s)
            except TimeoutError:
                yield encode_comment("heartbeat")
