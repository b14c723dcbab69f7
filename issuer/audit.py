"""The append-only audit log of HR actions and issuance events, chained under a key the database
does not hold.

Each entry's `hash` is HMAC-SHA256, under a key derived (HKDF, its own purpose) from the
deployment secret MOBILEID_SECRET_KEY, over the previous entry's hash and the entry's canonical
JSON. Changing, removing or reordering an entry breaks every later link (`verify_audit_chain`),
and whoever can write the database but lacks the secret cannot recompute the links after an
entry they rewrote, as anyone could for a plain hash chain. The head lives in one row that each
append locks, which serializes appends across processes; it also keeps a check value of the key,
so verifying under another secret says so (`AuditKeyMismatch`) rather than "tampered". Secrets
(tx_codes, pre-authorized codes, tokens, credentials) are never recorded.

Chains of an earlier release (before migration 0006) are plain SHA-256 (`hash_alg` "sha256";
keyed entries say "hmac-sha256"). Why they cannot be used to rewrite the keyed part:
- A keyed entry's MAC covers its `prev_hash`, so the first keyed entry commits to the legacy
  head: a rewritten legacy entry breaks that MAC unless every later entry is rewritten too, and
  without the key those can only be written as legacy entries.
- So the one rewrite left is "it was all legacy". Verification accepts legacy entries only as
  the chain's prefix (never after a keyed one) and only with a keyed seal entry
  (`audit.legacy_sealed`) naming exactly that prefix, its length and head hash. A chain whose
  keyed entries were turned into legacy ones has no valid seal and fails.
- Nothing in the database tells a rewritten chain from a genuine one of the earlier release, so
  no start writes the seal by itself (it would seal a forgery as readily): an operator seals
  once after upgrading, `mobileid audit seal-legacy --head <hash>`, naming the head that the
  earlier release's `mobileid audit verify` printed. Until then verification reports the prefix
  as unsealed.
Not covered: cutting entries off the end and moving the head back to the last one kept leaves a
valid chain; only a head kept outside the database (the line `audit verify` prints) shows that.

The key travels with the unit of work (`bind_audit_key` on the session factory, as the runtime
does): every writer of a deployment appends under the same key without each service function
passing it, and a session without one cannot append at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from issuer.errors import AuditChainBroken, AuditKeyMismatch, AuditSealRefused
from issuer.models import AuditEntry, AuditHead

__all__ = [
    "GENESIS_HASH",
    "KEYED_HASH_ALG",
    "LEGACY_HASH_ALG",
    "LEGACY_SEAL_ACTION",
    "AuditEvent",
    "AuditKey",
    "AuditSummary",
    "append_audit",
    "append_audits",
    "bind_audit_key",
    "entry_hash",
    "iter_audit",
    "seal_legacy_chain",
    "search_audit",
    "verify_audit_chain",
]

GENESIS_HASH = "0" * 64
KEYED_HASH_ALG = "hmac-sha256"
LEGACY_HASH_ALG = "sha256"
LEGACY_SEAL_ACTION = "audit.legacy_sealed"
_MIN_HEAD_PREFIX = 16  # what an earlier release's `audit verify` printed of its head
_SESSION_KEY = "issuer.audit.key"
_FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "tx_code",
        "pre-authorized_code",
        "pre_authorized_code",
        "code",
        "token",
        "access_token",
        "credential",
        "secret",
        "offer_ref",
        "c_nonce",
    }
)
DetailValue = str | int | bool | None

# The chain head's two statements, built once: every issuance appends twice, and building them
# per append costs about a tenth of a flow's CPU (bench.issuance, >= 100 flows/s on SQLite).
_LOCK_HEAD = (
    select(AuditHead.seq, AuditHead.hash, AuditHead.key_check)
    .where(AuditHead.id == 1)
    .with_for_update()
)
_MOVE_HEAD = update(AuditHead).where(AuditHead.id == 1)


class AuditKey:
    """The chain's MAC key, derived from the deployment secret; never stored anywhere."""

    __slots__ = ("_key", "check")

    def __init__(self, secret: bytes) -> None:
        self._key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"mobileid audit v1", info=b"audit chain"
        ).derive(secret)
        self.check = self.mac(b"key check")[:16]
        """Names the key in the head row without revealing it (a MAC of a constant)."""

    def mac(self, message: bytes) -> str:
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def bind_audit_key(sessions: sessionmaker[Session], key: AuditKey) -> None:
    """Every session `sessions` makes appends and verifies under `key`."""
    sessions.configure(info={**sessions.kw.get("info", {}), _SESSION_KEY: key})


