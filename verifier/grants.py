"""Console roles from the issuer: a signed-in person's grants read over HTTP, cached briefly.

HR is the authority for who may do what, so consoles outside the issuer (a gate's, the login
service's) ask it: `GET {issuer}/console/api/grants/{employee_number}` with a bearer token of
role `grant_reader`. Answers are cached `cache_s` (at most 30 s): a revoked grant stops working
there within that time. An issuer that cannot be asked is a 503 page (`grants_unavailable`),
never an empty set of grants mistaken for "no roles".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from console.viewer import Grant
from console.web import ConsoleError

__all__ = ["MAX_GRANT_CACHE_S", "IssuerGrants"]

log = logging.getLogger(__name__)
MAX_GRANT_CACHE_S = 30.0
GRANTS_PATH = "/console/api/grants/"
TIMEOUT_S = 5.0


def _parse(body: bytes) -> tuple[Grant, ...]:
    data: Any = orjson.loads(body)
    items = data.get("grants") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("no grants list")
    grants = []
    for item in items:
        role, scope = item.get("role"), item.get("scope")
        if not isinstance(role, str) or not (scope is None or isinstance(scope, str)):
            raise ValueError("a grant without a role")
        grants.append(Grant(role, scope))
    return tuple(grants)


class IssuerGrants:
    """A console's `RoleSource`: call it with an employee number for that person's grants."""

    def __init__(
        self,
        issuer_url: str,
        token: str,
        *,
        client: httpx.AsyncClient | None = None,
        cache_s: float = MAX_GRANT_CACHE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= cache_s <= MAX_GRANT_CACHE_S:
            raise ValueError(f"grants may be cached at most {MAX_GRANT_CACHE_S:.0f} s")
        self.base = issuer_url.rstrip("/") + GRANTS_PATH
        self._auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False)
        self._cache_s, self._clock = cache_s, clock
        self._cache: dict[str, tuple[float, tuple[Grant, ...]]] = {}

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __call__(self, employee_number: str) -> Sequence[Grant]:
        now = self._clock()
        cached = self._cache.get(employee_number)
        if cached is not None and now - cached[0] < self._cache_s:
            return cached[1]
        url = self.base + quote(employee_number, safe="")
        try:
            response = await self._client.get(url, headers=self._auth)
            if response.status_code == 404:  # not (or no longer) an employee: no roles
                grants: tuple[Grant, ...] = ()
            else:
                response.raise_for_status()
                grants = _parse(response.content)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("grants of %s unavailable from %s: %r", employee_number, self.base, exc)
            raise ConsoleError(
                503,
                "grants_unavailable",
                "권한 정보를 가져올 수 없습니다 / The issuer could not be asked for roles",
            ) from None
        self._cache[employee_number] = (now, grants)
        if len(self._cache) > 10_000:  # forget the oldest answers (one per signed-in person)
            for key in list(self._cache)[: len(self._cache) // 2]:
                del self._cache[key]
        return grants
