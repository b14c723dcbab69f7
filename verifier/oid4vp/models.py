"""Tables of the OpenID4VP verifier (the login service's and a gate desk's): sessions, login
records, failed secrets.

SQLAlchemy Core on a `MetaData` of its own (`login_metadata`), apart from the gate's tables, so a
verifier on a shared PostgreSQL creates only what it uses; the OpenID Connect bridge's tables are
in `verifier.login.models`, in the same Alembic branch (`login`). Secrets (browser handles,
response codes) are stored as SHA-256 digests only; verified claims live in a session only until
the login completes or expires.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text

__all__ = [
    "login_metadata",
    "login_records",
    "secret_failures",
    "vp_sessions",
]

login_metadata = MetaData()

vp_sessions = Table(
    "verifier_vp_sessions",
    login_metadata,
    Column("id", String(43), primary_key=True),  # in request_uri and QR: public
    Column("state", String(43), nullable=False, unique=True),
    Column("nonce", String(43), nullable=False),
    Column("client_id", String(512), nullable=False),  # full, with prefix: the KB-JWT aud
    Column("handle_hash", String(64), nullable=False),  # the browser's or backend's secret
    Column("dcql_query", Text, nullable=False),
    Column("flow", String(16)),  # cross_device | same_device, fixed by the first fetch
    Column("status", String(16), nullable=False),  # pending | completed | failed | consumed
    Column("reason", String(32)),
    Column("result", Text),  # verified claims by query id (JSON) until consumed
    Column("response_code_hash", String(64)),
    Column("enc_key", Text),  # direct_post.jwt: this session's ephemeral P-256 key, until it ends
    Column("context", Text, nullable=False),  # what started it (OIDC request or API) as JSON
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("completed_at", Float),
    Index("ix_verifier_vp_sessions_expires_at", "expires_at"),
)

login_records = Table(
    "verifier_login_records",
    login_metadata,
    Column("id", String(32), primary_key=True),
    Column("client_id", String(512), nullable=False),  # the relying system (or the API caller)
    Column("session_id", String(43), nullable=False),
    Column("at", Float, nullable=False),
    Column("outcome", String(32), nullable=False),  # ok, or the reason it failed
    Column("flow", String(16)),
    Column("employee_number", String(20)),
    Column("issuer", String(255)),
    Index("ix_verifier_login_records_at", "at"),
)

secret_failures = Table(
    "verifier_secret_failures",
    login_metadata,
    Column("kind", String(16), primary_key=True),  # session_handle | client_secret | api_token
    Column("source", String(64), primary_key=True),  # the client's address
    Column("failures", Integer, nullable=False),
    Column("window_ends_at", Float, nullable=False),
    Index("ix_verifier_secret_failures_window_ends_at", "window_ends_at"),
)
"""Failed secret checks per source in its current window, shared by every process on this
database (counted by the assembly's throttle, `mobileid.throttle`; the issuer's table is alike)."""
