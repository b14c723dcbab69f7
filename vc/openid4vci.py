"""OpenID4VCI 1.0 wire pieces shared by issuer and wallet: proof JWTs and credential offer links.

Proof of possession (§8.2.1.1 and App. F.1): `typ` `openid4vci-proof+jwt`, asymmetric `alg`,
exactly one of `kid` (a DID URL; we resolve did:key), `jwk` or `x5c`; payload `aud` (the Credential
Issuer Identifier), `iat`, `nonce` (the `c_nonce`), `iss` (client id, absent for anonymous
pre-authorized access). The nonce's single use is the issuer's business (its store), not ours.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from vc.did_key import public_key_from_did_key
from vc.errors import ClaimsError, Code, FormatError, KeyMaterialError, VCError
from vc.jws import decode_unverified, sign_compact, verify_signature
from vc.keys import PrivateKey, PublicKey, public_key_from_jwk

__all__ = [
    "CREDENTIAL_OFFER_SCHEME",
    "PRE_AUTHORIZED_GRANT",
    "PROOF_TYP",
    "create_proof_jwt",
    "credential_offer_uri_link",
    "parse_credential_offer_link",
    "verify_proof_jwt",
]

PROOF_TYP = "openid4vci-proof+jwt"
PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
CREDENTIAL_OFFER_SCHEME = "openid-credential-offer://"
MAX_PROOF_BYTES = 16 * 1024
MAX_OFFER_LINK_BYTES = 16 * 1024


def create_proof_jwt(
    holder_key: PrivateKey,
    *,
    audience: str,
    nonce: str | None,
    iat: int,
    issuer: str | None = None,
    key_reference: str = "jwk",
) -> str:
    """A proof JWT carrying the holder key as `jwk` (or `kid` = did:key URL when asked)."""
    payload: dict[str, Any] = {"aud": audience, "iat": iat}
    if nonce is not None:
        payload["nonce"] = nonce
    if issuer is not None:
        payload["iss"] = issuer
    if key_reference == "jwk":
        headers: dict[str, Any] = {"jwk": holder_key.public_key.to_jwk()}
    elif key_reference == "did:key":
        from vc.did_key import did_key_from_public_key

        did = did_key_from_public_key(holder_key.public_key)
        headers = {"kid": f"{did}#{did.removeprefix('did:key:')}"}
    else:
        raise FormatError(Code.malformed, "key_reference must be 'jwk' or 'did:key'")
    return sign_compact(payload, holder_key, typ=PROOF_TYP, headers=headers)


def _proof_key(header: Mapping[str, Any]) -> PublicKey:
    present = [name for name in ("kid", "jwk", "x5c") if name in header]
    if len(present) != 1:
        raise FormatError(Code.malformed, "proof header needs exactly one of kid, jwk, x5c")
    try:
        if "jwk" in header:
            return public_key_from_jwk(header["jwk"])  # refuses a JWK with a private part
        if "kid" in header and isinstance(header["kid"], str):
            return public_key_from_did_key(header["kid"])
    except KeyMaterialError:
        raise
    except VCError as exc:  # pragma: no cover - both parsers raise KeyMaterialError
        raise KeyMaterialError(Code.invalid_key, "proof key unusable") from exc
    raise KeyMaterialError(Code.unsupported_key_type, "proof key reference not supported")


def verify_proof_jwt(
    token: str,
    *,
    audience: str,
    algorithms: Collection[str],
    now: float,
    max_age: float = 300,
    leeway: float = 60,
) -> tuple[PublicKey, dict[str, Any]]:
    """Check a proof JWT and return (holder key, payload); the caller checks `nonce` single use."""
    header, payload, signing_input, signature = decode_unverified(token, max_bytes=MAX_PROOF_BYTES)
    if header.get("typ") != PROOF_TYP:
        raise FormatError(Code.invalid_type, f"proof typ must be {PROOF_TYP}")
    key = _proof_key(header)
    verify_signature(header, signing_input, signature, key, algorithms)
    if payload.get("aud") != audience:
        raise ClaimsError(Code.audience_mismatch, "proof aud is not this credential issuer")
    iat = payload.get("iat")
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise ClaimsError(Code.missing_claim, "proof iat missing")
    if iat > now + leeway:
        raise ClaimsError(Code.not_yet_valid, "proof iat is in the future")
    if iat < now - max_age - leeway:
        raise ClaimsError(Code.expired, "proof is too old")
    if "nonce" in payload and type(payload["nonce"]) is not str:
        raise ClaimsError(Code.invalid_claim, "proof nonce must be a string")
    return key, payload


def credential_offer_uri_link(offer_uri: str) -> str:
    """`openid-credential-offer://?credential_offer_uri=<urlencoded>` (§4.1)."""
    return f"{CREDENTIAL_OFFER_SCHEME}?credential_offer_uri={quote(offer_uri, safe='')}"


def parse_credential_offer_link(link: str) -> tuple[str, Any]:
    """Read an offer link: ("uri", credential_offer_uri) or ("value", offer JSON object).

    Exactly one of `credential_offer` / `credential_offer_uri` must be present (§4.1).
    """
    if not isinstance(link, str) or len(link) > MAX_OFFER_LINK_BYTES:
        raise FormatError(Code.malformed, "offer link missing or too long")
    params = parse_qs(urlsplit(link.strip()).query, keep_blank_values=True)
    by_value, by_ref = params.get("credential_offer"), params.get("credential_offer_uri")
    if bool(by_value) == bool(by_ref) or len(by_value or by_ref or ()) != 1:
        raise FormatError(
            Code.malformed, "need exactly one credential_offer or credential_offer_uri"
        )
    if by_ref:
        return "uri", by_ref[0]
    try:
        offer = json.loads(by_value[0])  # type: ignore[index]
    except ValueError as exc:
        raise FormatError(Code.malformed, "credential_offer is not JSON") from exc
    if type(offer) is not dict:
        raise FormatError(Code.malformed, "credential_offer must be a JSON object")
    return "value", offer
