"""OpenID4VP sessions in the database: start, serve the Request Object, end, hand over, purge.

A session lives in `verifier_vp_sessions`, not in a process, so any verifier process sharing the
database serves any step of it. Its `nonce` is single use: the first response (good or bad)
ends the session, and a conditional update makes two concurrent responses impossible to both
win. The browser or terminal that started it holds a secret handle; a same-device login
completes only with the `response_code` the wallet was redirected with (§8.2, §13.3). The
wallet's answer itself is taken in `verifier.oid4vp.responses`. Functions take the database
connection and `now`; the caller's unit of work commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Connection, bindparam, delete, insert, select, update

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
from verifier.oid4vp.models import login_records, vp_sessions
from verifier.oid4vp.requests import WALLET_AUDIENCE, request_params
from verifier.oid4vp.verify import LoginVerifier
from verifier.x509 import VerifierCertificate

__all__ = [
    "CROSS_DEVICE",
    "PENDING",
    "PREFIXES",
    "SAME_DEVICE",
    "Finished",
    "NewSession",
    "SessionView",
    "VpConfig",
    "VpContext",
    "complete_session",
    "encryption_key",
    "fail_session",
    "find_session",
    "finish_session",
    "purge_expired",
    "record_login",
    "secret_digest",
    "serve_request_object",
    "session_link",
    "session_view",
    "start_session",
]

CROSS_DEVICE = "cross_device"
SAME_DEVICE = "same_device"
PREFIXES = (PREFIX_X509_SAN_DNS, PREFIX_X509_HASH, PREFIX_REDIRECT_URI)
PENDING, COMPLETED, FAILED, CONSUMED = "pending", "completed", "failed", "consumed"

# Statements built once (each login runs several; building them is most of their cost).
_BY_ID = select(vp_sessions).where(vp_sessions.c.id == bindparam("key"))
_BY_STATE = select(vp_sessions).where(vp_sessions.c.state == bindparam("key"))
_MOVE = update(vp_sessions).where(
    vp_sessions.c.id == bindparam("sid"), vp_sessions.c.status == bindparam("from_status")
)
"""A status change that happens only if nobody changed the status first (single use)."""
_FIX_FLOW = update(vp_sessions).where(
    vp_sessions.c.id == bindparam("sid"), vp_sessions.c.flow.is_(None)
)
_NEW_SESSION = insert(vp_sessions)
_NEW_RECORD = insert(login_records)


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
) -> NewSession:
    """Create a pending session with a fresh nonce and state; returns the links to show."""
    prefix = prefix or ctx.config.default_prefix
    if prefix not in PREFIXES:
        raise ProtocolError(ErrorCode.invalid_request, "unsupported client_id prefix")
    client_id = ctx.client_id(prefix)
    session_id, state, nonce, handle = ctx.token(), ctx.token(), ctx.token(), ctx.token()
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
        _NEW_SESSION,
        dict(
            id=session_id,
            state=state,
            nonce=nonce,
            client_id=client_id,
            handle_hash=secret_digest(handle),
            dcql_query=orjson.dumps(dcql_query).decode(),
            flow=flow,
            status=PENDING,
            context=orjson.dumps(context).decode(),
            created_at=now,
            expires_at=expires_at,
            enc_key=enc_key,
        ),
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
    statement, key = (_BY_ID, id) if id is not None else (_BY_STATE, state)
    return db.execute(statement, {"key": key}).first()


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
    """The signed Request Object for `request_uri` (RFC 9101, §5.9.3 `x5c`); fixes the flow."""
    row = find_session(db, id=session_id)
    if row is None or row.expires_at <= now:
        raise ProtocolError(ErrorCode.not_found, "no such request, or it expired")
    if row.status != PENDING or row.client_id.startswith(PREFIX_REDIRECT_URI + ":"):
        raise ProtocolError(ErrorCode.invalid_request, "this request is no longer available")
    opened_on = row.flow
    if opened_on is None:
        fixed = db.execute(_FIX_FLOW, {"sid": session_id, "flow": flow})
        opened_on = flow if fixed.rowcount == 1 else find_session(db, id=session_id).flow
    if opened_on != flow:
        raise ProtocolError(ErrorCode.invalid_request, "this request was opened on another device")
    assert ctx.certificate is not None
    params = _row_params(ctx, row)
    params.update(aud=WALLET_AUDIENCE, iat=int(now), exp=int(row.expires_at))
    if wallet_nonce is not None:
        params["wallet_nonce"] = wallet_nonce
    return sign_request_object(params, ctx.certificate.key, x5c=ctx.x5c)


def record_login(
    db: Connection,
    *,
    system: str,
    session_id: str,
    now: float,
    outcome: str,
    flow: str | None,
    employee_number: str | None = None,
    issuer: str | None = None,
) -> None:
    """One login record (system, employee, time, outcome); kept for the configured retention."""
    db.execute(
        _NEW_RECORD,
        dict(
            id=secrets.token_hex(16),
            client_id=system[:512],
            session_id=session_id,
            at=now,
            outcome=outcome[:32],
            flow=flow,
            employee_number=employee_number,
            issuer=issuer,
        ),
    )


def fail_session(
    db: Connection, row: Any, reason: str, now: float, context: Mapping[str, Any]
) -> bool:
    """Mark the session failed (its nonce is spent) and record it; False if it was not pending."""
    done = db.execute(
        _MOVE,
        {
            "sid": row.id,
            "from_status": PENDING,
            "status": FAILED,
            "reason": reason[:32],
            "completed_at": now,
            "enc_key": None,
        },
    )
    if done.rowcount != 1:
        return False
    record_login(
        db,
        system=str(context.get("system", "api")),
        session_id=row.id,
        now=now,
        outcome=reason,
        flow=row.flow,
    )
    return True


def complete_session(
    db: Connection, row: Any, *, result: str, response_code: str | None, now: float
) -> bool:
    """Mark a pending session completed with its verified claims; False if it was not pending."""
    done = db.execute(
        _MOVE,
        {
            "sid": row.id,
            "from_status": PENDING,
            "status": COMPLETED,
            "reason": "ok",
            "result": result,
            "completed_at": now,
            "response_code_hash": secret_digest(response_code) if response_code else None,
            "enc_key": None,
        },
    )
    return bool(done.rowcount == 1)


@dataclass(frozen=True, slots=True)
class SessionView:
    id: str
    status: str  # pending | completed | failed | consumed | expired
    reason: str | None
    flow: str | None
    context: dict[str, Any]


def _owned(db: Connection, session_id: str, handle: str) -> Any:
    row = find_session(db, id=session_id)
    if row is None or not hmac.compare_digest(row.handle_hash, secret_digest(handle)):
        raise ProtocolError(ErrorCode.not_found, "no such session")
    return row


def session_view(db: Connection, session_id: str, handle: str, *, now: float) -> SessionView:
    """Where a session stands, for the browser or terminal holding its handle."""
    row = _owned(db, session_id, handle)
    status = "expired" if row.status == PENDING and row.expires_at <= now else row.status
    return SessionView(row.id, status, row.reason, row.flow, orjson.loads(row.context))


@dataclass(frozen=True, slots=True)
class Finished:
    """A finished session handed to its owner once: the verified claims or why it failed."""

    ok: bool
    reason: str
    flow: str | None
    context: dict[str, Any]
    presentations: dict[str, list[dict[str, Any]]]
    completed_at: float


def finish_session(
    db: Connection,
    session_id: str,
    handle: str,
    *,
    now: float,
    response_code: str | None = None,
) -> Finished | None:
    """Hand over the result once (then the claims are erased); None while still pending.

    A same-device session needs the `response_code` its wallet was redirected with. A session
    the wallet never answered in time ends here as `session_expired` (and is recorded so).
    """
    row = _owned(db, session_id, handle)
    if row.status == PENDING:
        if row.expires_at > now:
            return None
        context = orjson.loads(row.context)
        if not fail_session(db, row, "session_expired", now, context):
            raise ProtocolError(ErrorCode.invalid_request, "this login was already completed")
        db.execute(_MOVE, {"sid": row.id, "from_status": FAILED, "status": CONSUMED})
        return Finished(False, "session_expired", row.flow, context, {}, now)
    if row.status == CONSUMED:
        raise ProtocolError(ErrorCode.invalid_request, "this login was already completed")
    if (
        row.status == COMPLETED
        and row.flow == SAME_DEVICE
        and not (
            response_code
            and row.response_code_hash
            and hmac.compare_digest(row.response_code_hash, secret_digest(response_code))
        )
    ):
        raise ProtocolError(ErrorCode.access_denied, "response_code missing or wrong")
    taken = db.execute(
        _MOVE, {"sid": row.id, "from_status": row.status, "status": CONSUMED, "result": None}
    )
    if taken.rowcount != 1:
        raise ProtocolError(ErrorCode.invalid_request, "this login was already completed")
    return Finished(
        ok=row.status == COMPLETED,
        reason=row.reason or "failed",
        flow=row.flow,
        context=orjson.loads(row.context),
        presentations=orjson.loads(row.result) if row.result else {},
        completed_at=row.completed_at or now,
    )


def purge_expired(db: Connection, *, now: float, grace_s: float = 600.0) -> int:
    """Delete sessions expired for longer than `grace_s` (and with them any claims left).

    A session nobody answered is recorded as a `session_expired` login first.
    """
    cutoff = now - grace_s
    abandoned = db.execute(
        select(
            vp_sessions.c.id, vp_sessions.c.flow, vp_sessions.c.context, vp_sessions.c.expires_at
        ).where(vp_sessions.c.expires_at < cutoff, vp_sessions.c.status == PENDING)
    ).all()
    for row in abandoned:
        context = orjson.loads(row.context)
        record_login(
            db,
            system=str(context.get("system", "api")),
            session_id=row.id,
            now=row.expires_at,
            outcome="session_expired",
            flow=row.flow,
        )
    result = db.execute(delete(vp_sessions).where(vp_sessions.c.expires_at < cutoff))
    return int(result.rowcount)
