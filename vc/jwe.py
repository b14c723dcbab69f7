"""JWE (RFC 7516) compact serialization, narrowed to the profile OpenID4VP `direct_post.jwt`
(§8.3) and HAIP use: `ECDH-ES` direct key agreement on P-256 (RFC 7518 §4.6, Concat KDF) with
`A128GCM` or `A256GCM` content encryption.

The cryptography is joserfc's, with a registry allowing exactly those three algorithms. Around
it, our checks and error codes: the shape and size of the token, `kid` naming our key, the
ephemeral key a point on P-256, no `zip`, `crit` or encrypted key, and the IV and tag lengths
of AES-GCM, all refused as `malformed` (or `unsupported_algorithm`) before any key agreement;
a token that then does not open is `invalid_signature`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwe
from joserfc.errors import DecodeError, ExceededSizeError, JoseError
from joserfc.jwk import ECKey

from vc.base64url import b64url_decode, b64url_encode
from vc.errors import Code, FormatError, SignatureError, VCError
from vc.jws import json_loads_object

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
_IV_BYTES, _TAG_BYTES = 12, 16


def _bad(detail: str, code: Code = Code.malformed) -> FormatError:
    return FormatError(code, f"JWE: {detail}")


_PROFILE = (JWE_ALG, *CONTENT_ENCRYPTIONS)
_ENCRYPTION = jwe.JWERegistry(algorithms=_PROFILE)


def _decryption_registry(max_bytes: int) -> jwe.JWERegistry:
    """joserfc's registry for our profile, as a recipient: unknown header parameters are
    ignored (RFC 7516 §4.1; joserfc's strict mode would refuse them), and its 64 KB cap on the
    ciphertext becomes the caller's `max_bytes`."""
    registry = jwe.JWERegistry(algorithms=_PROFILE, strict_check_header=False)
    registry.max_ciphertext_length = max_bytes
    return registry


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
    if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise _bad("not a P-256 EC JWK")
    try:
        x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
        if len(x) != 32 or len(y) != 32:
            raise ValueError("coordinate length")
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
    except (KeyError, ValueError, VCError) as exc:
        raise _bad("not a point on P-256") from exc


def _parts(token: str, max_bytes: int) -> tuple[dict[str, Any], list[bytes]]:
    if not isinstance(token, str) or len(token) > max_bytes:
        raise _bad("not a compact JWE")
    parts = token.split(".")
    if len(parts) != 5:
        raise _bad("not a compact JWE")
    try:
        raw = [b64url_decode(p) for p in parts]
        header = json_loads_object(raw[0], "JWE header")
    except VCError as exc:
        raise _bad("JWE parts are not base64url / a JSON object header") from exc
    return header, raw


def jwe_header(token: str, *, max_bytes: int) -> dict[str, Any]:
    """The protected header of a compact JWE, unverified (to pick the key by `kid`)."""
    return _parts(token, max_bytes)[0]


def encrypt_compact(plaintext: bytes, jwk: Mapping[str, Any], enc: str) -> str:
    """`plaintext` as a compact JWE to `jwk` (which must carry a `kid`): `ECDH-ES` with a fresh
    ephemeral key, `enc` AES-GCM, the protected header as additional authenticated data."""
    if enc not in CONTENT_ENCRYPTIONS:
        raise _bad(f"unsupported enc {enc!r}", Code.unsupported_algorithm)
    recipient = ECKey.import_key(p256_public_key(dict(jwk)))
    header = {"alg": JWE_ALG, "enc": enc, "kid": jwk["kid"]}
    return jwe.encrypt_compact(header, plaintext, recipient, registry=_ENCRYPTION)


def _check_profile(
    header: Mapping[str, Any], raw: list[bytes], kid: str, enc_values: Collection[str]
) -> None:
    """What lies outside our profile is refused before any key agreement."""
    if header.get("alg") != JWE_ALG:
        raise _bad("JWE alg must be ECDH-ES", Code.unsupported_algorithm)
    enc = header.get("enc")
    if not isinstance(enc, str) or enc not in enc_values or enc not in CONTENT_ENCRYPTIONS:
        raise _bad("JWE enc is not one we listed", Code.unsupported_algorithm)
    if header.get("kid") != kid:
        raise _bad("JWE kid is not our key")
    if "zip" in header or "crit" in header or raw[1]:
        raise _bad("JWE uses features we do not accept (zip, crit, an encrypted key)")
    for name in ("apu", "apv"):
        if name in header:
            try:
                b64url_decode(header[name])
            except VCError as exc:
                raise _bad(f"{name} is not base64url") from exc
    p256_public_key(header.get("epk"))
    if len(raw[2]) != _IV_BYTES or len(raw[4]) != _TAG_BYTES:
        raise _bad("JWE iv or tag has the wrong length")


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
    header, raw = _parts(token, max_bytes)
    _check_profile(header, raw, kid, enc_values)
    try:
        opened = jwe.decrypt_compact(
            token, ECKey.import_key(key), registry=_decryption_registry(max_bytes)
        )
    except ExceededSizeError as exc:
        raise _bad("JWE part too large", Code.input_too_large) from exc
    except DecodeError:  # the key agreement or the tag failed
        raise SignatureError(Code.invalid_signature, "the JWE does not open") from None
    except JoseError as exc:
        raise _bad("JWE refused by joserfc") from exc
    if opened.plaintext is None:  # pragma: no cover - joserfc sets it or raises
        raise SignatureError(Code.invalid_signature, "the JWE does not open")
    return opened.plaintext
