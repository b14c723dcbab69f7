"""vc.keys: JWK import/export (RFC 7517, RFC 8037), thumbprints (RFC 7638), raw sign/verify."""

from __future__ import annotations

from typing import Any

import pytest

from vc.base64url import b64url_encode
from vc.errors import Code, KeyMaterialError, VCError
from vc.keys import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
    P256PrivateKey,
    P256PublicKey,
    PrivateKey,
    PublicKey,
    generate_private_key,
    jwk_thumbprint,
    private_key_from_jwk,
    public_key_from_jwk,
)

KEYS: dict[str, PrivateKey] = {
    "ed25519": Ed25519PrivateKey(bytes(range(32))),
    "p256": P256PrivateKey.generate(),
}
OTHER: dict[str, PrivateKey] = {
    "ed25519": Ed25519PrivateKey(bytes(range(1, 33))),
    "p256": P256PrivateKey.generate(),
}
KEY_TYPES = list(KEYS)


@pytest.mark.parametrize("kind", KEY_TYPES)
def test_private_jwk_round_trip(kind: str) -> None:
    key = KEYS[kind]
    jwk = key.to_jwk()
    assert "d" in jwk
    again = private_key_from_jwk(jwk)
    assert type(again) is type(key)
    assert again.to_jwk() == jwk
    assert again.public_key == key.public_key
    message = b"\xed\x95\x9c\xea\xb8\x80 signed"
    key.public_key.verify(again.sign(message), message)


@pytest.mark.parametrize("kind", KEY_TYPES)
def test_public_jwk_round_trip(kind: str) -> None:
    key = KEYS[kind]
    jwk = key.to_jwk(private=False)
    assert "d" not in jwk
    assert jwk == key.public_key.to_jwk()
    public = public_key_from_jwk(jwk)
    assert public == key.public_key
    assert hash(public) == hash(key.public_key)
    assert public != OTHER[kind].public_key
    assert public.to_jwk() == jwk


def test_jwk_members_are_exactly_the_rfc_ones() -> None:
    assert set(KEYS["ed25519"].to_jwk()) == {"kty", "crv", "x", "d"}
    assert set(KEYS["p256"].to_jwk()) == {"kty", "crv", "x", "y", "d"}
    assert KEYS["ed25519"].public_key.to_jwk()["crv"] == "Ed25519"
    assert KEYS["p256"].public_key.to_jwk()["crv"] == "P-256"


def test_public_key_import_ignores_unrelated_members() -> None:
    jwk = {**KEYS["p256"].public_key.to_jwk(), "kid": "k1", "use": "sig", "alg": "ES256"}
    assert public_key_from_jwk(jwk) == KEYS["p256"].public_key
    assert jwk_thumbprint(jwk) == KEYS["p256"].public_key.thumbprint()


@pytest.mark.parametrize("kind", KEY_TYPES)
def test_private_jwk_given_as_public_is_refused(kind: str) -> None:
    with pytest.raises(KeyMaterialError) as info:
        public_key_from_jwk(KEYS[kind].to_jwk(private=True))
    assert info.value.code == Code.invalid_key


@pytest.mark.parametrize(
    ("kind", "member"),
    [("ed25519", "x"), ("p256", "x"), ("p256", "y")],
    ids=["ed25519_x", "p256_x", "p256_y"],
)
def test_mismatched_public_and_private_parts_are_refused(kind: str, member: str) -> None:
    jwk = KEYS[kind].to_jwk()
    jwk[member] = OTHER[kind].to_jwk()[member]
    with pytest.raises(KeyMaterialError) as info:
        private_key_from_jwk(jwk)
    assert info.value.code == Code.invalid_key


def _jwk(kind: str, **changes: Any) -> dict[str, Any]:
    jwk: dict[str, Any] = KEYS[kind].public_key.to_jwk()
    jwk.update(changes)
    return {k: v for k, v in jwk.items() if v is not None}


