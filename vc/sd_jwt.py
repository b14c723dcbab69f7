"""SD-JWT (RFC 9901): issuance, holder presentation with Key Binding, and verification.

Compact form `<JWT>~<D1>~...~<Dn>~[<KB-JWT>]` everywhere; the JWS JSON serialization (§8) is read
by `parse_sd_jwt` and written by `to_json_serialization`. Verification follows §7.1 and §7.3 in
order: parse -> issuer signature -> disclosures -> validity claims -> key binding. The hot path
(verify_sd_jwt) is written for gates: one pass over the payload, no copies of what is not needed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from vc.base64url import b64url_decode, b64url_encode
from vc.errors import ClaimsError, Code, FormatError, KeyBindingError, VCError
from vc.jws import (
    KeyResolver,
    check_algorithm,
    check_typ,
    decode_unverified,
    json_dumps,
    json_loads_object,
    sign_compact,
    sign_compact_bytes,
)
from vc.keys import PrivateKey, PublicKey, public_key_from_jwk

__all__ = [
    "ARRAY_DIGEST_KEY",
    "HASH_ALGORITHMS",
    "KB_JWT_TYP",
    "SD_ALG_KEY",
    "SD_KEY",
    "ClaimPath",
    "Disclosable",
    "Disclosure",
    "SdJwt",
    "VerifiedSdJwt",
    "check_validity",
    "create_key_binding_jwt",
    "disclosure_paths",
    "issue_sd_jwt",
    "parse_sd_jwt",
    "present",
    "select_paths",
    "to_json_serialization",
    "verify_sd_jwt",
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
_SALT_BYTES = 16  # 128 bits, RFC 9901 §9.3
_RESERVED_NAMES = frozenset({SD_KEY, ARRAY_DIGEST_KEY})
_CONTAINERS = (dict, list)

ClaimPath = tuple[str | int, ...]
Random = Callable[[int], bytes]


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


def _parse_disclosures(
    encoded_list: Sequence[str], hasher: Callable[[bytes], Any] | None
) -> list[tuple[str, Disclosure]]:
    """(digest, disclosure) for each; the digest is "" without `hasher`.

    One loop for all of a presentation's disclosures rather than a call per disclosure: on the
    gate's hot path each Python call costs about as much as the hashing and parsing it wraps.
    """
    out = []
    new = tuple.__new__
    for encoded in encoded_list:
        try:
            items = orjson.loads(b64url_decode(encoded))
        except (VCError, orjson.JSONDecodeError, RecursionError) as exc:
            raise FormatError(Code.invalid_disclosure, "disclosure is not base64url JSON") from exc
        if type(items) is not list or not 2 <= len(items) <= 3 or type(items[0]) is not str:
            raise FormatError(Code.invalid_disclosure, "disclosure must be [salt, (name,) value]")
        if len(items) == 2:
            disclosure = new(Disclosure, (encoded, items[0], None, items[1]))
        else:
            name = items[1]
            if type(name) is not str or name in _RESERVED_NAMES:
                raise FormatError(Code.invalid_disclosure, "disclosure claim name is not allowed")
            disclosure = new(Disclosure, (encoded, items[0], name, items[2]))
        digest = "" if hasher is None else b64url_encode(hasher(encoded.encode("ascii")).digest())
        out.append((digest, disclosure))
    return out


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
        return _parse_disclosures((encoded,), None)[0][1]

    def digest(self, hash_alg: str = DEFAULT_HASH_ALG) -> str:
        return _digest(self.encoded, hash_alg)


# --- issuance (§4) ---------------------------------------------------------------------------


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


# --- holder (§4.3, §5) -----------------------------------------------------------------------


def _unverified_payload(sd_jwt: SdJwt) -> tuple[dict[str, Any], str]:
    _, payload, _, _ = decode_unverified(sd_jwt.issuer_jwt, max_bytes=MAX_SD_JWT_BYTES)
    hash_alg = payload.get(SD_ALG_KEY, DEFAULT_HASH_ALG)
    if hash_alg not in HASH_ALGORITHMS:
        raise FormatError(Code.unsupported_hash_algorithm, f"unknown _sd_alg {hash_alg!r}")
    return payload, hash_alg


def disclosure_paths(sd_jwt: SdJwt | str) -> dict[str, tuple[ClaimPath, str | None]]:
    """For each disclosure of an issued SD-JWT: its claim path and its parent disclosure.

    Paths are those of the fully disclosed credential (array indices count the elements that
    are present once everything is disclosed), in the DCQL claims-path style.
    """
    parsed = parse_sd_jwt(sd_jwt) if isinstance(sd_jwt, str) else sd_jwt
    payload, hash_alg = _unverified_payload(parsed)
    by_digest = {}
    for encoded in parsed.disclosures:
        disclosure = Disclosure.parse(encoded)
        by_digest[disclosure.digest(hash_alg)] = disclosure
    found: dict[str, tuple[ClaimPath, str | None]] = {}

    def walk(node: Any, path: ClaimPath, parent: str | None, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise FormatError(Code.malformed, "SD-JWT nests too deeply")
        if isinstance(node, dict):
            for key, value in node.items():
                if key not in (SD_KEY, SD_ALG_KEY):
                    walk(value, (*path, key), parent, depth + 1)
            for digest in node.get(SD_KEY, ()):
                disclosure = by_digest.get(digest)
                if disclosure is not None and disclosure.name is not None:
                    found[disclosure.encoded] = ((*path, disclosure.name), parent)
                    walk(disclosure.value, (*path, disclosure.name), disclosure.encoded, depth + 1)
        elif isinstance(node, list):
            index = 0
            for element in node:
                digest = _array_digest(element)
                if digest is None:
                    walk(element, (*path, index), parent, depth + 1)
                    index += 1
                    continue
                disclosure = by_digest.get(digest)
                if disclosure is not None and disclosure.name is None:
                    found[disclosure.encoded] = ((*path, index), parent)
                    walk(disclosure.value, (*path, index), disclosure.encoded, depth + 1)
                    index += 1

    walk(payload, (), None, 0)
    return found


def select_paths(paths: Iterable[Sequence[str | int | None]]) -> Callable[[ClaimPath], bool]:
    """A selector disclosing every claim at or below one of `paths` (`None` = any index)."""
    wanted = [tuple(p) for p in paths]

    def selected(path: ClaimPath) -> bool:
        return any(
            len(path) >= len(w) and all(a is None or a == b for a, b in zip(w, path, strict=False))
            for w in wanted
        )

    return selected


def create_key_binding_jwt(
    holder_key: PrivateKey,
    *,
    sd_hash_input: str,
    audience: str,
    nonce: str,
    iat: int,
    hash_alg: str = DEFAULT_HASH_ALG,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """The KB-JWT (§4.3): `typ` kb+jwt, `iat`, `aud`, `nonce`, `sd_hash` over the presentation."""
    payload = dict(extra_claims or {})
    payload.update(iat=iat, aud=audience, nonce=nonce, sd_hash=_digest(sd_hash_input, hash_alg))
    return sign_compact(payload, holder_key, typ=KB_JWT_TYP)


def present(
    sd_jwt: SdJwt | str,
    *,
    select: Callable[[ClaimPath], bool] | Iterable[Sequence[str | int | None]] = (),
    holder_key: PrivateKey | None = None,
    audience: str | None = None,
    nonce: str | None = None,
    iat: int | None = None,
    kb_extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """A presentation disclosing what `select` picks, plus the parents of nested picks.

    With `holder_key`, a KB-JWT is appended (then `audience`, `nonce` and `iat` are required);
    without, the result ends in `~` (§4). The serialization of the input is kept.
    """
    parsed = parse_sd_jwt(sd_jwt) if isinstance(sd_jwt, str) else sd_jwt
    if parsed.kb_jwt is not None:
        raise FormatError(Code.malformed, "cannot present an SD-JWT that already has a KB-JWT")
    chooser = select if callable(select) else select_paths(select)
    paths = disclosure_paths(parsed)
    chosen: set[str] = set()
    for encoded, (path, parent) in paths.items():
        if chooser(path):
            chosen.add(encoded)
            ancestor = parent
            while ancestor is not None and ancestor not in chosen:
                chosen.add(ancestor)
                ancestor = paths[ancestor][1]
    disclosures = [d for d in parsed.disclosures if d in chosen]
    kb_jwt = None
    if holder_key is not None:
        if audience is None or nonce is None or iat is None:
            raise KeyBindingError(Code.kb_jwt_missing, "key binding needs audience, nonce and iat")
        _, hash_alg = _unverified_payload(parsed)
        kb_jwt = create_key_binding_jwt(
            holder_key,
            sd_hash_input=parsed.issuer_jwt + "~" + "".join(d + "~" for d in disclosures),
            audience=audience,
            nonce=nonce,
            iat=iat,
            hash_alg=hash_alg,
            extra_claims=kb_extra_claims,
        )
    return parsed.serialize(disclosures, kb_jwt)


# --- verification (§7) -----------------------------------------------------------------------


class VerifiedSdJwt(NamedTuple):
    """The result of a successful verification: processed claims and what vouched for them."""

    header: dict[str, Any]
    claims: dict[str, Any]
    disclosures: tuple[Disclosure, ...]
    issuer_key: PublicKey
    holder_key: PublicKey | None = None
    kb_header: dict[str, Any] | None = None
    kb_payload: dict[str, Any] | None = None


def _array_digest(element: Any) -> str | None:
    if type(element) is dict and len(element) == 1 and ARRAY_DIGEST_KEY in element:
        digest = element[ARRAY_DIGEST_KEY]
        if type(digest) is not str:
            raise FormatError(Code.malformed, "array element digest must be a string")
        return digest
    return None


class _Processor:
    """§7.1 step 3-4: replace digests by disclosed values, exactly once each."""

    __slots__ = ("by_digest", "seen", "used")

    def __init__(self, by_digest: dict[str, Disclosure]) -> None:
        self.by_digest = by_digest
        self.seen: set[str] = set()
        self.used = 0

    def _claim(self, digest: Any) -> Disclosure | None:
        if type(digest) is not str:
            raise FormatError(Code.malformed, "digest must be a string")
        if digest in self.seen:
            raise FormatError(Code.duplicate_digest, "a digest appears more than once")
        self.seen.add(digest)
        disclosure = self.by_digest.get(digest)
        if disclosure is not None:
            self.used += 1
        return disclosure

    def process(self, node: Any, depth: int, sealed: frozenset[str] = frozenset()) -> Any:
        """Replace digests by disclosed values, in place.

        In place is safe and saves copying every object: the payload and every disclosure value
        were parsed for this one verification, and each disclosure is used at most once.
        `sealed` (top level only) names claims that must arrive in plain text, sub-claims
        included: a disclosure used under one of them, or one that would bring one of their
        names in, is `claim_not_disclosable`.
        """
        if depth > MAX_DEPTH:
            raise FormatError(Code.malformed, "SD-JWT nests too deeply")
        if type(node) is dict:
            digests = node.pop(SD_KEY, None)
            for key, value in node.items():
                if type(value) in _CONTAINERS:
                    if key in sealed:
                        before = self.used
                        node[key] = self.process(value, depth + 1)
                        if self.used != before:
                            raise FormatError(
                                Code.claim_not_disclosable, f"part of {key} was disclosed"
                            )
                    else:
                        node[key] = self.process(value, depth + 1)
            if digests is not None:
                if type(digests) is not list:
                    raise FormatError(Code.malformed, "_sd must be an array")
                seen, by_digest = self.seen, self.by_digest
                for digest in digests:
                    if type(digest) is not str or digest in seen:
                        self._claim(digest)  # raises the precise error
                    seen.add(digest)
                    disclosure = by_digest.get(digest)
                    if disclosure is None:
                        continue
                    self.used += 1
                    name = disclosure.name
                    if name is None:
                        raise FormatError(Code.invalid_disclosure, "array disclosure used in _sd")
                    if name in sealed:
                        raise FormatError(
                            Code.claim_not_disclosable, f"{name} must not be disclosed"
                        )
                    if name in node:
                        raise FormatError(Code.invalid_disclosure, f"claim {name!r} already exists")
                    value = disclosure.value
                    node[name] = (
                        self.process(value, depth + 1) if type(value) in _CONTAINERS else value
                    )
            return node
        if type(node) is list:
            items = []
            for element in node:
                digest = _array_digest(element)
                if digest is None:
                    items.append(
                        self.process(element, depth + 1)
                        if type(element) in _CONTAINERS
                        else element
                    )
                    continue
                disclosure = self._claim(digest)
                if disclosure is None:
                    continue
                if disclosure.name is not None:
                    raise FormatError(Code.invalid_disclosure, "property disclosure in an array")
                value = disclosure.value
                items.append(
                    self.process(value, depth + 1) if type(value) in _CONTAINERS else value
                )
            return items
        return node


def _numeric(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if type(value) not in (int, float):
        raise ClaimsError(Code.invalid_claim, f"{name} must be a number")
    return float(value)


def check_validity(
    claims: Mapping[str, Any], *, now: float, leeway: float, require_exp: bool
) -> None:
    """`exp`, `nbf`, `iat` against the injected clock, with leeway (§7.1 step 5)."""
    exp, nbf, iat = _numeric(claims, "exp"), _numeric(claims, "nbf"), _numeric(claims, "iat")
    if exp is None and require_exp:
        raise ClaimsError(Code.missing_claim, "exp is required")
    if exp is not None and now - leeway >= exp:
        raise ClaimsError(Code.expired, "credential has expired")
    if nbf is not None and now + leeway < nbf:
        raise ClaimsError(Code.not_yet_valid, "credential is not yet valid")
    if iat is not None and now + leeway < iat:
        raise ClaimsError(Code.not_yet_valid, "credential was issued in the future")


def _holder_key_from_cnf(claims: Mapping[str, Any]) -> PublicKey:
    cnf = claims.get("cnf")
    if type(cnf) is not dict or "jwk" not in cnf:
        raise KeyBindingError(Code.holder_key_missing, "no cnf.jwk to bind the presentation to")
    try:
        return public_key_from_jwk(cnf["jwk"])
    except VCError as exc:
        raise KeyBindingError(Code.holder_key_missing, "cnf.jwk is not a usable key") from exc


def _verify_key_binding(
    kb_jwt: str,
    sd_hash_input: str,
    holder_key: PublicKey,
    *,
    hash_alg: str,
    algorithms: Collection[str],
    audience: str,
    nonce: str | None,
    now: float,
    leeway: float,
    max_age: float,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """§7.3 step 5: typ, algorithm, signature by the cnf key, iat window, aud, nonce, sd_hash."""
    header, payload, signing_input, signature = decode_unverified(kb_jwt)
    if header.get("typ") != KB_JWT_TYP:
        raise FormatError(Code.invalid_type, "KB-JWT typ must be kb+jwt")
    check_algorithm(header, holder_key, algorithms)
    holder_key.verify(signature, signing_input)
    iat = payload.get("iat")
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise KeyBindingError(Code.missing_claim, "KB-JWT iat missing")
    if iat > now + leeway:
        raise KeyBindingError(Code.kb_in_future, "KB-JWT iat is in the future")
    if iat < now - max_age - leeway:
        raise KeyBindingError(Code.kb_too_old, "KB-JWT is too old")
    if payload.get("aud") != audience:
        raise KeyBindingError(Code.audience_mismatch, "KB-JWT aud is not this verifier")
    if nonce is not None and payload.get("nonce") != nonce:
        raise KeyBindingError(Code.nonce_mismatch, "KB-JWT nonce does not match")
    if type(payload.get("nonce")) is not str:
        raise KeyBindingError(Code.nonce_mismatch, "KB-JWT nonce missing")
    if payload.get("sd_hash") != _digest(sd_hash_input, hash_alg):
        raise KeyBindingError(Code.sd_hash_mismatch, "sd_hash does not cover this presentation")
    return header, payload


def verify_sd_jwt(
    data: SdJwt | str,
    *,
    issuer_key: PublicKey | KeyResolver,
    algorithms: Collection[str],
    key_binding: bool,
    typ: str | Collection[str] | None = None,
    audience: str | None = None,
    nonce: str | None = None,
    kb_algorithms: Collection[str] | None = None,
    now: float,
    leeway: float = 60,
    kb_max_age: float = 300,
    require_exp: bool = False,
    max_bytes: int = MAX_SD_JWT_BYTES,
    holder_key_resolver: Callable[[Mapping[str, Any]], PublicKey] = _holder_key_from_cnf,
    never_disclosable: frozenset[str] = frozenset(),
) -> VerifiedSdJwt:
    """Verify an SD-JWT (`key_binding=False`) or SD-JWT+KB (`key_binding=True`), §7.1 and §7.3.

    Whether a KB-JWT is required is the caller's policy, never inferred from the input. With
    `nonce=None` the caller must check `kb_payload["nonce"]` itself (e.g. against a replay
    store). `never_disclosable` names top-level claims that must arrive in plain text, sub-claims
    included (SD-JWT VC §3.2.2.2). Raises a `VCError` subclass; returns only on success.
    """
    if isinstance(data, str):
        parsed = parse_sd_jwt(data, max_bytes=max_bytes)
    elif isinstance(data, SdJwt):
        parsed = data
    else:
        raise FormatError(Code.malformed, "an SD-JWT is a string")
    if key_binding and parsed.kb_jwt is None:
        raise KeyBindingError(Code.kb_jwt_missing, "a Key Binding JWT is required")
    if not key_binding and parsed.kb_jwt is not None:
        raise KeyBindingError(Code.kb_jwt_unexpected, "no Key Binding JWT was expected")
    if key_binding and audience is None:
        raise ValueError("audience is required to verify key binding")

    header, payload, signing_input, signature = decode_unverified(parsed.issuer_jwt)
    check_typ(header, typ)
    key = issuer_key(header, payload) if not isinstance(issuer_key, PublicKey) else issuer_key
    check_algorithm(header, key, algorithms)
    key.verify(signature, signing_input)
    for other in parsed.other_signatures:
        o_header, _, o_input, o_signature = decode_unverified(other)
        o_key = issuer_key(o_header, payload) if not isinstance(issuer_key, PublicKey) else key
        check_algorithm(o_header, o_key, algorithms)
        o_key.verify(o_signature, o_input)

    hash_alg = payload.pop(SD_ALG_KEY, DEFAULT_HASH_ALG)
    if type(hash_alg) is not str or hash_alg not in HASH_ALGORITHMS:
        raise FormatError(Code.unsupported_hash_algorithm, f"unsupported _sd_alg {hash_alg!r}")
    by_digest = dict(_parse_disclosures(parsed.disclosures, HASH_ALGORITHMS[hash_alg]))
    disclosures = tuple(by_digest.values())
    if len(by_digest) != len(parsed.disclosures):
        raise FormatError(Code.duplicate_disclosure, "the same disclosure is presented twice")
    processor = _Processor(by_digest)
    claims: dict[str, Any] = processor.process(payload, 0, never_disclosable)
    if processor.used != len(disclosures):
        raise FormatError(Code.disclosure_unreferenced, "a disclosure is not referenced")
    check_validity(claims, now=now, leeway=leeway, require_exp=require_exp)

    if parsed.kb_jwt is None:
        return VerifiedSdJwt(header, claims, disclosures, key)
    holder_key = holder_key_resolver(claims)
    assert audience is not None  # checked above; keeps the type checker informed
    kb_header, kb_payload = _verify_key_binding(
        parsed.kb_jwt,
        parsed.sd_hash_input,
        holder_key,
        hash_alg=hash_alg,
        algorithms=kb_algorithms if kb_algorithms is not None else algorithms,
        audience=audience,
        nonce=nonce,
        now=now,
        leeway=leeway,
        max_age=kb_max_age,
    )
    return VerifiedSdJwt(header, claims, disclosures, key, holder_key, kb_header, kb_payload)
