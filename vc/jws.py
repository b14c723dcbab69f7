"""JWS compact serialization (RFC 7515) with a per-call algorithm allow-list.

Signing goes through PyJWT's `PyJWS` with our own `Algorithm` objects registered, so Ed25519 is
signed by PyNaCl (libsodium) and ES256 by `cryptography`; PyJWT builds the header and encoding.

JSON is read and written with orjson (see `json_loads_object`). Verification is written here
rather than with `PyJWS.decode_complete`: that call costs about 23 µs
of option and header handling per token on this hardware, more than half of an Ed25519
verification itself, and a presentation has two JWSs. The compact format is three base64url parts
and a signature check; the checks that matter (`alg` allow-listed AND fitting the key type, never
`none` or HMAC, `typ` as expected, size caps) are all explicit below.
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
    "decode_unverified",
    "json_dumps",
    "json_loads_object",
    "sign_compact",
    "sign_compact_bytes",
    "verify_compact",
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


class _OurKeyAlgorithm(jwt.algorithms.Algorithm):
    """A PyJWT algorithm that signs with our `PrivateKey` objects (PyNaCl or cryptography)."""

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


def _new_signer() -> jwt.PyJWS:
    signer = jwt.PyJWS(algorithms=[])
    for name in SUPPORTED_ALGORITHMS:
        signer.register_algorithm(name, _OurKeyAlgorithm(name))
    return signer


_SIGNER = _new_signer()


def json_dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON as we put it on the wire (Korean text stays 3 bytes a syllable)."""
    try:
        return orjson.dumps(value)
    except TypeError as exc:
        raise FormatError(Code.malformed, "value cannot be encoded as JSON") from exc


def json_loads_object(data: bytes | str, what: str) -> dict[str, Any]:
    """Parse JSON that must be an object; anything else is `malformed`.

    orjson, because parsing is most of a verification's cost beyond the signatures; it is also
    stricter than `json` (invalid UTF-8, NaN and Infinity are refused).
    """
    try:
        value = orjson.loads(data)
    except (orjson.JSONDecodeError, RecursionError) as exc:
        raise FormatError(Code.malformed, f"{what} is not JSON") from exc
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
        token: str = _SIGNER.encode(payload, key, algorithm=alg, headers=hdr)  # type: ignore[arg-type]
    except (jwt.exceptions.PyJWTError, NotImplementedError, TypeError, ValueError) as exc:
        raise FormatError(Code.malformed, "JWS header cannot be encoded") from exc
    return token


_HEADER_MEMO: dict[str, dict[str, Any]] = {}
"""Decoded protected headers by their exact base64url text.

Every credential one issuer key signs carries the same header text, and so does every KB-JWT
from one kind of wallet; a gate decodes the same two or three headers all day. Only headers of
plain members (alg, kid, typ: no nested jwk or x5c) are kept, and each caller gets its own
copy, so nothing a caller does to its header reaches another. Nothing is trusted because it is
here: it is the parse of the same text, checked again by every caller as before.
"""
_HEADER_MEMO_SIZE = 256
_HEADER_MEMO_TEXT = 512
"""Longer header texts are not kept: at most 256 x 512 characters however the memo is fed."""
_PLAIN = frozenset({str, int, bool, float})


def _remember_header(h64: str, header: dict[str, Any]) -> None:
    if len(h64) > _HEADER_MEMO_TEXT or not all(type(v) in _PLAIN for v in header.values()):
        return
    if len(_HEADER_MEMO) >= _HEADER_MEMO_SIZE:  # many different headers: start again
        _HEADER_MEMO.clear()
    _HEADER_MEMO[h64] = header.copy()


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
    # Two finds rather than a split: the payload is long and the dots are few.
    dot1 = token.find(".")
    dot2 = token.find(".", dot1 + 1) if dot1 >= 0 else -1
    if dot2 < 0 or token.find(".", dot2 + 1) >= 0:
        raise FormatError(Code.malformed, "compact JWS must have three parts")
    h64, p64, s64 = token[:dot1], token[dot1 + 1 : dot2], token[dot2 + 1 :]
    if len(h64) > _MAX_HEADER_BYTES:
        raise FormatError(Code.input_too_large, "JWS header too large")
    header = _HEADER_MEMO.get(h64)
    if header is not None:
        header = header.copy()
    else:  # rare once a verifier has seen its issuers' and wallets' headers
        header = json_loads_object(b64url_decode(h64), "JWS header")
        _remember_header(h64, header)
    # json_loads_object, inlined: the payload is decoded twice per presentation verified.
    try:
        payload = orjson.loads(b64url_decode(p64))
    except (orjson.JSONDecodeError, RecursionError) as exc:
        raise FormatError(Code.malformed, "JWS payload is not JSON") from exc
    if type(payload) is not dict:
        raise FormatError(Code.malformed, "JWS payload is not a JSON object")
    signing_input = token[: len(h64) + len(p64) + 1].encode("ascii")
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
    public = key(header, payload) if callable(key) and not isinstance(key, PublicKey) else key
    check_algorithm(header, public, algorithms)
    public.verify(signature, signing_input)
    return VerifiedJWS(header, payload, public)
