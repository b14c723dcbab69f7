"""OpenID4VP 1.0 wire pieces for the wallet and the verifier: requests, Request Objects, responses.

Authorization Requests arrive as `openid4vp://?...` links, by value or by reference
(`client_id` + `request_uri`, §5, RFC 9101). A Request Object must be typed
`oauth-authz-req+jwt` and signed according to its `client_id` prefix (§5.9.3):
`x509_san_dns:` (leaf dNSName SAN) and `x509_hash:` (b64url SHA-256 of the DER leaf), both with
the `x5c` chain validated to a trust anchor the caller gives; `decentralized_identifier:` for
did:key; `redirect_uri:` only unsigned and by value. Fetching is the caller's business: this
module does no I/O. Response Modes `direct_post` (§8.2) and `direct_post.jwt` (§8.3: the
parameters as a JWE, `ECDH-ES` to the verifier's `client_metadata.jwks` key, AES-GCM).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import verification

from vc.base64url import b64url_decode, b64url_encode
from vc.dcql import DcqlQuery, parse_dcql_query
from vc.did_key import public_key_from_did_key
from vc.errors import Code, FormatError, KeyMaterialError, SignatureError, VCError
from vc.jws import (
    SUPPORTED_ALGORITHMS,
    check_algorithm,
    check_typ,
    decode_unverified,
    json_dumps,
    sign_compact,
)
from vc.keys import Ed25519PublicKey, P256PublicKey, PrivateKey, PublicKey

__all__ = [
    "JWE_ALG",
    "JWE_ENC_VALUES",
    "MAX_DIRECT_POST_BYTES",
    "OPENID4VP_SCHEME",
    "PREFIX_DID",
    "PREFIX_REDIRECT_URI",
    "PREFIX_X509_HASH",
    "PREFIX_X509_SAN_DNS",
    "REQUEST_OBJECT_MEDIA_TYPE",
    "REQUEST_OBJECT_TYP",
    "RESPONSE_MODE_DIRECT_POST",
    "RESPONSE_MODE_DIRECT_POST_JWT",
    "AuthorizationRequest",
    "DirectPostResponse",
    "RequestLink",
    "VerifiedRequestObject",
    "check_authorization_request",
    "client_id_prefix",
    "decrypt_response",
    "direct_post_error_form",
    "direct_post_form",
    "direct_post_jwt_form",
    "encrypt_response",
    "encryption_jwk",
    "parse_direct_post",
    "parse_request_link",
    "request_link",
    "response_kid",
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
_MAX_CHAIN = 5
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


def _public_key(certificate: x509.Certificate) -> PublicKey:
    key = certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return P256PublicKey(key)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return Ed25519PublicKey(key.public_bytes_raw())
    raise KeyMaterialError(Code.unsupported_key_type, "certificate key type is not supported")


def _chain(header: Mapping[str, Any]) -> list[x509.Certificate]:
    x5c = header.get("x5c")
    if type(x5c) is not list or not x5c or len(x5c) > _MAX_CHAIN:
        raise _bad("the request object needs an x5c certificate chain")
    chain = []
    for entry in x5c:
        if type(entry) is not str:
            raise _bad("x5c entries must be base64 strings")
        try:  # RFC 7515 §4.1.6: standard base64, not base64url
            chain.append(x509.load_der_x509_certificate(base64.b64decode(entry, validate=True)))
        except (binascii.Error, ValueError) as exc:
            raise _bad("x5c holds an unreadable certificate") from exc
    return chain


def _validate_chain(
    chain: list[x509.Certificate], trust_anchors: Sequence[x509.Certificate], now: float
) -> None:
    """Path validation from the leaf to one of `trust_anchors` (RFC 5280 via `cryptography`)."""
    if not trust_anchors:
        raise SignatureError(Code.untrusted_issuer, "no trust anchor configured for this client")
    builder = (
        verification.PolicyBuilder()
        .store(verification.Store(list(trust_anchors)))
        .time(datetime.fromtimestamp(now, UTC))
        .max_chain_depth(_MAX_CHAIN)
        .extension_policies(
            ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=verification.ExtensionPolicy.permit_all(),
        )
    )
    try:
        builder.build_client_verifier().verify(chain[0], chain[1:])
    except verification.VerificationError as exc:
        raise SignatureError(Code.untrusted_issuer, "certificate chain is not trusted") from exc


def _dns_names(certificate: x509.Certificate) -> list[str]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in san.value.get_values_for_type(x509.DNSName)]


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
        chain = _chain(header)
        certificate = chain[0]
        key = _public_key(certificate)
        if prefix == PREFIX_X509_SAN_DNS and original.lower() not in _dns_names(certificate):
            raise SignatureError(Code.untrusted_issuer, "client_id is not a dNSName of the leaf")
        if prefix == PREFIX_X509_HASH:
            der = certificate.public_bytes(Encoding.DER)
            if x509_hash(der) != original:
                raise SignatureError(Code.untrusted_issuer, "client_id is not the leaf's hash")
        _validate_chain(chain, trust_anchors, now)
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
    check_algorithm(header, key, algorithms)
    key.verify(signature, signing_input)
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
    enc = next((e for e in listed if e in _ENC_KEY_BYTES), None) if type(listed) is list else None
    if enc is None:
        raise _bad("none of the verifier's response encryption methods is supported")
    _point(usable[0])  # a key that is not on the curve is refused now, not at answer time
    return usable[0], enc


# --- response (§8.1, §8.2) -------------------------------------------------------------------


def direct_post_form(
    presentations: Mapping[str, Sequence[str]], state: str | None
) -> dict[str, str]:
    """The `direct_post` body: `vp_token` = JSON `{"<query id>": ["<presentation>", ...]}`."""
    if not presentations or any(not v for v in presentations.values()):
        raise VCError(Code.malformed, "a vp_token needs at least one presentation per query")
    form = {"vp_token": json_dumps({k: list(v) for k, v in presentations.items()}).decode()}
    if state is not None:
        form["state"] = state
    return form


def direct_post_error_form(error: str, description: str, state: str | None) -> dict[str, str]:
    """An Authorization Error Response sent to the `response_uri` (§8.5)."""
    form = {"error": error, "error_description": description}
    if state is not None:
        form["state"] = state
    return form


# --- the verifier's side: links, Request Objects, responses (§5, §8.2) -----------------------

MAX_DIRECT_POST_BYTES = 256 * 1024
"""A `direct_post` body: a few presentations (a photo disclosure is ~11 KB); more is refused."""
_MAX_FORM_FIELDS = 16


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


@dataclass(frozen=True, slots=True)
class DirectPostResponse:
    """A parsed `direct_post` body: either `vp_token` (query id -> presentations) or `error`,
    or (`direct_post.jwt`) the still `encrypted` response to open with `decrypt_response`."""

    state: str | None
    vp_token: dict[str, list[str]] | None = None
    error: str | None = None
    error_description: str | None = None
    encrypted: str | None = None


def _single_fields(body: bytes) -> dict[str, str]:
    if len(body) > MAX_DIRECT_POST_BYTES:
        raise _bad("response body too large", Code.input_too_large)
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as exc:  # a form body is percent-encoded ASCII
        raise _bad("response body is not a form") from exc
    try:
        fields = parse_qs(
            text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=_MAX_FORM_FIELDS
        )
    except ValueError as exc:
        raise _bad("response body is not a form") from exc
    if any(len(v) != 1 for v in fields.values()):
        raise _bad("a response parameter appears more than once")
    return {k: v[0] for k, v in fields.items()}


def _response_params(fields: Mapping[str, Any], *, vp_token_as_text: bool) -> DirectPostResponse:
    state = fields.get("state")
    if state is not None and (type(state) is not str or not _URL_SAFE.fullmatch(state)):
        raise _bad("state is not a URL-safe string")
    if "error" in fields:
        error, description = fields["error"], fields.get("error_description")
        if type(error) is not str or not re.fullmatch(r"[a-z_]{1,64}", error):
            raise _bad("error is not an error code")
        if description is not None and type(description) is not str:
            raise _bad("error_description is not a string")
        return DirectPostResponse(state, error=error, error_description=description)
    vp_token = fields.get("vp_token")
    if vp_token is None:
        raise _bad("vp_token is required")
    if vp_token_as_text:
        try:
            vp_token = json.loads(vp_token)
        except (ValueError, RecursionError) as exc:
            raise _bad("vp_token is not JSON") from exc
    if type(vp_token) is not dict or not vp_token:
        raise _bad("vp_token must be a non-empty JSON object")
    for query_id, presentations in vp_token.items():
        if (
            type(presentations) is not list
            or not presentations
            or not all(type(p) is str and p for p in presentations)
        ):
            raise _bad(f"vp_token[{query_id[:64]!r}] must be a non-empty array of strings")
    return DirectPostResponse(state, vp_token=vp_token)


def parse_direct_post(body: bytes) -> DirectPostResponse:
    """Read a `direct_post` body (§8.2): `vp_token` is a JSON object whose members are non-empty
    arrays of presentation strings (§8.1); or an error response (§8.5); or, for
    `direct_post.jwt` (§8.3), only `response` with a compact JWE. Raises `FormatError`."""
    fields = _single_fields(body)
    if "response" in fields:
        token = fields["response"]
        if set(fields) != {"response"} or token.count(".") != 4:
            raise _bad("an encrypted response is a JWE in `response` alone")
        return DirectPostResponse(None, encrypted=token)
    return _response_params(fields, vp_token_as_text=True)


# --- direct_post.jwt: responses encrypted to the verifier (§8.3, HAIP) -----------------------

JWE_ALG = "ECDH-ES"
JWE_ENC_VALUES = ("A128GCM", "A256GCM")
"""What we list in `encrypted_response_enc_values_supported` (HAIP: both)."""
_ENC_KEY_BYTES = {"A128GCM": 16, "A256GCM": 32}


def encryption_jwk(key: ec.EllipticCurvePublicKey, kid: str) -> dict[str, Any]:
    """The public JWK for `client_metadata.jwks` (§5.1): P-256, `alg` ECDH-ES, with `kid`."""
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.x.to_bytes(32, "big")),
        "y": b64url_encode(numbers.y.to_bytes(32, "big")),
        "kid": kid,
        "use": "enc",
        "alg": JWE_ALG,
    }


def _jwe_parts(token: str) -> tuple[str, dict[str, Any], list[bytes]]:
    parts = token.split(".")
    if len(parts) != 5 or len(token) > MAX_DIRECT_POST_BYTES:
        raise _bad("not a compact JWE")
    try:
        raw = [b64url_decode(p) for p in parts]
        header = json.loads(raw[0])
    except (ValueError, binascii.Error, RecursionError) as exc:
        raise _bad("JWE parts are not base64url / JSON") from exc
    if type(header) is not dict:
        raise _bad("JWE header must be a JSON object")
    return parts[0], header, raw


def response_kid(token: str) -> str:
    """The `kid` of an encrypted response: which of our keys (which session) it was sent to."""
    _, header, _ = _jwe_parts(token)
    kid = header.get("kid")
    if type(kid) is not str or not kid:
        raise _bad("the encrypted response names no kid")
    return kid


def _point(jwk: Any) -> ec.EllipticCurvePublicKey:
    """A P-256 public JWK as a key; `FormatError` unless it is a point on the curve."""
    if type(jwk) is not dict or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise _bad("not a P-256 EC JWK")
    try:
        x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
        if len(x) != 32 or len(y) != 32:
            raise ValueError("coordinate length")
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
    except (KeyError, TypeError, ValueError, binascii.Error, VCError) as exc:
        raise _bad("not a point on P-256") from exc


def _epk(header: Mapping[str, Any]) -> ec.EllipticCurvePublicKey:
    return _point(header.get("epk"))


def _content_key(shared: bytes, enc: str, apu: bytes = b"", apv: bytes = b"") -> bytes:
    """RFC 7518 §4.6.2: Concat KDF over the ECDH secret, AlgorithmID = `enc` (direct agreement)."""
    size = _ENC_KEY_BYTES[enc]
    other = b"".join(len(v).to_bytes(4, "big") + v for v in (enc.encode("ascii"), apu, apv))
    return ConcatKDFHash(hashes.SHA256(), size, other + (size * 8).to_bytes(4, "big")).derive(
        shared
    )


def encrypt_response(params: Mapping[str, Any], jwk: Mapping[str, Any], enc: str) -> str:
    """The wallet's `direct_post.jwt` answer (§8.3): the response parameters as a compact JWE,
    `ECDH-ES` to the verifier's key with a fresh ephemeral key, `enc` AES-GCM."""
    if enc not in _ENC_KEY_BYTES:
        raise _bad(f"unsupported enc {enc!r}", Code.unsupported_algorithm)
    recipient = _point(dict(jwk))
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    epk = encryption_jwk(ephemeral.public_key(), "")
    header = {
        "alg": JWE_ALG,
        "enc": enc,
        "kid": jwk["kid"],
        "epk": {k: epk[k] for k in ("kty", "crv", "x", "y")},
    }
    protected = b64url_encode(json_dumps(header))
    cek = _content_key(ephemeral.exchange(ec.ECDH(), recipient), enc)
    iv = os.urandom(12)
    sealed = AESGCM(cek).encrypt(iv, json_dumps(dict(params)), protected.encode("ascii"))
    ciphertext, tag = sealed[:-16], sealed[-16:]
    return f"{protected}..{b64url_encode(iv)}.{b64url_encode(ciphertext)}.{b64url_encode(tag)}"


