"""Facts from the RFC texts, kept as named cases in `data/rfc_facts.json`: RFC 9901 disclosure
digests, RFC 7638/8037 thumbprints, the RFC 8037 Appendix A Ed25519 JWS, and the reference holder
key's thumbprint and did:key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vc.base64url import b64url_decode
from vc.did_key import did_key_from_public_key
from vc.errors import Code, VCError
from vc.jws import check_algorithm, sign_compact_bytes, verify_compact
from vc.keys import (
    Ed25519PrivateKey,
    jwk_thumbprint,
    jwk_thumbprint_uri,
    private_key_from_jwk,
    public_key_from_jwk,
)
from vc.sd_jwt import Disclosure

FACTS = json.loads((Path(__file__).resolve().parent / "data" / "rfc_facts.json").read_text("utf-8"))


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["name"] for c in cases]


@pytest.mark.parametrize("case", FACTS["disclosure_digests"], ids=_ids(FACTS["disclosure_digests"]))
def test_disclosure_digest(case: dict[str, Any]) -> None:
    disclosure = Disclosure.parse(case["disclosure"])
    decoded = case["decoded"]
    assert disclosure.salt == decoded[0]
    assert (disclosure.name, disclosure.value) == (
        (decoded[1], decoded[2]) if len(decoded) == 3 else (None, decoded[1])
    )
    assert disclosure.digest("sha-256") == disclosure.digest() == case["sha-256"]


@pytest.mark.parametrize("case", FACTS["thumbprints"], ids=_ids(FACTS["thumbprints"]))
def test_jwk_thumbprint(case: dict[str, Any]) -> None:
    assert jwk_thumbprint(case["jwk"]) == case["thumbprint"]
    assert jwk_thumbprint_uri(case["jwk"]).endswith(":sha-256:" + case["thumbprint"])
    if case["jwk"]["kty"] != "RSA":  # RSA: thumbprints only, it is not a key type we sign with
        key = public_key_from_jwk(case["jwk"])
        assert key.thumbprint() == case["thumbprint"]
    if "did_key" in case:
        assert did_key_from_public_key(public_key_from_jwk(case["jwk"])) == case["did_key"]


@pytest.mark.parametrize("case", FACTS["ed25519_jws"], ids=_ids(FACTS["ed25519_jws"]))
def test_rfc8037_ed25519_jws(case: dict[str, Any]) -> None:
    key = private_key_from_jwk({"kty": "OKP", "crv": "Ed25519", "d": case["d"], "x": case["x"]})
    assert key.public_key.to_jwk()["x"] == case["x"]
    # Ed25519 is deterministic: our signer reproduces the RFC's JWS byte for byte.
    assert sign_compact_bytes(case["payload_utf8"].encode(), key) == case["jws"]

    h64, p64, s64 = case["jws"].split(".")
    header = json.loads(b64url_decode(h64))
    assert check_algorithm(header, key.public_key, ["EdDSA"]) == "EdDSA"
    assert b64url_decode(p64).decode() == case["payload_utf8"]
    key.public_key.verify(b64url_decode(s64), f"{h64}.{p64}".encode())
    with pytest.raises(VCError) as info:
        key.public_key.verify(b64url_decode(s64), f"{h64}.{p64}x".encode())
    assert info.value.code == Code.invalid_signature

    # verify_compact is for JWTs: a payload that is not a JSON object is refused as malformed.
    with pytest.raises(VCError) as info:
        verify_compact(case["jws"], key.public_key, algorithms=["EdDSA"])
    assert info.value.code == Code.malformed


def test_rfc8037_key_is_the_seed_key() -> None:
    case = FACTS["ed25519_jws"][0]
    seed_key = Ed25519PrivateKey(b64url_decode(case["d"]))
    assert seed_key.public_key == public_key_from_jwk(
        {"kty": "OKP", "crv": "Ed25519", "x": case["x"]}
    )
