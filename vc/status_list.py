"""Token Status List (draft-ietf-oauth-status-list): packing, encoding and the status list token.

Statuses are packed `bits` per entry, LSB-first (entry 0 is the low bits of byte 0), compressed
with DEFLATE in ZLIB format at level 9, base64url without padding (`lst`). A decoded list keeps
the raw bytes, so a lookup after one decompression is a shift and a mask.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vc.base64url import b64url_decode, b64url_encode
from vc.errors import ClaimsError, Code, FormatError, StatusError, VCError
from vc.jws import KeyResolver, sign_compact, verify_compact
from vc.keys import PrivateKey, PublicKey

__all__ = [
    "INVALID",
    "STATUS_LIST_MEDIA_TYPE",
    "STATUS_LIST_TYP",
    "SUSPENDED",
    "VALID",
    "StatusList",
    "VerifiedStatusList",
    "sign_status_list_token",
    "verify_status_list_token",
]

VALID = 0x00
INVALID = 0x01
SUSPENDED = 0x02
STATUS_LIST_TYP = "statuslist+jwt"
STATUS_LIST_MEDIA_TYPE = "application/statuslist+jwt"
ALLOWED_BITS = (1, 2, 4, 8)
MAX_STATUS_LIST_TOKEN_BYTES = 4 * 1024 * 1024
MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024  # 2^27 one-bit entries; guards against zlib bombs


class StatusList:
    """A mutable list of `size` statuses of `bits` bits each."""

    __slots__ = ("_data", "_mask", "_per_byte", "bits", "size")

    def __init__(self, size: int, bits: int = 1, data: bytes | bytearray | None = None) -> None:
        if type(bits) is not int or bits not in ALLOWED_BITS:  # 1.0 and True equal 1: refuse
            raise FormatError(Code.malformed, f"bits must be one of {ALLOWED_BITS}")
        if type(size) is not int or size <= 0:
            raise FormatError(Code.malformed, "a status list has at least one entry")
        length = (size * bits + 7) // 8
        if data is not None and len(data) < length:
            raise FormatError(Code.malformed, "status list data shorter than its size")
        self.bits = bits
        self.size = size
        self._per_byte = 8 // bits
        self._mask = (1 << bits) - 1
        self._data = bytearray(data) if data is not None else bytearray(length)

    @classmethod
    def from_statuses(cls, statuses: Iterable[int], bits: int = 1) -> StatusList:
        values = list(statuses)
        status_list = cls(len(values), bits)
        for idx, value in enumerate(values):
            status_list.set(idx, value)
        return status_list

    @classmethod
    def decode(
        cls, lst: str, bits: object, *, max_bytes: int = MAX_DECOMPRESSED_BYTES
    ) -> StatusList:
        """Inflate an `lst`; the size is every entry the bytes hold (the spec sends no length).

        `bits` is whatever the token's JSON holds (callers pass it unchecked): a missing value,
        a string, `1.0` or `true` is `invalid_status_list`.
        """
        if type(bits) is not int or bits not in ALLOWED_BITS:  # JSON 1.0 and true equal 1
            raise StatusError(Code.invalid_status_list, f"bits must be one of {ALLOWED_BITS}")
        try:
            inflater = zlib.decompressobj()
            data = inflater.decompress(b64url_decode(lst), max_bytes)
        except (zlib.error, VCError) as exc:
            raise StatusError(Code.invalid_status_list, "lst is not base64url zlib data") from exc
        if inflater.unconsumed_tail:
            raise StatusError(Code.input_too_large, "status list inflates beyond the limit")
        if not inflater.eof or not data or inflater.unused_data:
            raise StatusError(
                Code.invalid_status_list, "lst is truncated, empty or has trailing data"
            )
        return cls(len(data) * 8 // bits, bits, data)

    def _check(self, idx: int) -> None:
        if type(idx) is not int or not 0 <= idx < self.size:  # True equals 1: refuse
            raise StatusError(Code.status_index_out_of_range, f"index {idx!r} outside the list")

    def get(self, idx: int) -> int:
        self._check(idx)
        shift = (idx % self._per_byte) * self.bits
        return (self._data[idx // self._per_byte] >> shift) & self._mask

    def set(self, idx: int, value: int) -> None:
        self._check(idx)
        if type(value) is not int or not 0 <= value <= self._mask:
            raise StatusError(Code.invalid_status_list, f"status {value!r} needs more bits")
        pos, shift = idx // self._per_byte, (idx % self._per_byte) * self.bits
        self._data[pos] = (self._data[pos] & ~(self._mask << shift) & 0xFF) | (value << shift)

    def to_bytes(self) -> bytes:
        return bytes(self._data)

    def encode(self) -> str:
        """The `lst` value: zlib (RFC 1950) at the highest level, base64url."""
        return b64url_encode(zlib.compress(self._data, 9))

    def to_json(self, aggregation_uri: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"bits": self.bits, "lst": self.encode()}
        if aggregation_uri:
            out["aggregation_uri"] = aggregation_uri
        return out


def sign_status_list_token(
    status_list: StatusList,
    key: PrivateKey,
    *,
    kid: str | None,
    sub: str,
    iat: int,
    exp: int | None = None,
    ttl: int | None = None,
    issuer: str | None = None,
    aggregation_uri: str | None = None,
) -> str:
    """The Status List Token JWT (`typ` statuslist+jwt; `sub` = the URI credentials reference).

    `aggregation_uri` names where every list of this issuer is listed (Status List Aggregation).
    """
    payload: dict[str, Any] = {"sub": sub, "iat": iat}
    if issuer:
        payload["iss"] = issuer
    if exp is not None:
        payload["exp"] = exp
    if ttl is not None:
        payload["ttl"] = ttl
    payload["status_list"] = status_list.to_json(aggregation_uri)
    return sign_compact(payload, key, typ=STATUS_LIST_TYP, headers={"kid": kid} if kid else None)


@dataclass(frozen=True, slots=True)
class VerifiedStatusList:
    """A verified, decoded status list; cache it until `expires_at` and look up in O(1)."""

    uri: str
    issuer: str | None
    iat: int
    exp: int | None
    ttl: int | None
    status_list: StatusList

    @property
    def expires_at(self) -> int | None:
        """When a cached copy must be refreshed: the earlier of `exp` and `iat + ttl`."""
        limits = [t for t in (self.exp, self.iat + self.ttl if self.ttl else None) if t]
        return min(limits) if limits else None

    def status(self, idx: int) -> int:
        return self.status_list.get(idx)


def verify_status_list_token(
    token: str,
    key: PublicKey | KeyResolver,
    *,
    uri: str,
    algorithms: Iterable[str],
    now: float,
    leeway: float = 60,
) -> VerifiedStatusList:
    """Check `typ`, signature, `sub` == the referenced `uri`, `iat`, `exp`; then inflate."""
    verified = verify_compact(
        token,
        key,
        algorithms=frozenset(algorithms),
        typ=STATUS_LIST_TYP,
        max_bytes=MAX_STATUS_LIST_TOKEN_BYTES,
    )
    claims = verified.payload
    if claims.get("sub") != uri:
        raise StatusError(Code.status_uri_mismatch, "status list token is for another URI")
    iat, exp, ttl = claims.get("iat"), claims.get("exp"), claims.get("ttl")
    if type(iat) is not int:
        raise ClaimsError(Code.missing_claim, "status list token needs an integer iat")
    if iat > now + leeway:
        raise ClaimsError(Code.not_yet_valid, "status list token issued in the future")
    if exp is not None and (type(exp) is not int or now - leeway >= exp):
        raise ClaimsError(Code.expired, "status list token has expired")
    if ttl is not None and (type(ttl) is not int or ttl <= 0):
        raise ClaimsError(Code.invalid_claim, "ttl must be a positive integer")
    body = claims.get("status_list")
    if not isinstance(body, Mapping) or type(body.get("lst")) is not str:
        raise StatusError(Code.invalid_status_list, "status_list must have bits and lst")
    status_list = StatusList.decode(body["lst"], body.get("bits"))
    issuer = claims.get("iss") if type(claims.get("iss")) is str else None
    return VerifiedStatusList(uri, issuer, iat, exp, ttl, status_list)