BAD_PUBLIC_JWKS = [
    pytest.param("not a mapping", Code.invalid_key, id="not_a_mapping"),
    pytest.param(["kty", "OKP"], Code.invalid_key, id="a_list"),
    pytest.param(_jwk("ed25519", crv="X25519"), Code.unsupported_key_type, id="okp_x25519"),
    pytest.param(_jwk("p256", crv="P-384"), Code.unsupported_key_type, id="ec_p384"),
    pytest.param({"kty": "RSA", "n": "AQAB", "e": "AQAB"}, Code.unsupported_key_type, id="rsa"),
    pytest.param({"kty": "oct", "k": "c2VjcmV0"}, Code.unsupported_key_type, id="symmetric_oct"),
    pytest.param(_jwk("ed25519", kty=None), Code.unsupported_key_type, id="kty_missing"),
    pytest.param(_jwk("ed25519", x=None), Code.invalid_key, id="x_missing"),
    pytest.param(_jwk("ed25519", x=123), Code.invalid_key, id="x_not_a_string"),
    pytest.param(_jwk("ed25519", x="not+base64url/"), Code.invalid_key, id="x_not_base64url"),
    pytest.param(_jwk("ed25519", x=b64url_encode(b"\x01" * 31)), Code.invalid_key, id="x_31_bytes"),
    pytest.param(_jwk("p256", y=None), Code.invalid_key, id="p256_y_missing"),
    pytest.param(
        _jwk("p256", y=b64url_encode(b"\x01" * 32)), Code.invalid_key, id="p256_off_curve"
    ),
    pytest.param(
        _jwk("p256", x=b64url_encode(b"\x01" * 33)), Code.invalid_key, id="p256_x_33_bytes"
    ),
    pytest.param(_jwk("ed25519", x="A" * 5000), Code.invalid_key, id="member_too_long"),
]


@pytest.mark.parametrize(("jwk", "code"), BAD_PUBLIC_JWKS)
def test_bad_public_jwk_is_refused(jwk: Any, code: Code) -> None:
    with pytest.raises(KeyMaterialError) as info:
        public_key_from_jwk(jwk)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("jwk", "code"),
    [
        pytest.param("x", Code.invalid_key, id="not_a_mapping"),
        pytest.param({"kty": "OKP", "crv": "Ed25519"}, Code.invalid_key, id="ed25519_d_missing"),
        pytest.param(
            {"kty": "OKP", "crv": "Ed25519", "d": "AAAA"}, Code.invalid_key, id="ed25519_short_seed"
        ),
        pytest.param(
            {"kty": "EC", "crv": "P-256", "d": b64url_encode(bytes(32))},
            Code.invalid_key,
            id="p256_zero_scalar",
        ),
        pytest.param(
            {"kty": "EC", "crv": "P-256", "d": b64url_encode(b"\xff" * 32)},
            Code.invalid_key,
            id="p256_scalar_above_order",
        ),
        pytest.param(
            {"kty": "EC", "crv": "secp256k1", "d": "AAAA"},
            Code.unsupported_key_type,
            id="secp256k1",
        ),
    ],
)
def test_bad_private_jwk_is_refused(jwk: Any, code: Code) -> None:
    with pytest.raises(KeyMaterialError) as info:
        private_key_from_jwk(jwk)
    assert info.value.code == code


@pytest.mark.parametrize(
    "jwk",
    [
        pytest.param({"kty": "OKP", "crv": "Ed25519"}, id="okp_without_x"),
        pytest.param({"kty": "EC", "crv": "P-256", "x": "AA"}, id="ec_without_y"),
        pytest.param({"kty": "RSA", "n": "AQAB"}, id="rsa_without_e"),
        pytest.param({"kty": "oct", "k": "AA"}, id="oct"),
        pytest.param({"crv": "Ed25519", "x": "AA"}, id="no_kty"),
    ],
)
def test_thumbprint_needs_the_required_members(jwk: dict[str, Any]) -> None:
    with pytest.raises(KeyMaterialError) as info:
        jwk_thumbprint(jwk)
    assert info.value.code == Code.invalid_key


def test_thumbprint_is_independent_of_member_order_and_extras() -> None:
    jwk = KEYS["p256"].public_key.to_jwk()
    shuffled = {"y": jwk["y"], "kid": "x", "x": jwk["x"], "crv": "P-256", "kty": "EC"}
    assert jwk_thumbprint(shuffled) == jwk_thumbprint(jwk) == KEYS["p256"].public_key.thumbprint()


