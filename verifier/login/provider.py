"""The OpenID Connect provider's rules: authorization requests, codes, tokens, userinfo.

Authorization code flow with PKCE `S256` only (OIDC Core §3.1, RFC 7636). An authorization
request starts an OpenID4VP session (`verifier.oid4vp.sessions`) whose DCQL query asks for the
claims the client may receive; when the wallet has answered and the browser comes back, the
verified claims become an authorization code (single use, short-lived, digest stored), then an
ID token signed with the client's algorithm and an access token for userinfo. Redeeming a code
opens a login session (`verifier.login.sessions`) whose `sid` the ID token carries.
Functions take the SQLAlchemy session and `now`; the caller's unit of work commits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import Connection, delete, insert, select, update

from verifier.login.claims import (
    OIDC_CLAIMS,
    credential_claims_for,
    map_claims,
    sector_of,
    subject_for,
)
from verifier.login.clients import Client, authenticate_client, get_client
from verifier.login.config import LoginConfig
from verifier.login.keys import ID_TOKEN_ALGS, OidcKeys
from verifier.login.models import oidc_codes, oidc_tokens
from verifier.login.sessions import open_session
from verifier.oid4vp.errors import ErrorCode, ProtocolError, WrongSecret
from verifier.oid4vp.models import login_records
from verifier.oid4vp.outcomes import finish_session
from verifier.oid4vp.requests import EMPLOYEE_QUERY_ID, RequestError, employee_dcql
from verifier.oid4vp.sessions import NewSession, VpContext, secret_digest, start_session

__all__ = [
    "OidcContext",
    "RedirectError",
    "continue_login",
    "discovery",
    "exchange_code",
    "purge_oidc",
    "query_value",
    "start_authorization",
    "userinfo",
    "with_query",
]

_PKCE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_VALUE = re.compile(r"[\x20-\x7e]{1,512}")


@dataclass(slots=True)
class OidcContext:
    config: LoginConfig
    keys: OidcKeys
    vp: VpContext
    clients: dict[str, tuple[float, Client | None]] = field(default_factory=dict)
    """Registrations read in the last `client_cache_s` (per process; the database decides)."""

    def client(self, db: Connection, client_id: str | None, now: float) -> Client | None:
        if not client_id:
            return None
        cached = self.clients.get(client_id)
        if cached is not None and now - cached[0] < self.config.client_cache_s:
            return cached[1]
        client = get_client(db, client_id)
        if len(self.clients) > 10_000:
            self.clients.clear()
        self.clients[client_id] = (now, client)
        return client

    def continue_uri(self, session_id: str) -> str:
        """Where the browser resumes a login: after polling saw the wallet's answer, or when a
        same-device wallet sends it back (the session's return URI)."""
        return f"{self.config.issuer}/login/continue/{session_id}"


class RedirectError(ProtocolError):
    """An error returned to the client's redirect URI (RFC 6749 §4.1.2.1), not shown here."""

    def __init__(self, code: ErrorCode, detail: str, redirect_uri: str, state: str | None):
        super().__init__(code, detail)
        self.redirect_uri = redirect_uri
        self.state = state

    def location(self, issuer: str) -> str:
        params = {"error": str(self.code), "error_description": self.detail, "iss": issuer}
        if self.state is not None:
            params["state"] = self.state
        return with_query(self.redirect_uri, params)


def with_query(uri: str, params: Mapping[str, str]) -> str:
    """`uri` with `params` added to its query (a registered URI may carry a query already)."""
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"


def discovery(config: LoginConfig) -> dict[str, Any]:
    """OpenID Provider Metadata (OIDC Discovery §3)."""
    base = config.issuer
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "userinfo_endpoint": f"{base}/userinfo",
        "jwks_uri": f"{base}/jwks.json",
        "end_session_endpoint": f"{base}/end_session",
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": list(ID_TOKEN_ALGS),
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile"],
        "claims_supported": [
            *("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid"),
            *OIDC_CLAIMS,
        ],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "ui_locales_supported": ["ko", "en"],
    }


