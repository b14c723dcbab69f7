"""What a login administrator does to business systems, each change audited with the person.

Every function makes its change and appends its audit entry (`verifier.login.audit`) in the
caller's unit of work, so both commit or neither. `actor` names the person
(`console:<employee_number>`). Refusals are `ClientError` (`invalid_client_metadata`),
`ClaimsError` (`unknown_claims`) or `ClientNotFound` (`client_not_found`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from verifier.errors import VerifierError
from verifier.login.audit import record_admin_action
from verifier.login.claims import check_allowed_claims
from verifier.login.clients import (
    Client,
    NewClient,
    get_client,
    register_client,
    set_allowed_claims,
    set_client_enabled,
    set_redirect_uris,
)

__all__ = [
    "ClientNotFound",
    "add_client",
    "change_allowed_claims",
    "change_redirect_uris",
    "enable_client",
    "require_client",
]


class ClientNotFound(VerifierError):
    def __init__(self, client_id: str) -> None:
        super().__init__("client_not_found", f"no business system {client_id!r}")


def require_client(db: Connection, client_id: str) -> Client:
    client = get_client(db, client_id)
    if client is None:
        raise ClientNotFound(client_id)
    return client


def add_client(
    db: Connection,
    *,
    actor: str,
    now: float,
    name: str,
    redirect_uris: Sequence[str],
    allowed_claims: Sequence[str],
    subject_type: str,
    public: bool,
) -> NewClient:
    """Register a business system; its secret is returned once and never recorded."""
    check_allowed_claims(allowed_claims)  # refused as `unknown_claims`, as an edit would be
    new = register_client(
        db,
        name=name,
        redirect_uris=redirect_uris,
        allowed_claims=allowed_claims,
        subject_type=subject_type,
        public=public,
        now=now,
    )
    details = {k: v for k, v in new.client.to_json().items() if k != "client_id"}
    record_admin_action(
        db, actor=actor, action="client.add", target=new.client.client_id, details=details, now=now
    )
    return new


def enable_client(db: Connection, client_id: str, enabled: bool, *, actor: str, now: float) -> None:
    """Allow or stop a system's logins (every process notices within `client_cache_s`)."""
    if not set_client_enabled(db, client_id, enabled):
        raise ClientNotFound(client_id)
    action = "client.enable" if enabled else "client.disable"
    record_admin_action(db, actor=actor, action=action, target=client_id, details={}, now=now)


def change_allowed_claims(
    db: Connection, client_id: str, claims: Sequence[str], *, actor: str, now: float
) -> list[str]:
    """Replace the OIDC claims a system may receive; audited with before and after."""
    before = require_client(db, client_id).allowed_claims
    after = set_allowed_claims(db, client_id, claims)
    assert after is not None  # the row exists in this transaction
    details = {"before": list(before), "after": after}
    record_admin_action(
        db, actor=actor, action="client.claims", target=client_id, details=details, now=now
    )
    return after


def change_redirect_uris(
    db: Connection, client_id: str, uris: Sequence[str], *, actor: str, now: float
) -> list[str]:
    """Replace a system's redirect URIs; audited with before and after."""
    before = require_client(db, client_id).redirect_uris
    after = set_redirect_uris(db, client_id, uris)
    assert after is not None
    details = {"before": list(before), "after": after}
    record_admin_action(
        db, actor=actor, action="client.redirect_uris", target=client_id, details=details, now=now
    )
    return after
