"""OpenID4VP sessions in the database: start one, show its link again, serve its Request Object.

A session lives in `verifier_vp_sessions`, not in a process, so any verifier process sharing the
database serves any step of it. Starting one draws a fresh nonce, `state` and id, a per-session
response encryption key (`direct_post.jwt`), and a secret handle for the browser or terminal
that started it; only the handle's digest is stored. The session's end (first answer, handing
the result over, purge) is in `verifier.oid4vp.outcomes`, the wallet's answer itself in
`verifier.oid4vp.responses`. Functions take the database connection and `now`; the caller's unit
of work commits.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Connection, func, insert, select, update

from vc.base64url import b64url_encode
from vc.openid4vp import (
    PREFIX_REDIRECT_URI,
    PREFIX_X509_HASH,
    PREFIX_X509_SAN_DNS,
    RESPONSE_MODE_DIRECT_POST_JWT,
    encryption_jwk,
    request_link,
    sign_request_object,
)
from verifier.oid4vp.errors import ErrorCode, ProtocolError
from verifier.oid4vp.models import vp_sessions
from verifier.oid4vp.requests import WALLET_AUDIENCE, request_params
from verifier.oid4vp.verify import LoginVerifier
from verifier.x509 import VerifierCertificate

__all__ = [
    "CROSS_DEVICE",
    "PENDING",
    "PREFIXES",
    "SAME_DEVICE",
    "NewSession",
    "ReturnUri",
    "VpConfig",
    "VpContext",
    "encryption_key",
    "find_session",
    "secret_digest",
    "serve_request_object",
    "session_link",
    "start_session",
]

CROSS_DEVICE = "cross_device"
SAME_DEVICE = "same_device"
PREFIXES = (PREFIX_X509_SAN_DNS, PREFIX_X509_HASH, PREFIX_REDIRECT_URI)
PENDING = "pending"
"""A session's status until its first answer; the statuses it ends in are in `outcomes`."""

ReturnUri = Callable[[str], str]
"""Where a same-device wallet sends the browser once it has answered, given the session id
(the OIDC bridge's continue URL, for example); without one, `VpConfig.return_path`."""


def secret_digest(secret: str) -> str:
    """What is stored of a secret handed out (handles, codes, tokens): SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class VpConfig:
    base_url: str
    default_prefix: str = PREFIX_X509_HASH
    response_mode: str = RESPONSE_MODE_DIRECT_POST_JWT
    """`direct_post.jwt` (HAIP, the default): responses encrypted to a per-session key; or plain
    `direct_post`."""
    session_ttl_s: float = 300.0
    client_name: str = "모바일 공무원증 로그인 (mobileid login)"
    return_path: str = "/oid4vp/done"

    @property
    def response_uri(self) -> str:
        return f"{self.base_url}/oid4vp/response"

    def request_uri(self, session_id: str, flow: str) -> str:
        suffix = "?flow=same_device" if flow == SAME_DEVICE else ""
        return f"{self.base_url}/oid4vp/request/{session_id}{suffix}"


@dataclass(slots=True)
class VpContext:
    """What the OpenID4VP services need besides the database session and the time."""

    config: VpConfig
    certificate: VerifierCertificate | None
    verifier: LoginVerifier
    rng: Callable[[int], bytes] = secrets.token_bytes
    _x5c: list[bytes] | None = None

    @property
    def x5c(self) -> list[bytes]:
        """The DER chain sent in every Request Object's `x5c` (computed once)."""
        if self._x5c is None:
            assert self.certificate is not None
            self._x5c = self.certificate.x5c_der
        return self._x5c

    def client_id(self, prefix: str) -> str:
        if prefix == PREFIX_REDIRECT_URI:
            return f"{PREFIX_REDIRECT_URI}:{self.config.response_uri}"
        if self.certificate is None:
            raise ProtocolError(
                ErrorCode.server_error, "no verifier certificate for signed requests"
            )
        return self.certificate.client_id(prefix)

    def token(self) -> str:
        """128 bits from the injected RNG, URL-safe (nonces, states, handles, codes)."""
        return b64url_encode(self.rng(16))


@dataclass(frozen=True, slots=True)
class NewSession:
    id: str
    handle: str
    client_id: str
    cross_device_link: str
    same_device_link: str
    expires_at: float


