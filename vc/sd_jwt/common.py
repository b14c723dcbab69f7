"""SD-JWT (RFC 9901), what every role shares: disclosures (§4.2), parsing of the compact and
JWS JSON serializations (§4, §8) and writing the latter.

Compact form `<JWT>~<D1>~...~<Dn>~[<KB-JWT>]`; `parse_sd_jwt` reads both forms and checks only the
structure, so the issuer, holder and verifier modules beside this one work on an `SdJwt`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from vc.base64url import b64url_decode, b64url_encode
from vc.errors import Code, FormatError, VCError
from vc.jws import json_dumps, json_loads, json_loads_object, sign_compact_bytes
from vc.keys import PrivateKey

__all__ = [
    "ARRAY_DIGEST_KEY",
    "DEFAULT_HASH_ALG",
    "HASH_ALGORITHMS",
    "KB_JWT_TYP",
    "MAX_DEPTH",
    "MAX_DISCLOSURES",
    "MAX_SD_JWT_BYTES",
    "SD_ALG_KEY",
    "SD_KEY",
    "ClaimPath",
    "Disclosable",
    "Disclosure",
    "SdJwt",
    "parse_sd_jwt",
    "to_json_serialization",
]

SD_KEY = "_sd"
SD_ALG_KEY = "_sd_alg"
ARRAY_DIGEST_KEY = "..."
KB_JWT_TYP = "kb+jwt"
DEFAULT_HASH_ALG = "sha-256"
HASH_ALGORITHMS: Mapping[str, Callable[[bytes], Any]] = {
    "sha-256": hashlib.sha256,
    "sha-384": hashlib.sha384,
    "sha-512": hashlib.sha512,
}
MAX_SD_JWT_BYTES = 256 * 1024
MAX_DISCLOSURES = 512
MAX_DEPTH = 32
_RESERVED_NAMES = frozenset({SD_KEY, ARRAY_DIGEST_KEY})

ClaimPath = tuple[str | int, ...]


class Disclosable:
    """Marks a claim name (as a dict key) or an array element as selectively disclosable."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Disclosable) and other.value == self.value

    def __hash__(self) -> int:
        return hash(("Disclosable", self.value))

    def __repr__(self) -> str:
        return f"Disclosable({self.value!r})"


def _digest(encoded: str, hash_alg: str) -> str:
    """b64url(H(ASCII(encoded))), §4.2.3; `encoded` is always ASCII once it has parsed."""
    return b64url_encode(HASH_ALGORITHMS[hash_alg](encoded.encode("ascii")).digest())


class Disclosure(NamedTuple):
    """One disclosure: `[salt, name, value]` for a property, `[salt, value]` for an element."""

    encoded: str
    salt: str
    name: str | None
    value: Any

    @classmethod
    def create(cls, salt: str, name: str | None, value: Any) -> Disclosure:
        items = [salt, value] if name is None else [salt, name, value]
        return cls(b64url_encode(json_dumps(items)), salt, name, value)

    @classmethod
    def parse(cls, encoded: str) -> Disclosure:
        """Decode and check the shape (§4.2); raises `FormatError(invalid_disclosure)`."""
        try:
            items = json_loads(b64url_decode(encoded), "disclosure")
        except VCError as exc:
            raise FormatError(Code.invalid_disclosure, "disclosure is not base64url JSON") from exc
        if not isinstance(items, list) or not 2 <= len(items) <= 3 or not isinstance(items[0], str):
            raise FormatError(Code.invalid_disclosure, "disclosure must be [salt, (name,) value]")
        if len(items) == 2:
            return cls(encoded, items[0], None, items[1])
        name = items[1]
        if not isinstance(name, str) or name in _RESERVED_NAMES:
            raise FormatError(Code.invalid_disclosure, "disclosure claim name is not allowed")
        return cls(encoded, items[0], name, items[2])

    def digest(self, hash_alg: str = DEFAULT_HASH_ALG) -> str:
        return _digest(self.encoded, hash_alg)


# --- parsing (§4, §8) ------------------------------------------------------------------------


class SdJwt(NamedTuple):
    """A parsed, unverified SD-JWT or SD-JWT+KB.

    `sd_hash_input` is what the KB-JWT's `sd_hash` covers: the compact form up to and including
    the last `~` (for the JSON serialization, rebuilt from the first signature, §8.1).
    """

    issuer_jwt: str
    disclosures: tuple[str, ...]
    kb_jwt: str | None
    sd_hash_input: str
    json_form: dict[str, Any] | None = None
    other_signatures: tuple[str, ...] = ()

    def serialize(self, disclosures: Sequence[str], kb_jwt: str | None) -> str:
        """The same SD-JWT with other disclosures / KB-JWT, in the serialization it came in."""
        if self.json_form is None:
            return self.issuer_jwt + "~" + "".join(d + "~" for d in disclosures) + (kb_jwt or "")
        form = json.loads(json.dumps(self.json_form))
        header = form["signatures"][0]["header"] if "signatures" in form else form["header"]
        header["disclosures"] = list(disclosures)
        header.pop("kb_jwt", None)
        if kb_jwt:
            header["kb_jwt"] = kb_jwt
        return json.dumps(form)


