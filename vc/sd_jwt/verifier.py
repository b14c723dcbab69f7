"""SD-JWT (RFC 9901 §7), the verifier's side, in the order of §7.1 and §7.3: parse -> issuer
signature -> disclosures -> validity claims -> key binding."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, NamedTuple

from vc.errors import ClaimsError, Code, FormatError, KeyBindingError, VCError
from vc.jws import KeyResolver, check_typ, decode_unverified, verify_signature
from vc.keys import PublicKey, public_key_from_jwk
from vc.sd_jwt.common import (
    DEFAULT_HASH_ALG,
    HASH_ALGORITHMS,
    KB_JWT_TYP,
    MAX_DEPTH,
    MAX_SD_JWT_BYTES,
    SD_ALG_KEY,
    SD_KEY,
    Disclosure,
    SdJwt,
    _array_digest,
    _digest,
    parse_sd_jwt,
)

__all__ = ["VerifiedSdJwt", "check_validity", "verify_sd_jwt"]


class VerifiedSdJwt(NamedTuple):
    """The result of a successful verification: processed claims and what vouched for them."""

    header: dict[str, Any]
    claims: dict[str, Any]
    disclosures: tuple[Disclosure, ...]
    issuer_key: PublicKey
    holder_key: PublicKey | None = None
    kb_header: dict[str, Any] | None = None
    kb_payload: dict[str, Any] | None = None


def _check_depth(depth: int) -> None:
    if depth > MAX_DEPTH:
        raise FormatError(Code.malformed, "SD-JWT nests too deeply")


class _Processor:
    """§7.1 step 3-4: replace digests by disclosed values, exactly once each."""

    __slots__ = ("by_digest", "seen", "used")

    def __init__(self, by_digest: dict[str, Disclosure]) -> None:
        self.by_digest = by_digest
        self.seen: set[str] = set()
        self.used = 0

    def _claim(self, digest: Any) -> Disclosure | None:
        """The disclosure a digest stands for (None for a decoy); each digest counts once."""
        if not isinstance(digest, str):
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

        In place is safe: the payload and every disclosure value were parsed for this one
        verification, and each disclosure is used at most once. `sealed` (top level only) names
        claims that must arrive in plain text, sub-claims included: a disclosure used under one
        of them, or one that would bring one of their names in, is `claim_not_disclosable`.
        """
        if isinstance(node, dict):
            return self._object(node, depth, sealed)
        if isinstance(node, list):
            return self._array(node, depth)
        return node

    def _object(self, node: dict[str, Any], depth: int, sealed: frozenset[str]) -> dict[str, Any]:
        _check_depth(depth)
        digests = node.pop(SD_KEY, None)
        for key, value in node.items():
            before = self.used
            node[key] = self.process(value, depth + 1)
            if key in sealed and self.used != before:
                raise FormatError(Code.claim_not_disclosable, f"part of {key} was disclosed")
        if digests is None:
            return node
        if not isinstance(digests, list):
            raise FormatError(Code.malformed, "_sd must be an array")
        for digest in digests:
            disclosure = self._claim(digest)
            if disclosure is None:
                continue
            name = disclosure.name
            if name is None:
                raise FormatError(Code.invalid_disclosure, "array disclosure used in _sd")
            if name in sealed:
                raise FormatError(Code.claim_not_disclosable, f"{name} must not be disclosed")
            if name in node:
                raise FormatError(Code.invalid_disclosure, f"claim {name!r} already exists")
            node[name] = self.process(disclosure.value, depth + 1)
        return node

    def _array(self, node: list[Any], depth: int) -> list[Any]:
        _check_depth(depth)
        items = []
        for element in node:
            digest = _array_digest(element)
            if digest is None:
                items.append(self.process(element, depth + 1))
                continue
            disclosure = self._claim(digest)
            if disclosure is None:
                continue
            if disclosure.name is not None:
                raise FormatError(Code.invalid_disclosure, "property disclosure in an array")
            items.append(self.process(disclosure.value, depth + 1))
        return items


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
    verify_signature(header, signing_input, signature, holder_key, algorithms)
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
    now: float,
    typ: str | Collection[str] | None = None,
    audience: str | None = None,
    nonce: str | None = None,
    kb_algorithms: Collection[str] | None = None,
    leeway: float = 60,
    kb_max_age: float = 300,
    require_exp: bool = False,
    max_bytes: int = MAX_SD_JWT_BYTES,
    holder_key_resolver: Callable[[Mapping[str, Any]], PublicKey] = _holder_key_from_cnf,
    never_disclosable: frozenset[str] = frozenset(),
) -> VerifiedSdJwt:
    """Verify an SD-JWT (`key_binding=False`) or SD-JWT+KB (`key_binding=True`), §7.1 and §7.3.

    `data` is a compact or JSON-serialized `str` or a parsed `SdJwt`; any other value (one
    straight from a JSON body) is `malformed`, not a `TypeError`.

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
    key = issuer_key if isinstance(issuer_key, PublicKey) else issuer_key(header, payload)
    verify_signature(header, signing_input, signature, key, algorithms)
    for other in parsed.other_signatures:
        o_header, _, o_input, o_signature = decode_unverified(other)
        o_key = key if isinstance(issuer_key, PublicKey) else issuer_key(o_header, payload)
        verify_signature(o_header, o_input, o_signature, o_key, algorithms)

    hash_alg = payload.pop(SD_ALG_KEY, DEFAULT_HASH_ALG)
    if not isinstance(hash_alg, str) or hash_alg not in HASH_ALGORITHMS:
        raise FormatError(Code.unsupported_hash_algorithm, f"unsupported _sd_alg {hash_alg!r}")
    disclosures = tuple(Disclosure.parse(encoded) for encoded in parsed.disclosures)
    by_digest = {disclosure.digest(hash_alg): disclosure for disclosure in disclosures}
    if len(by_digest) != len(disclosures):
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