def start_session(
    db: Connection,
    ctx: VpContext,
    *,
    dcql_query: Mapping[str, Any],
    context: Mapping[str, Any],
    now: float,
    prefix: str | None = None,
    return_uri: ReturnUri | None = None,
) -> NewSession:
    """Create a pending session with a fresh nonce and state; returns the links to show.

    `context` says what started it (kept as JSON with the session); the return URI is resolved
    for this session now and kept in it, since any process may take the wallet's answer.
    """
    prefix = prefix or ctx.config.default_prefix
    if prefix not in PREFIXES:
        raise ProtocolError(ErrorCode.invalid_request, "unsupported client_id prefix")
    client_id = ctx.client_id(prefix)
    session_id, state, nonce, handle = ctx.token(), ctx.token(), ctx.token(), ctx.token()
    if return_uri is not None:
        context = {**context, "return_uri": return_uri(session_id)}
    expires_at = now + ctx.config.session_ttl_s
    flow = None
    encrypted = ctx.config.response_mode == RESPONSE_MODE_DIRECT_POST_JWT
    enc_key = _new_encryption_key() if encrypted else None
    if prefix == PREFIX_REDIRECT_URI:  # unsigned, by value: the link is the whole request
        params = _params(ctx, session_id, client_id, nonce, state, dcql_query, enc_key)
        flow = context.get("flow", CROSS_DEVICE)
        cross = same = request_link(client_id, params=params)
    else:
        cross = request_link(
            client_id, request_uri=ctx.config.request_uri(session_id, CROSS_DEVICE)
        )
        same = request_link(client_id, request_uri=ctx.config.request_uri(session_id, SAME_DEVICE))
    db.execute(
        insert(vp_sessions),
        {
            "id": session_id,
            "state": state,
            "nonce": nonce,
            "client_id": client_id,
            "handle_hash": secret_digest(handle),
            "dcql_query": orjson.dumps(dcql_query).decode(),
            "flow": flow,
            "status": PENDING,
            "context": orjson.dumps(context).decode(),
            "created_at": now,
            "expires_at": expires_at,
            "enc_key": enc_key,
        },
    )
    return NewSession(session_id, handle, client_id, cross, same, expires_at)


def _new_encryption_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode("ascii")


def encryption_key(row: Any) -> ec.EllipticCurvePrivateKey | None:
    """The session's key for `direct_post.jwt` responses; None for plain `direct_post`."""
    if row.enc_key is None:
        return None
    key = serialization.load_pem_private_key(row.enc_key.encode("ascii"), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _params(  # noqa: PLR0917 - the columns of a session
    ctx: VpContext,
    session_id: str,
    client_id: str,
    nonce: str,
    state: str,
    dcql_query: Mapping[str, Any],
    enc_key: str | None,
) -> dict[str, Any]:
    jwk = None
    if enc_key is not None:
        key = serialization.load_pem_private_key(enc_key.encode("ascii"), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        jwk = encryption_jwk(key.public_key(), session_id)
    return request_params(
        client_id=client_id,
        response_uri=ctx.config.response_uri,
        nonce=nonce,
        state=state,
        dcql_query=dcql_query,
        client_name=ctx.config.client_name,
        encryption_jwk=jwk,
    )


def _row_params(ctx: VpContext, row: Any) -> dict[str, Any]:
    return _params(
        ctx, row.id, row.client_id, row.nonce, row.state, orjson.loads(row.dcql_query), row.enc_key
    )


def find_session(db: Connection, *, id: str | None = None, state: str | None = None) -> Any:
    """The session row by id or by `state`, or None."""
    match = vp_sessions.c.id == id if id is not None else vp_sessions.c.state == state
    return db.execute(select(vp_sessions).where(match)).first()


def session_link(db: Connection, ctx: VpContext, session_id: str, *, flow: str, now: float) -> str:
    """The `openid4vp://` link of a pending session again (for its QR image); public data."""
    row = find_session(db, id=session_id)
    if row is None or row.status != PENDING or row.expires_at <= now:
        raise ProtocolError(ErrorCode.not_found, "no such request, or it expired")
    if row.client_id.startswith(PREFIX_REDIRECT_URI + ":"):
        return request_link(row.client_id, params=_row_params(ctx, row))
    return request_link(row.client_id, request_uri=ctx.config.request_uri(session_id, flow))


def serve_request_object(
    db: Connection,
    ctx: VpContext,
    session_id: str,
    *,
    flow: str,
    now: float,
    wallet_nonce: str | None = None,
) -> str:
    """The signed Request Object for `request_uri` (RFC 9101, §5.9.3 `x5c`).

    The first fetch fixes the session's flow: one statement sets it where it is unset and
    returns the row as it now is; any refusal below rolls that back.
    """
    row = db.execute(
        update(vp_sessions)
        .where(vp_sessions.c.id == session_id)
        .values(flow=func.coalesce(vp_sessions.c.flow, flow))
        .returning(vp_sessions)
    ).first()
    if row is None or row.expires_at <= now:
        raise ProtocolError(ErrorCode.not_found, "no such request, or it expired")
    if row.status != PENDING or row.client_id.startswith(PREFIX_REDIRECT_URI + ":"):
        raise ProtocolError(ErrorCode.invalid_request, "this request is no longer available")
    if row.flow != flow:
        raise ProtocolError(ErrorCode.invalid_request, "this request was opened on another device")
    assert ctx.certificate is not None
    params = _row_params(ctx, row)
    params.update(aud=WALLET_AUDIENCE, iat=int(now), exp=int(row.expires_at))
    if wallet_nonce is not None:
        params["wallet_nonce"] = wallet_nonce
    return sign_request_object(params, ctx.certificate.key, x5c=ctx.x5c)
