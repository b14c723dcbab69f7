"""Acting on status-list change feeds (`verifier.status_feed`): a revocation reaches an online
verifier (a gate, a login service) in about a second instead of when its cached list's `ttl`
runs out, and a list first published after the verifier started is held at once.

On an announcement the follower asks its status cache to fetch and verify that list now
(`StatusCache.refresh_list`), its one call into the cache: a forged or replayed announcement
costs at most a conditional GET and changes nothing. On `resync` every list held is
revalidated. The TTL-driven refreshing goes on regardless, so a feed that is down changes
nothing but the delay.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpx

from vc.status_feed import StatusListChanged
from verifier.status import StatusCache
from verifier.status_feed import FEED_PATH, FeedSubscription
from verifier.trust import TrustedIssuer

__all__ = ["FeedSources", "StatusFollower", "issuer_feed_sources", "list_ages"]

log = logging.getLogger(__name__)
RETRY_DELAYS_S = (0.25, 0.5, 1.0, 2.0, 4.0)
"""After an announcement, a failed fetch is tried again this often before the `ttl` takes over
(a busy issuer answering late cost a gate 30 s in `bench.propagation` without it)."""

FeedSources = list[tuple[str, dict[str, str]]]
"""Feed URLs to follow, each with the headers sent there."""


def issuer_feed_sources(issuers: Iterable[TrustedIssuer]) -> FeedSources:
    """Each trusted issuer's own feed (`<issuer>/status-lists/events`), no headers."""
    return [(t.issuer.rstrip("/") + FEED_PATH, {}) for t in issuers]


class StatusFollower:
    """Follows feeds into one status cache for the lifetime of an app (`start` and `stop` on
    its loop)."""

    def __init__(
        self,
        status: StatusCache,
        sources: FeedSources,
        *,
        clock: Callable[[], float],
        allow_insecure_loopback: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
        on_refreshed: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.status = status
        self.clock = clock
        self.on_refreshed = on_refreshed
        """Told each list uri the cache has just fetched anew after an event (a login service
        ends the sessions of credentials revoked in it)."""
        self.subscriptions = [
            FeedSubscription(
                url,
                on_change=self._changed,
                on_resync=self._resync,
                allow_insecure_loopback=allow_insecure_loopback,
                headers=headers,
                transport=transport,
                rng=rng,
                clock=clock,
            )
            for url, headers in sources
        ]
        self._tasks: list[asyncio.Task[None]] = []
        self._wanted: dict[str, int] = {}
        """The newest `iat` announced per list still being fetched."""
        self._catching_up: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(s.run()) for s in self.subscriptions]

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._catching_up.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []

    def _refresh(self, uri: str, iat: int | None) -> int | None:
        """Refresh one list; the `iat` of the token held afterwards (None: no trusted issuer
        publishes there, -1: the refresh failed)."""
        try:
            entry = self.status.refresh_list(uri, now=self.clock(), iat=iat)
        except Exception:  # one list's failure must not end the feed; the TTL path remains
            log.exception("refreshing %s after a feed event failed", uri)
            return -1
        return None if entry is None else entry.verified.iat

    async def _catch_up(self, uri: str) -> None:
        """Fetch `uri` until the token held is as new as the newest announced, retrying a
        failed fetch a few times (a busy issuer, a dropped connection) before leaving the list
        to the TTL path; announcements that arrive meanwhile join this task."""
        try:
            for delay in RETRY_DELAYS_S:
                wanted = self._wanted[uri]
                held = await asyncio.to_thread(self._refresh, uri, wanted)
                if held is None or held >= wanted:
                    if held is not None:
                        await self._tell(uri)
                    if self._wanted[uri] == wanted:
                        return
                    continue
                await asyncio.sleep(delay)
        finally:
            self._wanted.pop(uri, None)
            self._catching_up.pop(uri, None)

    async def _changed(self, changed: StatusListChanged) -> None:
        self._wanted[changed.uri] = max(changed.iat, self._wanted.get(changed.uri, 0))
        if changed.uri not in self._catching_up:
            self._catching_up[changed.uri] = asyncio.create_task(self._catch_up(changed.uri))

    async def _resync(self) -> None:
        for uri in sorted(self.status.uris()):
            if await asyncio.to_thread(self._refresh, uri, None) not in (None, -1):
                await self._tell(uri)

    async def _tell(self, uri: str) -> None:
        if self.on_refreshed is None:
            return
        try:
            await self.on_refreshed(uri)
        except Exception:  # the feed goes on; the listener's own periodic pass remains
            log.exception("acting on the new %s failed", uri)

    def health(self) -> list[dict[str, Any]]:
        """Each feed's state: connected or not, since when, the last event id."""
        now = self.clock()
        return [s.state.to_json(now) for s in self.subscriptions]


def list_ages(status: StatusCache, now: float) -> list[dict[str, Any]]:
    """Each status list held, with its age (since its origin last vouched for it) and `iat`."""
    return [
        {"uri": e.uri, "age_s": round(now - e.confirmed_at, 1), "iat": e.verified.iat}
        for e in sorted(status.entries(), key=lambda e: e.uri)
    ]
