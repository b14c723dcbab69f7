"""Relying systems registered with the bridge (`mobileid login add-client`).

A client has redirect URIs (exact match, RFC 6749 §3.1.2.3 / OIDC Core §3.1.2.1), the OIDC
claims it may receive, its `sub` type and ID token algorithm, and a secret stored as a digest
only (shown once at registration). For logout it may have a `backchannel_logout_uri` (with
`backchannel_logout_session_required`; Back-Channel Logout 1.0 §2.2) and
`post_logout_redirect_uris` (RP-Initiated Logout 1.0 §3.1), each checked like a redirect URI.
A client without a secret is public: PKCE alone binds its code. Functions take the SQLAlchemy
session; the caller commits.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import Connection, insert, select, update

from verifier.errors import VerifierError
from verifier.login.claims import SUBJECT_TYPES, ClaimsError, check_allowed_claims
from verifier.login.keys import ID_TOKEN_ALGS
from verifier.login.models import oidc_clients
from verifier.oid4vp.sessions import secret_digest

__all__ = [
    "Client",
    "ClientError",
    "NewClient",
    "authenticate_client",
    "get_client",
    "list_clients",
    "register_client",
    "set_allowed_claims",
    "set_client_enabled",
    "set_redirect_uris",
]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ClientError(VerifierError):
    """A registration that cannot be accepted; `detail` says why (RFC 7591 §3.2.2's code)."""

    def __init__(self, detail: str) -> None:
        super().__init__("invalid_client_metadata", detail)


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    allowed_claims: tuple[str, ...]
    subject_type: str
    id_token_alg: str
    allowed_agencies: tuple[str, ...]
    public: bool
    enabled: bool
    secret_hash: str
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    post_logout_redirect_uris: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "redirect_uris": list(self.redirect_uris),
            "allowed_claims": list(self.allowed_claims),
            "subject_type": self.subject_type,
            "id_token_alg": self.id_token_alg,
            "allowed_agencies": list(self.allowed_agencies),
            "public": self.public,
            "enabled": self.enabled,
            "backchannel_logout_uri": self.backchannel_logout_uri,
            "backchannel_logout_session_required": self.backchannel_logout_session_required,
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
        }


@dataclass(frozen=True, slots=True)
class NewClient:
    client: Client
    secret: str | None


def _check_redirect_uri(uri: str, what: str = "redirect URI") -> str:
    parts = urlsplit(uri)
    loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK
    if not parts.hostname or not (parts.scheme == "https" or loopback) or parts.fragment:
        raise ClientError(f"{what} must be https (or http on loopback), no fragment: {uri}")
    if len(uri) > 2000:
        raise ClientError(f"{what} is longer than 2000 characters")
    return uri


def _check_redirect_uris(uris: Sequence[str]) -> list[str]:
    cleaned = [u.strip() for u in uris if u.strip()]
    if not cleaned:
        raise ClientError("a client needs at least one redirect URI")
    return list(dict.fromkeys(_check_redirect_uri(u) for u in cleaned))


def _client(row: Any) -> Client:
    return Client(
        row.client_id,
        row.name,
        tuple(orjson.loads(row.redirect_uris)),
        tuple(orjson.loads(row.allowed_claims)),
        row.subject_type,
        row.id_token_alg,
        tuple(orjson.loads(row.allowed_agencies or "[]")),
        row.secret_hash == "",
        bool(row.enabled),
        row.secret_hash,
        row.backchannel_logout_uri,
        bool(row.backchannel_logout_session_required),
        tuple(orjson.loads(row.post_logout_redirect_uris or "[]")),
    )


