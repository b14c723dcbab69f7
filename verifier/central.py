"""The central verifier service: receives gates' entry records, serves offline bundles.

`POST /records` stores a gate's batch; the record `id` is the idempotency key (a resent batch
stores nothing twice) and the answer lists every id the service now holds, which is what lets the
gate mark them uploaded. Each batch (an empty one is a gate's heartbeat) also notes when the gate
was last heard from, which `/health` lists for the operators' overview. `GET /bundle?uri=...`
returns issuer metadata and fresh status list tokens (for the given URIs plus the configured
ones), which gates re-verify before use. Both ask for the gates' bearer token. `central_router`
is the HTTP face; the app around it, with its edge and error mapping, is assembled in
`mobileid.central_app`.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from vc.status_feed import STATUS_FEED_MEDIA_TYPE
from verifier.errors import VerifierError
from verifier.feed_relay import FeedRelay
from verifier.gate.store import Bundle
from verifier.models import RECORD_COLUMNS, central_gates, central_records
from verifier.policy import DEFAULT_ALGORITHMS, RETENTION_DAYS
from verifier.status import StatusCache
from verifier.status_feed import FEED_PATH
from verifier.trust import TrustedIssuer, TrustStore
from verifier.web import Respond

__all__ = [
    "CentralConfig",
    "CentralRefusal",
    "CentralService",
    "EntryRecordIn",
    "RecordBatch",
    "central_router",
    "parse_record_batch",
]

log = logging.getLogger(__name__)
MAX_BATCH_BYTES = 2 * 1024 * 1024
MAX_BUNDLE_URIS = 256
UNAUTHORIZED = "unauthorized"
INVALID_REQUEST = "invalid_request"
NOT_FOUND = "not_found"


class CentralRefusal(VerifierError):
    """A request the central service refuses: `unauthorized` (no or a wrong gate token) or
    `invalid_request` (not a batch of the uploading gate's own records)."""


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
    retention_days: int = RETENTION_DAYS
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    allow_insecure_loopback: bool = False


class CentralService:
    """Stores records idempotently and builds bundles from its own trust store and cache."""

    def __init__(
        self,
        config: CentralConfig,
        *,
        unit_of_work: Callable[[], AbstractContextManager[Connection]],
        client: httpx.Client | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.unit_of_work = unit_of_work
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

    def authorize(self, header: str | None) -> None:
        """Refuse a request without the gates' bearer token (none configured: development)."""
        if self.config.gate_token is None:
            return
        expected = f"Bearer {self.config.gate_token}".encode()
        if header is None or not hmac.compare_digest(header.encode(), expected):
            raise CentralRefusal(UNAUTHORIZED, "a gate's bearer token is required")

    def receive_records(self, batch: RecordBatch) -> dict[str, Any]:
        """Insert what is new; answer with every id of the batch now held."""
        if any(r.gate_id != batch.gate_id for r in batch.records):
            raise CentralRefusal(INVALID_REQUEST, "a gate uploads only its own records")
        now = self.clock()
        rows = [{**r.model_dump(), "received_at": now} for r in batch.records]
        stored = 0
        with self.unit_of_work() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            contact = dialect.insert(central_gates).values(
                gate_id=batch.gate_id, last_contact_at=now
            )
            conn.execute(
                contact.on_conflict_do_update(
                    index_elements=["gate_id"], set_={"last_contact_at": now}
                )
            )
            if rows:
                insert = dialect.insert(central_records).on_conflict_do_nothing(
                    index_elements=["id"]
                )
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
        with self.unit_of_work() as conn:
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
        wanted = self.trust.published_status_lists()
        for uri in uris[:MAX_BUNDLE_URIS]:
            issuer = self.status.issuer_of(uri)
            if issuer is not None:
                wanted.append((issuer, uri))
        for issuer, uri in dict.fromkeys(wanted):
            try:  # a list off its issuer's origins, or an unusable URI, is left out
                self.status.revalidate(issuer, uri, now=now)
            except VerifierError as exc:
                log.warning("bundle: status list %s unavailable: %s", uri, exc)
        return Bundle.of(self.trust, self.status, now=now)

    def health(self) -> dict[str, Any]:
        return {
            "issuers": len(self.trust.issuers),
            "status_lists": len(self.status),
            "gates": self.gates(),
        }

    def gates(self) -> list[dict[str, Any]]:
        """Every gate that ever uploaded (an empty batch is its heartbeat) and when it last did."""
        query = select(central_gates.c.gate_id, central_gates.c.last_contact_at)
        with self.unit_of_work() as conn:
            rows = conn.execute(query.order_by(central_gates.c.gate_id)).all()
        return [{"gate_id": gate_id, "last_contact_at": at} for gate_id, at in rows]

    def purge(self, *, now: float) -> int:
        before = now - self.config.retention_days * 86400
        with self.unit_of_work() as conn:
            return conn.execute(
                delete(central_records).where(central_records.c.at < before)
            ).rowcount


def _existing(conn: Connection, ids: list[str]) -> set[str]:
    query = select(central_records.c.id).where(central_records.c.id.in_(ids))
    return {row[0] for row in conn.execute(query)}


def parse_record_batch(body: bytes) -> RecordBatch:
    """A gate's upload, or `invalid_request` (the edge has refused NUL and oversized bodies)."""
    try:
        return RecordBatch.model_validate_json(body)
    except ValidationError:
        raise CentralRefusal(INVALID_REQUEST, "not a batch of entry records") from None


def central_router(
    service: CentralService, respond: Respond, relay: FeedRelay | None = None
) -> APIRouter:
    """`POST /records`, `GET /bundle` and (with `relay`) the relayed status-list change feed for
    gates holding the token, `GET /health` for all."""

    async def gate_token(request: Request) -> None:
        service.authorize(request.headers.get("authorization"))

    router = APIRouter()
    from_a_gate = [Depends(gate_token)]

    @router.post("/records", dependencies=from_a_gate)
    async def records(request: Request) -> Response:
        return respond(service.receive_records(parse_record_batch(await request.body())))

    @router.get("/bundle", dependencies=from_a_gate)
    def bundle(request: Request) -> Response:  # sync: may fetch from issuers (threadpool)
        return respond(service.bundle(request.query_params.getlist("uri")).to_json())

    @router.get(FEED_PATH, dependencies=from_a_gate)
    async def status_list_events(request: Request) -> Response:
        if relay is None:
            raise CentralRefusal(NOT_FOUND, "this central service relays no change feed")
        position = relay.position(request.headers.get("last-event-id"))
        return StreamingResponse(
            relay.stream(position),
            media_type=STATUS_FEED_MEDIA_TYPE,
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @router.get("/health")
    async def health() -> Response:
        upstream = relay.upstream if relay is not None else []
        return respond(
            {
                **service.health(),
                "status_feed": [s.state.to_json(service.clock()) for s in upstream],
            }
        )

    return router
