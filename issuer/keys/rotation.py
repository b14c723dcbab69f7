"""Issuer key rotation and key compromise (`mobileid issuer rotate-key [--compromised KID]`).

Rotation: a new key is stored in the database (sealed, `issuer.keys.signing`), which puts it in
the published JWKS and makes it the signing key for the next issuance (running servers follow the
table within about a second, `issuer.keys.store`). The previous key stops signing but stays
published until every credential it signed has expired (`publish_until`, plus a day of margin for
clock skew and a request in flight during the rotation). Key, previous key and audit entry change
in one transaction.

Compromise: the key is retired at once (never published or used again; a fresh key is made first
when it was the signing key), every live credential it signed is revoked (`key_compromise`) in
batches, holders whose credential was active get a reissue offer, and status list tokens it
signed are re-signed with the new key.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from issuer.api_tokens import Principal
from issuer.audit import append_audit
from issuer.config import IssuerConfig
from issuer.errors import IssuerCode, KeyStoreError, LifecycleError
from issuer.keys.signing import (
    IssuerKeyring,
    SigningKey,
    add_signing_key,
    load_keyring,
    retire_signing_key,
    set_publish_until,
)
from issuer.keys.store import KeyStore
from issuer.lifecycle.mass_actions import MassResult, MassScope, plan_mass_action, run_mass_action
from issuer.models import Credential
from issuer.status.publication import StatusListPublisher
from schemas.lifecycle_api import MASS_ACTION_BATCH_SIZE
from vc.sealing import SealingKey

__all__ = ["CompromiseResult", "RotationResult", "retire_compromised_key", "rotate_signing_key"]

PUBLISH_MARGIN = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class RotationResult:
    new: SigningKey
    previous: SigningKey | None
    previous_published_until: datetime | None
    activates_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CompromiseResult:
    kid: str
    new: SigningKey | None
    revoked: MassResult
    lists_resigned: int


def _ring(session: Session, sealer: SealingKey) -> IssuerKeyring:
    ring = load_keyring(session, sealer)
    if ring is None:
        raise KeyStoreError("no signing key in the database")
    return ring


def _last_expiry(session: Session, kid: str, now: datetime) -> datetime:
    latest = session.scalar(select(func.max(Credential.expires_at)).where(Credential.kid == kid))
    return max(latest or now, now)


def rotate_signing_key(
    session: Session,
    sealer: SealingKey,
    *,
    alg: str,
    actor: str,
    now: datetime,
    activate_after: timedelta = timedelta(0),
    credential_lifetime: timedelta = timedelta(0),
) -> RotationResult:
    """Add a new signing key; keep the previous one published while its credentials live.

    With `activate_after`, the new key is only published for that long (verifiers that cache
    the JWKS pick it up) and the previous one signs until then, so it stays published until
    a credential issued at the switch would expire (`credential_lifetime`)."""
    previous = _ring(session, sealer).signing_key(now.timestamp())
    activates = now + activate_after if activate_after > timedelta(0) else None
    new = add_signing_key(session, sealer, alg, now, activates_at=activates)
    last = _last_expiry(session, previous.kid, now)
    if activates is not None:
        last = max(last, activates + credential_lifetime)
    until = last + PUBLISH_MARGIN
    set_publish_until(session, previous.kid, until)
    append_audit(
        session,
        actor=actor,
        role="hr_admin",
        action="issuer.rotate_key",
        subject=f"kid:{new.kid}"[:100],
        now=now,
        detail={
            "previous_kid": previous.kid,
            "alg": new.alg,
            "activates_at": activates.isoformat() if activates else None,
            "previous_published_until": until.isoformat(),
        },
    )
    return RotationResult(new, previous, until, activates)


def retire_compromised_key(
    kid: str,
    *,
    principal: Principal,
    alg: str,
    keys: KeyStore,
    unit_of_work: Callable[[], AbstractContextManager[Session]],
    publisher: StatusListPublisher,
    clock: Callable[[], datetime],
    config: IssuerConfig,
    batch_size: int = MASS_ACTION_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> CompromiseResult:
    """Retire `kid` now, revoke what it signed (batches), queue reissue offers, re-sign lists.

    The retirement, the replacement key and the audit entry commit together, and this process
    signs with the new keys from then on (`keys` is refreshed before anything is revoked)."""
    now = clock()
    with unit_of_work() as session:
        ring = _ring(session, keys.sealer)
        key = ring.get(kid)
        if key is None:
            raise LifecycleError(IssuerCode.signing_key_not_found, "no key with that kid")
        new = None
        if key.retired_at is None and key is ring.signing_key(now.timestamp()):
            new = add_signing_key(session, keys.sealer, alg, now)
        if key.retired_at is None:
            retire_signing_key(session, kid, now, "compromised")
        append_audit(
            session,
            actor=principal.actor,
            role=principal.role.value,
            action="issuer.retire_key",
            subject=f"kid:{kid}"[:100],
            now=now,
            detail={"reason": "compromised", "new_kid": new.kid if new else None},
        )
        plan = plan_mass_action(
            session,
            principal,
            MassScope.parse(kid=kid),
            action="revoke",
            reason="key_compromise",
            reoffer=True,
        )
    keys.refresh()
    revoked = run_mass_action(
        plan,
        unit_of_work=unit_of_work,
        publisher=publisher,
        keyring=keys.current,
        clock=clock,
        batch_size=batch_size,
        config=config,
        progress=progress,
    )
    with unit_of_work() as session:
        report = publisher.rebuild(session, keyring=keys.current(), now=clock(), only_signed_by=kid)
    return CompromiseResult(kid, new, revoked, report.republished)
