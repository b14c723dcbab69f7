"""did:key (W3C CCG did-method-key) for Ed25519 and P-256 keys.

`did:key:z` + base58btc(multicodec varint ‖ raw public key): Ed25519 is 0xed (`ed 01`, `z6Mk…`),
P-256 is 0x1200 (`80 24`, `zDn…`) with the 33-byte compressed point.
"""

from __future__ import annotations

from typing import Any

import base58

from vc.errors import Code, KeyMaterialError, VCError
from vc.keys import Ed25519PublicKey, P256PublicKey, PublicKey

__all__ = ["did_key_from_public_key", "public_key_from_did_key", "resolve_did_key"]

DID_KEY_PREFIX = "did:key:"
_ED25519_CODEC = b"\xed\x01"
_P256_CODEC = b"\x80\x24"
_MAX_DID = 256
_DID_CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]


def did_key_from_public_key(key: PublicKey) -> str:
    """The did:key identifier of a public key."""
    if isinstance(key, Ed25519PublicKey):
        codec = _ED25519_CODEC
    elif isinstance(key, P256PublicKey):
        codec = _P256_CODEC
    else:  # pragma: no cover - every PublicKey subclass is handled above
        raise KeyMaterialError(Code.unsupported_key_type, "no multicodec for this key type")
    return DID_KEY_PREFIX + "z" + base58.b58encode(codec + key.raw).decode("ascii")


def public_key_from_did_key(did: str) -> PublicKey:
    """Decode a did:key (a DID URL fragment, if any, is ignored) to its public key."""
    if not isinstance(did, str) or len(did) > _MAX_DID or not did.startswith(DID_KEY_PREFIX):
        raise KeyMaterialError(Code.invalid_did, "not a did:key")
    multibase = did[len(DID_KEY_PREFIX) :].split("#", 1)[0]
    if not multibase.startswith("z"):
        raise KeyMaterialError(Code.invalid_did, "did:key must use base58btc multibase ('z')")
    try:
        data = base58.b58decode(multibase[1:])
    except ValueError as exc:
        raise KeyMaterialError(Code.invalid_did, "did:key is not base58btc") from exc
    try:
        if data[:2] == _ED25519_CODEC:
            return Ed25519PublicKey(data[2:])
        if data[:2] == _P256_CODEC:
            return P256PublicKey.from_compressed(data[2:])
    except VCError as exc:
        raise KeyMaterialError(Code.invalid_did, "did:key carries an invalid key") from exc
    raise KeyMaterialError(Code.unsupported_key_type, "did:key multicodec not supported")


def resolve_did_key(did: str) -> dict[str, Any]:
    """The DID document of a did:key: one verification method (Multikey, with its JWK too)."""
    key = public_key_from_did_key(did)
    did = did.split("#", 1)[0]
    vm_id = f"{did}#{did[len(DID_KEY_PREFIX) :]}"
    method = {
        "id": vm_id,
        "type": "Multikey",
        "controller": did,
        "publicKeyMultibase": did[len(DID_KEY_PREFIX) :],
        "publicKeyJwk": key.to_jwk(),
    }
    return {
        "@context": _DID_CONTEXT,
        "id": did,
        "verificationMethod": [method],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityInvocation": [vm_id],
        "capabilityDelegation": [vm_id],
    }
