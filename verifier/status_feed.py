"""Following a status-list change feed (`vc.status_feed`): one Server-Sent Events connection,
resumed with `Last-Event-ID` after any drop, with capped exponential backoff and jitter.

The subscriber trusts the feed for nothing but a hint: its callbacks decide what to fetch, and
what they install is only ever a signed token that verifies. While the feed is down, the TTL-
driven refreshing of the status cache goes on as it always does (the offline model).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from vc.errors import VCError
from vc.status_feed import (
    EVENT_RESYNC,
    EVENT_STATUS_LIST,
    STATUS_FEED_MEDIA_TYPE,
    SseDecoder,
    StatusListChanged,
    parse_status_list_changed,
)
from verifier.fetch import FetchError, check_fetch_url

__all__ = ["FEED_PATH", "FeedState", "FeedSubscription"]

log = logging.getLogger(__name__)
FEED_PATH = "/status-lists/events"
"""Where an issuer (and the central verifier's relay) serves its feed."""
BACKOFF_FIRST_S = 0.25
BACKOFF_MAX_S = 2.0
"""A gate cut off for a while reconnects within this (jittered) of its network coming back:
bounds the `reconnect_deny_s` figure of `bench.propagation` (target 3 s)."""
READ_TIMEOUT_S = 45.0
"""Three missed heartbeats (the issuer sends one every 15 s) and the connection counts as dead."""


@dataclass(slots=True)
class FeedState:
    """What `/health` shows of one feed."""

    url: str
    state: str = "connecting"
    since: float = field(default_factory=time.time)
    last_event_id: str | None = None
    events: int = 0
    resyncs: int = 0

    def to_json(self, now: float) -> dict[str, Any]:
        return {
            "url": self.url,
            "state": self.state,
            "since": self.since,
            "for_s": round(now - self.since, 1),
            "last_event_id": self.last_event_id,
            "events": self.events,
            "resyncs": self.resyncs,
        }


class FeedSubscription:
    """One feed URL, followed until `run()` is cancelled."""

    def __init__(
        self,
        url: str,
        *,
        on_change: Callable[[StatusListChanged], Awaitable[None]],
        on_resync: Callable[[], Awaitable[None]],
        allow_insecure_loopback: bool = False,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = FeedState(url, since=clock())
        self._url = url
        self._on_change, self._on_resync = on_change, on_resync
        self._insecure = allow_insecure_loopback
        self._headers = {"Accept": STATUS_FEED_MEDIA_TYPE, **(headers or {})}
        self._transport = transport
        self._rng = rng or random.Random()  # noqa: S311 - backoff jitter, not a secret
        self._clock = clock
        self._failures = 0

    def _enter(self, state: str) -> None:
        if self.state.state != state:
            self.state.state, self.state.since = state, self._clock()

    async def run(self) -> None:
        """Connect, follow, reconnect; forever (cancel the task to stop)."""
        async with httpx.AsyncClient(
            transport=self._transport,
            timeout=httpx.Timeout(5.0, read=READ_TIMEOUT_S),
            follow_redirects=False,
        ) as client:
            while True:
                try:
                    check_fetch_url(self._url, allow_insecure_loopback=self._insecure)
                    await self._follow(client)
                except (httpx.HTTPError, FetchError, VCError) as exc:
                    log.info("status feed %s: %s", self._url, type(exc).__name__)
                self._enter("down")
                self._failures += 1  # since the last connection: an ended stream counts too
                delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (self._failures - 1))
                await asyncio.sleep(delay * self._rng.uniform(0.5, 1.0))

    async def _follow(self, client: httpx.AsyncClient) -> None:
        headers = dict(self._headers)
        if self.state.last_event_id is not None:
            headers["Last-Event-ID"] = self.state.last_event_id
        async with client.stream("GET", self._url, headers=headers) as response:
            if response.status_code == 400 and self.state.last_event_id is not None:
                self.state.last_event_id = None  # a position it cannot read: start afresh
                raise FetchError("feed refused the position; resyncing from now")
            media = response.headers.get("content-type", "").split(";")[0].strip()
            if response.status_code != 200 or media != STATUS_FEED_MEDIA_TYPE:
                raise FetchError(f"feed answered {response.status_code} {media[:60]}")
            self._enter("connected")
            self._failures = 0
            decoder = SseDecoder()
            async for text in response.aiter_text():
                for event in decoder.feed(text):
                    await self._dispatch(event.event, event.data)
                    if event.id is not None:
                        self.state.last_event_id = event.id

    async def _dispatch(self, name: str, data: str) -> None:
        if name == EVENT_RESYNC:
            self.state.resyncs += 1
            await self._on_resync()
        elif name == EVENT_STATUS_LIST:
            try:
                changed = parse_status_list_changed(data)
            except VCError as exc:
                log.warning("status feed %s: event ignored: %s", self._url, exc)
                return
            self.state.events += 1
            await self._on_change(changed)