def _check_size(data: Any, max_bytes: int) -> None:
    if not isinstance(data, str):
        raise FormatError(Code.malformed, "SD-JWT must be a string")
    if len(data) > max_bytes:
        raise FormatError(Code.input_too_large, f"SD-JWT longer than {max_bytes} bytes")


def parse_sd_jwt(
    data: str, *, max_bytes: int = MAX_SD_JWT_BYTES, max_disclosures: int = MAX_DISCLOSURES
) -> SdJwt:
    """Split an SD-JWT(+KB), compact or JWS JSON serialization, checking only its structure."""
    _check_size(data, max_bytes)
    if data.startswith("{"):
        return _parse_json(data, max_disclosures)
    # The issuer JWT is most of the string and holds no '~': find it rather than split it.
    first = data.find("~")
    if first < 0:
        raise FormatError(Code.malformed, "an SD-JWT ends with '~' (RFC 9901 §4)")
    parts = data[first + 1 :].split("~")
    if len(parts) - 1 > max_disclosures:
        raise FormatError(Code.input_too_large, "too many disclosures")
    disclosures = tuple(parts[:-1])
    if not first or "" in disclosures:
        raise FormatError(Code.malformed, "empty SD-JWT component")
    kb_jwt = parts[-1] or None
    return SdJwt(data[:first], disclosures, kb_jwt, data[: len(data) - len(parts[-1])])


def _parse_json(data: str, max_disclosures: int) -> SdJwt:
    form = json_loads_object(data, "SD-JWT JSON serialization")
    payload = form.get("payload")
    if "signatures" in form:
        sigs = form["signatures"]
        if type(sigs) is not list or not sigs or not all(type(s) is dict for s in sigs):
            raise FormatError(Code.malformed, "signatures must be a non-empty array of objects")
        header = sigs[0].get("header", {})
        others = [s.get("header", {}) for s in sigs[1:]]
        if not all(type(h) is dict for h in others):
            raise FormatError(Code.malformed, "unprotected headers must be objects")
        if any(h.keys() & {"disclosures", "kb_jwt"} for h in others):
            raise FormatError(Code.malformed, "disclosures belong to the first signature (§8.1)")
    else:
        sigs = [form]
        header = form.get("header", {})
    if type(payload) is not str or type(header) is not dict:
        raise FormatError(Code.malformed, "JSON serialization lacks payload or header")
    jwss = []
    for sig in sigs:
        protected, signature = sig.get("protected"), sig.get("signature")
        if type(protected) is not str or type(signature) is not str:
            raise FormatError(Code.malformed, "signature entry lacks protected or signature")
        jwss.append(f"{protected}.{payload}.{signature}")
    disclosures = header.get("disclosures", [])
    kb_jwt = header.get("kb_jwt")
    if type(disclosures) is not list or not all(type(d) is str and d for d in disclosures):
        raise FormatError(Code.malformed, "disclosures must be an array of strings")
    if len(disclosures) > max_disclosures:
        raise FormatError(Code.input_too_large, "too many disclosures")
    if kb_jwt is not None and (type(kb_jwt) is not str or not kb_jwt):
        raise FormatError(Code.malformed, "kb_jwt must be a string")
    sd_hash_input = jwss[0] + "~" + "".join(d + "~" for d in disclosures)
    return SdJwt(jwss[0], tuple(disclosures), kb_jwt, sd_hash_input, form, tuple(jwss[1:]))


def to_json_serialization(
    sd_jwt: str, *, general: bool = False, extra_signers: Sequence[PrivateKey] = ()
) -> str:
    """The JWS JSON serialization (§8) of a compact SD-JWT(+KB); `general` allows more signers."""
    parsed = parse_sd_jwt(sd_jwt)
    protected, payload, signature = parsed.issuer_jwt.split(".")
    header: dict[str, Any] = {"disclosures": list(parsed.disclosures)}
    if parsed.kb_jwt:
        header["kb_jwt"] = parsed.kb_jwt
    if not general:
        if extra_signers:
            raise FormatError(Code.malformed, "several signatures need the general serialization")
        return json.dumps(
            {"header": header, "payload": payload, "protected": protected, "signature": signature}
        )
    signatures = [{"header": header, "protected": protected, "signature": signature}]
    payload_octets = b64url_decode(payload)
    for signer in extra_signers:
        p2, _, s2 = sign_compact_bytes(payload_octets, signer, typ=None).split(".")
        signatures.append({"protected": p2, "signature": s2})
    return json.dumps({"payload": payload, "signatures": signatures})


def _array_digest(element: Any) -> str | None:
    if type(element) is dict and len(element) == 1 and ARRAY_DIGEST_KEY in element:
        digest = element[ARRAY_DIGEST_KEY]
        if type(digest) is not str:
            raise FormatError(Code.malformed, "array element digest must be a string")
        return digest
    return None