def direct_post_jwt_form(
    params: Mapping[str, Any], request: AuthorizationRequest
) -> dict[str, str]:
    """The `direct_post.jwt` body: `response` = the parameters (`vp_token` as a JSON object, or
    an error) encrypted to the request's key."""
    if request.encryption_jwk is None or request.encryption_enc is None:
        raise _bad("this request asked for plain direct_post")
    return {"response": encrypt_response(params, request.encryption_jwk, request.encryption_enc)}


def decrypt_response(
    token: str,
    key: ec.EllipticCurvePrivateKey,
    *,
    kid: str,
    enc_values: Collection[str] = JWE_ENC_VALUES,
) -> DirectPostResponse:
    """Open a `direct_post.jwt` response (§8.3): JWE `ECDH-ES` (direct key agreement, RFC 7518
    §4.6, Concat KDF) with AES-GCM, to our key `kid`; its payload holds the response parameters.
    Raises `FormatError` (shape, header) or `SignatureError` (`decryption_failed`)."""
    protected, header, raw = _jwe_parts(token)
    if header.get("alg") != JWE_ALG:
        raise _bad("JWE alg must be ECDH-ES", Code.unsupported_algorithm)
    enc = header.get("enc")
    if enc not in enc_values or enc not in _ENC_KEY_BYTES:
        raise _bad("JWE enc is not one we listed", Code.unsupported_algorithm)
    if header.get("kid") != kid:
        raise _bad("JWE kid is not our key")
    if "zip" in header or "crit" in header or raw[1]:
        raise _bad("JWE uses features we do not accept (zip, crit, an encrypted key)")
    try:
        apu = b64url_decode(header.get("apu", ""))
        apv = b64url_decode(header.get("apv", ""))
    except (TypeError, ValueError, binascii.Error, VCError) as exc:
        raise _bad("apu/apv are not base64url") from exc
    cek = _content_key(key.exchange(ec.ECDH(), _epk(header)), enc, apu, apv)
    iv, ciphertext, tag = raw[2], raw[3], raw[4]
    if len(iv) != 12 or len(tag) != 16:
        raise _bad("JWE iv or tag has the wrong length")
    try:
        plaintext = AESGCM(cek).decrypt(iv, ciphertext + tag, protected.encode("ascii"))
    except InvalidTag:
        raise SignatureError(
            Code.invalid_signature, "the encrypted response does not open"
        ) from None
    try:
        payload = json.loads(plaintext)
    except (ValueError, RecursionError) as exc:
        raise _bad("the decrypted response is not JSON") from exc
    if type(payload) is not dict:
        raise _bad("the decrypted response must be a JSON object")
    return _response_params(payload, vp_token_as_text=False)
