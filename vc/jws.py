"""JWS compact serialization (RFC 7515) through PyJWT, behind our own checks.

Signing and signature verification go through one `jwt.PyJWS` whose algorithm allow-list is
exactly `SUPPORTED_ALGORITHMS` (PyJWT's defaults, `none` and HMAC among them, are removed).
Around it, what PyJWT leaves to the caller: `typ` (RFC 8725 §3.11), the `alg` allow-listed for
this call AND fitting the key type (RFC 8725 §3.1), no `crit`, size caps, and our error codes.

Two things are ours rather than PyJWT's, because PyJWT cannot do them:
- The algorithms registered on the `PyJWS` are `_VcKeyAlgorithm`, PyJWT's extension point
  (`register_algorithm`), delegating to `vc.keys`: PyJWT's own EdDSA takes `cryptography` key
  objects, while our Ed25519 keys are PyNaCl's (libsodium).
- A token is parsed by `decode_unverified`, not by PyJWT: a key resolver needs the unverified
  header and payload (`kid`, `iss`) to choose the key before any signature is checked; PyJWT's
  parser accepts `=`-padded segments, so one signature could travel in two spellings past a
  replay cache, where ours accepts canonical unpadded base64url only (`vc.base64url`); and
  parsing twice costs the gate over a third of its rate (see `verify_signature`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import jwt.algorithms
import orjson

from vc.base64url import b64url_decode
from vc.errors import Code, FormatError, SignatureError, VCError
from vc.keys import ALG_ED25519, ALG_EDDSA, ALG_ES256, PrivateKey, PublicKey

__all__ = [
    "MAX_JWS_BYTES",
    "SUPPORTED_ALGORITHMS",
    "KeyResolver",
    "VerifiedJWS",
    "check_algorithm",
    "check_typ",
    "decode_unverified",
    "json_dumps",
    "json_loads",
    "json_loads_object",
    "sign_compact",
    "sign_compact_bytes",
    "verify_compact",
    "verify_signature",
]

SUPPORTED_ALGORITHMS = frozenset({ALG_EDDSA, ALG_ED25519, ALG_ES256})
MAX_JWS_BYTES = 64 * 1024
_MAX_HEADER_BYTES = 8 * 1024

KeyResolver = Callable[[Mapping[str, Any], Mapping[str, Any]], PublicKey]
"""Given the (unverified) header and payload, return the key that must have signed them."""


@dataclass(frozen=True, slots=True)
class VerifiedJWS:
    header: dict[str, Any]
    payload: dict[str, Any]
    key: PublicKey


class _VcKeyAlgorithm(jwt.algorithms.Algorithm):
    """A PyJWT algorithm that signs and verifies with `vc.keys` keys (PyNaCl or cryptography)
    and refuses a key whose type does not fit the algorithm's name."""

    def __init__(self, name: str) -> None:
        self.name = name

    def prepare_key(self, key: Any) -> Any:
        if not isinstance(key, PrivateKey | PublicKey):
            raise SignatureError(Code.unsupported_algorithm, "expected a vc.keys key")
        public = key.public_key if isinstance(key, PrivateKey) else key
        if self.name not in public.algorithms:
            raise SignatureError(Code.unsupported_algorithm, f"{self.name} does not fit this key")
        return key

    def sign(self, msg: bytes, key: Any) -> bytes:
        if not isinstance(key, PrivateKey):
            raise SignatureError(Code.unsupported_algorithm, "signing needs a private key")
        return key.sign(msg)

    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        public = key.public_key if isinstance(key, PrivateKey) else key
        try:
            public.verify(sig, msg)
        except VCError:
            return False
        return True

    @staticmethod
    def to_jwk(key_obj: Any, as_dict: bool = False) -> Any:  # pragma: no cover - unused by us
        raise NotImplementedError

    @staticmethod
    def from_jwk(jwk: Any) -> Any:  # pragma: no cover - unused by us
        raise NotImplementedError


def _allow_listed_jws() -> jwt.PyJWS:
    jws = jwt.PyJWS(algorithms=[])
    for name in sorted(SUPPORTED_ALGORITHMS):
        jws.register_algorithm(name, _VcKeyAlgorithm(name))
    return jws


_JWS = _allow_listed_jws()


def json_dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON as we put it on the wire (Korean text stays 3 bytes a syllable)."""
    try:
        return orjson.dumps(value)
    except TypeError as exc:
        raise FormatError(Code.malformed, "value cannot be encoded as JSON") from exc


def json_loads(data: bytes | str, what: str) -> Any:
    """Parse JSON strictly; anything else is `malformed`.

    orjson rather than `json` for two figures: it refuses what is not interoperable JSON (NaN,
    Infinity, invalid UTF-8; and on writing, integers beyond 64 bits, non-string keys, lone
    surrogates), which `json` would need code of our own for; and a gate decision parses about
    2 KB of JSON (issuer payload, disclosures, KB-JWT), 3 µs with orjson against 12-15 µs with
    `json`, about 5 % of a decision.
    """
    try:
        return orjson.loads(data)
    except (orjson.JSONDecodeError, RecursionError) as exc:
        raise FormatError(Code.malformed, f"{what} is not JSON") from exc


def json_loads_object(data: bytes | str, what: str) -> dict[str, Any]:
    """Parse JSON that must be an object; anything else is `malformed`."""
    value = json_loads(data, what)
    if not isinstance(value, dict):
        raise FormatError(Code.malformed, f"{what} is not a JSON object")
    return value


def sign_compact(
    payload: Mapping[str, Any],
    key: PrivateKey,
    *,
    typ: str | None = None,
    alg: str | None = None,
    headers: Mapping[str, Any] | None = None,
) -> str:
    """Sign `payload` as a compact JWS; `alg` defaults to the key's own (`EdDSA` or `ES256`)."""
    return sign_compact_bytes(json_dumps(payload), key, typ=typ, alg=alg, headers=headers)


