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

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(s.run()) for s in self.subscriptions]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def _refresh(self, uri: str, iat: int | None) -> None:
        try:
            self.service.status.refresh_list(uri, now=self.service.clock(), iat=iat)
        except Exception:  # one list's failure must not end the feed; the TTL path remains
            log.exception("refreshing %s after a feed event failed", uri)

    async def _changed(self, changed: StatusListChanged) -> None:
        await asyncio.to_thread(self._refresh, changed.uri, changed.iat)

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
