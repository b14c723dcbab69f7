"""The gate's HTTP face for the scanner: `POST /scan` (body = the QR payload), `GET /health`.

Thin on purpose: take the body, call `GateService.scan`, shape the answer. Every scan, even of
garbage (NUL bytes included: a QR payload is raw bytes), is a decision answered with 200; only a
body that is not a scan at all (too large, refused at the edge) gets an HTTP error, and no
exception text ever reaches the scanner. The app around this router, with its edge (body limit,
error mapping), is assembled in `mobileid.gate_app`, which also hands in `respond`, the one JSON
response helper of every service.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from verifier.gate.feed import GateFeed
from verifier.gate.service import GateService
from verifier.status_follow import list_ages
from verifier.web import Respond

__all__ = ["SCAN_PATH", "gate_router"]

SCAN_PATH = "/scan"
"""Its body is a QR payload's raw bytes: a scan, whatever they hold."""


def gate_router(service: GateService, respond: Respond, feed: GateFeed | None = None) -> APIRouter:
    """`POST /scan` and `GET /health` of one gate (with the change feed's state when it
    follows one)."""
    router = APIRouter()

    @router.post(SCAN_PATH)
    async def scan(request: Request) -> Response:
        return respond(service.scan(await request.body()).to_json())

    @router.get("/health")
    async def health() -> Response:
        return respond(
            {
                **service.health(),
                "status_feed": feed.health() if feed is not None else [],
                "status_list_ages": list_ages(service.status, service.clock()),
            }
        )

    return router
