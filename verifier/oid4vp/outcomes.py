"""How an OpenID4VP session ends: the first answer, the owner's view, the hand-over, the purge.

A session's `nonce` is single use: the first response (good or bad) ends the session, and a
conditional update makes two concurrent responses impossible to both win. The browser or
terminal that started it holds a secret handle; a same-device login completes only with the
`response_code` the wallet was redirected with (§8.2, §13.3). The verified claims are handed
over once and then erased; every end, an abandoned session included, becomes a login record.
Sessions start in `verifier.oid4vp.sessions`. Functions take the database connection and `now`;
the caller's unit of work commits.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select, update

from verifier.oid4vp.errors import ErrorCode, ProtocolError, WrongSecret
from verifier.oid4vp.models import login_records, vp_sessions
from verifier.oid4vp.sessions import PENDING, SAME_DEVICE, find_session, secret_digest

__all__ = [
    "Finished",
    "SessionView",
    "complete_session",
    "fail_session",
    "finish_session",
    "purge_expired",
    "record_login",
    "session_view",
]

COMPLETED, FAILED, CONSUMED = "completed", "failed", "consumed"


def _move(db: Connection, session_id: str, from_status: str, **values: Any) -> bool:
    """Change a session's status (and `values`) only if nobody changed it first (single use)."""
    done = db.execute(
        update(vp_sessions).where(
            vp_sessions.c.id == session_id, vp_sessions.c.status == from_status
        ),
        values,
    )
    return bool(done.rowcount == 1)


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
        insert(login_records),
        {
            "id": secrets.token_hex(16),
            "client_id": system[:512],
            "session_id": session_id,
            "at": now,
            "outcome": outcome[:32],
            "flow": flow,
            "employee_number": employee_number,
            "issuer": issuer,
        },
    )


def fail_session(
    db: Connection, row: Any, reason: str, now: float, context: Mapping[str, Any]
) -> bool:
    """Mark the session failed (its nonce is spent) and record it; False if it was not pending."""
    failed = _move(
        db, row.id, PENDING, status=FAILED, reason=reason[:32], completed_at=now, enc_key=None
    )
    if not failed:
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
    return _move(
        db,
        row.id,
        PENDING,
        status=COMPLETED,
        reason="ok",
        result=result,
        completed_at=now,
        response_code_hash=secret_digest(response_code) if response_code else None,
        enc_key=None,
    )


@dataclass(frozen=True, slots=True)
class SessionView:
    id: str
    status: str  # pending | completed | failed | consumed | expired
    reason: str | None
    flow: str | None
    context: dict[str, Any]


def _owned(db: Connection, session_id: str, handle: str) -> Any:
    """The session, for the holder of its handle; one answer for an unknown session and a wrong
    handle, and either counts as a failed secret (`WrongSecret`)."""
    row = find_session(db, id=session_id)
    if row is None or not hmac.compare_digest(row.handle_hash, secret_digest(handle)):
        raise WrongSecret(ErrorCode.not_found, "no such session")
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
        _move(db, row.id, FAILED, status=CONSUMED)
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
    if not _move(db, row.id, row.status, status=CONSUMED, result=None):
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
