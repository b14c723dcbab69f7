"""SD-JWT VC (draft-ietf-oauth-sd-jwt-vc): typed, holder-bound SD-JWTs with a `vct` and status.

Adds to RFC 9901: header `typ` `dc+sd-jwt` (the pre-2024 `vc+sd-jwt` only behind an explicit
switch), required `vct`, `cnf.jwk` holder binding, a Token Status List reference, claims that are
never selectively disclosable, and JWT VC Issuer Metadata (`/.well-known/jwt-vc-issuer`) for keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from vc.errors import ClaimsError, Code, FormatError, KeyMaterialError, SignatureError, VCError
from vc.jws import KeyResolver
from vc.keys import PrivateKey, PublicKey, public_key_from_jwk
from vc.sd_jwt import MAX_SD_JWT_BYTES, SdJwt, VerifiedSdJwt, issue_sd_jwt, verify_sd_jwt
from vc.sd_jwt import Disclosable as _Disclosable

__all__ = [
    "JWT_VC_ISSUER_WELL_KNOWN",
    "LEGACY_TYP",
    "NEVER_DISCLOSABLE",
    "SD_JWT_VC_FORMAT",
    "SD_JWT_VC_TYP",
    "issue_sd_jwt_vc",
    "jwks_key_resolver",
    "jwt_vc_issuer_metadata",
    "jwt_vc_issuer_metadata_url",
    "parse_jwt_vc_issuer_metadata",
    "sri_integrity",
    "status_reference",
    "verify_integrity",
    "verify_sd_jwt_vc",
]

SD_JWT_VC_TYP = "dc+sd-jwt"
SD_JWT_VC_FORMAT = "dc+sd-jwt"  # OpenID4VCI / OpenID4VP format identifier
LEGACY_TYP = "vc+sd-jwt"  # used Jul 2023 - Nov 2024; accepted only when asked for
JWT_VC_ISSUER_WELL_KNOWN = "/.well-known/jwt-vc-issuer"
NEVER_DISCLOSABLE = frozenset({"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"})
_MAX_JWKS_KEYS = 32


def status_reference(idx: int, uri: str) -> dict[str, Any]:
    """The `status` claim referencing a Token Status List entry (`True` is no index)."""
    if type(idx) is not int or idx < 0:
        raise FormatError(Code.malformed, "status index must be a non-negative integer")
    return {"status_list": {"idx": idx, "uri": uri}}


def issue_sd_jwt_vc(
    *,
    issuer: str,
    vct: str,
    claims: Mapping[str, Any],
    disclosable: Collection[str],
    key: PrivateKey,
    kid: str | None,
    holder_jwk: Mapping[str, Any],
    iat: int,
    exp: int,
    nbf: int | None = None,
    status: Mapping[str, Any] | None = None,
    decoys: int = 2,
    rng: Callable[[int], bytes] | None = None,
) -> str:
    """Issue a compact `dc+sd-jwt` credential bound to `holder_jwk`.

    `disclosable` names the top-level claims made selectively disclosable; the registered claims
    that must stay plain (`NEVER_DISCLOSABLE`) cannot be among them.
    """
    forbidden = NEVER_DISCLOSABLE.intersection(disclosable)
    if forbidden:
        raise FormatError(Code.claim_not_disclosable, f"never disclosable: {sorted(forbidden)}")
    reserved = NEVER_DISCLOSABLE.union({"iat"}).intersection(claims)
    if reserved:
        raise FormatError(Code.malformed, f"set by the issuer, not in claims: {sorted(reserved)}")
    public_key_from_jwk(holder_jwk)  # refuses private or malformed holder keys
    unknown = set(disclosable) - set(claims)
    if unknown:
        raise FormatError(Code.malformed, f"disclosable claims not in claims: {sorted(unknown)}")
    body: dict[Any, Any] = {"iss": issuer, "iat": iat, "exp": exp, "vct": vct}
    if nbf is not None:
        body["nbf"] = nbf
    body["cnf"] = {"jwk": dict(holder_jwk)}
    if status is not None:
        body["status"] = dict(status)
    for name, value in claims.items():
        body[_Disclosable(name) if name in disclosable else name] = value
    headers = {"kid": kid} if kid else None
    return issue_sd_jwt(body, key, typ=SD_JWT_VC_TYP, headers=headers, decoys=decoys, rng=rng)


def verify_sd_jwt_vc(
    data: SdJwt | str,
    *,
    issuer_key: PublicKey | KeyResolver,
    algorithms: Collection[str],
    now: float,
    key_binding: bool = True,
    audience: str | None = None,
    nonce: str | None = None,
    vct_values: Collection[str] | None = None,
    leeway: float = 60,
    kb_max_age: float = 300,
    kb_algorithms: Collection[str] | None = None,
    allow_legacy_typ: bool = False,
    max_bytes: int | None = None,
) -> VerifiedSdJwt:
    """RFC 9901 verification plus the SD-JWT VC rules; raises a `VCError` on any failure."""
    typ = (SD_JWT_VC_TYP, LEGACY_TYP) if allow_legacy_typ else SD_JWT_VC_TYP
    result = verify_sd_jwt(
        data,
        issuer_key=issuer_key,
        algorithms=algorithms,
        key_binding=key_binding,
        typ=typ,
        audience=audience,
        nonce=nonce,
        kb_algorithms=kb_algorithms,
        now=now,
        leeway=leeway,
        kb_max_age=kb_max_age,
        max_bytes=max_bytes if max_bytes is not None else MAX_SD_JWT_BYTES,
        never_disclosable=NEVER_DISCLOSABLE,
    )
    vct = result.claims.get("vct")
    if type(vct) is not str or not vct:
        raise ClaimsError(Code.missing_claim, "vct is required")
    if vct_values is not None and vct not in vct_values:
        raise ClaimsError(Code.invalid_claim, "vct is not accepted here")
    status = result.claims.get("status")
    if status is not None:
        _check_status_shape(status)
    return result


def _check_status_shape(status: Any) -> None:
    ref = status.get("status_list") if type(status) is dict else None
    if ref is not None and (
        type(ref) is not dict
        or type(ref.get("idx")) is not int
        or ref["idx"] < 0
        or type(ref.get("uri")) is not str
    ):
        raise ClaimsError(Code.invalid_claim, "status.status_list must have idx and uri")


# --- JWT VC Issuer Metadata (§5 of the draft) ------------------------------------------------


def jwt_vc_issuer_metadata_url(issuer: str) -> str:
    """`https://host/tenant` -> `https://host/.well-known/jwt-vc-issuer/tenant` (trailing / cut)."""
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise FormatError(Code.malformed, "issuer must be an https URL without query or fragment")
    path = JWT_VC_ISSUER_WELL_KNOWN + parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def jwt_vc_issuer_metadata(issuer: str, jwks: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata document an issuer publishes at `jwt_vc_issuer_metadata_url(issuer)`."""
    return {"issuer": issuer, "jwks": dict(jwks)}


