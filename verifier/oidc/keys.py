"""The bridge's ID token keys (RS256 and ES256) and pairwise secret, shared through the database.

Every process of one login service must sign with the same keys, so they live in
`verifier_oidc_keys`, created by the first process that finds none (a concurrent creator loses
the insert and reads the winner's). Signing and JWKS use PyJWT on `cryptography` keys.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from vc.base64url import b64url_encode
from verifier.oid4vp.models import oidc_keys

__all__ = ["ID_TOKEN_ALGS", "OidcKeys", "load_or_create_keys"]

ID_TOKEN_ALGS = ("RS256", "ES256")
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint: the key id we publish."""
    members = {k: jwk[k] for k in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return b64url_encode(hashlib.sha256(canonical).digest())


@dataclass(frozen=True)
class _SigningKey:
    alg: str
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    public_jwk: dict[str, Any]
    kid: str


@dataclass(frozen=True)
class OidcKeys:
    signing: dict[str, _SigningKey]
    pairwise_secret: bytes

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk for k in self.signing.values()]}

    def sign(self, claims: dict[str, Any], alg: str) -> str:
        key = self.signing[alg]
        return jwt.encode(claims, key.key, algorithm=alg, headers={"kid": key.kid, "typ": "JWT"})

    def half_hash(self, value: str) -> str:
        """`at_hash`: the left half of SHA-256 of the access token (RS256/ES256; OIDC §3.1.3.6)."""
        return b64url_encode(hashlib.sha256(value.encode("ascii")).digest()[:16])


def _new_material(name: str) -> str:
    if name == "pairwise":
        return secrets.token_hex(32)
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if name == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _signing_key(alg: str, pem: str) -> _SigningKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if alg == "RS256" and isinstance(key, rsa.RSAPrivateKey):
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    elif alg == "ES256" and isinstance(key, ec.EllipticCurvePrivateKey):
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        raise ValueError(f"stored {alg} key has the wrong type")
    kid = _thumbprint(jwk)
    jwk.update(kid=kid, alg=alg, use="sig")
    return _SigningKey(alg, key, jwk, kid)


def load_or_create_keys(engine: Engine) -> OidcKeys:
    """Read the keys; create whichever is missing (first process wins on a race)."""
    names = (*ID_TOKEN_ALGS, "pairwise")
    with engine.begin() as conn:
        rows = conn.execute(select(oidc_keys.c.name, oidc_keys.c.material)).all()
    stored: dict[str, str] = {row.name: row.material for row in rows}
    for name in names:
        if name in stored:
            continue
        material = _new_material(name)
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(oidc_keys).values(name=name, material=material, created_at=time.time())
                )
            stored[name] = material
        except IntegrityError:
            with engine.begin() as conn:
                stored[name] = conn.execute(
                    select(oidc_keys.c.material).where(oidc_keys.c.name == name)
                ).scalar_one()
    return OidcKeys(
        {alg: _signing_key(alg, stored[alg]) for alg in ID_TOKEN_ALGS},
        bytes.fromhex(stored["pairwise"]),
    )
