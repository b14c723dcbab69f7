"""Delivering logout tokens to clients (OpenID Connect Back-Channel Logout 1.0 §2.5, §2.8).

Each token is POSTed as `application/x-www-form-urlencoded` `logout_token=...` to the client's
`backchannel_logout_uri`, every delivery in its own task so a slow or failing client never holds
up another. 200 (or 204, which some frameworks answer) is delivered; a 4xx is the client
refusing the token, final; anything else (5xx, a timeout, a refused connection) is tried again
after each of `RETRY_DELAYS_S`, then recorded as failed. Each attempt's outcome is recorded
(`verifier.login.sessions.record_delivery`). Redirects are not followed (§2.5 names one URI).

A client must check the token itself and refuse a `jti` it has seen (§2.6): a delivery whose
answer was lost is sent again with the same `jti`, and a replayed token is the client's business.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager

import httpx
from sqlalchemy import Connection

from verifier.login.sessions import LogoutNotice, record_delivery

__all__ = ["DELIVERY_TIMEOUT_S", "RETRY_DELAYS_S", "LogoutSender"]

log = logging.getLogger(__name__)

DELIVERY_TIMEOUT_S = 2.0
"""Per attempt: a client that needs longer to drop a session is treated as down."""
RETRY_DELAYS_S = (0.5, 1.0, 2.0)
"""Waits before the second, third and fourth attempts; then the delivery is `failed`."""


class LogoutSender:
    """Sends logout tokens in background tasks on the running loop (`send`), for the lifetime of
    an app (`stop` waits for none: it cancels those still retrying; they stay `pending`)."""

    def __init__(
        self,
        unit_of_work: Callable[[], AbstractContextManager[Connection]],
        *,
        clock: Callable[[], float],
        transport: httpx.AsyncBaseTransport | None = None,
        retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.clock = clock
        self.transport = transport
        self.retry_delays_s = retry_delays_s
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, notices: Iterable[LogoutNotice]) -> None:
        """Start delivering each notice now (call on the loop, after the commit)."""
        for notice in notices:
            task = asyncio.create_task(self._deliver(notice))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every delivery started so far has been delivered or given up."""
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=DELIVERY_TIMEOUT_S, transport=self.transport, follow_redirects=False
            )
        return self._client

    async def _attempt(self, notice: LogoutNotice) -> tuple[str | None, bool]:
        """(error or None, whether trying again could help)."""
        try:
            response = await self._http().post(
                notice.uri,
                data={"logout_token": notice.token},
                headers={"Cache-Control": "no-store"},
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}", True
        if response.status_code in (200, 204):
            return None, False
        return f"HTTP {response.status_code}", response.status_code >= 500

    def _record(self, notice: LogoutNotice, error: str | None, final: bool) -> None:
        try:
            with self.unit_of_work() as db:
                record_delivery(db, notice.jti, error=error, final=final, now=self.clock())
        except Exception:  # the delivery happened (or not) regardless; the log keeps it
            log.exception("recording the logout delivery %s failed", notice.jti)

    async def _deliver(self, notice: LogoutNotice) -> None:
        delays = (*self.retry_delays_s, None)
        for delay in delays:
            error, retry = await self._attempt(notice)
            final = error is None or not retry or delay is None
            await asyncio.to_thread(self._record, notice, error, final)
            if final:
                if error is not None:
                    log.warning(
                        "logout token for %s at %s not delivered: %s",
                        notice.client_id,
                        notice.uri,
                        error,
                    )
                return
            assert delay is not None
            await asyncio.sleep(delay)
