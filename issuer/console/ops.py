"""The operator overview (`/console/ops`, role `hr_admin`): is everything up, and how fresh.

One page: each service's health (the issuer itself from its database; the login service, the
central verifier and the gates from their `/health` over HTTP, each with a short timeout), the
issuer's status lists and the age of their published tokens, the gates online and offline as the
central verifier knows them (when each last uploaded or sent its heartbeat), and the revocation
feed's state (streams open in this process, the last publication announced). A service that does
not answer is shown down with the reason; the page itself never fails for it. It refreshes
itself (`data-autorefresh`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from console.viewer import Viewer
from console.web import require_role
from issuer.context import IssuerContext
from issuer.status.feed import LastPublication, StatusFeed, feed_head, last_publication
from issuer.status.publication import StatusListSummary, status_list_summary

__all__ = [
    "OPS_PATH",
    "TEMPLATES",
    "Gate",
    "OpsConfig",
    "Overview",
    "ServiceHealth",
    "gates_of",
    "ops_router",
    "probe",
]

OPS_PATH = "/console/ops"
REFRESH_S = 15
TEMPLATES = Path(__file__).with_name("templates")
Operator = Annotated[Viewer, Depends(require_role("hr_admin"))]


@dataclass(frozen=True, slots=True)
class OpsConfig:
    """Where the other services answer (`MOBILEID_OPS_*`); None or empty: not shown."""

    login_url: str | None = None
    central_url: str | None = None
    gate_urls: tuple[str, ...] = ()
    timeout_s: float = 2.0
    gate_offline_after_s: float = 60.0


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    kind: str  # issuer | login | central | gate
    url: str
    up: bool
    error: str | None = None
    body: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Gate:
    gate_id: str
    last_contact_at: float
    age_s: float
    online: bool


@dataclass(frozen=True, slots=True)
class Overview:
    services: list[ServiceHealth]
    lists: list[StatusListSummary]
    gates: list[Gate] | None  # None: no central verifier configured, or it did not answer
    feed_subscribers: int
    feed_head: int | None
    last_publication: LastPublication | None
    now: datetime


async def probe(client: httpx.AsyncClient, kind: str, url: str) -> ServiceHealth:
    """`GET {url}/health`: up with its JSON, or down with why (never raises)."""
    try:
        response = await client.get(f"{url}/health")
    except httpx.TimeoutException:
        return ServiceHealth(kind, url, False, "응답 시간 초과 / timed out")
    except httpx.HTTPError as exc:
        return ServiceHealth(kind, url, False, f"연결 실패 / cannot connect ({type(exc).__name__})")
    if response.status_code != 200:
        return ServiceHealth(kind, url, False, f"HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return ServiceHealth(kind, url, False, "JSON 아님 / not a health answer")
    return ServiceHealth(kind, url, True, None, body)


def gates_of(central: ServiceHealth, *, now: float, offline_after_s: float) -> list[Gate] | None:
    """The gates the central verifier has heard from, each online if heard within the limit."""
    entries = central.body.get("gates") if central.up else None
    if not isinstance(entries, list):
        return None
    gates = []
    for entry in entries:
        gate_id, at = entry.get("gate_id"), entry.get("last_contact_at")
        if isinstance(gate_id, str) and isinstance(at, int | float):
            age = max(0.0, now - at)
            gates.append(Gate(gate_id, float(at), round(age, 1), age <= offline_after_s))
    return sorted(gates, key=lambda g: (g.online, g.gate_id))


def _issuer_state(ctx: IssuerContext) -> tuple[list[StatusListSummary], int, Any]:
    with ctx.unit_of_work() as session:
        return status_list_summary(session), feed_head(session), last_publication(session)


async def overview(
    ctx: IssuerContext,
    feed: StatusFeed,
    config: OpsConfig,
    *,
    base_url: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Overview:
    """Everything on the page, the other services asked at once."""
    now = ctx.clock()
    targets = [("login", config.login_url), ("central", config.central_url)]
    targets += [("gate", url) for url in config.gate_urls]
    async with httpx.AsyncClient(
        timeout=config.timeout_s, transport=transport, follow_redirects=False
    ) as client:
        probes = asyncio.gather(*(probe(client, kind, url) for kind, url in targets if url))
        try:
            lists, head, last = await run_in_threadpool(_issuer_state, ctx)
            issuer = ServiceHealth("issuer", base_url, True, None, {"kid": ctx.keyring.active.kid})
        except SQLAlchemyError as exc:
            lists, head, last = [], None, None
            issuer = ServiceHealth(
                "issuer", base_url, False, f"데이터베이스 오류 / database ({type(exc).__name__})"
            )
        others = await probes
    central = next((s for s in others if s.kind == "central"), None)
    gates = (
        gates_of(central, now=now.timestamp(), offline_after_s=config.gate_offline_after_s)
        if central is not None
        else None
    )
    return Overview([issuer, *others], lists, gates, feed.subscribers, head, last, now)


def ops_router(
    config: OpsConfig, *, transport: httpx.AsyncBaseTransport | None = None
) -> APIRouter:
    """`GET /console/ops` for holders of `hr_admin`."""
    router = APIRouter()

    @router.get(OPS_PATH)
    async def ops(request: Request, _viewer: Operator) -> HTMLResponse:
        ctx: IssuerContext = request.app.state.issuer
        found = await overview(
            ctx,
            request.app.state.status_feed,
            config,
            base_url=ctx.config.base_url,
            transport=transport,
        )
        response: HTMLResponse = request.app.state.console.render(
            request, "ops.html", {"o": found, "refresh_s": REFRESH_S, "config": config}
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    return router