def sign_compact_bytes(
    payload: bytes,
    key: PrivateKey,
    *,
    typ: str | None = None,
    alg: str | None = None,
    headers: Mapping[str, Any] | None = None,
) -> str:
    """Sign exact payload octets (needed when several signers must cover the same bytes)."""
    alg = alg or key.default_alg
    hdr: dict[str, Any] = dict(headers or {})
    if "alg" in hdr or "crit" in hdr:
        raise FormatError(Code.malformed, "alg is chosen by the key, crit is not supported")
    if alg not in SUPPORTED_ALGORITHMS or alg not in key.public_key.algorithms:
        raise SignatureError(Code.unsupported_algorithm, f"cannot sign {alg!r} with this key")
    hdr["typ"] = typ  # None removes PyJWT's default "JWT"
    try:
        token: str = _JWS.encode(payload, key, algorithm=alg, headers=hdr)  # type: ignore[arg-type]
    except (jwt.exceptions.PyJWTError, NotImplementedError, TypeError, ValueError) as exc:
        raise FormatError(Code.malformed, "JWS header cannot be encoded") from exc
    return token


def decode_unverified(
    token: str, *, max_bytes: int = MAX_JWS_BYTES
) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Split a compact JWS into (header, payload, signing input, signature) without verifying.

    A `token` that is not a `str` (a value straight from JSON) is `malformed`, not a `TypeError`.
    """
    if not isinstance(token, str):
        raise FormatError(Code.malformed, "JWS must be a string")
    if len(token) > max_bytes:
        raise FormatError(Code.input_too_large, f"JWS longer than {max_bytes} bytes")
    parts = token.split(".")
    if len(parts) != 3:
        raise FormatError(Code.malformed, "compact JWS must have three parts")
    h64, p64, s64 = parts
    if len(h64) > _MAX_HEADER_BYTES:
        raise FormatError(Code.input_too_large, "JWS header too large")
    header = json_loads_object(b64url_decode(h64), "JWS header")
    payload = json_loads_object(b64url_decode(p64), "JWS payload")
    signing_input = f"{h64}.{p64}".encode("ascii")
    return header, payload, signing_input, b64url_decode(s64)


def check_algorithm(header: Mapping[str, Any], key: PublicKey, algorithms: Collection[str]) -> str:
    """The header's `alg` must be allow-listed for this call, supported, and fit the key type."""
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms or alg not in SUPPORTED_ALGORITHMS:
        raise SignatureError(Code.unsupported_algorithm, f"algorithm {alg!r} not allowed")
    if alg not in key.algorithms:
        raise SignatureError(Code.unsupported_algorithm, f"algorithm {alg!r} does not fit the key")
    if "crit" in header:
        raise FormatError(Code.malformed, "no critical header extensions are understood")
    return alg


def check_typ(header: Mapping[str, Any], typ: str | Collection[str] | None) -> None:
    """Explicit typing (RFC 8725 §3.11); `typ` compared case-sensitively as the specs write it."""
    if typ is None:
        return
    allowed = (typ,) if isinstance(typ, str) else typ
    if header.get("typ") not in allowed:
        raise FormatError(Code.invalid_type, f"typ {header.get('typ')!r} not accepted")


def verify_signature(
    header: Mapping[str, Any],
    signing_input: bytes,
    signature: bytes,
    key: PublicKey,
    algorithms: Collection[str],
) -> None:
    """The signature of a JWS that `decode_unverified` read, by `key`: `check_algorithm`, then
    the algorithm PyJWT's allow-listed `PyJWS` holds under that name verifies.

    Not `PyJWS.decode_complete`: it parses the token again, and its check of each segment's
    alphabet is a Python loop over every character (about 80 µs for an issuer JWT, as much as
    the signature). Measured back to back on `bench.gate`, in-process decisions were at 0.32
    of the two-raw-verify limit with it and at 0.51 through the algorithm object.
    """
    alg = check_algorithm(header, key, algorithms)
    algorithm = _JWS.get_algorithm_by_name(alg)
    if not algorithm.verify(signing_input, algorithm.prepare_key(key), signature):
        raise SignatureError(Code.invalid_signature, "signature does not verify")


def verify_compact(
    token: str,
    key: PublicKey | KeyResolver,
    *,
    algorithms: Collection[str],
    typ: str | Collection[str] | None = None,
    max_bytes: int = MAX_JWS_BYTES,
) -> VerifiedJWS:
    """Verify a compact JWS; raises a `VCError` subclass on any failure, never returns falsy."""
    header, payload, signing_input, signature = decode_unverified(token, max_bytes=max_bytes)
    check_typ(header, typ)
    public = key if isinstance(key, PublicKey) else key(header, payload)
    verify_signature(header, signing_input, signature, public, algorithms)
    return VerifiedJWS(header, payload, public)
