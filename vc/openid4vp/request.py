"""OpenID4VP 1.0 Authorization Requests (§5): `openid4vp://` links, Request Objects and their
client authentication, the checked request; and, for the verifier, links and signed objects.

Requests arrive as links, by value or by reference (`client_id` + `request_uri`, §5, RFC 9101).
A Request Object must be typed `oauth-authz-req+jwt` and signed according to its `client_id`
prefix (§5.9.3): `x509_san_dns:` (leaf dNSName SAN) and `x509_hash:` (b64url SHA-256 of the DER
leaf), both with the `x5c` chain validated to a trust anchor the caller gives (`x5c` module);
`decentralized_identifier:` for did:key; `redirect_uri:` only unsigned and by value. Fetching
is the caller's business: this module does no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from vc.base64url import b64url_encode
from vc.dcql import DcqlQuery, parse_dcql_query
from vc.did_key import public_key_from_did_key
from vc.errors import Code, FormatError, SignatureError
from vc.jwe import CONTENT_ENCRYPTIONS, JWE_ALG, encryption_jwk, p256_public_key
from vc.jws import (
    SUPPORTED_ALGORITHMS,
    check_typ,
    decode_unverified,
    json_dumps,
    sign_compact,
    verify_signature,
)
from vc.keys import PrivateKey, PublicKey
from vc.openid4vp.x5c import dns_names, leaf_public_key, read_chain, validate_chain

__all__ = [
    "JWE_ALG",
    "MAX_LINK_BYTES",
    "MAX_REQUEST_OBJECT_BYTES",
    "OPENID4VP_SCHEME",
    "PREFIX_DID",
    "PREFIX_REDIRECT_URI",
    "PREFIX_X509_HASH",
    "PREFIX_X509_SAN_DNS",
    "REQUEST_OBJECT_MEDIA_TYPE",
    "REQUEST_OBJECT_TYP",
    "RESPONSE_MODE_DIRECT_POST",
    "RESPONSE_MODE_DIRECT_POST_JWT",
    "RESPONSE_TYPE_VP_TOKEN",
    "SIGNED_PREFIXES",
    "AuthorizationRequest",
    "RequestLink",
    "VerifiedRequestObject",
    "check_authorization_request",
    "client_id_prefix",
    "encryption_jwk",
    "parse_request_link",
    "request_link",
    "sign_request_object",
    "verify_request_object",
    "x509_hash",
]

OPENID4VP_SCHEME = "openid4vp://"
REQUEST_OBJECT_TYP = "oauth-authz-req+jwt"
REQUEST_OBJECT_MEDIA_TYPE = "application/oauth-authz-req+jwt"
RESPONSE_TYPE_VP_TOKEN = "vp_token"  # noqa: S105 - a response type, not a secret
RESPONSE_MODE_DIRECT_POST = "direct_post"
RESPONSE_MODE_DIRECT_POST_JWT = "direct_post.jwt"
PREFIX_REDIRECT_URI = "redirect_uri"
PREFIX_X509_SAN_DNS = "x509_san_dns"
PREFIX_X509_HASH = "x509_hash"
PREFIX_DID = "decentralized_identifier"
SIGNED_PREFIXES = frozenset({PREFIX_X509_SAN_DNS, PREFIX_X509_HASH, PREFIX_DID})
MAX_LINK_BYTES = 16 * 1024
MAX_REQUEST_OBJECT_BYTES = 64 * 1024
_URL_SAFE = re.compile(r"[A-Za-z0-9\-._~]+")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_JSON_PARAMS = ("dcql_query", "client_metadata", "transaction_data", "verifier_info")


def _bad(detail: str, code: Code = Code.malformed) -> FormatError:
    return FormatError(code, f"OpenID4VP: {detail}")


def client_id_prefix(client_id: str) -> tuple[str | None, str]:
    """Split `<prefix>:<original id>` (§5.9.1); no colon means a pre-registered client."""
    prefix, sep, rest = client_id.partition(":")
    return (prefix, rest) if sep else (None, client_id)


def x509_hash(certificate_der: bytes) -> str:
    """The `x509_hash:` client id value: b64url SHA-256 of the DER leaf certificate (§5.9.3)."""
    return b64url_encode(hashlib.sha256(certificate_der).digest())


# --- the link (§5, RFC 9101 §5) --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestLink:
    """What an `openid4vp://` link carries: a Request URI to fetch, a Request Object by value
    (`request`), or the plain parameters by value."""

    client_id: str
    request_uri: str | None = None
    request_uri_method: str = "get"
    request: str | None = None
    params: Mapping[str, Any] | None = None


def parse_request_link(link: str) -> RequestLink:
    """Read an `openid4vp://` (or https universal) link; JSON-valued parameters are decoded."""
    if not isinstance(link, str) or len(link) > MAX_LINK_BYTES:
        raise _bad("request link missing or too long", Code.input_too_large)
    query = parse_qs(urlsplit(link.strip()).query, keep_blank_values=True)
    if any(len(v) != 1 for v in query.values()):
        raise _bad("a request parameter appears more than once")
    params: dict[str, Any] = {k: v[0] for k, v in query.items()}
    client_id = params.get("client_id")
    if not client_id:
        raise _bad("client_id is required")
    if "request_uri" in params and "request" in params:
        raise _bad("request and request_uri cannot both be present")
    if "request_uri" in params:
        method = params.get("request_uri_method", "get")
        if method not in ("get", "post"):
            raise _bad("request_uri_method must be get or post")
        return RequestLink(client_id, params["request_uri"], method)
    if "request_uri_method" in params:
        raise _bad("request_uri_method without request_uri")
    if "request" in params:
        return RequestLink(client_id, request=params["request"])
    for name in _JSON_PARAMS:
        if name in params:
            try:
                params[name] = json.loads(params[name])
            except ValueError as exc:
                raise _bad(f"{name} is not JSON") from exc
    return RequestLink(client_id, params=params)


# --- Request Object verification (§5, §5.9.3) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedRequestObject:
    """A Request Object whose signature and client authentication checked out."""

    params: dict[str, Any]
    header: dict[str, Any]
    key: PublicKey
    certificate: x509.Certificate | None = None


def verify_request_object(
    token: str,
    *,
    client_id: str,
    trust_anchors: Sequence[x509.Certificate] = (),
    now: float,
    algorithms: Collection[str] = SUPPORTED_ALGORITHMS,
) -> VerifiedRequestObject:
    """Verify a signed Request Object for the outer `client_id` (§5, §5.9.3); raises `VCError`.

    `typ` must be `oauth-authz-req+jwt`; unsigned (`alg` none) objects are refused; the inner
    `client_id` must equal the outer one; the key comes from the prefix's mechanism only.
    """
    header, payload, signing_input, signature = decode_unverified(
        token, max_bytes=MAX_REQUEST_OBJECT_BYTES
    )
    check_typ(header, REQUEST_OBJECT_TYP)
    if header.get("alg") == "none" or not signature:
        raise SignatureError(Code.unsupported_algorithm, "request object is not signed")
    if payload.get("client_id") != client_id:
        raise _bad("request object client_id differs from the request's", Code.invalid_claim)
    prefix, original = client_id_prefix(client_id)
    certificate = None
    if prefix in (PREFIX_X509_SAN_DNS, PREFIX_X509_HASH):
        chain = read_chain(header)
        certificate = chain[0]
        key = leaf_public_key(certificate)
        if prefix == PREFIX_X509_SAN_DNS and original.lower() not in dns_names(certificate):
            raise SignatureError(Code.untrusted_issuer, "client_id is not a dNSName of the leaf")
        if prefix == PREFIX_X509_HASH:
            der = certificate.public_bytes(Encoding.DER)
            if x509_hash(der) != original:
                raise SignatureError(Code.untrusted_issuer, "client_id is not the leaf's hash")
        validate_chain(chain, trust_anchors, now)
    elif prefix == PREFIX_DID:
        kid = header.get("kid")
        if type(kid) is not str or kid.split("#", 1)[0] != original:
            raise _bad("kid must be a DID URL of the client's DID")
        if not original.startswith("did:key:"):
            raise SignatureError(Code.untrusted_issuer, "only did:key clients can be resolved")
        key = public_key_from_did_key(original)
    elif prefix == PREFIX_REDIRECT_URI:
        raise _bad("redirect_uri clients cannot sign requests (§5.9.3)")
    else:
        raise SignatureError(Code.untrusted_issuer, "client_id prefix is not supported")
    verify_signature(header, signing_input, signature, key, algorithms)
    return VerifiedRequestObject(dict(payload), header, key, certificate)


# --- request parameters (§5, §8.2) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A checked Authorization Request: who asks, where to answer, what to bind to, the query."""

    client_id: str
    prefix: str | None
    response_uri: str
    nonce: str
    state: str | None
    dcql_query: DcqlQuery
    client_metadata: Mapping[str, Any]
    signed: bool
    certificate: x509.Certificate | None = None
    response_mode: str = RESPONSE_MODE_DIRECT_POST
    encryption_jwk: Mapping[str, Any] | None = None
    """`direct_post.jwt`: the verifier's key from `client_metadata.jwks` (§8.3)."""
    encryption_enc: str | None = None


