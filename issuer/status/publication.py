"""Publishing Token Status Lists from the credentials' committed states (Token Status List §5, §8).

The credentials' `state` column is the one source of truth (active -> VALID, suspended ->
SUSPENDED, revoked -> INVALID). A status change locks its list's row, bumps `version`, builds the
list, signs a new Status List Token and stores it with `token_version = version`, all inside the
caller's transaction: the token a reader gets from the database always matches the committed
states. Should a token ever lag behind (`token_version != version`, e.g. publication skipped by a
crash or an operator's SQL), it is rebuilt from the committed states when read and on start. A
token signed under other settings (`ttl`, lifetime) is signed again on start, so a changed
`MOBILEID_STATUS_LIST_TTL_S` reaches verifiers with the next token, not half a lifetime later.

Packed lists are cached per process, keyed by the ETag of the token they were signed into, so a
change usually costs one chunk's compression and one signature; a miss rebuilds from the table.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from issuer.config import IssuerConfig
from issuer.errors import IssuerCode, LifecycleError
from issuer.keys.signing import IssuerKeyring
from issuer.models import Credential, StatusListRecord
from issuer.status.feed import next_feed_seq
from issuer.status.packing import PackedStatusList
from vc.errors import VCError
from vc.jws import decode_unverified, sign_compact
from vc.status_list import (
    INVALID,
    MAX_STATUS_LIST_TOKEN_BYTES,
    STATUS_LIST_TYP,
    SUSPENDED,
    VALID,
    StatusList,
)

__all__ = [
    "STATUS_OF_STATE",
    "PublishedToken",
    "RebuildReport",
    "StatusListPublisher",
    "StatusListSummary",
    "status_list_summary",
]

STATUS_OF_STATE = {"active": VALID, "suspended": SUSPENDED, "revoked": INVALID}
_NOT_VALID_STATES = ("suspended", "revoked")
_MAX_LIST_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class PublishedToken:
    """A signed Status List Token as served at `uri`."""

    list_id: int
    uri: str
    token: str
    etag: str
    version: int
    ttl: int


@dataclass(slots=True)
class RebuildReport:
    republished: int = 0
    repaired: int = 0
    """Lists whose stored token disagreed with the committed credential states."""


def _etag(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()[:32]


class StatusListPublisher:
    """Builds, signs and stores status list tokens; one per process, shared by all requests.

    Methods take the caller's session and never commit; keys and clock are passed per call.
    """

    def __init__(self, config: IssuerConfig) -> None:
        self.config = config
        self._cache: dict[int, tuple[str, PackedStatusList]] = {}
        self._lock = threading.Lock()

    # -- building ---------------------------------------------------------------------------

    def derive(self, session: Session, record: StatusListRecord) -> PackedStatusList:
        """The list as the credentials' states in this session say (committed + own changes)."""
        rows = session.execute(
            select(Credential.status_idx, Credential.state).where(
                Credential.status_list_id == record.id, Credential.state.in_(_NOT_VALID_STATES)
            )
        ).all()
        return PackedStatusList.build(
            record.size, record.bits, ((idx, STATUS_OF_STATE[state]) for idx, state in rows)
        )

    def _packed(self, session: Session, record: StatusListRecord) -> PackedStatusList:
        with self._lock:
            cached = self._cache.get(record.id)
        if cached is not None and record.etag is not None and cached[0] == record.etag:
            return cached[1].copy()
        return self.derive(session, record)

    def _lock_list(self, session: Session, list_id: int) -> StatusListRecord | None:
        """The list row, locked against other publishers (not against issuance's FK checks)."""
        return session.scalar(
            select(StatusListRecord)
            .where(StatusListRecord.id == list_id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )

    def _sign(
        self,
        session: Session,
        record: StatusListRecord,
        packed: PackedStatusList,
        keyring: IssuerKeyring,
        now: datetime,
    ) -> None:
        signer = keyring.signing_key(now.timestamp())
        iat = int(now.timestamp())
        exp = iat + self.config.status_list_token_lifetime_s
        payload = {
            "iss": self.config.base_url,
            "sub": record.uri,
            "iat": iat,
            "exp": exp,
            "ttl": self.config.status_list_ttl_s,
            "status_list": {
                **packed.to_json(),
                "aggregation_uri": self.config.status_list_aggregation_uri,
            },
        }
        token = sign_compact(payload, signer.key, typ=STATUS_LIST_TYP, headers={"kid": signer.kid})
        record.token, record.etag, record.token_version = token, _etag(token), record.version
        record.token_kid = signer.kid
        record.token_iat = now
        record.token_exp = now + timedelta(seconds=self.config.status_list_token_lifetime_s)
        record.feed_seq = next_feed_seq(session)
        session.flush()
        with self._lock:
            self._cache[record.id] = (record.etag, packed)

    # -- status changes ---------------------------------------------------------------------

    def record_changes(
        self,
        session: Session,
        changes: Iterable[tuple[int, int, str]],
        *,
        keyring: IssuerKeyring,
        now: datetime,
    ) -> tuple[int, ...]:
        """Publish (list id, index, new credential state) changes; returns the lists touched.

        Call after updating the credentials' `state`; lists are locked in id order (no
        deadlock between two multi-list changes) and each gets one new token.
        """
        by_list: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for list_id, idx, state in changes:
            by_list[list_id].append((idx, STATUS_OF_STATE[state]))
        for list_id in sorted(by_list):
            record = self._lock_list(session, list_id)
            if record is None:  # pragma: no cover - credentials reference existing lists
                raise LifecycleError(IssuerCode.status_list_not_found, "list vanished")
            packed = self._packed(session, record)
            for idx, value in by_list[list_id]:
                packed.set(idx, value)
            record.version += 1
            self._sign(session, record, packed, keyring, now)
        return tuple(sorted(by_list))

    # -- serving ----------------------------------------------------------------------------

    def _stale(self, record: StatusListRecord, keyring: IssuerKeyring, now: datetime) -> bool:
        if record.token is None or record.token_version != record.version:
            return True
        if record.token_exp is None or record.token_iat is None:
            return True
        half = (record.token_exp - record.token_iat) / 2
        if now >= record.token_iat + half or now < record.token_iat:
            return True
        published = {k.kid for k in keyring.published(now.timestamp())}
        return record.token_kid not in published

    def token(
        self, session: Session, list_id: int, *, keyring: IssuerKeyring, now: datetime
    ) -> PublishedToken:
        """The current token of a list, re-signed first if it lags the committed states, is
        past half its lifetime, or was signed by a key no longer published."""
        if not 0 < list_id <= _MAX_LIST_ID:
            raise LifecycleError(IssuerCode.status_list_not_found, "no such status list")
        record = session.get(StatusListRecord, list_id)
        if record is None:
            raise LifecycleError(IssuerCode.status_list_not_found, "no such status list")
        if self._stale(record, keyring, now):
            record = self._lock_list(session, list_id)
            assert record is not None
            if self._stale(record, keyring, now):
                self._sign(session, record, self.derive(session, record), keyring, now)
        assert record.token is not None and record.etag is not None
        return PublishedToken(
            record.id,
            record.uri,
            record.token,
            record.etag,
            record.token_version,
            self.config.status_list_ttl_s,
        )

    def rebuild(
        self,
        session: Session,
        *,
        keyring: IssuerKeyring,
        now: datetime,
        only_signed_by: str | None = None,
    ) -> RebuildReport:
        """Check every list (or those signed by one key) against the committed states and
        re-sign where the token lags, disagrees or is due; run at start and after key changes."""
        report = RebuildReport()
        query = select(StatusListRecord.id).order_by(StatusListRecord.id)
        if only_signed_by is not None:
            query = query.where(StatusListRecord.token_kid == only_signed_by)
        for list_id in session.scalars(query).all():
            record = self._lock_list(session, list_id)
            assert record is not None
            packed = self.derive(session, record)
            signed = _token_payload(record)
            agrees = _list_bytes(signed) == packed.to_bytes()
            if not agrees and record.token is not None:
                report.repaired += 1
                record.version += 1
            if (
                not agrees
                or not self._as_configured(signed)
                or self._stale(record, keyring, now)
                or only_signed_by is not None
            ):
                self._sign(session, record, packed, keyring, now)
                report.republished += 1
            else:
                with self._lock:
                    self._cache[record.id] = (record.etag or "", packed)
        return report

    def _as_configured(self, signed: dict[str, Any] | None) -> bool:
        """Whether a token's `ttl` and lifetime are what this issuer's settings say now."""
        if signed is None:
            return False
        iat, exp = signed.get("iat"), signed.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int):
            return False
        return (signed.get("ttl"), exp - iat) == (
            self.config.status_list_ttl_s,
            self.config.status_list_token_lifetime_s,
        )

    def statuses(self, session: Session, list_id: int, idxs: Sequence[int]) -> list[int]:
        """Statuses at `idxs` as the stored token says (for operators and tests)."""
        record = session.get(StatusListRecord, list_id)
        if record is None or record.token is None:
            raise LifecycleError(IssuerCode.status_list_not_found, "no published status list")
        data = _list_bytes(_token_payload(record))
        assert data is not None
        status_list = StatusList(record.size, record.bits, data)
        return [status_list.get(i) for i in idxs]