def parse_jwt_vc_issuer_metadata(document: Any, expected_issuer: str) -> dict[str, PublicKey]:
    """Keys by `kid` from a metadata document; `issuer` must equal `iss` exactly (else discard)."""
    if type(document) is not dict or document.get("issuer") != expected_issuer:
        raise SignatureError(Code.untrusted_issuer, "issuer metadata does not name this issuer")
    if ("jwks" in document) == ("jwks_uri" in document):
        raise FormatError(Code.malformed, "issuer metadata needs exactly one of jwks, jwks_uri")
    if "jwks_uri" in document:
        raise FormatError(Code.malformed, "jwks_uri must be resolved by the caller")
    keys = document["jwks"].get("keys") if type(document["jwks"]) is dict else None
    if type(keys) is not list or len(keys) > _MAX_JWKS_KEYS:
        raise FormatError(Code.malformed, "jwks.keys must be an array")
    out: dict[str, PublicKey] = {}
    for jwk in keys:
        if type(jwk) is not dict or type(jwk.get("kid")) is not str:
            continue
        try:
            out[jwk["kid"]] = public_key_from_jwk(
                {k: v for k, v in jwk.items() if k not in ("kid", "use", "alg", "key_ops")}
            )
        except KeyMaterialError:
            continue  # a key we cannot use is skipped, not fatal (RFC 7517 §5)
    return out


def jwks_key_resolver(keys_by_issuer: Mapping[str, Mapping[str, PublicKey]]) -> KeyResolver:
    """A resolver taking the issuer JWT's key from a pinned `iss` -> `kid` -> key table."""

    def resolve(header: Mapping[str, Any], payload: Mapping[str, Any]) -> PublicKey:
        keys = keys_by_issuer.get(payload.get("iss"))  # type: ignore[arg-type]
        if keys is None:
            raise SignatureError(Code.untrusted_issuer, "issuer is not trusted")
        kid = header.get("kid")
        if kid is None and len(keys) == 1:
            return next(iter(keys.values()))
        key = keys.get(kid) if type(kid) is str else None
        if key is None:
            raise SignatureError(Code.untrusted_issuer, "unknown key id for this issuer")
        return key

    return resolve


# --- integrity of referenced documents (type metadata, `vct#integrity`) ----------------------


def sri_integrity(document: bytes, alg: str = "sha256") -> str:
    """A W3C Subresource Integrity string over the raw octets."""
    digest = hashlib.new(alg, document).digest()
    return f"{alg}-{base64.b64encode(digest).decode('ascii')}"


def verify_integrity(document: bytes, integrity: str) -> None:
    """Raise unless one of the SRI hashes in `integrity` matches `document`."""
    for token in integrity.split():
        alg, _, expected = token.partition("-")
        if alg in ("sha256", "sha384", "sha512"):
            try:
                ours = sri_integrity(document, alg)
            except VCError:  # pragma: no cover
                continue
            if hmac.compare_digest(ours, f"{alg}-{expected}"):
                return
    raise FormatError(Code.malformed, "document does not match its integrity hash")