@pytest.mark.parametrize(
    ("alg", "key_type"),
    [("EdDSA", Ed25519PrivateKey), ("Ed25519", Ed25519PrivateKey), ("ES256", P256PrivateKey)],
)
def test_generate_private_key_for_algorithm(alg: str, key_type: type) -> None:
    key = generate_private_key(alg)
    assert isinstance(key, key_type)
    assert alg in key.public_key.algorithms


@pytest.mark.parametrize("alg", ["HS256", "RS256", "ES384", "none", ""])
def test_generate_private_key_refuses_other_algorithms(alg: str) -> None:
    with pytest.raises(KeyMaterialError) as info:
        generate_private_key(alg)
    assert info.value.code == Code.unsupported_key_type


def test_key_algorithms_are_fixed_per_key_type() -> None:
    assert Ed25519PublicKey.algorithms == {"EdDSA", "Ed25519"}
    assert P256PublicKey.algorithms == {"ES256"}
    assert KEYS["ed25519"].default_alg == "EdDSA"
    assert KEYS["p256"].default_alg == "ES256"


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_ed25519_seed_and_public_key_lengths(size: int) -> None:
    with pytest.raises(KeyMaterialError):
        Ed25519PrivateKey(bytes(size))
    with pytest.raises(KeyMaterialError):
        Ed25519PublicKey(bytes(size))


def test_p256_compressed_point_round_trip() -> None:
    public = KEYS["p256"].public_key
    assert isinstance(public, P256PublicKey)
    assert len(public.raw) == 33 and public.raw[0] in (2, 3)
    assert P256PublicKey.from_compressed(public.raw) == public
    with pytest.raises(KeyMaterialError):
        P256PublicKey.from_compressed(public.raw[:32])
    with pytest.raises(KeyMaterialError):
        P256PublicKey.from_compressed(b"\x05" + public.raw[1:])


@pytest.mark.parametrize("kind", KEY_TYPES)
@pytest.mark.parametrize(
    "signature_change",
    [
        pytest.param(lambda s: s[:-1], id="one_byte_short"),
        pytest.param(lambda s: s + b"\x00", id="one_byte_long"),
        pytest.param(lambda s: bytes([s[0] ^ 1]) + s[1:], id="bit_flipped"),
        pytest.param(lambda s: b"", id="empty"),
    ],
)
def test_raw_verify_rejects_bad_signatures(kind: str, signature_change: Any) -> None:
    key = KEYS[kind]
    signature = key.sign(b"message")
    key.public_key.verify(signature, b"message")
    with pytest.raises(VCError) as info:
        key.public_key.verify(signature_change(signature), b"message")
    assert info.value.code == Code.invalid_signature
    with pytest.raises(VCError):
        key.public_key.verify(signature, b"messagf")
    with pytest.raises(VCError):
        OTHER[kind].public_key.verify(signature, b"message")


@pytest.mark.parametrize("kind", KEY_TYPES)
def test_repr_never_shows_private_material(kind: str) -> None:
    key = KEYS[kind]
    assert key.to_jwk()["d"] not in repr(key)
    assert key.public_key.thumbprint() in repr(key)


def test_ed25519_verify_agrees_with_openssl() -> None:
    """PyNaCl's verification gives OpenSSL's answer for good signatures, mutated ones, other
    keys, empty and long messages."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey as OpenSSLKey

    key = Ed25519PrivateKey(bytes(range(32)))
    oracle = OpenSSLKey.from_public_bytes(key.public_key.raw)

    def openssl_says(signature: bytes, message: bytes) -> bool:
        try:
            oracle.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def ours_says(public: PublicKey, signature: bytes, message: bytes) -> bool:
        try:
            public.verify(signature, message)
        except VCError as exc:
            assert exc.code == Code.invalid_signature
            return False
        return True

    checked = 0
    for message in (b"", b"m", bytes(range(256)) * 64, b"x" * 1_000_000):
        signature = key.sign(message)
        cases = [(signature, message), (signature, message + b"\x00")]
        cases += [
            (signature[:i] + bytes([signature[i] ^ 0x10]) + signature[i + 1 :], message)
            for i in (0, 31, 32, 63)
        ]
        if message:
            cases.append((signature, bytes([message[0] ^ 1]) + message[1:]))
        for sig, msg in cases:
            assert ours_says(key.public_key, sig, msg) == openssl_says(sig, msg)
            checked += 1
        assert not ours_says(OTHER["ed25519"].public_key, signature, message)
    assert checked >= 20