def register_client(
    db: Connection,
    *,
    name: str,
    redirect_uris: Sequence[str],
    allowed_claims: Sequence[str],
    subject_type: str = "pairwise",
    id_token_alg: str = "RS256",  # noqa: S107 - an algorithm name
    allowed_agencies: Sequence[str] = (),
    public: bool = False,
    client_id: str | None = None,
    backchannel_logout_uri: str | None = None,
    backchannel_logout_session_required: bool = False,
    post_logout_redirect_uris: Sequence[str] = (),
    now: float,
) -> NewClient:
    """Add a relying system; returns its secret once (None for a public client)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ClientError("a client needs a name (at most 200 characters)")
    uris = _check_redirect_uris(redirect_uris)
    logout_uri = backchannel_logout_uri.strip() if backchannel_logout_uri else None
    if logout_uri is not None:
        _check_redirect_uri(logout_uri, "backchannel_logout_uri")
    elif backchannel_logout_session_required:
        raise ClientError("backchannel_logout_session_required needs a backchannel_logout_uri")
    after_logout = [
        _check_redirect_uri(u.strip(), "post_logout_redirect_uri")
        for u in post_logout_redirect_uris
    ]
    try:
        claims = check_allowed_claims(allowed_claims)
    except ClaimsError as exc:
        raise ClientError(exc.detail) from None
    if subject_type not in SUBJECT_TYPES:
        raise ClientError(f"subject type must be one of {list(SUBJECT_TYPES)}")
    if id_token_alg not in ID_TOKEN_ALGS:
        raise ClientError(f"ID token algorithm must be one of {list(ID_TOKEN_ALGS)}")
    client_id = client_id or "mid_" + secrets.token_urlsafe(12)
    if not 1 <= len(client_id) <= 64 or not client_id.replace("-", "").replace("_", "").isalnum():
        raise ClientError("client_id: 1-64 letters, digits, - or _")
    if get_client(db, client_id) is not None:
        raise ClientError(f"client {client_id} already exists")
    secret = None if public else secrets.token_urlsafe(32)
    db.execute(
        insert(oidc_clients).values(
            client_id=client_id,
            name=name,
            secret_hash=secret_digest(secret) if secret else "",
            redirect_uris=orjson.dumps(uris).decode(),
            allowed_claims=orjson.dumps(claims).decode(),
            subject_type=subject_type,
            id_token_alg=id_token_alg,
            allowed_agencies=orjson.dumps(list(allowed_agencies)).decode(),
            enabled=True,
            created_at=now,
            backchannel_logout_uri=logout_uri,
            backchannel_logout_session_required=backchannel_logout_session_required,
            post_logout_redirect_uris=orjson.dumps(after_logout).decode(),
        )
    )
    client = get_client(db, client_id)
    assert client is not None
    return NewClient(client, secret)


def get_client(db: Connection, client_id: str) -> Client | None:
    row = db.execute(select(oidc_clients).where(oidc_clients.c.client_id == client_id)).first()
    return _client(row) if row is not None else None


def list_clients(db: Connection) -> list[Client]:
    rows = db.execute(select(oidc_clients).order_by(oidc_clients.c.created_at)).all()
    return [_client(r) for r in rows]


def set_client_enabled(db: Connection, client_id: str, enabled: bool) -> bool:
    return _update(db, client_id, enabled=enabled)


def set_allowed_claims(db: Connection, client_id: str, claims: Sequence[str]) -> list[str] | None:
    """Replace the OIDC claims a client may receive; raises `ClaimsError` (`unknown_claims`)
    naming any the bridge cannot provide; None when there is no such client."""
    allowed = check_allowed_claims(claims)
    found = _update(db, client_id, allowed_claims=orjson.dumps(allowed).decode())
    return allowed if found else None


def set_redirect_uris(db: Connection, client_id: str, uris: Sequence[str]) -> list[str] | None:
    """Replace a client's redirect URIs (checked as at registration); None: no such client."""
    checked = _check_redirect_uris(uris)
    return checked if _update(db, client_id, redirect_uris=orjson.dumps(checked).decode()) else None


def _update(db: Connection, client_id: str, **values: Any) -> bool:
    result = db.execute(
        update(oidc_clients).where(oidc_clients.c.client_id == client_id).values(**values)
    )
    return bool(result.rowcount)


def authenticate_client(client: Client | None, secret: str | None) -> bool:
    """A confidential client proves its secret; a public one must not send one."""
    if client is None or not client.enabled:
        return False
    if client.public:
        return secret is None
    return secret is not None and hmac.compare_digest(client.secret_hash, secret_digest(secret))
