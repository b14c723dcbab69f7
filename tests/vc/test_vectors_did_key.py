"""did:key test vectors (w3c-ccg/did-method-key `test-vectors/`): Ed25519 seeds and the P-256
entries of `nist-curves.json` (P-384/P-521 are not key types we support)."""

from __future__ import annotations

from typing import Any

import base58
import pytest
from vectors import read_json

from vc.base64url import b64url_decode
from vc.did_key import did_key_from_public_key, public_key_from_did_key, resolve_did_key
from vc.keys import Ed25519PrivateKey, P256PublicKey, private_key_from_jwk, public_key_from_jwk

ED25519 = read_json("did_key", "ed25519-x25519.json")
NIST_P256 = {
    did: entry
    for did, entry in read_json("did_key", "nist-curves.json").items()
    if entry["verificationMethod"].get("publicKeyJwk", {}).get("crv") == "P-256"
}


def _short(did: str) -> str:
    return did.removeprefix("did:key:")[:12]


def test_vector_files_have_the_expected_entries() -> None:
    assert len(ED25519) == 5
    assert len(NIST_P256) == 2


@pytest.mark.parametrize(("did", "entry"), ED25519.items(), ids=[_short(d) for d in ED25519])
def test_ed25519_seed_gives_the_did(did: str, entry: dict[str, Any]) -> None:
    key = Ed25519PrivateKey(bytes.fromhex(entry["seed"]))
    assert did_key_from_public_key(key.public_key) == did
    pair = entry["verificationKeyPair"]
    if "publicKeyBase58" in pair:
        assert key.public_key.raw == base58.b58decode(pair["publicKeyBase58"])
    else:
        assert key.to_jwk(private=True) == pair["privateKeyJwk"]


@pytest.mark.parametrize(("did", "entry"), ED25519.items(), ids=[_short(d) for d in ED25519])
def test_ed25519_did_resolves_to_its_key_and_document(did: str, entry: dict[str, Any]) -> None:
    key = public_key_from_did_key(did)
    assert key == Ed25519PrivateKey(bytes.fromhex(entry["seed"])).public_key
    _check_document(did, resolve_did_key(did), entry["didDocument"])


@pytest.mark.parametrize(("did", "entry"), NIST_P256.items(), ids=[_short(d) for d in NIST_P256])
def test_p256_private_jwk_gives_the_did(did: str, entry: dict[str, Any]) -> None:
    private = private_key_from_jwk(entry["verificationMethod"]["privateKeyJwk"])
    assert did_key_from_public_key(private.public_key) == did
    assert did.startswith("did:key:zDn")


@pytest.mark.parametrize(("did", "entry"), NIST_P256.items(), ids=[_short(d) for d in NIST_P256])
def test_p256_did_resolves_to_its_key_and_document(did: str, entry: dict[str, Any]) -> None:
    key = public_key_from_did_key(did)
    assert isinstance(key, P256PublicKey)
    assert key == public_key_from_jwk(entry["verificationMethod"]["publicKeyJwk"])
    assert key.to_jwk() == entry["verificationMethod"]["publicKeyJwk"]
    _check_document(did, resolve_did_key(did), entry["didDocument"])


def _check_document(did: str, ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Same DID, same verification method id and key, same relationships (key agreement aside)."""
    assert ours["id"] == theirs["id"] == did
    (method,) = ours["verificationMethod"]
    expected = theirs["verificationMethod"][0]
    assert method["id"] == expected["id"] == f"{did}#{did.removeprefix('did:key:')}"
    assert method["controller"] == did
    assert method["publicKeyMultibase"] == did.removeprefix("did:key:")
    if "publicKeyJwk" in expected:
        assert method["publicKeyJwk"] == expected["publicKeyJwk"]
    else:
        raw = b64url_decode(method["publicKeyJwk"]["x"])
        assert raw == base58.b58decode(expected["publicKeyBase58"])
    for relation in (
        "authentication",
        "assertionMethod",
        "capabilityInvocation",
        "capabilityDelegation",
    ):
        assert ours[relation] == theirs[relation] == [method["id"]]


def test_did_url_fragment_is_ignored_when_decoding() -> None:
    did = next(iter(ED25519))
    assert public_key_from_did_key(
        f"{did}#{did.removeprefix('did:key:')}"
    ) == public_key_from_did_key(did)
