"""A `RoleSource` over HTTP, for consoles outside the issuer (gates, the login service): the
issuer's `GET /console/api/grants/{employee_number}` with a `grant_reader` token, each answer
kept at most `ttl_s` (30 s: a revoked grant stops working there within that).

Fails closed: when the issuer cannot be asked, the page is refused (503 `grants_unavailable`),
never shown with roles that may have been revoked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from console.messages import message_for
from console.viewer import Grant
from console.web import ConsoleError

__all__ = ["GRANTS_PATH", "IssuerGrants"]

log = logging.getLogger(__name__)

GRANTS_PATH = "/console/api/grants/"
_MAX_ENTRIES = 10_000
"""More people than sign in to one gate's or login service's console within `ttl_s`."""


def _grants(body: Any) -> tuple[Grant, ...]:
    """The `grants` of the issuer's answer (`{"employee_number", "name", "grants": [...]}`)."""
    if not isinstance(body, dict) or not isinstance(body.get("grants"), list):
        raise ValueError("not a grants answer")
    found = []
    for item in body["grants"]:
        role, scope = (item.get("role"), item.get("scope")) if isinstance(item, dict) else (0, 0)
        if not isinstance(role, str) or not (scope is None or isinstance(scope, str)):
            raise ValueError("not a grant")
        found.append(Grant(role, scope))
    return tuple(found)


class IssuerGrants:
    """Grants read from the issuer, cached per employee number for `ttl_s` seconds."""

    def __init__(
        self,
        issuer_url: str,
        token: str,
        *,
        ttl_s: float = 30.0,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base = issuer_url.rstrip("/") + GRANTS_PATH
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.ttl_s = min(ttl_s, 30.0)
        self.timeout_s = timeout_s
        self.transport = transport
        self.clock = clock
        self._cache: dict[str, tuple[float, tuple[Grant, ...]]] = {}

    async def __call__(self, employee_number: str) -> Sequence[Grant]:
        now = self.clock()
        cached = self._cache.get(employee_number)
        if cached is not None and now - cached[0] < self.ttl_s:
            return cached[1]
        grants = await self._fetch(employee_number)
        if len(self._cache) >= _MAX_ENTRIES:
            self._cache = {k: v for k, v in self._cache.items() if now - v[0] < self.ttl_s}
            if len(self._cache) >= _MAX_ENTRIES:
                self._cache.clear()
        self._cache[employee_number] = (now, grants)
        return grants

    async def _fetch(self, employee_number: str) -> tuple[Grant, ...]:
        url = self.base + quote(employee_number, safe="")
        try:
            async with httpx.AsyncClient(
                timeout=self.timeout_s, transport=self.transport
            ) as client:
                answer = await client.get(url, headers=self.headers)
            if answer.status_code == 404:  # not (or no longer) in HR data: no roles
                return ()
            answer.raise_for_status()
            return _grants(answer.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("console grants of %s unavailable: %r", employee_number, exc)
            raise ConsoleError(
                503, "grants_unavailable", message_for("grants_unavailable")
            ) from None
