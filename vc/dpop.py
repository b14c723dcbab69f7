"""DPoP (RFC 9449): proofs that bind an access token to a key the client holds.

A client sends a `DPoP` header, a JWT signed with its key and carrying the public key: at the
token endpoint, so the access token is bound to that key's RFC 7638 thumbprint (`jkt`), and with
every request that presents the token (`Authorization: DPoP <token>`), then with `ath`, the
SHA-256 of the token. A stolen token is then useless without the private key: for mobileid, the
wallet's device key, so an issuance token works only from the one phone it was issued to.

`verify_dpop_proof` makes the checks of §4.3 that need no state; the `jti` replay store, the
token's `jkt` and the choice of `Bearer` or `DPoP` are the server's. The key is the `jwk` in the
header under check, so the header is read (`vc.jws.decode_unverified`) before the signature is
verified with that key (`vc.jws.verify_signature`, through PyJWT).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from vc.base64url import b64url_encode
from vc.errors import ClaimsError, Code, FormatError, VCError
from vc.jws import decode_unverified, sign_compact, verify_signature
from vc.keys import PrivateKey, public_key_from_jwk

__all__ = [
    "DPOP_TYP",
    "DpopProof",
    "access_token_hash",
    "create_dpop_proof",
    "normalize_htu",
    "verify_dpop_proof",
]

DPOP_TYP = "dpop+jwt"
MAX_DPOP_BYTES = 4 * 1024  # a header: a P-256 proof with `ath` and `nonce` is under 1 KB
_DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True, slots=True)
class DpopProof:
    """A proof that passed every stateless check: the key's thumbprint and the `jti` to store."""

    jkt: str
    jti: str
    iat: int


def access_token_hash(access_token: str) -> str:
    """`ath`: base64url SHA-256 of the access token's ASCII octets (§4.2)."""
    return b64url_encode(hashlib.sha256(access_token.encode("ascii")).digest())


def normalize_htu(uri: str) -> str:
    """The URI as compared (§4.3 item 9): no query or fragment, scheme and host lower case,
    the default port dropped (RFC 3986 §6.2.2 and §6.2.3); raises `FormatError` if not a URL."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise FormatError(Code.malformed, "htu is not a URI") from exc
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        raise FormatError(Code.malformed, "htu must be an http(s) URI without userinfo")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def create_dpop_proof(
    key: PrivateKey,
    *,
    htm: str,
    htu: str,
    iat: int,
    access_token: str | None = None,
    nonce: str | None = None,
    jti: str | None = None,
) -> str:
    """The `DPoP` header value for one request (the wallet's side)."""
    parts = urlsplit(htu)
    payload: dict[str, Any] = {
        "jti": jti or b64url_encode(secrets.token_bytes(16)),
        "htm": htm,
        "htu": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
        "iat": iat,
    }
    if access_token is not None:
        payload["ath"] = access_token_hash(access_token)
    if nonce is not None:
        payload["nonce"] = nonce
    headers = {"jwk": key.public_key.to_jwk()}
    return sign_compact(payload, key, typ=DPOP_TYP, headers=headers)


def verify_dpop_proof(
    proof: object,
    *,
    htm: str,
    htu: str,
    algorithms: Collection[str],
    now: float,
    max_age: float = 60,
    leeway: float = 5,
    access_token: str | None = None,
    nonce: str | None = None,
) -> DpopProof:
    """The stateless checks of §4.3 on one `DPoP` header value; raises a `VCError` subclass.

    `htu` is the URI the request was received at; `access_token` is given when the proof comes
    with one (then `ath` must match); `nonce` when the server asked for one.
    """
    if not isinstance(proof, str) or len(proof) > MAX_DPOP_BYTES:
        raise FormatError(Code.malformed, "a DPoP proof is one JWT of at most 4 KB")
    header, payload, signing_input, signature = decode_unverified(proof, max_bytes=MAX_DPOP_BYTES)
    if header.get("typ") != DPOP_TYP:
        raise FormatError(Code.invalid_type, f"DPoP proof typ must be {DPOP_TYP}")
    key = public_key_from_jwk(header.get("jwk"))  # refuses a missing jwk or a private one
    # `none`, HMAC and unsupported algorithms never pass
    verify_signature(header, signing_input, signature, key, algorithms)
    jti, iat = payload.get("jti"), payload.get("iat")
    if not isinstance(jti, str) or not 0 < len(jti) <= 256:
        raise ClaimsError(Code.missing_claim, "DPoP proof needs a jti")
    if type(iat) is not int:
        raise ClaimsError(Code.missing_claim, "DPoP proof needs an integer iat")
    if payload.get("htm") != htm:
        raise ClaimsError(Code.invalid_claim, "DPoP htm is not this request's method")
    claimed = payload.get("htu")
    try:
        same_uri = isinstance(claimed, str) and normalize_htu(claimed) == normalize_htu(htu)
    except VCError:
        same_uri = False
    if not same_uri:
        raise ClaimsError(Code.invalid_claim, "DPoP htu is not this request's URI")
    if iat > now + leeway:
        raise ClaimsError(Code.not_yet_valid, "DPoP proof iat is in the future")
    if iat < now - max_age - leeway:
        raise ClaimsError(Code.expired, "DPoP proof is too old")
    if nonce is not None and payload.get("nonce") != nonce:
        raise ClaimsError(Code.nonce_mismatch, "DPoP nonce is not the one asked for")
    if access_token is not None and (
        not access_token.isascii() or payload.get("ath") != access_token_hash(access_token)
    ):
        raise ClaimsError(Code.invalid_claim, "DPoP ath does not match the access token")
    return DpopProof(key.thumbprint(), jti, iat)
