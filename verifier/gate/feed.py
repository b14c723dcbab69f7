"""The gate's side of the status-list change feed: a revocation reaches an online gate in about a
second instead of when its cached list's `ttl` runs out.

The gate follows the feed its policy names (`status_feed`: `auto` is the central verifier's
relay when a central service is configured, else each trusted issuer's own feed; `off`; or a
URL). On an announcement it asks the status cache to fetch and verify that list now
(`StatusCache.refresh_list`), its one call into the cache: a forged or replayed announcement
costs at most a conditional GET and changes nothing. On `resync` every list held is
revalidated. The TTL-driven refreshing goes on regardless, so a feed that is down changes
nothing but the delay.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import httpx

from vc.status_feed import StatusListChanged
from verifier.gate.service import GateService
from verifier.policy import GatePolicy
from verifier.status_feed import FEED_PATH, FeedSubscription

__all__ = ["GateFeed", "feed_sources", "list_ages"]

log = logging.getLogger(__name__)
RETRY_DELAYS_S = (0.25, 0.5, 1.0, 2.0, 4.0)
"""After an announcement, a failed fetch is tried again this often before the `ttl` takes over
(a busy issuer answering late cost a gate 30 s in `bench.propagation` without it)."""


def feed_sources(policy: GatePolicy) -> list[tuple[str, dict[str, str]]]:
    """The feed URLs a gate follows, each with the headers it sends there."""
    token = policy.central_token
    central_auth = {"Authorization": f"Bearer {token}"} if token else {}
    if policy.status_feed == "off":
        return []
    if policy.status_feed != "auto":
        central = policy.central_url and policy.status_feed.startswith(policy.central_url + "/")
        return [(policy.status_feed, central_auth if central else {})]
    if policy.central_url:
        return [(policy.central_url + FEED_PATH, central_auth)]
    return [(t.issuer.rstrip("/") + FEED_PATH, {}) for t in policy.trusted_issuers]


class GateFeed:
    """Follows the gate's feeds for the lifetime of its app (`start` and `stop` on its loop)."""

    def __init__(
        self,
        service: GateService,
        *,
        sources: list[tuple[str, dict[str, str]]] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.service = service
        self.subscriptions = [
            FeedSubscription(
                url,
                on_change=self._changed,
                on_resync=self._resync,
                allow_insecure_loopback=service.policy.allow_insecure_loopback,
                headers=headers,
                transport=transport,
                rng=rng,
                clock=service.clock,
            )
            for url, headers in (feed_sources(service.policy) if sources is None else sources)
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
            entry = self.service.status.refresh_list(uri, now=self.service.clock(), iat=iat)
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
        for uri in sorted(self.service.status.uris()):
            await asyncio.to_thread(self._refresh, uri, None)

    def health(self) -> list[dict[str, Any]]:
        """Each feed's state: connected or not, since when, the last event id."""
        now = self.service.clock()
        return [s.state.to_json(now) for s in self.subscriptions]


def list_ages(service: GateService) -> list[dict[str, Any]]:
    """Each status list held, with its age (since its origin last vouched for it) and `iat`."""
    now = service.clock()
    return [
        {"uri": e.uri, "age_s": round(now - e.confirmed_at, 1), "iat": e.verified.iat}
        for e in sorted(service.status.entries(), key=lambda e: e.uri)
    ]
