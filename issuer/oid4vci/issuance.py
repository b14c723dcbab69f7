"""Nonce, Credential and Notification endpoints' rules (OpenID4VCI 1.0 §7, §8, §11).

The credential request is checked in the spec's order: access token (RFC 6750) -> request shape
-> configuration -> proof JWT (typ, alg allow-list, signature by the header key, aud, iat) ->
c_nonce single use -> issue. Issuing revokes the employee's previous live credential in the same
transaction ("one phone") and records the new credential at a random status list slot.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from issuer.audit import append_audit
from issuer.config import IssuerConfig
from issuer.errors import IssuerCode, ProtocolError
from issuer.hashing import Random, new_secret, sha256_hex
from issuer.keys.signing import IssuerKeyring
from issuer.lifecycle.state_changes import LOST_PHONE_SUSPENSION
from issuer.models import (
    LIVE_CREDENTIAL_STATES,
    AccessToken,
    Application,
    Credential,
    Employee,
    Nonce,
    Offer,
)
from issuer.oid4vci.dpop_binding import NO_PROOF, DpopCheck, check_token_use
from issuer.status.publication import StatusListPublisher
from issuer.status.slots import allocate_status_slot
from schemas.employee_id import CONFIGURATION_ID, DISCLOSABLE
from vc.errors import VCError
from vc.keys import PublicKey
from vc.openid4vci import verify_proof_jwt
from vc.sd_jwt_vc import issue_sd_jwt_vc, status_reference

__all__ = ["employee_claims", "issue_credential", "new_c_nonce", "record_notification"]

KST = timezone(timedelta(hours=9))
NOTIFICATION_EVENTS = ("credential_accepted", "credential_failure", "credential_deleted")
_MAX_TOKEN_CHARS = 512
_PRUNE_EVERY = 16  # expired nonces are removed on about one nonce request in 16


def new_c_nonce(session: Session, *, config: IssuerConfig, now: datetime) -> str:
    """A fresh, unpredictable c_nonce (§7); expired ones are pruned on the way."""
    if secrets.randbelow(_PRUNE_EVERY) == 0:
        session.execute(delete(Nonce).where(Nonce.expires_at <= now))
    value = new_secret(24)
    expires_at = now + timedelta(seconds=config.c_nonce_lifetime_s)
    session.connection().execute(insert(Nonce), {"value": value, "expires_at": expires_at})
    return value


def _access_token(
    session: Session,
    authorization: str | None,
    now: datetime,
    *,
    dpop: DpopCheck,
    config: IssuerConfig,
) -> AccessToken:
    """The presented access token's row: `Bearer`, or `DPoP` with its key's proof, spent by this
    request beforehand (RFC 9449, `issuer.oid4vci.dpop_binding`)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token, scheme = token.strip(), scheme.lower()
    if scheme not in ("bearer", "dpop") or not token or len(token) > _MAX_TOKEN_CHARS:
        raise ProtocolError(IssuerCode.invalid_token, "Bearer or DPoP access token required")
    row = session.scalar(
        select(AccessToken).where(AccessToken.token_hash == sha256_hex(token)).with_for_update()
    )
    if row is None or row.expires_at <= now:
        raise ProtocolError(IssuerCode.invalid_token, "access token unknown or expired")
    check_token_use(dpop, bound_to=row.dpop_jkt, scheme=scheme, config=config)
    return row


def _proof_jwt(body: Mapping[str, Any]) -> str:
    if "proof" in body:
        raise ProtocolError(
            IssuerCode.invalid_credential_request,
            "use proofs (the singular proof was removed in OpenID4VCI 1.0)",
        )
    proofs = body.get("proofs")
    if proofs is None:
        raise ProtocolError(IssuerCode.invalid_proof, "proofs is required")
    if not isinstance(proofs, dict) or set(proofs) != {"jwt"}:
        raise ProtocolError(IssuerCode.invalid_proof, "proofs must hold exactly one jwt array")
    jwts = proofs["jwt"]
    if not isinstance(jwts, list) or not jwts or not all(isinstance(j, str) for j in jwts):
        raise ProtocolError(IssuerCode.invalid_proof, "proofs.jwt must be an array of JWTs")
    if len(jwts) != 1:
        raise ProtocolError(IssuerCode.invalid_credential_request, "batch issuance not supported")
    proof: str = jwts[0]
    return proof