def _url_safe(value: Any, name: str) -> str:
    if type(value) is not str or not _URL_SAFE.fullmatch(value):
        raise _bad(f"{name} must be a non-empty URL-safe string", Code.invalid_claim)
    return value


def _check_uri(uri: Any, *, allow_loopback_http: bool) -> str:
    if type(uri) is not str:
        raise _bad("response_uri is required for direct_post")
    parts = urlsplit(uri)
    loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK and allow_loopback_http
    if not parts.hostname or not (parts.scheme == "https" or loopback) or parts.fragment:
        raise _bad("response_uri must be an https URL without fragment")
    return uri


def check_authorization_request(
    params: Mapping[str, Any],
    *,
    signed: bool,
    verified: VerifiedRequestObject | None = None,
    allow_loopback_http: bool = False,
) -> AuthorizationRequest:
    """Check the parameters of a (verified or by-value) request for `vp_token` + `direct_post`.

    Unsigned requests are only acceptable from `redirect_uri:` clients; signed ones never are.
    Unknown parameters are ignored, except `transaction_data`, which we do not support (§5.1).
    """
    client_id = params.get("client_id")
    if type(client_id) is not str or not client_id:
        raise _bad("client_id is required")
    prefix, original = client_id_prefix(client_id)
    if prefix == PREFIX_REDIRECT_URI and signed:
        raise _bad("redirect_uri clients cannot sign requests (§5.9.3)")
    if not signed and prefix != PREFIX_REDIRECT_URI:
        raise SignatureError(Code.untrusted_issuer, "this client must send a signed request")
    if params.get("response_type") != RESPONSE_TYPE_VP_TOKEN:
        raise _bad("response_type must be vp_token")
    response_mode = params.get("response_mode")
    if response_mode not in (RESPONSE_MODE_DIRECT_POST, RESPONSE_MODE_DIRECT_POST_JWT):
        raise _bad(f"response_mode {response_mode!r} is not supported")
    if "redirect_uri" in params:
        raise _bad("redirect_uri must not be present with direct_post")
    response_uri = params.get("response_uri")
    if prefix == PREFIX_REDIRECT_URI:
        response_uri = response_uri or original
        if response_uri != original:
            raise _bad("response_uri must be the redirect_uri client id")
    response_uri = _check_uri(response_uri, allow_loopback_http=allow_loopback_http)
    if prefix == PREFIX_X509_SAN_DNS and urlsplit(response_uri).hostname != original.lower():
        raise SignatureError(Code.untrusted_issuer, "response_uri host is not the client's name")
    nonce = _url_safe(params.get("nonce"), "nonce")
    state = _url_safe(params["state"], "state") if params.get("state") is not None else None
    if "transaction_data" in params:
        raise _bad("transaction_data is not supported by this wallet")
    if "scope" in params or "dcql_query" not in params:
        raise _bad("a dcql_query is required (scope-based queries are not supported)")
    metadata = params.get("client_metadata", {})
    if type(metadata) is not dict:
        raise _bad("client_metadata must be an object")
    jwk, enc = (
        _response_encryption(metadata)
        if response_mode == RESPONSE_MODE_DIRECT_POST_JWT
        else (None, None)
    )
    return AuthorizationRequest(
        client_id=client_id,
        prefix=prefix,
        response_uri=response_uri,
        nonce=nonce,
        state=state,
        dcql_query=parse_dcql_query(params["dcql_query"]),
        client_metadata=metadata,
        signed=signed,
        certificate=verified.certificate if verified else None,
        response_mode=response_mode,
        encryption_jwk=jwk,
        encryption_enc=enc,
    )


