"""DPoP at the issuer (RFC 9449): binding access tokens to the wallet's key, and using them.

At the token endpoint a wallet that sends a `DPoP` proof gets a token of type `DPoP`, bound to
its key's thumbprint; without one it gets a `Bearer` token, unless the issuer requires DPoP
(`IssuerConfig.dpop_required`, HAIP). A bound token is accepted at the credential and
notification endpoints only as `Authorization: DPoP <token>` with a proof from the same key over
that request (`ath`, `htm`, `htu`): never downgraded to Bearer (§7.1).

Each proof is single use (§11.1): `spend_token_proof` / `spend_resource_proof` record its `jti`
in a transaction of its own, committed before the request's own transaction begins, so a
request refused later (an expired `c_nonce`, a bad proof JWT, a wrong tx_code) cannot give the
proof back; a captured proof sent again is refused. The unique key makes two concurrent uses of
one proof spend it once. The request's transaction then judges what the spend found
(`token_binding`, `check_token_use`) in the spec's order, after the access token. Spent `jti`s
are kept while their `iat` can pass the window.

The stateless checks are `vc.dpop`'s; the URIs compared are the issuer's public endpoint URLs,
not what a proxy in front of it forwards.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from issuer.config import IssuerConfig
from issuer.errors import IssuerCode, ProtocolError
from issuer.hashing import sha256_hex
from issuer.models import DpopProofSeen, insert_on_conflict
from vc.dpop import DpopProof, verify_dpop_proof
from vc.errors import VCError

__all__ = [
    "NO_PROOF",
    "DpopCheck",
    "check_token_use",
    "spend_resource_proof",
    "spend_token_proof",
    "token_binding",
]

_PRUNE_EVERY = 64
_ONE_HEADER = "send exactly one DPoP header"


@dataclass(frozen=True, slots=True)
class DpopCheck:
    """What a request's `DPoP` header came to, decided before the request's own transaction:
    nothing sent (both None), a valid proof spent by this request (`jkt`, its key), or the
    reason it is refused (`refusal`, the detail of `invalid_dpop_proof`)."""

    jkt: str | None = None
    refusal: str | None = None


NO_PROOF = DpopCheck()
"""A request that sent no `DPoP` header."""


def _challenge(config: IssuerConfig, error: str) -> str:
    """The `WWW-Authenticate` value of a refused DPoP request (§7.1)."""
    return f'DPoP error="{error}", algs="{" ".join(config.proof_algorithms)}"'


def _remember(session: Session, proof: DpopProof, config: IssuerConfig, now: datetime) -> bool:
    """Record a proof as spent; False when it was spent before (a replay)."""
    if secrets.randbelow(_PRUNE_EVERY) == 0:
        session.execute(delete(DpopProofSeen).where(DpopProofSeen.expires_at <= now))
    expires = datetime.fromtimestamp(proof.iat, now.tzinfo) + timedelta(
        seconds=config.dpop_max_age_s + config.dpop_leeway_s
    )
    seen = (
        insert_on_conflict(session, DpopProofSeen)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(DpopProofSeen.key)  # a row only when inserted: drivers' rowcount differs here
    )
    key = sha256_hex(f"{proof.jkt}\x00{proof.jti}")
    return (
        session.connection().execute(seen, {"key": key, "expires_at": expires}).first() is not None
    )


def _refused(detail: str, config: IssuerConfig, *, resource: bool) -> ProtocolError:
    """`invalid_dpop_proof`: 400 at the token endpoint, 401 with a DPoP challenge where a token
    is presented (§7.1)."""
    if not resource:
        return ProtocolError(IssuerCode.invalid_dpop_proof, detail)
    return ProtocolError(
        IssuerCode.invalid_dpop_proof,
        detail,
        status=401,
        challenge=_challenge(config, "invalid_dpop_proof"),
    )


def _spend(
    session: Session,
    proofs: Sequence[str],
    *,
    htu: str,
    config: IssuerConfig,
    now: datetime,
    access_token: str | None = None,
) -> DpopCheck:
    """Verify the one proof in `proofs` and spend it; the caller commits at once."""
    if not proofs:
        return NO_PROOF
    if len(proofs) != 1:
        return DpopCheck(refusal=_ONE_HEADER)
    try:
        proof = verify_dpop_proof(
            proofs[0],
            htm="POST",
            htu=htu,
            algorithms=config.proof_algorithms,
            now=now.timestamp(),
            max_age=config.dpop_max_age_s,
            leeway=config.dpop_leeway_s,
            access_token=access_token,
        )
    except VCError as exc:
        return DpopCheck(refusal=f"DPoP proof rejected: {exc.code}")
    if not _remember(session, proof, config, now):
        return DpopCheck(refusal="DPoP proof already used")
    return DpopCheck(jkt=proof.jkt)


def spend_token_proof(
    session: Session, proofs: Sequence[str], *, config: IssuerConfig, now: datetime
) -> DpopCheck:
    """The token endpoint's `DPoP` header, verified and spent in its own transaction."""
    return _spend(session, proofs, htu=config.url("/token"), config=config, now=now)


def spend_resource_proof(
    session: Session,
    proofs: Sequence[str],
    *,
    authorization: str | None,
    htu: str,
    config: IssuerConfig,
    now: datetime,
) -> DpopCheck:
    """Where an access token is presented as `Authorization: DPoP <token>`: its proof, verified
    over that token (`ath`) and spent in its own transaction. Other schemes carry no proof."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "dpop" or not token.strip():
        return NO_PROOF
    return _spend(session, proofs, htu=htu, config=config, now=now, access_token=token.strip())


def token_binding(check: DpopCheck, *, config: IssuerConfig) -> str | None:
    """At the token endpoint: the key thumbprint to bind the new token to, or None (Bearer)."""
    if check.refusal is not None:
        raise _refused(check.refusal, config, resource=False)
    if check.jkt is None and config.dpop_required:
        raise ProtocolError(IssuerCode.invalid_dpop_proof, "this issuer requires DPoP")
    return check.jkt


def check_token_use(
    check: DpopCheck, *, bound_to: str | None, scheme: str, config: IssuerConfig
) -> None:
    """Where a token is presented: the scheme must fit the token; a DPoP one needs a proof by
    its key, spent by this request."""
    if bound_to is None:
        if scheme != "bearer":
            raise ProtocolError(IssuerCode.invalid_token, "this access token is a Bearer token")
        return
    if scheme != "dpop":
        raise ProtocolError(
            IssuerCode.invalid_token,
            "this access token is DPoP-bound: use the DPoP scheme with a proof",
            challenge=_challenge(config, "invalid_token"),
        )
    if check.refusal is not None or check.jkt is None:
        raise _refused(check.refusal or _ONE_HEADER, config, resource=True)
    if check.jkt != bound_to:
        raise _refused("DPoP proof key is not the token's key", config, resource=True)
