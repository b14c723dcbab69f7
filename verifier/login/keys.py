"""The bridge's ID token keys (RS256 and ES256) and pairwise secret, shared through the database.

Every process of one login service must sign with the same keys, so they live in
`verifier_oidc_keys`, created by the first process that finds none (a concurrent creator loses
the insert and reads the winner's). Each value is sealed (`vc.sealing`, bound to its row name)
under a key derived from MOBILEID_LOGIN_SECRET_KEY, which is never in the database: a copy of the
database opens nothing, and a process given another secret refuses to start. Plaintext rows left
by an earlier release are sealed in place at start. Signing and JWKS use PyJWT on `cryptography`
keys.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from vc.base64url import b64url_encode
from vc.errors import KeyMaterialError
from vc.keys import jwk_thumbprint
from vc.sealing import SealingKey, is_sealed
from verifier.errors import VerifierError
from verifier.login.models import oidc_keys

__all__ = [
    "ID_TOKEN_ALGS",
    "InvalidOwnToken",
    "LoginKeyError",
    "OidcKeys",
    "inspect_stored_keys",
    "load_or_create_keys",
    "login_key_sealer",
]

SEALING_PURPOSE = "login signing key"


class LoginKeyError(VerifierError):
    """The stored ID token keys cannot be used (another secret, an altered row); `detail` is one
    line that says what to do."""

    def __init__(self, detail: str) -> None:
        super().__init__("login_key_unusable", detail)


class InvalidOwnToken(VerifierError):
    """A token that is not one this login service signed (signature, `kid`, `iss`, shape)."""

    def __init__(self, detail: str) -> None:
        super().__init__("invalid_own_token", detail)


ID_TOKEN_ALGS = ("RS256", "ES256")


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

    def sign(self, claims: dict[str, Any], alg: str, *, typ: str = "JWT") -> str:
        """A JWS of `claims` with the key of `alg`; `typ` is `logout+jwt` for logout tokens
        (Back-Channel Logout 1.0 §2.4)."""
        key = self.signing[alg]
        return jwt.encode(claims, key.key, algorithm=alg, headers={"kid": key.kid, "typ": typ})

    def verify_own(self, token: str, *, issuer: str) -> dict[str, Any]:
        """The claims of a JWT this service signed for `issuer` (an `id_token_hint`); its `exp`
        is not checked (RP-Initiated Logout 1.0 §2: a hint may have expired). Raises
        `InvalidOwnToken` on any other problem."""
        try:
            header = jwt.get_unverified_header(token)
            key = next(k for k in self.signing.values() if k.kid == header.get("kid"))
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key.public_key(),
                algorithms=[key.alg],
                issuer=issuer,
                options={"verify_exp": False, "verify_aud": False, "require": ["iss", "aud"]},
            )
        except (jwt.PyJWTError, StopIteration, ValueError) as exc:
            raise InvalidOwnToken(type(exc).__name__) from None
        return claims

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
    kid = jwk_thumbprint(jwk)  # RFC 7638
    jwk.update(kid=kid, alg=alg, use="sig")
    return _SigningKey(alg, key, jwk, kid)


def login_key_sealer(secret: bytes) -> SealingKey:
    """The box key for the login service's keys, derived from its deployment secret."""
    try:
        return SealingKey(secret, SEALING_PURPOSE)
    except KeyMaterialError as exc:
        raise LoginKeyError(
            "MOBILEID_LOGIN_SECRET_KEY is too short to seal the login keys with; "
            "set a random secret of 32 or more characters"
        ) from exc


def _seal_plaintext_rows(engine: Engine, sealer: SealingKey) -> None:
    """Seal, in one transaction, the rows an earlier release stored in plaintext; a row another
    process sealed meanwhile no longer matches its old value and is left alone."""
    with engine.begin() as conn:
        rows = conn.execute(select(oidc_keys.c.name, oidc_keys.c.material)).all()
        for row in rows:
            if not is_sealed(row.material):
                conn.execute(
                    update(oidc_keys)
                    .where(oidc_keys.c.name == row.name, oidc_keys.c.material == row.material)
                    .values(material=sealer.seal(row.material.encode("ascii"), row.name))
                )


def _open_all(stored: dict[str, str], sealer: SealingKey) -> dict[str, str]:
    """Every stored value opened; refuses a secret that opens none (another deployment's) or
    only some (an altered row)."""
    opened: dict[str, str] = {}
    for name, material in stored.items():
        try:
            opened[name] = sealer.open(material, name).decode("ascii")
        except (KeyMaterialError, UnicodeDecodeError):
            continue
    if stored and not opened:
        raise LoginKeyError(
            "the login keys in the database were sealed with another MOBILEID_LOGIN_SECRET_KEY: "
            "give every process of this login service the same secret"
        )
    if len(opened) < len(stored):
        closed = sorted(set(stored) - set(opened))
        raise LoginKeyError(
            f"the login key {closed[0]} in the database does not open although the others do: "
            "its row was altered or copied from another deployment"
        )
    return opened


def _stored(engine: Engine, name: str | None = None) -> dict[str, str]:
    query = select(oidc_keys.c.name, oidc_keys.c.material)
    if name is not None:
        query = query.where(oidc_keys.c.name == name)
    with engine.begin() as conn:
        return {row.name: row.material for row in conn.execute(query)}


def inspect_stored_keys(engine: Engine, sealer: SealingKey) -> tuple[int, int]:
    """(sealed rows that open, plaintext rows left by an earlier release), creating nothing;
    `LoginKeyError` when sealed rows do not open (`mobileid doctor`)."""
    stored = _stored(engine)
    sealed = {name: value for name, value in stored.items() if is_sealed(value)}
    return len(_open_all(sealed, sealer)), len(stored) - len(sealed)


def load_or_create_keys(engine: Engine, sealer: SealingKey) -> OidcKeys:
    """Open the stored keys, then create whichever is missing (first process wins on a race);
    nothing is created by a process whose secret does not open what is there."""
    _seal_plaintext_rows(engine, sealer)
    opened = _open_all(_stored(engine), sealer)
    for name in (*ID_TOKEN_ALGS, "pairwise"):
        if name in opened:
            continue
        material = _new_material(name)
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(oidc_keys).values(
                        name=name,
                        material=sealer.seal(material.encode("ascii"), name),
                        created_at=time.time(),
                    )
                )
            opened[name] = material
        except IntegrityError:  # another process created it first: use the winner's
            opened.update(_open_all(_stored(engine, name), sealer))
    return OidcKeys(
        {alg: _signing_key(alg, opened[alg]) for alg in ID_TOKEN_ALGS},
        bytes.fromhex(opened["pairwise"]),
    )
