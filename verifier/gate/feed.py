"""The gate's side of the status-list change feed: which feeds a gate follows, and its
`GateFeed` over its status cache. The following itself, and the lists' ages its `/health` shows,
are `verifier.status_follow`.

The gate follows the feed its policy names (`status_feed`: `auto` is the central verifier's
relay when a central service is configured, else each trusted issuer's own feed; `off`; or a
URL).
"""

from __future__ import annotations

import random

import httpx

from verifier.gate.service import GateService
from verifier.policy import GatePolicy
from verifier.status_feed import FEED_PATH
from verifier.status_follow import FeedSources, StatusFollower, issuer_feed_sources

__all__ = ["GateFeed", "feed_sources"]


def feed_sources(policy: GatePolicy) -> FeedSources:
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
    return issuer_feed_sources(policy.trusted_issuers)


class GateFeed(StatusFollower):
    """Follows the gate's feeds (`feed_sources` of its policy unless `sources` are given) into
    its status cache, for the lifetime of its app."""

    def __init__(
        self,
        service: GateService,
        *,
        sources: FeedSources | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(
            service.status,
            feed_sources(service.policy) if sources is None else sources,
            clock=service.clock,
            allow_insecure_loopback=service.policy.allow_insecure_loopback,
            transport=transport,
            rng=rng,
        )
