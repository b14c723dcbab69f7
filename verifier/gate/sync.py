"""Talking to the outside: records up to the central service, bundles down from it (or issuers).

Records are uploaded in batches; each record's `id` is its idempotency key, so a batch resent
after a lost answer changes nothing at the central service, and a record is marked uploaded only
once the central service has acknowledged its id.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import httpx
import orjson

from verifier.fetch import FetchError, check_fetch_url
from verifier.gate.service import GateService
from verifier.gate.store import (
    Bundle,
    InstallResult,
    install_bundle,
    mark_uploaded,
    pending_records,
)

__all__ = ["SyncError", "UploadResult", "pull_bundle", "refresh_from_issuers", "upload_records"]

log = logging.getLogger("mobileid.verifier.gate.sync")
UPLOAD_BATCH = 500
MAX_BUNDLE_BYTES = 16 * 1024 * 1024


class SyncError(Exception):
    """The central service could not be reached or refused; the message is for the operator."""


@dataclass(frozen=True, slots=True)
class UploadResult:
    sent: int
    acknowledged: int


def _auth(service: GateService) -> dict[str, str]:
    token = service.policy.central_token
    return {"Authorization": f"Bearer {token}"} if token else {}


def _central(service: GateService, path: str) -> tuple[httpx.Client, str]:
    if service.client is None or not service.policy.central_url:
        raise SyncError("no central service configured (central_url) or gate is offline")
    url = service.policy.central_url + path
    try:
        check_fetch_url(url, allow_insecure_loopback=service.policy.allow_insecure_loopback)
    except FetchError as exc:
        raise SyncError(str(exc)) from None
    return service.client, url


def upload_records(service: GateService) -> UploadResult:
    """Send every record not yet acknowledged; stops at the first failure (retried later)."""
    client, url = _central(service, "/records")
    service.recorder.flush()
    sent = acknowledged = 0
    while True:
        with service.engine.connect() as conn:
            batch = pending_records(conn, UPLOAD_BATCH)
        if not batch:
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
            raise SyncError(f"central service unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise SyncError(f"central service refused the records (HTTP {response.status_code})")
        try:
            acked = orjson.loads(response.content).get("ids", [])
        except (orjson.JSONDecodeError, AttributeError):
            raise SyncError("central service answered without JSON") from None
        acked_ids = [i for i in acked if isinstance(i, str)]
        with service.engine.begin() as conn:
            acknowledged += mark_uploaded(conn, set(acked_ids) & set(ids), now=service.clock())
        sent += len(batch)
        if not set(ids) <= set(acked_ids):
            raise SyncError("central service did not acknowledge every record; will retry")


def pull_bundle(service: GateService) -> InstallResult:
    """Fetch the central bundle for the lists this gate knows, install it (checked), save it."""
    client, url = _central(service, "/bundle")
    known = sorted(
        service.status.uris()
        | {uri for issuer in service.trust.issuers.values() for uri in issuer.status_lists}
    )
    try:
        response = client.get(url, params=[("uri", u) for u in known], headers=_auth(service))
    except httpx.HTTPError as exc:
        raise SyncError(f"central service unreachable: {type(exc).__name__}") from exc
    if response.status_code != 200 or len(response.content) > MAX_BUNDLE_BYTES:
        raise SyncError(f"central service refused the bundle (HTTP {response.status_code})")
    try:
        bundle = Bundle.from_json(orjson.loads(response.content))
    except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
        raise SyncError(f"central bundle unusable: {exc}") from None
    result = install_bundle(bundle, service.trust, service.status, now=service.clock())
    service.save_bundle()
    return result


def refresh_from_issuers(service: GateService) -> InstallResult:
    """Without a central service: fetch keys and every status list from the issuers.

    Every list: those configured, those seen in scans, and those each issuer publishes through
    its Token Status List aggregation endpoint, so a new gate can decide offline at once.
    """
    if service.client is None:
        raise SyncError("gate is offline")
    now = service.clock()
    issuers = sum(service.trust.refresh(name, force=True) for name in service.trust.issuers)
    pairs = [(e.issuer, e.uri) for e in service.status.entries()] + [
        (t.issuer, uri)
        for t in service.trust.issuers.values()
        for uri in (*t.status_lists, *service.trust.discover_status_lists(t.issuer))
    ]
    lists = 0
    for issuer, uri in dict.fromkeys(pairs):
        try:
            entry = service.status.revalidate(issuer, uri, now=now, force=True)
        except PermissionError as exc:
            log.warning("not fetching %s: %s", uri, exc)
            continue
        lists += entry is not None and entry.confirmed_at == now
    service.save_bundle()
    return InstallResult(issuers, lists, 0)
