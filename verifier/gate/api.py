"""The gate's HTTP face for the scanner: `POST /scan` (body = the QR payload), `GET /health`.

Thin on purpose: take the body, call `GateService.scan`, shape the answer. Every scan, even of
garbage (NUL bytes included: a QR payload is raw bytes), is a decision answered with 200; only a
body that is not a scan at all (too large, refused at the edge by `vc.asgi_guard`) gets an HTTP
error, and no exception text ever reaches the scanner.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from vc.asgi_guard import RequestGuard, json_refusal
from verifier.gate.feed import GateFeed, list_ages
from verifier.gate.service import GateService, GateWorker
from verifier.pipeline import MAX_SCAN_BYTES

__all__ = ["create_gate_app"]

log = logging.getLogger("mobileid.verifier.gate.api")
_JSON = "application/json"


def _json(status: int, body: object) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=_JSON)


def create_gate_app(
    service: GateService,
    *,
    worker_factory: Callable[[GateService], GateWorker] | None = GateWorker,
    feed: GateFeed | None = None,
) -> FastAPI:
    """The ASGI app of one gate; the background worker and the change feed (if any) run for
    the app's lifetime."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker = worker_factory(service) if worker_factory is not None else None
        if worker is not None:
            worker.start()
        if feed is not None:
            await feed.start()
        try:
            yield
        finally:
            if feed is not None:
                await feed.stop()
            if worker is not None:
                worker.stop()
            service.close()

    app = FastAPI(
        title=f"mobileid gate {service.policy.gate_id}",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(
        RequestGuard,
        max_body_bytes=MAX_SCAN_BYTES,
        refuse=json_refusal("scan_too_large"),
        binary_paths=("/scan",),
    )

    @app.post("/scan")
    async def scan(request: Request) -> Response:
        decision = service.scan(await request.body())
        return _json(200, decision.to_json())

    @app.get("/health")
    async def health() -> Response:
        return _json(
            200,
            {
                **service.health(),
                "status_feed": feed.health() if feed is not None else [],
                "status_list_ages": list_ages(service),
            },
        )

    return app
