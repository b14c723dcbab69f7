"""Login sessions at the provider (the ID token's `sid`) and the logout tokens owed when they end.

Each login a client redeems opens a session: who (the client's `sub`, the employee number), for
which client, and with which credential (its issuer and status list entry), so that a revoked
credential or a logout ends exactly the sessions it should. Ending a session owes its client a
logout token (OpenID Connect Back-Channel Logout 1.0 §2.4) when the client registered a
`backchannel_logout_uri`; the token is signed here, stored with its delivery state, and sent
after the commit (`verifier.login.backchannel`). Functions take the SQLAlchemy session and
`now`; the caller's unit of work commits.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from verifier.login.clients import Client, get_client
from verifier.login.keys import OidcKeys
from verifier.login.models import oidc_logouts, oidc_sessions

__all__ = [
    "BACKCHANNEL_LOGOUT_EVENT",
    "LOGOUT_TOKEN_TTL_S",
    "LOGOUT_TOKEN_TYP",
    "LogoutNotice",
    "active_sessions",
    "end_sessions",
    "expire_sessions",
    "logout_token_claims",
    "open_session",
    "record_delivery",
]

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
"""The `events` member of a logout token (Back-Channel Logout 1.0 §2.4)."""
LOGOUT_TOKEN_TYP = "logout+jwt"  # noqa: S105 - a media type
"""The logout token's JOSE `typ` (Back-Channel Logout 1.0 §2.4, explicit typing)."""
LOGOUT_TOKEN_TTL_S = 120
"""A logout token is accepted for two minutes: long enough for the retries of one delivery."""

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass(frozen=True, slots=True)
class LogoutNotice:
    """A logout token to POST to a client's `backchannel_logout_uri`, once committed."""

    jti: str
    client_id: str
    uri: str
    token: str


def open_session(
    db: Connection,
    *,
    client_id: str,
    sub: str,
    employee_number: str,
    issuer: str,
    status_ref: tuple[str, int] | None,
    now: float,
) -> str:
    """Record a login handed to `client_id`; returns its `sid` (OIDC Back-Channel Logout §2.1)."""
    sid = secrets.token_urlsafe(24)
    db.execute(
        insert(oidc_sessions),
        {
            "sid": sid,
            "client_id": client_id,
            "sub": sub,
            "employee_number": employee_number,
            "issuer": issuer,
            "status_uri": status_ref[0] if status_ref else None,
            "status_idx": status_ref[1] if status_ref else None,
            "created_at": now,
        },
    )
    return sid


def active_sessions(db: Connection, **match: Any) -> Sequence[Any]:
    """Sessions not yet ended whose columns equal `match` (e.g. `sid=`, `status_uri=`)."""
    query = select(oidc_sessions).where(oidc_sessions.c.ended_at.is_(None))
    for name, value in match.items():
        query = query.where(oidc_sessions.c[name] == value)
    return db.execute(query.order_by(oidc_sessions.c.created_at)).all()


def logout_token_claims(
    *, issuer: str, client_id: str, sid: str, sub: str, jti: str, now: float
) -> dict[str, Any]:
    """A logout token's claims (Back-Channel Logout 1.0 §2.4): `sid` and `sub` both, never
    `nonce`."""
    return {
        "iss": issuer,
        "aud": client_id,
        "iat": int(now),
        "exp": int(now) + LOGOUT_TOKEN_TTL_S,
        "jti": jti,
        "sub": sub,
        "sid": sid,
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }


def end_sessions(
    db: Connection,
    ended: Iterable[tuple[Any, str]],
    *,
    keys: OidcKeys,
    issuer: str,
    client: Callable[[str], Client | None] | None = None,
    now: float,
) -> list[LogoutNotice]:
    """End each (session row, reason) still active and owe its client a logout token; a session
    another process ended first is skipped. Returns the tokens to deliver after the commit."""
    lookup = client or (lambda client_id: get_client(db, client_id))
    notices = []
    for row, reason in ended:
        changed = db.execute(
            update(oidc_sessions)
            .where(oidc_sessions.c.sid == row.sid, oidc_sessions.c.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason[:32])
        )
        found = lookup(row.client_id)
        if not changed.rowcount or found is None or not found.backchannel_logout_uri:
            continue
        jti = secrets.token_urlsafe(16)
        claims = logout_token_claims(
            issuer=issuer, client_id=found.client_id, sid=row.sid, sub=row.sub, jti=jti, now=now
        )
        notice = LogoutNotice(
            jti,
            found.client_id,
            found.backchannel_logout_uri,
            keys.sign(claims, found.id_token_alg, typ=LOGOUT_TOKEN_TYP),
        )
        db.execute(
            insert(oidc_logouts),
            {
                "jti": jti,
                "sid": row.sid,
                "client_id": notice.client_id,
                "uri": notice.uri,
                "token": notice.token,
                "state": PENDING,
                "attempts": 0,
                "created_at": now,
            },
        )
        notices.append(notice)
    return notices


def record_delivery(
    db: Connection, jti: str, *, error: str | None, final: bool, now: float
) -> None:
    """One delivery attempt's outcome: delivered (`error` None), failed for good (`final`), or
    still pending a retry."""
    state = DELIVERED if error is None else FAILED if final else PENDING
    db.execute(
        update(oidc_logouts)
        .where(oidc_logouts.c.jti == jti)
        .values(
            state=state,
            attempts=oidc_logouts.c.attempts + 1,
            last_error=None if error is None else error[:200],
            finished_at=None if state == PENDING else now,
        )
    )


def expire_sessions(
    db: Connection, *, now: float, lifetime_s: float, retention_days: int
) -> dict[str, int]:
    """Stop tracking sessions older than `lifetime_s` (ended as `expired`, no logout token: no
    client keeps a login that long), and drop sessions and deliveries past the retention."""
    expired = db.execute(
        update(oidc_sessions)
        .where(oidc_sessions.c.ended_at.is_(None), oidc_sessions.c.created_at < now - lifetime_s)
        .values(ended_at=now, end_reason="expired")
    )
    cutoff = now - retention_days * 86400
    sessions = db.execute(delete(oidc_sessions).where(oidc_sessions.c.created_at < cutoff))
    logouts = db.execute(delete(oidc_logouts).where(oidc_logouts.c.created_at < cutoff))
    return {
        "sessions_expired": int(expired.rowcount),
        "sessions_dropped": int(sessions.rowcount),
        "logouts_dropped": int(logouts.rowcount),
    }
