"""The login service's signing keys, learnt from its discovery document and JWKS over HTTP
(cached; fetched again when a token names a key we do not hold, at most every `REFRESH_S`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from remote_work.errors import RemoteWorkError

__all__ = ["LoginKeys"]

log = logging.getLogger(__name__)

REFRESH_S = 30.0


class LoginKeys:
    """The JWKS of the login service at `login_url` (its issuer URL)."""

    def __init__(
        self,
        login_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: Any = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.login_url = login_url.rstrip("/")
        self.transport = transport
        self.verify = verify
        self.clock = clock
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self._client: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def keys(self, *, refresh: bool = False) -> KeySet:
        """The keys; `refresh` fetches them again unless fetched within `REFRESH_S`."""
        stale = refresh and self.clock() - self._fetched_at > REFRESH_S
        if self._keys is None or stale:
            self._keys = await self._fetch()
            self._fetched_at = self.clock()
        return self._keys

    async def _fetch(self) -> KeySet:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self.transport, verify=self.verify, timeout=5, follow_redirects=False
            )
        try:
            meta = await self._client.get(f"{self.login_url}/.well-known/openid-configuration")
            meta.raise_for_status()
            jwks_uri = meta.json()["jwks_uri"]
            answer = await self._client.get(str(jwks_uri))
            answer.raise_for_status()
            return KeySet.import_key_set(answer.json())
        except (httpx.HTTPError, ValueError, KeyError, TypeError, JoseError) as exc:
            log.warning("the login service's keys could not be fetched: %r", exc)
            raise RemoteWorkError(
                "login_unavailable", "the login service's keys cannot be fetched", status=503
            ) from None