def _token_payload(record: StatusListRecord) -> dict[str, Any] | None:
    """The stored token's claims (unverified: we signed it), or None."""
    if record.token is None:
        return None
    try:
        return decode_unverified(record.token, max_bytes=MAX_STATUS_LIST_TOKEN_BYTES)[1]
    except VCError:
        return None


def _list_bytes(payload: dict[str, Any] | None) -> bytes | None:
    """The packed bytes inside a token's claims, or None."""
    if payload is None:
        return None
    try:
        body = payload["status_list"]
        return StatusList.decode(body["lst"], body["bits"]).to_bytes()
    except (VCError, KeyError, TypeError):
        return None


@dataclass(frozen=True, slots=True)
class StatusListSummary:
    list_id: int
    uri: str
    size: int
    used: int
    revoked: int
    suspended: int
    version: int
    kid: str | None
    signed_at: datetime | None


def published_list_uris(session: Session) -> list[str]:
    """Every status list's URI, oldest first (Token Status List aggregation)."""
    return list(session.scalars(select(StatusListRecord.uri).order_by(StatusListRecord.id)))


def status_list_summary(session: Session) -> list[StatusListSummary]:
    """Each list with its use and its published token's version, key and time (operators)."""
    counts: dict[tuple[int, str], int] = {
        (lid, state): n
        for lid, state, n in session.execute(
            select(Credential.status_list_id, Credential.state, func.count()).group_by(
                Credential.status_list_id, Credential.state
            )
        ).all()
    }
    out = []
    for r in session.scalars(select(StatusListRecord).order_by(StatusListRecord.id)):
        used = sum(n for (lid, _), n in counts.items() if lid == r.id)
        out.append(
            StatusListSummary(
                r.id,
                r.uri,
                r.size,
                used,
                counts.get((r.id, "revoked"), 0),
                counts.get((r.id, "suspended"), 0),
                r.token_version,
                r.token_kid,
                r.token_iat,
            )
        )
    return out
