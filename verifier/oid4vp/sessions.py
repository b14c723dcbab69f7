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
from sqlalchemy import Connection, bindparam, delete, insert, select, update

from vc.base64url import b64url_encode
from vc.openid4vp import (
    PREFIX_REDIRECT_URI,
    PREFIX_X509_HASH,
    PREFIX_X509_SAN_DNS,
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
    default_prefix: str = PREFIX_X509_SAN_DNS
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
    if prefix == PREFIX_REDIRECT_URI:  # unsigned, by value: the link is the whole request
        params = request_params(
            client_id=client_id,
            response_uri=ctx.config.response_uri,
            nonce=nonce,
            state=state,
            dcql_query=dcql_query,
            client_name=ctx.config.client_name,
        )
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
        ),
    )
    return NewSession(session_id, handle, client_id, cross, same, expires_at)


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
        params = request_params(
            client_id=row.client_id,
            response_uri=ctx.config.response_uri,
            nonce=row.nonce,
            state=row.state,
            dcql_query=orjson.loads(row.dcql_query),
            client_name=ctx.config.client_name,
        )
        return request_link(row.client_id, params=params)
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
    params = request_params(
        client_id=row.client_id,
        response_uri=ctx.config.response_uri,
        nonce=row.nonce,
        state=row.state,
        dcql_query=orjson.loads(row.dcql_query),
        client_name=ctx.config.client_name,
    )
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
