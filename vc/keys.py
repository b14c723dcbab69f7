"""Signing keys as JWKs (RFC 7517, RFC 8037), their RFC 7638 thumbprints, and raw sign/verify.

Two key types: Ed25519 through PyNaCl (libsodium; the default everywhere) and P-256 through
`cryptography` (what HAIP wallets require). A key knows which JWS algorithms it may be used with,
so the algorithm can never be chosen by the token alone (RFC 8725 §3.1).
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import nacl.exceptions
import nacl.signing
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from vc.base64url import b64url_decode, b64url_encode
from vc.errors import Code, KeyMaterialError, SignatureError, VCError

__all__ = [
    "ALG_ED25519",
    "ALG_EDDSA",
    "ALG_ES256",
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "P256PrivateKey",
    "P256PublicKey",
    "PrivateKey",
    "PublicKey",
    "generate_private_key",
    "jwk_thumbprint",
    "jwk_thumbprint_uri",
    "private_key_from_jwk",
    "public_key_from_jwk",
]

ALG_EDDSA = "EdDSA"  # RFC 8037; what we emit, since PyJWT peers know only this name
ALG_ED25519 = "Ed25519"  # RFC 9864 fully specified name; accepted on verification
ALG_ES256 = "ES256"

_P256_COORD = 32
_THUMBPRINT_MEMBERS = {
    "OKP": ("crv", "kty", "x"),
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
}
_MAX_JWK_MEMBER = 4096


class PublicKey(ABC):
    """A public key that verifies JWS signatures for a fixed set of algorithms."""

    kty: ClassVar[str]
    crv: ClassVar[str]
    algorithms: ClassVar[frozenset[str]]

    @abstractmethod
    def verify(self, signature: bytes, message: bytes) -> None:
        """Raise `SignatureError(invalid_signature)` unless `signature` is valid over `message`."""

    @abstractmethod
    def to_jwk(self) -> dict[str, str]:
        """The public JWK (required members only)."""

    @property
    @abstractmethod
    def raw(self) -> bytes:
        """Raw public key bytes (Ed25519: 32 bytes; P-256: 33-byte compressed point)."""

    def thumbprint(self) -> str:
        """RFC 7638 SHA-256 thumbprint, base64url."""
        return jwk_thumbprint(self.to_jwk())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and self.kty == other.kty and self.raw == other.raw

    def __hash__(self) -> int:
        return hash((self.kty, self.raw))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.thumbprint()}>"


class PrivateKey(ABC):
    """A private signing key; `sign` returns the JWS-format signature for `default_alg`."""

    default_alg: ClassVar[str]

    @property
    @abstractmethod
    def public_key(self) -> PublicKey: ...

    @abstractmethod
    def sign(self, message: bytes) -> bytes: ...

    @abstractmethod
    def to_jwk(self, *, private: bool = True) -> dict[str, str]:
        """The JWK; with `private=False` the public part only."""

    def __repr__(self) -> str:  # never print key material
        return f"<{type(self).__name__} {self.public_key.thumbprint()}>"


class Ed25519PublicKey(PublicKey):
    kty = "OKP"
    crv = "Ed25519"
    algorithms = frozenset({ALG_EDDSA, ALG_ED25519})
    __slots__ = ("_key",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) != 32:
            raise KeyMaterialError(Code.invalid_key, "Ed25519 public key must be 32 bytes")
        self._key = nacl.signing.VerifyKey(bytes(raw))

    @property
    def raw(self) -> bytes:
        return bytes(self._key)

    def verify(self, signature: bytes, message: bytes) -> None:
        if len(signature) != 64:
            raise SignatureError(Code.invalid_signature, "Ed25519 signature must be 64 bytes")
        try:
            self._key.verify(message, signature)
        except nacl.exceptions.BadSignatureError as exc:
            raise SignatureError(Code.invalid_signature, "signature does not verify") from exc

    def to_jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(self.raw)}


class Ed25519PrivateKey(PrivateKey):
    default_alg = ALG_EDDSA
    __slots__ = ("_pub", "_sk")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise KeyMaterialError(Code.invalid_key, "Ed25519 seed must be 32 bytes")
        self._sk = nacl.signing.SigningKey(bytes(seed))
        self._pub = Ed25519PublicKey(bytes(self._sk.verify_key))

    @classmethod
    def generate(cls) -> Ed25519PrivateKey:
        return cls(bytes(nacl.signing.SigningKey.generate()))

    @property
    def seed(self) -> bytes:
        return bytes(self._sk)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._pub

    def sign(self, message: bytes) -> bytes:
        return self._sk.sign(message).signature

    def to_jwk(self, *, private: bool = True) -> dict[str, str]:
        jwk = self._pub.to_jwk()
        if private:
            jwk["d"] = b64url_encode(self.seed)
        return jwk


class P256PublicKey(PublicKey):
    kty = "EC"
    crv = "P-256"
    algorithms = frozenset({ALG_ES256})
    __slots__ = ("_key",)

    def __init__(self, key: ec.EllipticCurvePublicKey) -> None:
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyMaterialError(Code.unsupported_key_type, "only P-256 is supported")
        self._key = key

    @classmethod
    def from_coordinates(cls, x: bytes, y: bytes) -> P256PublicKey:
        if len(x) != _P256_COORD or len(y) != _P256_COORD:
            raise KeyMaterialError(Code.invalid_key, "P-256 coordinates must be 32 bytes")
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
        except ValueError as exc:
            raise KeyMaterialError(Code.invalid_key, "point is not on P-256") from exc
        return cls(key)

    @classmethod
    def from_compressed(cls, point: bytes) -> P256PublicKey:
        if len(point) != 33:
            raise KeyMaterialError(Code.invalid_key, "compressed P-256 point must be 33 bytes")
        try:
            return cls(ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point))
        except ValueError as exc:
            raise KeyMaterialError(Code.invalid_key, "point is not on P-256") from exc

    @property
    def crypto_key(self) -> ec.EllipticCurvePublicKey:
        return self._key

    @property
    def raw(self) -> bytes:
        nums = self._key.public_numbers()
        return bytes([2 + (nums.y & 1)]) + nums.x.to_bytes(_P256_COORD, "big")

    def verify(self, signature: bytes, message: bytes) -> None:
        if len(signature) != 2 * _P256_COORD:
            raise SignatureError(Code.invalid_signature, "ES256 signature must be 64 bytes")
        r = int.from_bytes(signature[:_P256_COORD], "big")
        s = int.from_bytes(signature[_P256_COORD:], "big")
        try:
            self._key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as exc:
            raise SignatureError(Code.invalid_signature, "signature does not verify") from exc

    def to_jwk(self) -> dict[str, str]:
        nums = self._key.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url_encode(nums.x.to_bytes(_P256_COORD, "big")),
            "y": b64url_encode(nums.y.to_bytes(_P256_COORD, "big")),
        }


class P256PrivateKey(PrivateKey):
    default_alg = ALG_ES256
    __slots__ = ("_key", "_pub")

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyMaterialError(Code.unsupported_key_type, "only P-256 is supported")
        self._key = key
        self._pub = P256PublicKey(key.public_key())

    @classmethod
    def generate(cls) -> P256PrivateKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @property
    def crypto_key(self) -> ec.EllipticCurvePrivateKey:
        return self._key

    @property
    def public_key(self) -> P256PublicKey:
        return self._pub

    def sign(self, message: bytes) -> bytes:
        r, s = decode_dss_signature(self._key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(_P256_COORD, "big") + s.to_bytes(_P256_COORD, "big")

    def to_jwk(self, *, private: bool = True) -> dict[str, str]:
        jwk = self._pub.to_jwk()
        if private:
            d = self._key.private_numbers().private_value
            jwk["d"] = b64url_encode(d.to_bytes(_P256_COORD, "big"))
        return jwk


def generate_private_key(alg: str = ALG_EDDSA) -> PrivateKey:
    """A fresh key for a JWS algorithm name (`EdDSA`/`Ed25519` or `ES256`)."""
    if alg in Ed25519PublicKey.algorithms:
        return Ed25519PrivateKey.generate()
    if alg == ALG_ES256:
        return P256PrivateKey.generate()
    raise KeyMaterialError(Code.unsupported_key_type, f"no key type for algorithm {alg!r}")


def _member(jwk: Mapping[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str) or len(value) > _MAX_JWK_MEMBER:
        raise KeyMaterialError(Code.invalid_key, f"JWK member {name!r} missing or not a string")
    try:
        return b64url_decode(value)
    except VCError as exc:
        raise KeyMaterialError(Code.invalid_key, f"JWK member {name!r} is not base64url") from exc


def public_key_from_jwk(jwk: Any) -> PublicKey:
    """Parse a public JWK; refuses private members so a private key is never taken for public."""
    if not isinstance(jwk, Mapping):
        raise KeyMaterialError(Code.invalid_key, "JWK must be a JSON object")
    if "d" in jwk:
        raise KeyMaterialError(Code.invalid_key, "a public JWK must not contain a private key")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        return Ed25519PublicKey(_member(jwk, "x"))
    if kty == "EC" and crv == "P-256":
        return P256PublicKey.from_coordinates(_member(jwk, "x"), _member(jwk, "y"))
    raise KeyMaterialError(Code.unsupported_key_type, f"unsupported JWK kty/crv {kty!r}/{crv!r}")


def private_key_from_jwk(jwk: Any) -> PrivateKey:
    """Parse a private JWK and check that its public part matches the private key."""
    if not isinstance(jwk, Mapping):
        raise KeyMaterialError(Code.invalid_key, "JWK must be a JSON object")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    key: PrivateKey
    if kty == "OKP" and crv == "Ed25519":
        key = Ed25519PrivateKey(_member(jwk, "d"))
    elif kty == "EC" and crv == "P-256":
        d = int.from_bytes(_member(jwk, "d"), "big")
        try:
            key = P256PrivateKey(ec.derive_private_key(d, ec.SECP256R1()))
        except ValueError as exc:
            raise KeyMaterialError(Code.invalid_key, "invalid P-256 private scalar") from exc
    else:
        raise KeyMaterialError(
            Code.unsupported_key_type, f"unsupported JWK kty/crv {kty!r}/{crv!r}"
        )
    public = {k: jwk[k] for k in ("x", "y") if k in jwk}
    if public and any(key.public_key.to_jwk().get(k) != v for k, v in public.items()):
        raise KeyMaterialError(Code.invalid_key, "JWK public part does not match its private key")
    return key


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 §3: SHA-256 over the required members, sorted, without whitespace."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or any(not isinstance(jwk.get(m), str) for m in members):
        raise KeyMaterialError(Code.invalid_key, "JWK lacks the members its thumbprint needs")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


def jwk_thumbprint_uri(jwk: Mapping[str, Any]) -> str:
    """RFC 9278 JWK thumbprint URI."""
    return "urn:ietf:params:oauth:jwk-thumbprint:sha-256:" + jwk_thumbprint(jwk)
