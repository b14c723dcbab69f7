"""Talking to the outside: records up to the central service, bundles down from it (or issuers).

Records are uploaded in batches; each record's `id` is its idempotency key, so a batch resent
after a lost answer changes nothing at the central service, and a record is marked uploaded only
once the central service has acknowledged its id.

These functions take any `Gate` (the gate service is one) rather than importing the service,
whose background worker uploads through them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx
import orjson
from sqlalchemy import Engine

from verifier.errors import VerifierError
from verifier.fetch import FetchError, check_fetch_url
from verifier.gate.store import (
    Bundle,
    BundleError,
    InstallResult,
    install_bundle,
    mark_uploaded,
    pending_records,
)
from verifier.policy import GatePolicy
from verifier.status import StatusCache
from verifier.trust import TrustError, TrustStore

__all__ = [
    "Gate",
    "SyncError",
    "UploadResult",
    "pull_bundle",
    "refresh_from_issuers",
    "upload_records",
]

log = logging.getLogger(__name__)
UPLOAD_BATCH = 500
MAX_BUNDLE_BYTES = 16 * 1024 * 1024


class Gate(Protocol):
    """What syncing needs of a gate (`verifier.gate.service.GateService`)."""

    @property
    def policy(self) -> GatePolicy: ...
    @property
    def client(self) -> httpx.Client | None: ...
    @property
    def engine(self) -> Engine: ...
    @property
    def trust(self) -> TrustStore: ...
    @property
    def status(self) -> StatusCache: ...
    @property
    def clock(self) -> Callable[[], float]: ...
    def save_bundle(self) -> None: ...


class SyncError(VerifierError):
    """The central service could not be reached or refused; `detail` is for the operator.
    Codes: `sync_unavailable` (not configured, offline, a refused URL), `central_unreachable`,
    `central_refused`, `central_answer_invalid`."""


@dataclass(frozen=True, slots=True)
class UploadResult:
    sent: int
    acknowledged: int


def _auth(service: Gate) -> dict[str, str]:
    token = service.policy.central_token
    return {"Authorization": f"Bearer {token}"} if token else {}


def _central(service: Gate, path: str) -> tuple[httpx.Client, str]:
    if service.client is None or not service.policy.central_url:
        raise SyncError(
            "sync_unavailable", "no central service configured (central_url) or gate is offline"
        )
    url = service.policy.central_url + path
    try:
        check_fetch_url(url, allow_insecure_loopback=service.policy.allow_insecure_loopback)
    except FetchError as exc:
        raise SyncError("sync_unavailable", exc.detail) from None
    return service.client, url


def _acknowledged(content: bytes) -> list[str]:
    """The ids in the central service's answer `{"ids": [...]}`."""
    try:
        answer = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise SyncError("central_answer_invalid", "central service answered without JSON") from None
    ids = answer.get("ids", []) if isinstance(answer, dict) else None
    if not isinstance(ids, list):
        raise SyncError("central_answer_invalid", "central service answered without ids")
    return [i for i in ids if isinstance(i, str)]


def upload_records(service: Gate) -> UploadResult:
    """Send every record not yet acknowledged; stops at the first failure (retried later).
    With none to send, an empty batch tells the central service this gate is alive."""
    client, url = _central(service, "/records")
    sent = acknowledged = 0
    while True:
        with service.engine.connect() as conn:
            batch = pending_records(conn, UPLOAD_BATCH)
        if not batch and sent:
            return UploadResult(sent, acknowledged)
        ids = [r["id"] for r in batch]
        key = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:32]
        body = orjson.dumps({"gate_id": service.policy.gate_id, "records": batch})
        try:
            response = client.post(
                url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "Idempotency-Key": key,
                    **_auth(service),
                },
            )
        except httpx.HTTPError as exc:
            raise SyncError("central_unreachable", type(exc).__name__) from exc
        if response.status_code != 200:
            raise SyncError("central_refused", f"records refused (HTTP {response.status_code})")
        if not batch:  # the heartbeat was heard
            return UploadResult(sent, acknowledged)
        acked_ids = _acknowledged(response.content)
        with service.engine.begin() as conn:
            acknowledged += mark_uploaded(conn, set(acked_ids) & set(ids), now=service.clock())
        sent += len(batch)
        if not set(ids) <= set(acked_ids):
            raise SyncError("central_answer_invalid", "not every record acknowledged; will retry")


def pull_bundle(service: Gate) -> InstallResult:
    """Fetch the central bundle for the lists this gate knows, install it (checked), save it."""
    client, url = _central(service, "/bundle")
    known = sorted(
        service.status.uris()
        | {uri for issuer in service.trust.issuers.values() for uri in issuer.status_lists}
    )
    try:
        response = client.get(url, params=[("uri", u) for u in known], headers=_auth(service))
    except httpx.HTTPError as exc:
        raise SyncError("central_unreachable", type(exc).__name__) from exc
    if response.status_code != 200 or len(response.content) > MAX_BUNDLE_BYTES:
        raise SyncError("central_refused", f"bundle refused (HTTP {response.status_code})")
    try:
        bundle = Bundle.from_json(orjson.loads(response.content))
    except orjson.JSONDecodeError:
        raise SyncError("central_answer_invalid", "the bundle is not JSON") from None
    except BundleError as exc:
        raise SyncError("central_answer_invalid", exc.detail) from None
    result = install_bundle(bundle, service.trust, service.status, now=service.clock())
    service.save_bundle()
    return result


def refresh_from_issuers(service: Gate) -> InstallResult:
    """Without a central service: fetch keys and every status list from the issuers.

    Every list: those configured, those seen in scans, and those each issuer publishes through
    its Token Status List aggregation endpoint, so a new gate can decide offline at once.
    """
    if service.client is None:
        raise SyncError("sync_unavailable", "gate is offline")
    now = service.clock()
    issuers = sum(service.trust.refresh(name, force=True) for name in service.trust.issuers)
    pairs = [(e.issuer, e.uri) for e in service.status.entries()]
    pairs += service.trust.published_status_lists()
    lists = 0
    for issuer, uri in dict.fromkeys(pairs):
        try:
            entry = service.status.revalidate(issuer, uri, now=now, force=True)
        except TrustError as exc:
            log.warning("not fetching %s: %s", uri, exc)
            continue
        lists += entry is not None and entry.confirmed_at == now
    service.save_bundle()
    return InstallResult(issuers, lists, 0)
