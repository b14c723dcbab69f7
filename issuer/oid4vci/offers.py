"""Pre-authorized credential offers (OpenID4VCI 1.0 §4.1) and the token endpoint (§6).

An offer is identified by a random reference that appears only in its `credential_offer_uri`; the
pre-authorized code is derived from it with the issuer's secret key, so the offer endpoint can
hand the code to the wallet while the database holds only keyed hashes of reference, code and
tx_code. Codes are single use, expire, and die after `tx_code_max_attempts` wrong tx_codes.

A dead (withdrawn) offer keeps a tombstone: its state and the keyed digests of its reference and
code, which redeem nothing, so its URI and its code say "withdrawn, ask for a new offer" instead
of looking unknown; the tx_code's digest goes. Each wrong tx_code is answered with the tries
left: only a holder of the offer's code is told, the odds of guessing stay the same (the count
is the limit either way), and the employee learns what to do before the offer dies.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from issuer.audit import append_audit
from issuer.config import IssuerConfig
from issuer.errors import IssuerCode, ProtocolError
from issuer.hashing import (
    derive_pre_authorized_code,
    keyed_hash,
    new_numeric_code,
    new_secret,
    sha256_hex,
)
from issuer.models import AccessToken, Application, Employee, Offer
from issuer.oid4vci.dpop_binding import NO_PROOF, DpopCheck, token_binding
from schemas.employee_id import CONFIGURATION_ID
from vc.openid4vci import PRE_AUTHORIZED_GRANT, credential_offer_uri_link

__all__ = [
    "OfferSecrets",
    "create_offer",
    "credential_offer_document",
    "exchange_pre_authorized_code",
]

TX_CODE_DESCRIPTION = "문자로 받은 6자리 인증번호를 입력하세요 (Enter the 6-digit code sent by SMS)"
_MAX_PARAM_CHARS = 512


@dataclass(frozen=True, slots=True)
class OfferSecrets:
    """What must reach the employee: the link (SMS 1) and the tx_code (SMS 2). Never stored."""

    offer_uri: str
    link: str
    tx_code: str
    expires_at: datetime


def _tx_code_hash(key: bytes, code: str, tx_code: str) -> str:
    return keyed_hash(key, "tx_code", f"{code}\x00{tx_code}")


def create_offer(
    session: Session, application: Application, *, config: IssuerConfig, now: datetime
) -> OfferSecrets:
    """Create the single offer of an approved application (unique per application)."""
    ref = new_secret(32)
    code = derive_pre_authorized_code(config.secret_key, ref)
    tx_code = new_numeric_code(config.tx_code_length)
    expires_at = now + timedelta(seconds=config.offer_lifetime_s)
    session.add(
        Offer(
            application_id=application.id,
            employee_id=application.employee_id,
            ref_hash=keyed_hash(config.secret_key, "offer_ref", ref),
            code_hash=keyed_hash(config.secret_key, "pre-authorized_code", code),
            tx_code_hash=_tx_code_hash(config.secret_key, code, tx_code),
            state="active",
            tx_attempts=0,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    offer_uri = config.offer_uri(ref)
    return OfferSecrets(offer_uri, credential_offer_uri_link(offer_uri), tx_code, expires_at)


def _live(offer: Offer, now: datetime) -> bool:
    return offer.state == "active" and offer.expires_at > now


def _withdrawn(offer: Offer) -> str:
    return (
        f"offer withdrawn after {offer.tx_attempts} wrong transaction codes; a new offer is "
        "needed (ask the HR officer or the department head)"
    )


def credential_offer_document(
    session: Session, ref: str, *, config: IssuerConfig, now: datetime
) -> dict[str, Any]:
    """The Credential Offer object served at `credential_offer_uri` (§4.1.1)."""
    offer = None
    if 0 < len(ref) <= _MAX_PARAM_CHARS:
        ref_hash = keyed_hash(config.secret_key, "offer_ref", ref)
        offer = session.scalar(select(Offer).where(Offer.ref_hash == ref_hash))
    if offer is not None and offer.state == "dead":
        raise ProtocolError(IssuerCode.offer_withdrawn, _withdrawn(offer))
    if offer is None or not _live(offer, now):
        raise ProtocolError(IssuerCode.offer_not_found, "no live offer at this URI")
    return {
        "credential_issuer": config.base_url,
        "credential_configuration_ids": [CONFIGURATION_ID],
        "grants": {
            PRE_AUTHORIZED_GRANT: {
                "pre-authorized_code": derive_pre_authorized_code(config.secret_key, ref),
                "tx_code": {
                    "input_mode": "numeric",
                    "length": config.tx_code_length,
                    "description": TX_CODE_DESCRIPTION,
                },
            }
        },
    }


def _single(form: Mapping[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    if values is None:
        return None
    if len(values) != 1 or len(values[0]) > _MAX_PARAM_CHARS:
        raise ProtocolError(IssuerCode.invalid_request, f"{name} must appear once")
    return values[0]


def _check_authorization_details(raw: str | None) -> None:
    if raw is None:
        return
    try:
        details = json.loads(raw)
    except ValueError:
        raise ProtocolError(
            IssuerCode.invalid_request, "authorization_details is not JSON"
        ) from None
    if not isinstance(details, list) or not all(
        isinstance(d, dict)
        and d.get("type") == "openid_credential"
        and d.get("credential_configuration_id") == CONFIGURATION_ID
        for d in details
    ):
        raise ProtocolError(IssuerCode.invalid_request, "unsupported authorization_details")


def _wrong_tx_code(
    session: Session, offer: Offer, *, config: IssuerConfig, now: datetime
) -> ProtocolError:
    """Count a wrong tx_code (the last allowed one withdraws the offer) and audit it; the error
    to answer with, its changes kept."""
    offer.tx_attempts += 1
    left = config.tx_code_max_attempts - offer.tx_attempts
    dead = left <= 0
    if dead:
        offer.state, offer.tx_code_hash = "dead", ""  # the tombstone: nothing to guess at
    append_audit(
        session,
        actor="wallet",
        role="holder",
        action="offer.tx_code_wrong",
        subject=f"offer:{offer.id}",
        now=now,
        detail={"attempts": offer.tx_attempts, "dead": dead},
    )
    tries = f"{left} {'try' if left == 1 else 'tries'} left"
    return ProtocolError(
        IssuerCode.invalid_grant,
        f"wrong tx_code; {_withdrawn(offer) if dead else tries}",
        keep_changes=True,
    )


def exchange_pre_authorized_code(
    session: Session,
    form: Mapping[str, list[str]],
    *,
    config: IssuerConfig,
    now: datetime,
    dpop: DpopCheck = NO_PROOF,
) -> dict[str, Any]:
    """Token endpoint, pre-authorized code grant; returns the token response (§6.2).

    `dpop` is what the request's `DPoP` header came to, its proof already spent
    (`issuer.oid4vci.dpop_binding.spend_token_proof`): with a valid proof the token is bound to
    its key (`token_type` `DPoP`); a refused proof is answered before the code is looked at, so
    it spends no code and counts no tx_code attempt."""
    grant_type = _single(form, "grant_type")
    if grant_type is None:
        raise ProtocolError(IssuerCode.invalid_request, "grant_type is required")
    if grant_type != PRE_AUTHORIZED_GRANT:
        raise ProtocolError(IssuerCode.unsupported_grant_type, "only the pre-authorized code grant")
    code = _single(form, "pre-authorized_code")
    if not code:
        raise ProtocolError(IssuerCode.invalid_request, "pre-authorized_code is required")
    tx_code = _single(form, "tx_code")
    _check_authorization_details(_single(form, "authorization_details"))
    jkt = token_binding(dpop, config=config)
    code_hash = keyed_hash(config.secret_key, "pre-authorized_code", code)
    row = session.execute(
        select(Offer, Employee.employee_number)
        .join(Employee, Employee.id == Offer.employee_id)
        .where(Offer.code_hash == code_hash)
        .with_for_update(of=Offer)
    ).first()
    if row is None:
        raise ProtocolError(IssuerCode.invalid_grant, "unknown pre-authorized code")
    offer, employee_number = row
    if offer.state == "dead":
        raise ProtocolError(IssuerCode.invalid_grant, _withdrawn(offer))
    if offer.state != "active":
        raise ProtocolError(IssuerCode.invalid_grant, f"pre-authorized code is {offer.state}")
    if offer.expires_at <= now:
        raise ProtocolError(IssuerCode.invalid_grant, "pre-authorized code expired")
    if not tx_code:
        raise ProtocolError(IssuerCode.invalid_request, "tx_code is required for this offer")
    expected = offer.tx_code_hash
    if not hmac.compare_digest(expected, _tx_code_hash(config.secret_key, code, tx_code)):
        raise _wrong_tx_code(session, offer, config=config, now=now)
    access_token = new_secret(32)
    offer.state, offer.used_at = "used", now
    token = {
        "token_hash": sha256_hex(access_token),
        "offer_id": offer.id,
        "employee_id": offer.employee_id,
        "expires_at": now + timedelta(seconds=config.access_token_lifetime_s),
        "credential_issued": False,
        "dpop_jkt": jkt,
    }
    session.connection().execute(insert(AccessToken), token)  # see `issuer.models` on writes
    append_audit(
        session,
        actor="wallet",
        role="holder",
        action="offer.redeem",
        subject=f"employee:{employee_number}",
        now=now,
        detail={"offer": offer.id},
    )
    return {
        "access_token": access_token,
        "token_type": "Bearer" if jkt is None else "DPoP",
        "expires_in": config.access_token_lifetime_s,
    }
