"""DPoP at the issuer (RFC 9449): binding access tokens to the wallet's key, and using them.

At the token endpoint a wallet that sends a `DPoP` proof gets a token of type `DPoP`, bound to
its key's thumbprint; without one it gets a `Bearer` token, unless the issuer requires DPoP
(`IssuerConfig.dpop_required`, HAIP). A bound token is accepted at the credential and
notification endpoints only as `Authorization: DPoP <token>` with a proof from the same key over
that request (`ath`, `htm`, `htu`): never downgraded to Bearer (§7.1). Each proof's `jti` is
kept while its `iat` can pass the window, so a captured proof cannot be sent again (§11.1). It
is kept in the request's own transaction, so a request refused further on drops it (but for a
wrong tx_code, which is kept with its count); sent again, such a proof can do no more than it
did the first time, since only success spends a code or a token.

The stateless checks are `vc.dpop`'s; the URIs compared are the issuer's public endpoint URLs,
not what a proxy in front of it forwards.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from issuer.config import IssuerConfig
from issuer.errors import IssuerCode, ProtocolError
from issuer.hashing import sha256_hex
from issuer.models import DpopProofSeen, table_of
from vc.dpop import DpopProof, verify_dpop_proof
from vc.errors import VCError

__all__ = ["check_token_use", "token_binding"]

_PRUNE_EVERY = 64
_PROOFS = table_of(DpopProofSeen)
_PRUNE = delete(DpopProofSeen).where(DpopProofSeen.expires_at <= bindparam("b_now"))
# Built once per dialect (the house's habit on hot paths); a row comes back only when inserted
# (rowcount is -1 on psycopg for this statement).
_SEEN = tuple(
    dialect.insert(_PROOFS)
    .values(key=bindparam("b_key"), expires_at=bindparam("b_expires"))
    .on_conflict_do_nothing(index_elements=["key"])
    .returning(_PROOFS.c.key)
    for dialect in (sqlite, postgresql)
)


def _challenge(config: IssuerConfig, error: str) -> str:
    """The `WWW-Authenticate` value of a refused DPoP request (§7.1)."""
    return f'DPoP error="{error}", algs="{" ".join(config.proof_algorithms)}"'


def _remember(session: Session, proof: DpopProof, config: IssuerConfig, now: datetime) -> bool:
    """Record a proof as seen; False when it was seen before (a replay)."""
    if secrets.randbelow(_PRUNE_EVERY) == 0:
        session.execute(_PRUNE, {"b_now": now})
    expires = datetime.fromtimestamp(proof.iat, now.tzinfo) + timedelta(
        seconds=config.dpop_max_age_s + config.dpop_leeway_s
    )
    statement = _SEEN[session.get_bind().dialect.name == "postgresql"]
    key = sha256_hex(f"{proof.jkt}\x00{proof.jti}")
    row = session.connection().execute(statement, {"b_key": key, "b_expires": expires}).first()
    return row is not None


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


def _verified(
    session: Session,
    proofs: Sequence[str],
    *,
    htu: str,
    config: IssuerConfig,
    now: datetime,
    access_token: str | None = None,
) -> str:
    """The thumbprint of the one valid, unseen proof among `proofs`."""
    resource = access_token is not None
    if len(proofs) != 1:
        raise _refused("send exactly one DPoP header", config, resource=resource)
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
        raise _refused(f"DPoP proof rejected: {exc.code}", config, resource=resource) from None
    if not _remember(session, proof, config, now):
        raise _refused("DPoP proof already used", config, resource=resource)
    return proof.jkt


def token_binding(
    session: Session, proofs: Sequence[str], *, config: IssuerConfig, now: datetime
) -> str | None:
    """At the token endpoint: the key thumbprint to bind the new token to, or None (Bearer)."""
    if not proofs:
        if config.dpop_required:
            raise ProtocolError(IssuerCode.invalid_dpop_proof, "this issuer requires DPoP")
        return None
    return _verified(session, proofs, htu=config.url("/token"), config=config, now=now)


def check_token_use(
    session: Session,
    *,
    bound_to: str | None,
    scheme: str,
    access_token: str,
    proofs: Sequence[str],
    htu: str,
    config: IssuerConfig,
    now: datetime,
) -> None:
    """Where a token is presented: the scheme must fit the token; a DPoP one needs a proof by
    its key."""
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
    jkt = _verified(session, proofs, htu=htu, config=config, now=now, access_token=access_token)
    if jkt != bound_to:
        raise _refused("DPoP proof key is not the token's key", config, resource=True)