def query_value(params: Mapping[str, str], name: str) -> str | None:
    """A request parameter: absent or empty is None; anything but printable ASCII is refused."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if not _VALUE.fullmatch(value):
        raise ProtocolError(ErrorCode.invalid_request, f"{name} is not a printable ASCII value")
    return value


def start_authorization(
    db: Connection, ctx: OidcContext, params: Mapping[str, str], *, now: float, flow: str
) -> tuple[Client, NewSession]:
    """Check an authorization request (OIDC Core §3.1.2.2) and start its OpenID4VP session.

    An unknown client or unregistered redirect URI is a `ProtocolError` shown to the user; any
    other problem is a `RedirectError` back to the client.
    """
    client = ctx.client(db, query_value(params, "client_id"), now)
    if client is None or not client.enabled:
        raise ProtocolError(ErrorCode.invalid_client, "unknown or disabled client", status=400)
    redirect_uri = query_value(params, "redirect_uri")  # REQUIRED in OIDC (Core §3.1.2.1)
    if redirect_uri not in client.redirect_uris:
        raise ProtocolError(ErrorCode.invalid_request, "redirect_uri is not registered")
    state = query_value(params, "state")

    def refuse(code: ErrorCode, description: str) -> RedirectError:
        return RedirectError(code, description, redirect_uri, state)

    if params.get("response_type") != "code":
        raise refuse(ErrorCode.unsupported_response_type, "only response_type=code")
    scopes = (query_value(params, "scope") or "").split()
    if "openid" not in scopes:
        raise refuse(ErrorCode.invalid_scope, "the openid scope is required")
    if "request" in params:
        raise refuse(ErrorCode.request_not_supported, "request objects are not supported")
    if "request_uri" in params:
        raise refuse(ErrorCode.request_uri_not_supported, "request_uri is not supported")
    challenge = params.get("code_challenge")
    if not challenge or not _PKCE.fullmatch(challenge):
        raise refuse(ErrorCode.invalid_request, "PKCE code_challenge is required")
    if params.get("code_challenge_method") != "S256":
        raise refuse(ErrorCode.invalid_request, "code_challenge_method must be S256")
    nonce = query_value(params, "nonce")
    if "none" in (params.get("prompt") or "").split():  # every login needs the wallet
        raise refuse(ErrorCode.login_required, "a wallet presentation is needed to log in")
    try:
        query = employee_dcql(
            ctx.vp.verifier.vct_values, credential_claims_for(client.allowed_claims)
        )
    except RequestError:
        raise refuse(ErrorCode.server_error, "no trusted issuer configured") from None
    context = {
        "system": client.client_id,
        "flow": flow,
        "allowed_agencies": list(client.allowed_agencies),
        "oidc": {
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "scope": " ".join(scopes),
        },
    }
    new = start_session(
        db, ctx.vp, dcql_query=query, context=context, now=now, return_uri=ctx.continue_uri
    )
    return client, new


def continue_login(
    db: Connection,
    ctx: OidcContext,
    session_id: str,
    handle: str,
    *,
    now: float,
    response_code: str | None,
) -> str | None:
    """After the wallet answered: a code (or the error) for the client; None while pending.

    Returns the URL to send the browser to.
    """
    finished = finish_session(db, session_id, handle, now=now, response_code=response_code)
    if finished is None:
        return None
    request = finished.context.get("oidc")
    if not isinstance(request, dict):  # a desk/API session, not a login
        raise ProtocolError(ErrorCode.invalid_request, "not a login session")
    redirect_uri, state = request["redirect_uri"], request["state"]
    client = ctx.client(db, request["client_id"], now)
    if client is None or not client.enabled:
        raise ProtocolError(ErrorCode.invalid_client, "the client was removed", status=400)
    if not finished.ok:
        raise RedirectError(
            ErrorCode.access_denied,
            f"presentation not accepted: {finished.reason}",
            redirect_uri,
            state,
        )
    presented = finished.presentations[EMPLOYEE_QUERY_ID][0]
    credential = presented["claims"]
    number = credential.get("employee_number")
    if not isinstance(number, str):
        raise RedirectError(ErrorCode.access_denied, "no employee number", redirect_uri, state)
    sub = subject_for(
        client.subject_type,
        number,
        sector=sector_of(client.redirect_uris),
        secret=ctx.keys.pairwise_secret,
    )
    grant = {
        "sub": sub,
        "claims": map_claims(credential, client.allowed_claims),
        "nonce": request["nonce"],
        "auth_time": int(finished.completed_at),
        "scope": request["scope"],
        "flow": finished.flow,
        "credential": {  # which credential: its sessions end when it is revoked or suspended
            "employee_number": number,
            "issuer": presented.get("issuer"),
            "status_list": presented.get("status_list"),
        },
    }
    code = secrets.token_urlsafe(32)
    db.execute(
        insert(oidc_codes),
        {
            "code_hash": secret_digest(code),
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "code_challenge": request["code_challenge"],
            "grant": orjson.dumps(grant).decode(),
            "expires_at": now + ctx.config.code_ttl_s,
            "used": False,
        },
    )
    params = {"code": code, "iss": ctx.config.issuer}
    if state is not None:
        params["state"] = state
    return with_query(redirect_uri, params)


def _pkce_ok(verifier: str | None, challenge: str) -> bool:
    if verifier is None or not _PKCE.fullmatch(verifier):
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return hmac.compare_digest(computed, challenge)


def exchange_code(
    db: Connection,
    ctx: OidcContext,
    form: Mapping[str, str],
    *,
    client_id: str | None,
    client_secret: str | None,
    now: float,
) -> dict[str, Any]:
    """The token endpoint (RFC 6749 §4.1.3, OIDC Core §3.1.3): ID token + access token."""
    if form.get("grant_type") != "authorization_code":
        raise ProtocolError(ErrorCode.unsupported_grant_type, "only authorization_code")
    client = ctx.client(db, client_id, now)
    if not authenticate_client(client, client_secret):
        raise WrongSecret(ErrorCode.invalid_client, "client authentication failed")
    assert client is not None
    # the code is spent first, in one statement; any refusal below rolls the spending back
    code = form.get("code") or ""
    row = db.execute(
        update(oidc_codes)
        .where(oidc_codes.c.code_hash == secret_digest(code), oidc_codes.c.used.is_(False))
        .returning(
            oidc_codes.c.client_id,
            oidc_codes.c.redirect_uri,
            oidc_codes.c.code_challenge,
            oidc_codes.c.grant,
            oidc_codes.c.expires_at,
        ),
        {"used": True},
    ).first()
    if row is None or row.expires_at <= now or row.client_id != client.client_id:
        raise ProtocolError(ErrorCode.invalid_grant, "the code is unknown, used or expired")
    if form.get("redirect_uri") != row.redirect_uri:
        raise ProtocolError(ErrorCode.invalid_grant, "redirect_uri differs from the request's")
    if not _pkce_ok(form.get("code_verifier"), row.code_challenge):
        raise ProtocolError(ErrorCode.invalid_grant, "PKCE verification failed")
    grant = orjson.loads(row.grant)
    access_token = secrets.token_urlsafe(32)
    claims = {"sub": grant["sub"], **grant["claims"]}
    credential = grant.get("credential") or {}  # absent in a code made by an earlier release
    status_list = credential.get("status_list")
    sid = open_session(
        db,
        client_id=client.client_id,
        sub=grant["sub"],
        employee_number=credential.get("employee_number") or "",
        issuer=credential.get("issuer") or "",
        status_ref=(status_list["uri"], status_list["idx"]) if status_list else None,
        now=now,
    )
    id_token_claims: dict[str, Any] = {
        "iss": ctx.config.issuer,
        "aud": client.client_id,
        "iat": int(now),
        "exp": int(now + ctx.config.token_ttl_s),
        "auth_time": grant["auth_time"],
        "sid": sid,
        "amr": ["vc"],
        "at_hash": ctx.keys.half_hash(access_token),
        **claims,
    }
    if grant.get("nonce") is not None:
        id_token_claims["nonce"] = grant["nonce"]
    db.execute(
        insert(oidc_tokens),
        {
            "token_hash": secret_digest(access_token),
            "client_id": client.client_id,
            "claims": orjson.dumps(claims).decode(),
            "expires_at": now + ctx.config.token_ttl_s,
        },
    )
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": int(ctx.config.token_ttl_s),
        "id_token": ctx.keys.sign(id_token_claims, client.id_token_alg),
        "scope": grant["scope"],
    }


def userinfo(db: Connection, access_token: str, *, now: float) -> dict[str, Any]:
    """The UserInfo response (OIDC Core §5.3): `sub` and the allowed claims, as in the ID token."""
    row = db.execute(
        select(oidc_tokens).where(oidc_tokens.c.token_hash == secret_digest(access_token))
    ).first()
    if row is None or row.expires_at <= now:
        raise ProtocolError(ErrorCode.invalid_token, "the access token is unknown or expired")
    claims: dict[str, Any] = orjson.loads(row.claims)
    return claims


def purge_oidc(db: Connection, *, now: float, retention_days: int) -> dict[str, int]:
    """Drop expired codes and tokens, and login records older than the retention."""
    codes = db.execute(delete(oidc_codes).where(oidc_codes.c.expires_at < now))
    tokens = db.execute(delete(oidc_tokens).where(oidc_tokens.c.expires_at < now))
    records = db.execute(
        delete(login_records).where(login_records.c.at < now - retention_days * 86400)
    )
    return {
        "codes": int(codes.rowcount),
        "tokens": int(tokens.rowcount),
        "records": int(records.rowcount),
    }
