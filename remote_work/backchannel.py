"""Receiving logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4-§2.6).

`verify_logout_token` checks one token, in order: size and shape -> signature with the login
service's keys (joserfc; RS256/ES256 only) -> `typ` `logout+jwt` -> `iss` -> `aud` -> `iat`
(not in the future, not older than `MAX_AGE_S`) and `exp` -> `jti` -> `events` -> `sid`/`sub` ->
no `nonce`. Each failure raises `RemoteWorkError("invalid_logout_token")` with what failed in the
detail (logged, never a stack trace). `accept_logout` then refuses a `jti` seen before
(`logout_token_replayed`) and a `sid` this service never saw (`unknown_sid`), and ends the work
sessions of that login at that moment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import Connection, delete, insert, select

from remote_work.errors import RemoteWorkError
from remote_work.models import logout_jtis
from remote_work.work import end_sid, sid_known

__all__ = [
    "BACKCHANNEL_LOGOUT_EVENT",
    "LOGOUT_TOKEN_TYP",
    "LogoutClaims",
    "accept_logout",
    "verify_logout_token",
]

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYP = "logout+jwt"  # noqa: S105 - a media type
ALGORITHMS = ("RS256", "ES256")
MAX_TOKEN_CHARS = 8192
MAX_AGE_S = 300.0
"""A logout token issued longer ago than this is refused (with `exp`, it bounds replay storage)."""
LEEWAY_S = 60.0
_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class LogoutClaims:
    jti: str
    sid: str | None
    sub: str | None
    exp: float


def _refuse(detail: str) -> RemoteWorkError:
    return RemoteWorkError("invalid_logout_token", detail)


def _signed(token: str, keys: KeySet) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    if len(token) > MAX_TOKEN_CHARS or not _JWS.fullmatch(token):
        raise _refuse("not a compact JWS")
    try:
        decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
    except (JoseError, ValueError) as exc:
        raise _refuse(f"signature: {type(exc).__name__}") from None
    return decoded.header, decoded.claims


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _refuse(f"{name} missing or not a number")
    return float(value)


def verify_logout_token(
    token: str, keys: KeySet, *, issuer: str, client_id: str, now: float
) -> LogoutClaims:
    """The checked claims of a logout token from `issuer` for `client_id`, or raises."""
    header, claims = _signed(token, keys)
    if header.get("typ") != LOGOUT_TOKEN_TYP:
        raise _refuse("typ is not logout+jwt")
    if claims.get("iss") != issuer:
        raise _refuse("iss is not the login service")
    aud = claims.get("aud")
    if not (aud == client_id or (isinstance(aud, list) and client_id in aud)):
        raise _refuse("aud is not this client")
    iat = _number(claims, "iat")
    if iat > now + LEEWAY_S or iat < now - MAX_AGE_S:
        raise _refuse("iat out of range")
    exp = _number(claims, "exp")
    if exp < now - LEEWAY_S:
        raise _refuse("expired")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 200:
        raise _refuse("jti missing")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise _refuse("events lacks the back-channel logout event")
    sid, sub = claims.get("sid"), claims.get("sub")
    if not isinstance(sid, str | None) or not isinstance(sub, str | None) or not (sid or sub):
        raise _refuse("neither sid nor sub")
    if "nonce" in claims:
        raise _refuse("a logout token carries no nonce")
    return LogoutClaims(jti, sid, sub, max(exp, iat + MAX_AGE_S))


def accept_logout(db: Connection, claims: LogoutClaims, *, now: float) -> int:
    """Apply a verified logout token: refuse its `jti` if seen (`logout_token_replayed`), its
    `sid` if unknown (`unknown_sid`); end the login's work sessions now. Returns how many."""
    db.execute(delete(logout_jtis).where(logout_jtis.c.exp < now - LEEWAY_S))
    if db.execute(select(logout_jtis.c.jti).where(logout_jtis.c.jti == claims.jti)).first():
        raise RemoteWorkError("logout_token_replayed")
    if claims.sid is None or not sid_known(db, claims.sid):
        # Our ID tokens always carry `sid`; a sub-only token names no session of ours.
        raise RemoteWorkError("unknown_sid")
    db.execute(insert(logout_jtis).values(jti=claims.jti, exp=claims.exp))
    return end_sid(db, claims.sid, how="backchannel_logout", actor="login_service", now=now)
