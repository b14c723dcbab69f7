"""The issuer's signing keys: one key set per deployment, in the database, private halves sealed.

Every process on one database (several `mobileid serve`, the CLI) signs with the keys in
`issuer_signing_keys`. Each private JWK is sealed (`vc.sealing`: AES-256-GCM bound to its kid)
under a key derived from MOBILEID_SECRET_KEY, which is never in the database: a copy of the
database opens no key, and a process given another secret refuses to start instead of making
keys of its own. The highest-numbered key that is neither retired nor waiting for its
`activates_at` signs; after a rotation the previous key stays published until `publish_until`
(every credential it signed has expired); a compromised key is retired (never published or used
again). Functions here take the caller's session and never commit; `issuer.keys.store` keeps the
keys a running process signs with.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer.errors import IssuerCode, KeyStoreError, LifecycleError
from issuer.models import SigningKeyRecord
from vc.errors import KeyMaterialError, VCError
from vc.keys import PrivateKey, generate_private_key, private_key_from_jwk
from vc.sealing import SealingKey

__all__ = [
    "SEALED_ELSEWHERE",
    "IssuerKeyring",
    "KeyVersions",
    "SigningKey",
    "add_signing_key",
    "insert_signing_key",
    "key_versions",
    "load_keyring",
    "new_signing_key",
    "retire_signing_key",
    "set_publish_until",
    "signing_key_sealer",
]

SEALING_PURPOSE = "issuer signing key"
SEALED_ELSEWHERE = (
    "the signing keys in the database were sealed with another MOBILEID_SECRET_KEY: "
    "give every process of this deployment the same secret"
)
KeyVersions = tuple[tuple[Any, ...], ...]


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    alg: str
    key: PrivateKey
    created_at: int
    publish_until: int | None = None
    retired_at: int | None = None
    retired_reason: str | None = None
    activates_at: int | None = None

    def published(self, now: float) -> bool:
        """In the JWKS: not retired, and not past `publish_until` (set when it stopped signing)."""
        if self.retired_at is not None:
            return False
        return self.publish_until is None or now < self.publish_until

    def public_jwk(self) -> dict[str, str]:
        jwk = self.key.public_key.to_jwk()
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}


@dataclass(frozen=True, slots=True)
class IssuerKeyring:
    """All keys, oldest first; the newest one that is not retired signs."""

    keys: tuple[SigningKey, ...]

    @property
    def active(self) -> SigningKey:
        """The signing key now (wall clock); services pass their clock to `signing_key`."""
        return self.signing_key(time.time())

    def signing_key(self, now: float) -> SigningKey:
        """The newest key that is neither retired nor still waiting for its `activates_at`."""
        for key in reversed(self.keys):
            if key.retired_at is None and (key.activates_at is None or key.activates_at <= now):
                return key
        raise KeyStoreError("every signing key is retired; run `mobileid issuer rotate-key`")

    def get(self, kid: str) -> SigningKey | None:
        return next((k for k in self.keys if k.kid == kid), None)

    def published(self, now: float | None = None) -> tuple[SigningKey, ...]:
        """The keys verifiers may trust at `now`: the active one and unexpired earlier ones."""
        at = time.time() if now is None else now
        active = self.signing_key(at)
        return tuple(k for k in self.keys if k is active or k.published(at))

    def jwks(self, now: float | None = None) -> dict[str, Any]:
        return {"keys": [k.public_jwk() for k in self.published(now)]}


def signing_key_sealer(secret: bytes) -> SealingKey:
    """The box key for signing keys, derived from the deployment secret."""
    try:
        return SealingKey(secret, SEALING_PURPOSE)
    except KeyMaterialError as exc:
        raise KeyStoreError(
            "MOBILEID_SECRET_KEY is too short to seal the signing keys with; "
            "set a random secret of 32 or more characters"
        ) from exc


def _epoch(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _moment(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _private_jwk(record: SigningKeyRecord, sealer: SealingKey) -> bytes | None:
    """The opened private JWK, or None when this secret does not open it."""
    try:
        return sealer.open(record.sealed_private_jwk, record.kid)
    except KeyMaterialError:
        return None


def _signing_key(record: SigningKeyRecord, opened: bytes) -> SigningKey:
    try:
        key = private_key_from_jwk(json.loads(opened))
    except (ValueError, TypeError, VCError) as exc:
        raise KeyStoreError(f"signing key {record.number} in the database is not usable") from exc
    if key.public_key.thumbprint() != record.kid or record.alg not in key.public_key.algorithms:
        raise KeyStoreError(f"signing key {record.number} in the database does not fit its kid")
    return SigningKey(
        kid=record.kid,
        alg=record.alg,
        key=key,
        created_at=int(record.created_at.timestamp()),
        publish_until=_epoch(record.publish_until),
        retired_at=_epoch(record.retired_at),
        retired_reason=record.retired_reason,
        activates_at=_epoch(record.activates_at),
    )


def load_keyring(session: Session, sealer: SealingKey) -> IssuerKeyring | None:
    """Every key in the table opened with `sealer`, or None when there is none yet.

    A secret that opens none of them is another deployment's secret (`SEALED_ELSEWHERE`); one that
    opens some but not all means a row was altered or copied in from elsewhere.
    """
    records = session.scalars(select(SigningKeyRecord).order_by(SigningKeyRecord.number)).all()
    if not records:
        return None
    opened = [(record, _private_jwk(record, sealer)) for record in records]
    closed = [record for record, jwk in opened if jwk is None]
    if len(closed) == len(records):
        raise KeyStoreError(SEALED_ELSEWHERE)
    if closed:
        raise KeyStoreError(
            f"signing key {closed[0].number} in the database does not open although the others "
            "do: its row was altered or copied from another deployment"
        )
    return IssuerKeyring(
        tuple(_signing_key(record, jwk) for record, jwk in opened if jwk is not None)
    )


def key_versions(session: Session) -> KeyVersions:
    """What changes when a key is added, rotated away or retired: one small query, no opening."""
    rows = session.execute(
        select(
            SigningKeyRecord.number,
            SigningKeyRecord.kid,
            SigningKeyRecord.activates_at,
            SigningKeyRecord.publish_until,
            SigningKeyRecord.retired_at,
        ).order_by(SigningKeyRecord.number)
    ).all()
    return tuple(tuple(row) for row in rows)


def insert_signing_key(session: Session, sealer: SealingKey, key: SigningKey, number: int) -> None:
    """Store `key` as number `number`, its private JWK sealed; a taken number or kid raises
    `IntegrityError` (two processes racing: exactly one wins)."""
    private = json.dumps(key.key.to_jwk(private=True)).encode("utf-8")
    session.add(
        SigningKeyRecord(
            number=number,
            kid=key.kid,
            alg=key.alg,
            public_jwk=json.dumps(key.key.public_key.to_jwk(), sort_keys=True),
            sealed_private_jwk=sealer.seal(private, key.kid),
            created_at=_moment(key.created_at),
            activates_at=_moment(key.activates_at),
            publish_until=_moment(key.publish_until),
            retired_at=_moment(key.retired_at),
            retired_reason=key.retired_reason,
        )
    )
    session.flush()


def new_signing_key(alg: str, now: datetime, activates_at: datetime | None = None) -> SigningKey:
    """A freshly generated key (not stored yet); its kid is the JWK thumbprint."""
    private = generate_private_key(alg)
    return SigningKey(
        kid=private.public_key.thumbprint(),
        alg=private.default_alg,
        key=private,
        created_at=int(now.timestamp()),
        activates_at=_epoch(activates_at),
    )


def add_signing_key(
    session: Session,
    sealer: SealingKey,
    alg: str,
    now: datetime,
    activates_at: datetime | None = None,
) -> SigningKey:
    """Generate a key and store it as the next number (the newest: it signs, or will from
    `activates_at`, and is published at once)."""
    key = new_signing_key(alg, now, activates_at)
    number = (session.scalar(select(func.max(SigningKeyRecord.number))) or 0) + 1
    try:
        insert_signing_key(session, sealer, key, number)
    except IntegrityError as exc:
        raise KeyStoreError(
            "another process added a signing key at the same moment; run the command again"
        ) from exc
    return key


def _record(session: Session, kid: str) -> SigningKeyRecord:
    record = session.scalar(
        select(SigningKeyRecord).where(SigningKeyRecord.kid == kid).with_for_update()
    )
    if record is None:
        raise LifecycleError(IssuerCode.signing_key_not_found, "no key with that kid")
    return record


def set_publish_until(session: Session, kid: str, until: datetime) -> None:
    """Keep `kid` in the JWKS until `until` only (it has stopped signing)."""
    _record(session, kid).publish_until = until
    session.flush()


def retire_signing_key(session: Session, kid: str, at: datetime, reason: str) -> None:
    """Never publish or use `kid` again."""
    record = _record(session, kid)
    record.retired_at, record.retired_reason = at, reason[:30]
    session.flush()
