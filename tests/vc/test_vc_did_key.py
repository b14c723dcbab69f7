"""vc.did_key: did:key encode/decode/resolve for Ed25519 (`z6Mk…`) and P-256 (`zDn…`)."""

from __future__ import annotations

from typing import Any

import base58
import pytest

from vc.did_key import did_key_from_public_key, public_key_from_did_key, resolve_did_key
from vc.errors import Code, KeyMaterialError
from vc.keys import Ed25519PrivateKey, P256PrivateKey, PublicKey

KEYS: dict[str, PublicKey] = {
    "ed25519": Ed25519PrivateKey.generate().public_key,
    "p256": P256PrivateKey.generate().public_key,
}
PREFIX = {"ed25519": "did:key:z6Mk", "p256": "did:key:zDn"}


@pytest.mark.parametrize("kind", list(KEYS))
def test_round_trip(kind: str) -> None:
    did = did_key_from_public_key(KEYS[kind])
    assert did.startswith(PREFIX[kind])
    assert public_key_from_did_key(did) == KEYS[kind]


@pytest.mark.parametrize("kind", list(KEYS))
def test_document_has_the_verification_method(kind: str) -> None:
    did = did_key_from_public_key(KEYS[kind])
    fragment = did.removeprefix("did:key:")
    doc = resolve_did_key(f"{did}#{fragment}")
    assert doc["id"] == did
    (method,) = doc["verificationMethod"]
    assert method == {
        "id": f"{did}#{fragment}",
        "type": "Multikey",
        "controller": did,
        "publicKeyMultibase": fragment,
        "publicKeyJwk": KEYS[kind].to_jwk(),
    }
    for relation in (
        "authentication",
        "assertionMethod",
        "capabilityInvocation",
        "capabilityDelegation",
    ):
        assert doc[relation] == [method["id"]]
    assert "https://www.w3.org/ns/did/v1" in doc["@context"]


def _did(codec: bytes, key: bytes) -> str:
    return "did:key:z" + base58.b58encode(codec + key).decode()


ED_RAW = KEYS["ed25519"].raw
BAD_DIDS: list[Any] = [
    pytest.param("did:web:example.com", Code.invalid_did, id="other_method"),
    pytest.param("did:key:", Code.invalid_did, id="empty"),
    pytest.param("did:key:m" + "A" * 40, Code.invalid_did, id="base64_multibase"),
    pytest.param("did:key:z0OIl", Code.invalid_did, id="not_base58"),
    pytest.param(_did(b"\xed\x01", ED_RAW[:31]), Code.invalid_did, id="ed25519_31_bytes"),
    pytest.param(_did(b"\xed\x01", ED_RAW + b"\x00"), Code.invalid_did, id="ed25519_33_bytes"),
    pytest.param(
        _did(b"\x80\x24", b"\x02" + b"\x00" * 31), Code.invalid_did, id="p256_short_point"
    ),
    pytest.param(_did(b"\x80\x24", b"\x05" + b"\x01" * 32), Code.invalid_did, id="p256_bad_point"),
    pytest.param(_did(b"\xec\x01", ED_RAW), Code.unsupported_key_type, id="x25519"),
    pytest.param(_did(b"\xe7\x01", b"\x02" * 33), Code.unsupported_key_type, id="secp256k1"),
    pytest.param(_did(b"\x81\x24", b"\x02" * 49), Code.unsupported_key_type, id="p384"),
    pytest.param("did:key:z" + "1" * 300, Code.invalid_did, id="too_long"),
    pytest.param(None, Code.invalid_did, id="not_a_string"),
]


@pytest.mark.parametrize(("did", "code"), BAD_DIDS)
def test_bad_did_is_refused(did: Any, code: Code) -> None:
    with pytest.raises(KeyMaterialError) as info:
        public_key_from_did_key(did)
    assert info.value.code == code
    with pytest.raises(KeyMaterialError):
        resolve_did_key(did)
