"""The central verifier service: receives gates' entry records, serves offline bundles.

`POST /records` stores a gate's batch; the record `id` is the idempotency key (a resent batch
stores nothing twice) and the answer lists every id the service now holds, which is what lets the
gate mark them uploaded. `GET /bundle?uri=...` returns issuer metadata and fresh status list
tokens (for the given URIs plus the configured ones), which gates re-verify before use.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from vc.asgi_guard import RequestGuard, json_refusal
from vc.status_feed import STATUS_FEED_MEDIA_TYPE
from verifier.feed_relay import FeedRelay, InvalidLastEventId
from verifier.gate.store import Bundle
from verifier.migrate import upgrade_verifier_database
from verifier.models import RECORD_COLUMNS, central_records
from verifier.status import StatusCache
from verifier.status_feed import FEED_PATH
from verifier.trust import TrustedIssuer, TrustStore

__all__ = [
    "CentralConfig",
    "CentralService",
    "EntryRecordIn",
    "RecordBatch",
    "create_central_app",
    "parse_central_config",
]

log = logging.getLogger("mobileid.verifier.central")
MAX_BATCH_BYTES = 2 * 1024 * 1024
MAX_BUNDLE_URIS = 256


class EntryRecordIn(BaseModel):
    """One entry record as a gate uploads it (`verifier.models.RECORD_COLUMNS`)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    gate_id: str = Field(min_length=1, max_length=64)
    site: str = Field(max_length=80)
    purpose: Literal["gate", "library", "identity"]
    at: float = Field(ge=0)
    allow: bool
    reason: str = Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")
    stale_status: bool = False
    issuer: str | None = Field(default=None, max_length=255)
    employee_number: str | None = Field(default=None, max_length=20)
    agency_code: str | None = Field(default=None, max_length=16)
    member_id: str | None = Field(default=None, max_length=32)
    elapsed_ms: float = Field(ge=0)


class RecordBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gate_id: str = Field(min_length=1, max_length=64)
    records: list[EntryRecordIn] = Field(max_length=1000)


@dataclass(frozen=True, slots=True)
class CentralConfig:
    trusted_issuers: tuple[TrustedIssuer, ...]
    gate_token: str | None = None
    """Bearer token gates present; None only for development."""
    retention_days: int = 365
    algorithms: tuple[str, ...] = ("EdDSA", "Ed25519", "ES256")
    allow_insecure_loopback: bool = False


def parse_central_config(data: Any, *, environ: Mapping[str, str]) -> CentralConfig:
    """From a JSON/YAML object: `trusted_issuers`, `gate_token_env`, `retention_days`, ..."""
    if not isinstance(data, dict) or not isinstance(data.get("trusted_issuers"), list):
        raise ValueError("central config needs 'trusted_issuers'")
    token_env = data.get("gate_token_env")
    token = environ.get(token_env) if isinstance(token_env, str) else data.get("gate_token")
    return CentralConfig(
        trusted_issuers=tuple(TrustedIssuer.from_json(i) for i in data["trusted_issuers"]),
        gate_token=token if isinstance(token, str) and token else None,
        retention_days=int(data.get("retention_days", 365)),
        allow_insecure_loopback=bool(data.get("allow_insecure_loopback", False)),
    )