def _check_request_shape(body: Any) -> None:
    if not isinstance(body, dict):
        raise ProtocolError(IssuerCode.invalid_credential_request, "body must be a JSON object")
    has_id, has_conf = "credential_identifier" in body, "credential_configuration_id" in body
    if has_id == has_conf:
        raise ProtocolError(
            IssuerCode.invalid_credential_request,
            "exactly one of credential_identifier, credential_configuration_id",
        )
    if has_id:
        raise ProtocolError(IssuerCode.unknown_credential_identifier, "no identifiers were issued")
    if body["credential_configuration_id"] != CONFIGURATION_ID:
        raise ProtocolError(IssuerCode.unknown_credential_configuration, "unknown configuration")
    if "credential_response_encryption" in body:
        raise ProtocolError(IssuerCode.invalid_encryption_parameters, "encryption not supported")


def _verify_proof(session: Session, proof: str, config: IssuerConfig, now: datetime) -> PublicKey:
    try:
        key, payload = verify_proof_jwt(
            proof,
            audience=config.base_url,
            algorithms=config.proof_algorithms,
            now=now.timestamp(),
            max_age=config.proof_max_age_s,
        )
    except VCError as exc:
        raise ProtocolError(IssuerCode.invalid_proof, f"proof rejected: {exc.code}") from exc
    nonce = payload.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise ProtocolError(IssuerCode.invalid_proof, "proof carries no c_nonce")
    used = session.connection().execute(  # see `issuer.models` on writes
        delete(Nonce).where(Nonce.value == nonce, Nonce.expires_at > now)
    )
    if used.rowcount != 1:
        raise ProtocolError(IssuerCode.invalid_nonce, "c_nonce unknown, used or expired")
    return key


def employee_claims(employee: Employee) -> dict[str, Any]:
    """The credential subject for an employee (schemas.employee_id.EmployeeIdClaims)."""
    claims: dict[str, Any] = {
        "employee_number": employee.employee_number,
        "name": employee.name,
        "agency": employee.agency,
        "agency_code": employee.agency_code,
        "department": employee.department,
        "position": employee.position,
        "grade": employee.grade,
        "employment_type": employee.employment_type,
        "active_public_servant_of": employee.agency_code,
        "opaque_id": employee.opaque_id,
    }
    if employee.name_en:
        claims["name_en"] = employee.name_en
    if employee.photo:
        claims["photo"] = employee.photo
    return claims


def _expiry(employee: Employee, config: IssuerConfig, now: datetime) -> datetime:
    exp = now + timedelta(seconds=config.credential_lifetime_s)
    if employee.retirement_date is not None:
        end = datetime.combine(employee.retirement_date + timedelta(days=1), time(), KST)
        exp = min(exp, end.astimezone(UTC))
    return exp


