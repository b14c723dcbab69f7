"""A signed-in person's console roles, asked of the issuer over HTTP (HR is the authority).

`IssuerGrants` is a `console.viewer.RoleSource` for the verifier's consoles (the gate's display,
the login service's administration): `GET {issuer}/console/api/grants/{employee_number}` with a
bearer token of the issuer role `grant_reader`. Answers are kept at most `ttl_s` (30 s), so a
revoked grant stops working at a gate or login within 30 s. An issuer that cannot be asked is a
503 page saying so (`grants_unavailable`), never a guess.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from console.viewer import Grant
from console.web import ConsoleError
from schemas.console_api import EmployeeGrantsView

__all__ = ["GRANTS_PATH", "MAX_TTL_S", "IssuerGrants", "parse_grants"]

log = logging.getLogger(__name__)

GRANTS_PATH = "/console/api/grants/"
MAX_TTL_S = 30.0
"""The longest a grant is believed without asking the issuer again."""
MAX_CACHED = 4096


def parse_grants(body: Any) -> tuple[Grant, ...]:
    """The grants in the issuer's answer (`schemas.console_api.EmployeeGrantsView`);
    `ValueError` for an answer of another shape (a role is never inferred)."""
    view = EmployeeGrantsView.model_validate(body)  # pydantic's ValidationError is a ValueError
    return tuple(Grant(g.role, g.scope) for g in view.grants)


class IssuerGrants:
    """The role source of a verifier's console: the issuer's answer, cached up to `ttl_s`."""

    def __init__(
        self,
        issuer_url: str,
        token: str,
        *,
        ttl_s: float = MAX_TTL_S,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self._base = issuer_url.rstrip("/") + GRANTS_PATH
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._ttl = min(ttl_s, MAX_TTL_S)
        self._clock = clock
        self._transport = transport
        self._timeout = timeout_s
        self._cache: dict[str, tuple[float, tuple[Grant, ...]]] = {}
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, employee_number: str) -> Sequence[Grant]:
        now = self._clock()
        cached = self._cache.get(employee_number)
        if cached is not None and now < cached[0]:
            return cached[1]
        grants = await self._ask(employee_number)
        if len(self._cache) >= MAX_CACHED:
            self._cache = {k: v for k, v in self._cache.items() if now < v[0]}
        self._cache[employee_number] = (now + self._ttl, grants)
        return grants

    async def _ask(self, employee_number: str) -> tuple[Grant, ...]:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=self._timeout)
        url = self._base + quote(employee_number, safe="")
        try:
            response = await self._client.get(url, headers=self._headers)
            if response.status_code == 404:  # not an employee the issuer knows: no roles
                return ()
            response.raise_for_status()
            return parse_grants(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("grants could not be read from the issuer: %r", exc)
            raise ConsoleError(
                503,
                "grants_unavailable",
                "발급 서버에 연결할 수 없어 권한을 확인할 수 없습니다 / The issuer cannot be "
                "reached, so your roles cannot be checked; try again shortly",
            ) from None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
