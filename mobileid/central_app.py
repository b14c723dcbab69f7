"""The central verifier service's ASGI app: `verifier.central`'s router on the shared edge
(`mobileid.edge`), its refusals mapped to HTTP once, here."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine

from mobileid.db import connection_transaction
from mobileid.edge import Refusal, ServiceErrors, install_edge, json_response
from mobileid.periodic import every
from verifier.central import (
    MAX_BATCH_BYTES,
    NOT_FOUND,
    UNAUTHORIZED,
    CentralConfig,
    CentralService,
    central_router,
)
from verifier.errors import VerifierError
from verifier.feed_relay import FeedRelay
from verifier.migrate import upgrade_verifier_database

__all__ = ["CENTRAL_ERRORS", "PURGE_EVERY_S", "create_central_app", "open_central_service"]

PURGE_EVERY_S = 3600.0
"""How often the central service deletes records past the config's `retention_days`."""


def _central_refusal(exc: Exception) -> Refusal:
    assert isinstance(exc, VerifierError)
    if exc.code == UNAUTHORIZED:  # RFC 6750 §3: a request without (valid) credentials
        return Refusal(exc.code, exc.detail or None, 401, {"WWW-Authenticate": "Bearer"})
    if exc.code == NOT_FOUND:
        return Refusal(exc.code, exc.detail or None, 404)
    return Refusal(exc.code, exc.detail or None)


CENTRAL_ERRORS = ServiceErrors(
    party_error=VerifierError,
    refusal=_central_refusal,
    too_large_code=lambda _path: "request_too_large",
)


def open_central_service(
    config: CentralConfig,
    *,
    engine: Engine,
    client: httpx.Client | None,
    clock: Callable[[], float] = time.time,
) -> CentralService:
    """Migrate the central database, then wire the service to it (one transaction per call)."""
    upgrade_verifier_database(engine, "central")
    return CentralService(
        config, unit_of_work=partial(connection_transaction, engine), client=client, clock=clock
    )


def create_central_app(
    service: CentralService, *, relay: FeedRelay | None = None, purge_every_s: float = PURGE_EVERY_S
) -> FastAPI:
    """The central verifier service's ASGI app; with `relay`, it relays the status-list change
    feed to its gates (one upstream connection per issuer for the whole site). Entry records older
    than the config's `retention_days` are deleted every `purge_every_s`."""

    def purge() -> int:
        return service.purge(now=service.clock())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        purger = asyncio.create_task(every(purge_every_s, purge, what="purged records"))
        if relay is not None:
            await relay.start()
        try:
            yield
        finally:
            if relay is not None:
                await relay.stop()
            purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purger

    app = FastAPI(
        title="mobileid central verifier",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.include_router(central_router(service, json_response, relay))
    install_edge(app, CENTRAL_ERRORS, max_body_bytes=MAX_BATCH_BYTES)
    return app
