"""When login sessions end: the credential's status changed, or the person logged out.

- Status: the login service follows each trusted issuer's status feed; when a list it holds
  changes (`end_sessions_on_status`), every active session opened with a credential now revoked
  or suspended in that list ends, and each client with a `backchannel_logout_uri` is owed a
  logout token (OpenID Connect Back-Channel Logout 1.0). The purge pass sweeps every list the
  same way, for changes that came by the list's `ttl` instead of the feed.
- RP-initiated logout (`request_logout`, OpenID Connect RP-Initiated Logout 1.0 §2-§3): the
  client sends the browser to `end_session_endpoint` with an `id_token_hint` this service
  signed for it; the session it names and every other active session of the same person end.
  The service keeps no browser session of its own (each login asks the wallet), so without a
  valid hint there is nobody to log out: the browser gets a confirmation page.

Functions take the SQLAlchemy session and `now`; the caller commits, then delivers the notices.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from vc.status_list import INVALID, SUSPENDED, VALID
from verifier.login.clients import Client
from verifier.login.keys import InvalidOwnToken
from verifier.login.models import oidc_sessions
from verifier.login.provider import OidcContext, query_value, with_query
from verifier.login.sessions import LogoutNotice, active_sessions, end_sessions
from verifier.oid4vp.errors import ErrorCode, ProtocolError

__all__ = ["LogoutOutcome", "StatusOf", "end_sessions_on_status", "request_logout"]

StatusOf = Callable[[str, str, int], int | None]
"""(issuer, status list uri, idx) -> the status value held, or None when not known."""

_END_REASONS = {INVALID: "revoked", SUSPENDED: "suspended"}
_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
MAX_HINT_CHARS = 8192


def _notices(db: Connection, ctx: OidcContext, ended: list[tuple[Any, str]], now: float) -> Any:
    return end_sessions(
        db,
        ended,
        keys=ctx.keys,
        issuer=ctx.config.issuer,
        client=lambda client_id: ctx.client(db, client_id, now),
        now=now,
    )


def end_sessions_on_status(
    db: Connection, ctx: OidcContext, status_of: StatusOf, *, uri: str | None, now: float
) -> list[LogoutNotice]:
    """End the active sessions whose credential is no longer valid in list `uri` (every list
    when None); returns the logout tokens owed."""
    match = {} if uri is None else {"status_uri": uri}
    ended = []
    for row in active_sessions(db, **match):
        if row.status_uri is None or row.status_idx is None:
            continue
        value = status_of(row.issuer, row.status_uri, row.status_idx)
        if value is not None and value != VALID:
            ended.append((row, _END_REASONS.get(value, "status_changed")))
    return _notices(db, ctx, ended, now) if ended else []


@dataclass(frozen=True, slots=True)
class LogoutOutcome:
    """What the end-session endpoint does next: redirect (`redirect_uri`, with `state`) or show
    the confirmation page; `signed_out` when a valid hint ended sessions."""

    signed_out: bool
    redirect_uri: str | None
    client_name: str | None
    notices: list[LogoutNotice] = field(default_factory=list)


def _hint_claims(ctx: OidcContext, hint: str) -> dict[str, Any]:
    if len(hint) > MAX_HINT_CHARS or not _JWS.fullmatch(hint):
        raise ProtocolError(ErrorCode.invalid_request, "id_token_hint is not a signed JWT")
    try:
        return ctx.keys.verify_own(hint, issuer=ctx.config.issuer)
    except InvalidOwnToken:
        raise ProtocolError(
            ErrorCode.invalid_request, "id_token_hint is not an ID token this service issued"
        ) from None


def _audience(claims: Mapping[str, Any]) -> str | None:
    aud = claims.get("aud")
    if isinstance(aud, list):
        aud = aud[0] if len(aud) == 1 else claims.get("azp")
    return aud if isinstance(aud, str) else None


def request_logout(
    db: Connection, ctx: OidcContext, params: Mapping[str, str], *, now: float
) -> LogoutOutcome:
    """RP-initiated logout (RP-Initiated Logout 1.0 §2): check the hint (our signature, `aud` the
    client), the `post_logout_redirect_uri` (registered for that client, exact match) and end
    the sessions. A bad hint, an unknown client or an unregistered URI raise `ProtocolError`
    and end nothing."""
    hint = params.get("id_token_hint") or None
    client_id = query_value(params, "client_id")
    after = query_value(params, "post_logout_redirect_uri")
    state = query_value(params, "state")
    claims = _hint_claims(ctx, hint) if hint is not None else None
    if claims is not None:
        audience = _audience(claims)
        if audience is None or client_id not in (None, audience):
            raise ProtocolError(
                ErrorCode.invalid_request, "id_token_hint was not issued to this client_id"
            )
        client_id = audience
    client: Client | None = None
    if client_id is not None:
        client = ctx.client(db, client_id, now)
        if client is None:
            raise ProtocolError(ErrorCode.invalid_client, "unknown client", status=400)
    redirect = None
    if after is not None:
        if client is None:
            raise ProtocolError(
                ErrorCode.invalid_request,
                "post_logout_redirect_uri needs an id_token_hint or a client_id",
            )
        if after not in client.post_logout_redirect_uris:
            raise ProtocolError(
                ErrorCode.invalid_request, "post_logout_redirect_uri is not registered"
            )
        redirect = with_query(after, {"state": state}) if state is not None else after
    name = client.name if client is not None else None
    if claims is None:
        return LogoutOutcome(False, redirect, name)
    sid = claims.get("sid")
    notices: list[LogoutNotice] = []
    if isinstance(sid, str):
        notices = _end_person(db, ctx, sid, client_id or "", now)
    return LogoutOutcome(True, redirect, name, notices)


def _end_person(db: Connection, ctx: OidcContext, sid: str, client_id: str, now: float) -> Any:
    """The session `sid` of `client_id` and every other active session of the same person."""
    row = db.execute(
        select(oidc_sessions).where(
            oidc_sessions.c.sid == sid, oidc_sessions.c.client_id == client_id
        )
    ).first()
    if row is None or not row.employee_number:
        return []
    rows = active_sessions(db, issuer=row.issuer, employee_number=row.employee_number)
    return _notices(db, ctx, [(r, "logout") for r in rows], now)
