"""SD-JWT (RFC 9901 §4.3, §5), the holder's side: choose disclosures, bind the presentation to
the holder's key with a KB-JWT."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from vc.errors import Code, FormatError, KeyBindingError
from vc.jws import decode_unverified, sign_compact
from vc.keys import PrivateKey
from vc.sd_jwt.common import (
    DEFAULT_HASH_ALG,
    HASH_ALGORITHMS,
    KB_JWT_TYP,
    MAX_DEPTH,
    MAX_SD_JWT_BYTES,
    SD_ALG_KEY,
    SD_KEY,
    ClaimPath,
    Disclosure,
    SdJwt,
    _array_digest,
    _digest,
    parse_sd_jwt,
)

__all__ = ["create_key_binding_jwt", "disclosure_paths", "present", "select_paths"]


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