def issue_credential(
    session: Session,
    *,
    authorization: str | None,
    body: Any,
    config: IssuerConfig,
    keyring: IssuerKeyring,
    publisher: StatusListPublisher,
    now: datetime,
    dpop: DpopCheck = NO_PROOF,
    rng: Random = secrets.token_bytes,
) -> dict[str, Any]:
    """The Credential Endpoint (§8): returns `{"credentials": [...], "notification_id": ...}`.

    One phone: a live credential of the employee is revoked (`superseded`) and its status list
    republished in this transaction; a suspended one blocks issuance (suspension must not be
    side-stepped by a reissue), except one suspended for a lost phone, which the reissue the
    employee reported it with replaces.
    """
    token = _access_token(session, authorization, now, dpop=dpop, config=config)
    if token.credential_issued:
        raise ProtocolError(IssuerCode.invalid_token, "access token already used for a credential")
    _check_request_shape(body)
    holder_key = _verify_proof(session, _proof_jwt(body), config, now)
    employee = session.scalars(
        select(Employee).where(Employee.id == token.employee_id).with_for_update()
    ).one()
    exp = _expiry(employee, config, now)
    if employee.employment_status != "active" or exp <= now:
        raise ProtocolError(IssuerCode.credential_request_denied, "employee not in active service")
    live = session.scalars(
        select(Credential)
        .where(Credential.employee_id == employee.id, Credential.state.in_(LIVE_CREDENTIAL_STATES))
        .with_for_update()
    ).all()
    if any(
        credential.state == "suspended" and credential.suspension_reason != LOST_PHONE_SUSPENSION
        for credential in live
    ):
        raise ProtocolError(
            IssuerCode.credential_request_denied, "the employee's credential is suspended"
        )
    for credential in live:
        credential.state, credential.revoked_at = "revoked", now
        credential.revocation_reason = "superseded"
    publisher.record_changes(
        session,
        ((c.status_list_id, c.status_idx, "revoked") for c in live),
        keyring=keyring,
        now=now,
    )
    offer = session.get(Offer, token.offer_id)
    signer = keyring.signing_key(now.timestamp())

    credential_id, notification_id = uuid.uuid4().hex, new_secret(24, rng)
    holder_jkt = holder_key.thumbprint()
    status_list, status_idx = allocate_status_slot(
        session,
        config,
        now,
        {
            "id": credential_id,
            "employee_id": employee.id,
            "application_id": offer.application_id if offer else None,
            "offer_id": token.offer_id,
            "holder_jkt": holder_jkt,
            "kid": signer.kid,
            "state": "active",
            "issued_at": now,
            "expires_at": exp,
            "notification_id": notification_id,
        },
    )
    sd_jwt_vc = issue_sd_jwt_vc(
        issuer=config.base_url,
        vct=config.vct,
        claims=(claims := employee_claims(employee)),
        disclosable=DISCLOSABLE.intersection(claims),
        key=signer.key,
        kid=signer.kid,
        holder_jwk=holder_key.to_jwk(),
        iat=int(now.timestamp()),
        exp=int(exp.timestamp()),
        status=status_reference(status_idx, status_list.uri),
        rng=rng,  # the disclosures' salts
    )
    connection = session.connection()  # see `issuer.models` on writes
    connection.execute(
        update(AccessToken)
        .where(AccessToken.token_hash == token.token_hash)
        .values(credential_issued=True)
    )
    if offer is not None:
        connection.execute(
            update(Application).where(Application.id == offer.application_id).values(state="issued")
        )
    append_audit(
        session,
        actor="wallet",
        role="holder",
        action="credential.issue",
        subject=f"employee:{employee.employee_number}",
        now=now,
        detail={
            "credential_id": credential_id,
            "status_list": status_list.id,
            "status_idx": status_idx,
            "kid": signer.kid,
            "holder_jkt": holder_jkt,
            "superseded": len(live),
        },
    )
    return {
        "credentials": [{"credential": sd_jwt_vc}],
        "notification_id": notification_id,
    }


def record_notification(
    session: Session,
    *,
    authorization: str | None,
    body: Any,
    config: IssuerConfig,
    now: datetime,
    dpop: DpopCheck = NO_PROOF,
) -> None:
    """The Notification Endpoint (§11): idempotent; records the wallet's event."""
    token = _access_token(session, authorization, now, dpop=dpop, config=config)
    if not isinstance(body, dict):
        raise ProtocolError(IssuerCode.invalid_notification_request, "body must be a JSON object")
    notification_id, event = body.get("notification_id"), body.get("event")
    if not isinstance(notification_id, str) or event not in NOTIFICATION_EVENTS:
        raise ProtocolError(
            IssuerCode.invalid_notification_request,
            "notification_id and a known event are required",
        )
    description = body.get("event_description")
    if description is not None and not isinstance(description, str):
        raise ProtocolError(
            IssuerCode.invalid_notification_request, "event_description must be a string"
        )
    credential = (
        session.scalar(
            select(Credential).where(
                Credential.notification_id == notification_id, Credential.offer_id == token.offer_id
            )
        )
        if len(notification_id) <= 64
        else None
    )
    if credential is None:
        raise ProtocolError(IssuerCode.invalid_notification_id, "unknown notification_id")
    if credential.notification_event == event:
        return
    credential.notification_event = event
    credential.notified_at = now
    append_audit(
        session,
        actor="wallet",
        role="holder",
        action=f"credential.{event}",
        subject=f"credential:{credential.id}",
        now=now,
    )