def _response_encryption(metadata: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """For `direct_post.jwt`: a P-256 `ECDH-ES` key from `client_metadata.jwks` and the first
    content encryption the verifier lists that we support (A128GCM when it lists none, §5.1)."""
    jwks = metadata.get("jwks")
    keys = jwks.get("keys") if type(jwks) is dict else None
    usable = [
        k
        for k in (keys if type(keys) is list else [])
        if type(k) is dict
        and k.get("kty") == "EC"
        and k.get("crv") == "P-256"
        and k.get("alg", JWE_ALG) == JWE_ALG
        and k.get("use", "enc") == "enc"
        and type(k.get("kid")) is str
    ]
    if not usable:
        raise _bad("direct_post.jwt needs a P-256 ECDH-ES key with a kid in client_metadata.jwks")
    listed = metadata.get("encrypted_response_enc_values_supported", ["A128GCM"])
    supported = [e for e in listed if e in CONTENT_ENCRYPTIONS] if type(listed) is list else []
    enc = supported[0] if supported else None
    if enc is None:
        raise _bad("none of the verifier's response encryption methods is supported")
    p256_public_key(usable[0])  # a key that is not on the curve is refused now, not at answer time
    return usable[0], enc


# --- the verifier's side: links and Request Objects (§5, RFC 9101) ---------------------------


def request_link(
    client_id: str,
    *,
    request_uri: str | None = None,
    params: Mapping[str, Any] | None = None,
    request_uri_method: str | None = None,
    scheme: str = OPENID4VP_SCHEME,
) -> str:
    """An `openid4vp://` link: by reference (`client_id` + `request_uri`) or by value (`params`,
    JSON-valued ones encoded as JSON) (§5, RFC 9101 §5.2)."""
    if (request_uri is None) == (params is None):
        raise _bad("a link carries either request_uri or the parameters by value")
    query: dict[str, str] = {"client_id": client_id}
    if request_uri is not None:
        query["request_uri"] = request_uri
        if request_uri_method is not None:
            query["request_uri_method"] = request_uri_method
    else:
        assert params is not None
        for name, value in params.items():
            if name == "client_id":
                continue
            query[name] = value if isinstance(value, str) else json_dumps(value).decode()
    return f"{scheme}?{urlencode(query)}"


def sign_request_object(
    params: Mapping[str, Any], key: PrivateKey, *, x5c: Sequence[bytes] = (), kid: str | None = None
) -> str:
    """A signed Request Object (JAR, RFC 9101): `typ` `oauth-authz-req+jwt`, the leaf-first DER
    chain in `x5c` (standard base64, RFC 7515 §4.1.6) for the `x509_*` client id prefixes."""
    if "client_id" not in params:
        raise _bad("a request object needs client_id")
    headers: dict[str, Any] = {}
    if x5c:
        headers["x5c"] = [base64.b64encode(der).decode("ascii") for der in x5c]
    if kid is not None:
        headers["kid"] = kid
    return sign_compact(params, key, typ=REQUEST_OBJECT_TYP, headers=headers)
