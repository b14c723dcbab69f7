"""SD-JWT (RFC 9901 §4), the issuer's side: blind the marked claims into digests and sign."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vc.base64url import b64url_encode
from vc.errors import Code, FormatError
from vc.jws import sign_compact
from vc.keys import PrivateKey
from vc.sd_jwt.common import (
    _RESERVED_NAMES,
    ARRAY_DIGEST_KEY,
    DEFAULT_HASH_ALG,
    HASH_ALGORITHMS,
    SD_ALG_KEY,
    SD_KEY,
    Disclosable,
    Disclosure,
    _digest,
)

__all__ = ["issue_sd_jwt"]

_SALT_BYTES = 16  # 128 bits, RFC 9901 §9.3
Random = Callable[[int], bytes]


@dataclass
class _Blinder:
    hash_alg: str
    decoys: int
    rng: Random
    disclosures: list[Disclosure] = field(default_factory=list)

    drawn: set[bytes] = field(default_factory=set)

    def fresh(self, size: int) -> bytes:
        """Random bytes never drawn before: salts must be unique and digests never repeat."""
        value = self.rng(size)
        if len(value) != size or value in self.drawn:
            raise FormatError(Code.malformed, "the random source repeated itself")
        self.drawn.add(value)
        return value

    def disclose(self, name: str | None, value: Any) -> str:
        salt = b64url_encode(self.fresh(_SALT_BYTES))
        disclosure = Disclosure.create(salt, name, self.blind(value))
        self.disclosures.append(disclosure)
        return disclosure.digest(self.hash_alg)

    def blind(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            digests: list[str] = []
            plain = {k for k in value if not isinstance(k, Disclosable)}
            for key, item in value.items():
                name = key.value if isinstance(key, Disclosable) else key
                if type(name) is not str or name in _RESERVED_NAMES:
                    raise FormatError(Code.malformed, f"claim name {name!r} is not allowed")
                if isinstance(key, Disclosable):
                    if name in plain:
                        raise FormatError(Code.malformed, f"claim {name!r} is both plain and SD")
                    digests.append(self.disclose(name, item))
                else:
                    out[name] = self.blind(item)
            if digests:
                digests.extend(
                    _digest(b64url_encode(self.fresh(32)), self.hash_alg)
                    for _ in range(self.decoys)
                )
                out[SD_KEY] = sorted(digests)  # sorted, so the order reveals nothing (§4.2.4.1)
            return out
        if isinstance(value, list | tuple):
            return [
                {ARRAY_DIGEST_KEY: self.disclose(None, item.value)}
                if isinstance(item, Disclosable)
                else self.blind(item)
                for item in value
            ]
        if isinstance(value, Disclosable):
            raise FormatError(Code.malformed, "Disclosable marks dict keys or array elements only")
        return value


def issue_sd_jwt(
    claims: Mapping[Any, Any],
    key: PrivateKey,
    *,
    typ: str | None = "example+sd-jwt",
    headers: Mapping[str, Any] | None = None,
    hash_alg: str = DEFAULT_HASH_ALG,
    decoys: int = 0,
    rng: Random | None = None,
) -> str:
    """Issue a compact SD-JWT. Mark disclosable names/elements with `Disclosable`.

    `decoys` digests are added to every `_sd` array; salts and decoys come from `rng` (default
    `secrets.token_bytes`), so tests can make issuance reproducible.
    """
    if hash_alg not in HASH_ALGORITHMS:
        raise FormatError(Code.unsupported_hash_algorithm, f"unknown _sd_alg {hash_alg!r}")
    blinder = _Blinder(hash_alg, decoys, rng or secrets.token_bytes)
    payload = blinder.blind(claims)
    if SD_ALG_KEY in payload:
        raise FormatError(Code.malformed, "_sd_alg is set by the issuer library")
    payload[SD_ALG_KEY] = hash_alg
    jwt = sign_compact(payload, key, typ=typ, headers=headers)
    return jwt + "~" + "".join(d.encoded + "~" for d in blinder.disclosures)