class CentralService:
    """Stores records idempotently and builds bundles from its own trust store and cache."""

    def __init__(
        self,
        config: CentralConfig,
        *,
        engine: Engine,
        client: httpx.Client | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.engine = engine
        self.clock = clock
        self.trust = TrustStore(
            config.trusted_issuers,
            client=client,
            clock=clock,
            allow_insecure_loopback=config.allow_insecure_loopback,
        )
        self.status = StatusCache(self.trust, client=client, algorithms=config.algorithms)
        self._client = client

    def close(self) -> None:
        """Release the HTTP client (the service owns the one it was given)."""
        if self._client is not None:
            self._client.close()

    def create_tables(self) -> None:
        upgrade_verifier_database(self.engine, "central")

    def authorized(self, header: str | None) -> bool:
        if self.config.gate_token is None:
            return True
        expected = f"Bearer {self.config.gate_token}".encode()
        return header is not None and hmac.compare_digest(header.encode(), expected)

    def receive_records(self, batch: RecordBatch) -> dict[str, Any]:
        """Insert what is new; answer with every id of the batch now held."""
        if any(r.gate_id != batch.gate_id for r in batch.records):
            raise ValueError("a gate uploads only its own records")
        now = self.clock()
        rows = [{**r.model_dump(), "received_at": now} for r in batch.records]
        stored = 0
        if rows:
            dialect = self.engine.dialect.name
            insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(
                central_records
            ).on_conflict_do_nothing(index_elements=["id"])
            with self.engine.begin() as conn:
                before = len(_existing(conn, [r["id"] for r in rows]))
                conn.execute(insert, rows)
                stored = len(rows) - before
        return {
            "ids": [r.id for r in batch.records],
            "stored": stored,
            "duplicates": len(rows) - stored,
        }

    def records(self, *, since: float, gate_id: str | None = None) -> list[dict[str, Any]]:
        query = select(*(central_records.c[c] for c in RECORD_COLUMNS)).where(
            central_records.c.at >= since
        )
        if gate_id:
            query = query.where(central_records.c.gate_id == gate_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(central_records.c.at))
            return [{str(k): v for k, v in r._asdict().items()} for r in rows]

    def bundle(self, uris: list[str]) -> Bundle:
        """Keys of every trusted issuer, every list they publish (aggregation) and those asked for.

        Only lists on trusted status origins are fetched.
        """
        now = self.clock()
        for name in self.trust.issuers:
            if not self.trust.keys_of(name):
                self.trust.refresh(name)
        wanted: list[tuple[str, str]] = [
            (t.issuer, uri)
            for t in self.trust.issuers.values()
            for uri in (*t.status_lists, *self.trust.discover_status_lists(t.issuer))
        ]
        for uri in uris[:MAX_BUNDLE_URIS]:
            issuer = self.status.issuer_of(uri)
            if issuer is not None:
                wanted.append((issuer, uri))
        for issuer, uri in dict.fromkeys(wanted):
            try:
                self.status.lookup(issuer, uri, 0, now=now, max_age=float("inf"))
            except (PermissionError, ValueError, LookupError) as exc:
                log.warning("bundle: status list %s unavailable: %s", uri, exc)
        return Bundle.of(self.trust, self.status, now=now)

    def purge(self, *, now: float) -> int:
        before = now - self.config.retention_days * 86400
        with self.engine.begin() as conn:
            return conn.execute(
                delete(central_records).where(central_records.c.at < before)
            ).rowcount


def _existing(conn: Any, ids: list[str]) -> set[str]:
    query = select(central_records.c.id).where(central_records.c.id.in_(ids))
    return {row[0] for row in conn.execute(query)}


def _json(status: int, body: object) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def create_central_app(service: CentralService, *, relay: FeedRelay | None = None) -> FastAPI:
    """The central verifier service's ASGI app; with `relay`, it relays the change feed."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if relay is not None:
            await relay.start()
        try:
            yield
        finally:
            if relay is not None:
                await relay.stop()

    app = FastAPI(
        title="mobileid central verifier",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(
        RequestGuard, max_body_bytes=MAX_BATCH_BYTES, refuse=json_refusal("request_too_large")
    )

    @app.post("/records")
    async def records(request: Request) -> Response:
        if not service.authorized(request.headers.get("authorization")):
            return _json(401, {"error": "unauthorized"})
        try:
            batch = RecordBatch.model_validate_json(await request.body())
            answer = service.receive_records(batch)
        except (ValidationError, ValueError):
            return _json(400, {"error": "invalid_request"})
        return _json(200, answer)

    @app.get("/bundle")
    def bundle(request: Request) -> Response:  # sync: may fetch from issuers (threadpool)
        if not service.authorized(request.headers.get("authorization")):
            return _json(401, {"error": "unauthorized"})
        uris = request.query_params.getlist("uri")
        return _json(200, service.bundle(uris).to_json())

    @app.get(FEED_PATH)
    async def status_list_events(request: Request) -> Response:
        if relay is None:
            return _json(404, {"error": "not_found"})
        if not service.authorized(request.headers.get("authorization")):
            return _json(401, {"error": "unauthorized"})
        try:
            position = relay.position(request.headers.get("last-event-id"))
        except InvalidLastEventId as exc:
            return _json(400, {"error": exc.code})
        return StreamingResponse(
            relay.stream(position),
            media_type=STATUS_FEED_MEDIA_TYPE,
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.get("/health")
    async def health() -> Response:
        upstream = relay.upstream if relay is not None else []
        return _json(
            200,
            {
                "issuers": len(service.trust.issuers),
                "status_lists": len(service.status),
                "status_feed": [s.state.to_json(service.clock()) for s in upstream],
            },
        )

    return app
