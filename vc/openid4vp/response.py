"""OpenID4VP 1.0 Authorization Responses: the `direct_post` form (§8.1, §8.2), error responses
(§8.5) and `direct_post.jwt` (§8.3: the parameters as a JWE, `ECDH-ES` to the verifier's
`client_metadata.jwks` key, AES-GCM; the JWE itself is `vc.jwe`)."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives.asymmetric import ec

from vc.errors import Code, VCError
from vc.jwe import CONTENT_ENCRYPTIONS, decrypt_compact, encrypt_compact, jwe_header
from vc.jws import json_dumps
from vc.openid4vp.request import _URL_SAFE, AuthorizationRequest, _bad

__all__ = [
    "JWE_ENC_VALUES",
    "MAX_DIRECT_POST_BYTES",
    "DirectPostResponse",
    "decrypt_response",
    "direct_post_error_form",
    "direct_post_form",
    "direct_post_jwt_form",
    "encrypt_response",
    "parse_direct_post",
    "response_kid",
]

MAX_DIRECT_POST_BYTES = 256 * 1024
"""A `direct_post` body: a few presentations (a photo disclosure is ~11 KB); more is refused."""
_MAX_FORM_FIELDS = 16


# --- the wallet's side: the direct_post form (§8.1, §8.2, §8.5) ------------------------------


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


# --- the verifier's side: reading the body (§8.2) --------------------------------------------


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


# --- direct_post.jwt: responses encrypted to the verifier (§8.3, HAIP; JWE in `vc.jwe`) -------

JWE_ENC_VALUES = CONTENT_ENCRYPTIONS
"""What we list in `encrypted_response_enc_values_supported` (HAIP: both)."""


def response_kid(token: str) -> str:
    """The `kid` of an encrypted response: which of our keys (which session) it was sent to."""
    kid = jwe_header(token, max_bytes=MAX_DIRECT_POST_BYTES).get("kid")
    if type(kid) is not str or not kid:
        raise _bad("the encrypted response names no kid")
    return kid


def encrypt_response(params: Mapping[str, Any], jwk: Mapping[str, Any], enc: str) -> str:
    """The wallet's `direct_post.jwt` answer (§8.3): the response parameters as a compact JWE,
    `ECDH-ES` to the verifier's key with a fresh ephemeral key, `enc` AES-GCM."""
    return encrypt_compact(json_dumps(dict(params)), jwk, enc)


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
    """Open a `direct_post.jwt` response (§8.3) sent to our key `kid`; its payload holds the
    response parameters. Raises `FormatError` (shape, header) or `SignatureError` (it does not
    open)."""
    plaintext = decrypt_compact(
        token, key, kid=kid, enc_values=enc_values, max_bytes=MAX_DIRECT_POST_BYTES
    )
    try:
        payload = json.loads(plaintext)
    except (ValueError, RecursionError) as exc:
        raise _bad("the decrypted response is not JSON") from exc
    if type(payload) is not dict:
        raise _bad("the decrypted response must be a JSON object")
    return _response_params(payload, vp_token_as_text=False)
