"""JWE (RFC 7516) compact serialization, narrowed to the profile OpenID4VP `direct_post.jwt`
(§8.3) and HAIP use: `ECDH-ES` direct key agreement on P-256 (RFC 7518 §4.6, Concat KDF) with
`A128GCM` or `A256GCM` content encryption.

Written over `cryptography`'s ECDH, Concat KDF and AES-GCM rather than taken from a general JOSE
library: the profile is one key agreement and two content encryptions, about a hundred lines,
and a general library would bring every other JWE algorithm, key wrapping and `zip` to a
verifier's door only to be switched off again. Tests check both directions against joserfc.
"""

from __future__ import annotations

import binascii
import json
import os
from collections.abc import Collection, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash

from vc.base64url import b64url_decode, b64url_encode
from vc.errors import Code, FormatError, SignatureError, VCError
from vc.jws import json_dumps

__all__ = [
    "CONTENT_ENCRYPTIONS",
    "JWE_ALG",
    "decrypt_compact",
    "encrypt_compact",
    "encryption_jwk",
    "jwe_header",
    "p256_public_key",
]

JWE_ALG = "ECDH-ES"
CONTENT_ENCRYPTIONS = ("A128GCM", "A256GCM")
_KEY_BYTES = {"A128GCM": 16, "A256GCM": 32}
_IV_BYTES, _TAG_BYTES = 12, 16


def _bad(detail: str, code: Code = Code.malformed) -> FormatError:
    return FormatError(code, f"JWE: {detail}")


def encryption_jwk(key: ec.EllipticCurvePublicKey, kid: str) -> dict[str, Any]:
    """A P-256 public key as an encryption JWK: `use` enc, `alg` ECDH-ES, with `kid`."""
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.x.to_bytes(32, "big")),
        "y": b64url_encode(numbers.y.to_bytes(32, "big")),
        "kid": kid,
        "use": "enc",
        "alg": JWE_ALG,
    }


def p256_public_key(jwk: Any) -> ec.EllipticCurvePublicKey:
    """A P-256 public JWK as a key; `FormatError` unless it is a point on the curve."""
    if type(jwk) is not dict or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise _bad("not a P-256 EC JWK")
    try:
        x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
        if len(x) != 32 or len(y) != 32:
            raise ValueError("coordinate length")
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
    except (KeyError, TypeError, ValueError, binascii.Error, VCError) as exc:
        raise _bad("not a point on P-256") from exc


def _parts(token: str, max_bytes: int) -> tuple[str, dict[str, Any], list[bytes]]:
    parts = token.split(".")
    if len(parts) != 5 or len(token) > max_bytes:
        raise _bad("not a compact JWE")
    try:
        raw = [b64url_decode(p) for p in parts]
        header = json.loads(raw[0])
    except (ValueError, binascii.Error, RecursionError) as exc:
        raise _bad("JWE parts are not base64url / JSON") from exc
    if type(header) is not dict:
        raise _bad("JWE header must be a JSON object")
    return parts[0], header, raw


def jwe_header(token: str, *, max_bytes: int) -> dict[str, Any]:
    """The protected header of a compact JWE, unverified (to pick the key by `kid`)."""
    return _parts(token, max_bytes)[1]


def _content_key(shared: bytes, enc: str, apu: bytes = b"", apv: bytes = b"") -> bytes:
    """RFC 7518 §4.6.2: Concat KDF over the ECDH secret, AlgorithmID = `enc` (direct agreement)."""
    size = _KEY_BYTES[enc]
    other = b"".join(len(v).to_bytes(4, "big") + v for v in (enc.encode("ascii"), apu, apv))
    return ConcatKDFHash(hashes.SHA256(), size, other + (size * 8).to_bytes(4, "big")).derive(
        shared
    )


def encrypt_compact(plaintext: bytes, jwk: Mapping[str, Any], enc: str) -> str:
    """`plaintext` as a compact JWE to `jwk` (which must carry a `kid`): `ECDH-ES` with a fresh
    ephemeral key, `enc` AES-GCM, the protected header as additional authenticated data."""
    if enc not in _KEY_BYTES:
        raise _bad(f"unsupported enc {enc!r}", Code.unsupported_algorithm)
    recipient = p256_public_key(dict(jwk))
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    epk = encryption_jwk(ephemeral.public_key(), "")
    header = {
        "alg": JWE_ALG,
        "enc": enc,
        "kid": jwk["kid"],
        "epk": {k: epk[k] for k in ("kty", "crv", "x", "y")},
    }
    protected = b64url_encode(json_dumps(header))
    cek = _content_key(ephemeral.exchange(ec.ECDH(), recipient), enc)
    iv = os.urandom(_IV_BYTES)
    sealed = AESGCM(cek).encrypt(iv, plaintext, protected.encode("ascii"))
    ciphertext, tag = sealed[:-_TAG_BYTES], sealed[-_TAG_BYTES:]
    return f"{protected}..{b64url_encode(iv)}.{b64url_encode(ciphertext)}.{b64url_encode(tag)}"


def decrypt_compact(
    token: str,
    key: ec.EllipticCurvePrivateKey,
    *,
    kid: str,
    enc_values: Collection[str] = CONTENT_ENCRYPTIONS,
    max_bytes: int,
) -> bytes:
    """Open a compact JWE sent to our key `kid`. Raises `FormatError` (shape, header, a feature
    outside the profile) or `SignatureError` (`invalid_signature`: it does not open)."""
    protected, header, raw = _parts(token, max_bytes)
    if header.get("alg") != JWE_ALG:
        raise _bad("JWE alg must be ECDH-ES", Code.unsupported_algorithm)
    enc = header.get("enc")
    if enc not in enc_values or enc not in _KEY_BYTES:
        raise _bad("JWE enc is not one we listed", Code.unsupported_algorithm)
    if header.get("kid") != kid:
        raise _bad("JWE kid is not our key")
    if "zip" in header or "crit" in header or raw[1]:
        raise _bad("JWE uses features we do not accept (zip, crit, an encrypted key)")
    try:
        apu = b64url_decode(header.get("apu", ""))
        apv = b64url_decode(header.get("apv", ""))
    except (TypeError, ValueError, binascii.Error, VCError) as exc:
        raise _bad("apu/apv are not base64url") from exc
    cek = _content_key(key.exchange(ec.ECDH(), p256_public_key(header.get("epk"))), enc, apu, apv)
    iv, ciphertext, tag = raw[2], raw[3], raw[4]
    if len(iv) != _IV_BYTES or len(tag) != _TAG_BYTES:
        raise _bad("JWE iv or tag has the wrong length")
    try:
        return AESGCM(cek).decrypt(iv, ciphertext + tag, protected.encode("ascii"))
    except InvalidTag:
        raise SignatureError(Code.invalid_signature, "the JWE does not open") from None
