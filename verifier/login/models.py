"""Tables of the OpenID Connect bridge: registered clients, authorization codes, access tokens,
the ID token keys, the login administrators' audit log, the login sessions at the provider and
the back-channel logouts sent.

SQLAlchemy Core on `oidc_metadata`, created by the verifier's `login` Alembic branch together
with the OpenID4VP tables (`verifier.oid4vp.models`). Codes, tokens and client secrets are stored
as SHA-256 digests only; keys sealed (`verifier.login.keys`).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text

__all__ = [
    "login_audit",
    "oidc_clients",
    "oidc_codes",
    "oidc_keys",
    "oidc_logouts",
    "oidc_metadata",
    "oidc_sessions",
    "oidc_tokens",
]

oidc_metadata = MetaData()

oidc_clients = Table(
    "verifier_oidc_clients",
    oidc_metadata,
    Column("client_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("redirect_uris", Text, nullable=False),  # JSON array
    Column("allowed_claims", Text, nullable=False),  # JSON array of OIDC claim names
    Column("subject_type", String(20), nullable=False),  # pairwise | employee_number
    Column("id_token_alg", String(8), nullable=False),  # RS256 | ES256
    Column("allowed_agencies", Text, nullable=False, default="[]"),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", Float, nullable=False),
    Column("backchannel_logout_uri", Text, nullable=True),
    Column("backchannel_logout_session_required", Boolean, nullable=False, default=False),
    Column("post_logout_redirect_uris", Text, nullable=False, default="[]"),  # JSON array
)

oidc_codes = Table(
    "verifier_oidc_codes",
    oidc_metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("code_challenge", String(128), nullable=False),
    Column("grant", Text, nullable=False),  # sub, claims, nonce, auth_time, scope (JSON)
    Column("expires_at", Float, nullable=False),
    Column("used", Boolean, nullable=False, default=False),
    Index("ix_verifier_oidc_codes_expires_at", "expires_at"),
)

oidc_tokens = Table(
    "verifier_oidc_tokens",
    oidc_metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("claims", Text, nullable=False),  # what userinfo returns (JSON)
    Column("expires_at", Float, nullable=False),
    Index("ix_verifier_oidc_tokens_expires_at", "expires_at"),
)

oidc_keys = Table(
    "verifier_oidc_keys",
    oidc_metadata,
    Column("name", String(16), primary_key=True),  # RS256 | ES256 | pairwise
    Column("material", Text, nullable=False),  # sealed: PKCS#8 PEM, or pairwise secret (hex)
    Column("created_at", Float, nullable=False),
)
"""Shared by every process of one login service (one set of ID token keys, one pairwise secret)."""

login_audit = Table(
    "verifier_login_audit",
    oidc_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("actor", String(80), nullable=False),  # console:<employee_number>, or cli
    Column("action", String(40), nullable=False),  # client.add, client.disable, ...
    Column("target", String(64), nullable=False),  # the client_id acted on
    Column("details", Text, nullable=False),  # JSON: what changed (never a secret)
    Index("ix_verifier_login_audit_at", "at"),
)
"""Append-only: `verifier.login.audit` inserts and reads, nothing updates or deletes a row."""
oidc_sessions = Table(
    "verifier_oidc_sessions",
    oidc_metadata,
    Column("sid", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("sub", String(128), nullable=False),  # as the client knows the person
    Column("employee_number", String(64), nullable=False),
    Column("issuer", Text, nullable=False),  # the credential's issuer ...
    Column("status_uri", Text, nullable=True),  # ... and its status list entry
    Column("status_idx", Integer, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("ended_at", Float, nullable=True),
    Column("end_reason", String(32), nullable=True),  # revoked | suspended | logout | ...
    Index("ix_verifier_oidc_sessions_status_uri", "status_uri"),
    Index("ix_verifier_oidc_sessions_employee", "employee_number"),
)
"""One row per login handed to a client (its ID token's `sid`); active while `ended_at` is null."""

oidc_logouts = Table(
    "verifier_oidc_logouts",
    oidc_metadata,
    Column("jti", String(64), primary_key=True),
    Column("sid", String(64), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("uri", Text, nullable=False),
    Column("token", Text, nullable=False),  # the signed logout token (nothing to redeem)
    Column("state", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", String(200), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Index("ix_verifier_oidc_logouts_state", "state"),
)
"""Back-channel logout tokens owed to clients and how their delivery went."""