def _key_of(session: Session) -> AuditKey:
    key = session.info.get(_SESSION_KEY)
    if not isinstance(key, AuditKey):
        raise RuntimeError("this session has no audit key (issuer.audit.bind_audit_key)")
    return key


@dataclass(frozen=True, slots=True)
class AuditSummary:
    entries: int
    head_hash: str
    legacy_entries: int = 0
    """Plain SHA-256 entries of an earlier release at the start, sealed under the key."""


def _canonical_time(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


def entry_hash(
    prev_hash: str,
    *,
    seq: int,
    at: datetime,
    actor: str,
    role: str,
    action: str,
    subject: str,
    detail: str,
    key: AuditKey | None,
) -> str:
    """The chained hash of one entry: HMAC under `key`, or plain SHA-256 (legacy) without."""
    body = json.dumps(
        [prev_hash, seq, _canonical_time(at), actor, role, action, subject, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")
    return key.mac(body) if key is not None else hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One entry to append: who did what to whom (`append_audits`)."""

    actor: str
    role: str
    action: str
    subject: str
    detail: Mapping[str, DetailValue] | None = None


def append_audit(
    session: Session,
    *,
    actor: str,
    role: str,
    action: str,
    subject: str,
    now: datetime,
    detail: Mapping[str, DetailValue] | None = None,
) -> tuple[int, str]:
    """Append one keyed entry and return (seq, hash).

    Call it last in a transaction: it locks the chain head until commit, which serializes
    appends (and so the writers that audit) across processes. A process whose secret is not the
    chain's refuses (`AuditKeyMismatch`) rather than write links nobody can verify.
    """
    return append_audits(session, [AuditEvent(actor, role, action, subject, detail)], now=now)


def append_audits(
    session: Session, events: Sequence[AuditEvent], *, now: datetime
) -> tuple[int, str]:
    """Append keyed entries in order under one lock of the head, as `append_audit` does one
    (a mass action's batch: one round trip for all, not three per entry); returns the last
    (seq, hash)."""
    key = _key_of(session)
    for event in events:
        leaked = _FORBIDDEN_DETAIL_KEYS.intersection(event.detail or {})
        if leaked:
            raise ValueError(f"audit detail must not carry secrets: {sorted(leaked)}")
        if (
            len(event.actor) > 100
            or len(event.role) > 20
            or len(event.action) > 50
            or len(event.subject) > 100
        ):
            raise ValueError("audit fields exceed their column sizes")
    session.flush()  # pending ORM changes first, so the head lock is the last lock taken
    connection = session.connection()  # see `issuer.models` on writes
    seq, digest, key_check = connection.execute(_LOCK_HEAD).one()
    if key_check is not None and not hmac.compare_digest(key_check, key.check):
        raise AuditKeyMismatch()
    at = now.astimezone(UTC)
    rows = []
    for event in events:
        prev_hash, seq = digest, seq + 1
        detail_json = json.dumps(
            dict(event.detail or {}), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        digest = entry_hash(
            prev_hash,
            seq=seq,
            at=at,
            actor=event.actor,
            role=event.role,
            action=event.action,
            subject=event.subject,
            detail=detail_json,
            key=key,
        )
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": event.actor,
                "role": event.role,
                "action": event.action,
                "subject": event.subject,
                "detail": detail_json,
                "prev_hash": prev_hash,
                "hash": digest,
                "hash_alg": KEYED_HASH_ALG,
            }
        )
    if rows:
        connection.execute(insert(AuditEntry), rows)
        connection.execute(_MOVE_HEAD, {"seq": seq, "hash": digest, "key_check": key.check})
    return seq, digest


def iter_audit(session: Session, *, after: int = 0, batch: int = 1000) -> Iterator[AuditEntry]:
    """Entries in chain order, read in batches."""
    last = after
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def search_audit(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    subject: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Sequence[AuditEntry]:
    """Entries newest first, before sequence number `before` (the next page), matching the
    given actor, action (exactly, or every action under a prefix ending in "."), and
    subject exactly (`employee:<number>`)."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(max(1, min(limit, 500)))
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(
            AuditEntry.action.startswith(action, autoescape=True)
            if action.endswith(".")
            else AuditEntry.action == action
        )
    if subject:
        query = query.where(AuditEntry.subject == subject)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    return session.scalars(query).all()


def _recomputed(entry: AuditEntry, prev: str, key: AuditKey | None) -> str:
    return entry_hash(
        prev,
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        role=entry.role,
        action=entry.action,
        subject=entry.subject,
        detail=entry.detail,
        key=key,
    )


def _sealed_prefix(entry: AuditEntry) -> tuple[int, str] | None:
    """(length, head hash) of the legacy prefix a keyed seal entry names."""
    try:
        detail = json.loads(entry.detail)
        return int(detail["legacy_entries"]), str(detail["legacy_head"])
    except (ValueError, TypeError, KeyError):
        return None


def verify_audit_chain(session: Session, key: AuditKey | None = None) -> AuditSummary:
    """Recompute every link under `key` (default: the session's); raise `AuditKeyMismatch` when
    the chain is under another key, `AuditChainBroken` at the first entry that does not verify.
    """
    key = key or _key_of(session)
    head = session.get(AuditHead, 1)
    check = head.key_check if head is not None else None
    if check is not None and not hmac.compare_digest(check, key.check):
        raise AuditKeyMismatch()
    prev, count, keyed_seen = GENESIS_HASH, 0, False
    legacy: tuple[int, str] | None = None  # length and head of the unkeyed prefix
    seals: set[tuple[int, str] | None] = set()
    for entry in iter_audit(session):
        if entry.seq != count + 1:
            raise AuditChainBroken(count + 1, "entry missing")
        if entry.prev_hash != prev:
            raise AuditChainBroken(entry.seq, "previous-hash link broken")
        if entry.hash_alg == LEGACY_HASH_ALG and keyed_seen:
            raise AuditChainBroken(entry.seq, "an unkeyed entry after keyed ones (rewritten?)")
        if entry.hash_alg not in (LEGACY_HASH_ALG, KEYED_HASH_ALG):
            raise AuditChainBroken(entry.seq, "unknown hash algorithm")
        keyed = entry.hash_alg == KEYED_HASH_ALG
        if not hmac.compare_digest(_recomputed(entry, prev, key if keyed else None), entry.hash):
            raise AuditChainBroken(entry.seq, "entry content changed")
        if keyed and entry.action == LEGACY_SEAL_ACTION:
            seals.add(_sealed_prefix(entry))
        prev, count, keyed_seen = entry.hash, count + 1, keyed_seen or keyed
        if not keyed:
            legacy = (count, prev)
    if head is None or head.seq != count or head.hash != prev:
        raise AuditChainBroken(count + 1, "chain head does not match the last entry (truncated?)")
    if legacy is not None and legacy not in seals:
        raise AuditChainBroken(
            1,
            f"entries 1-{legacy[0]} are unkeyed and no keyed seal names them: after an upgrade "
            "from a release before keyed audit run `mobileid audit seal-legacy` once; otherwise "
            "the database was rewritten without the key",
        )
    return AuditSummary(count, prev, legacy[0] if legacy else 0)


def seal_legacy_chain(
    session: Session, *, expected_head: str, actor: str, role: str, now: datetime
) -> AuditSummary:
    """Seal the unkeyed prefix of a chain from an earlier release, once, under the key.

    `expected_head` (at least 16 hex characters) is the head the earlier release reported: the
    operator vouches for the prefix as it stood then, which no check inside the database can.
    """
    prev, count = GENESIS_HASH, 0
    for entry in iter_audit(session):
        if entry.hash_alg != LEGACY_HASH_ALG:
            break
        if entry.seq != count + 1 or entry.prev_hash != prev:
            raise AuditChainBroken(count + 1, "unkeyed prefix: entry missing or link broken")
        if not hmac.compare_digest(_recomputed(entry, prev, None), entry.hash):
            raise AuditChainBroken(entry.seq, "unkeyed prefix: entry content changed")
        prev, count = entry.hash, count + 1
    if count == 0:
        raise AuditSealRefused("no unkeyed entries: nothing to seal")
    already = session.scalar(
        select(AuditEntry.seq).where(
            AuditEntry.action == LEGACY_SEAL_ACTION, AuditEntry.hash_alg == KEYED_HASH_ALG
        )
    )
    if already is not None:
        raise AuditSealRefused(f"the unkeyed entries were sealed already (seq {already})")
    wanted = expected_head.strip().lower()
    if len(wanted) < _MIN_HEAD_PREFIX or not prev.startswith(wanted):
        raise AuditSealRefused(
            f"the unkeyed entries end at seq {count} with head {prev[:_MIN_HEAD_PREFIX]}…, not "
            f"{wanted[:_MIN_HEAD_PREFIX] or '(none)'}: compare with what the earlier release's "
            "`audit verify` printed before sealing"
        )
    append_audit(
        session,
        actor=actor,
        role=role,
        action=LEGACY_SEAL_ACTION,
        subject=f"audit:1-{count}",
        now=now,
        detail={"legacy_entries": count, "legacy_head": prev},
    )
    return AuditSummary(entries=count, head_hash=prev, legacy_entries=count)
