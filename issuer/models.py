"""The issuer's tables (SQLAlchemy 2). Own `MetaData`, own Alembic version table.

Secrets never rest in plaintext: API tokens, pre-authorized codes, offer references, tx_codes,
access tokens and console sign-in links and codes are stored as hashes (`issuer.hashing`);
signing keys' private halves are sealed under the deployment secret (`vc.sealing`). Invariants
the service relies on are also database constraints, so a race cannot break them: one open
application per employee, one offer per application, one live credential per employee, unique
(status list, index), one active grant of a role and scope, one active sign-in code per employee.

Writes: rows the rules reason about are loaded and changed as objects; rows nothing reads back in
the same transaction (access tokens, nonces, spent proofs, a credential's slot, audit links) are
written with plain `insert(Model)` / `update(Model)` on the session's connection, which costs
about half of the unit of work per row and keeps issuance above its 100 flows/s
(`bench.issuance`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

__all__ = [
    "ACTIVE_APPLICATION_STATES",
    "LIVE_CREDENTIAL_STATES",
    "AccessToken",
    "ApiToken",
    "Application",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Credential",
    "DpopProofSeen",
    "Employee",
    "LoginLink",
    "Nonce",
    "Offer",
    "OutboxMessage",
    "RoleGrant",
    "SecretFailures",
    "SigninCode",
    "SigningKeyRecord",
    "StatusFeedHead",
    "StatusListRecord",
    "UTCDateTime",
    "insert_on_conflict",
    "metadata",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

ACTIVE_APPLICATION_STATES = ("pending", "approved")
LIVE_CREDENTIAL_STATES = ("active", "suspended")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - both drivers return datetime
            raise TypeError("expected a datetime from the database")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = metadata


def insert_on_conflict(session: Session, model: type[Base]) -> sqlite.Insert | postgresql.Insert:
    """`INSERT` into `model`'s table in the session's dialect, which can say what to do `ON
    CONFLICT` (the issuer runs on SQLite and PostgreSQL, which spell it alike)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


class Employee(Base):
    """An employee as HR knows them (central e-사람 or local 인사랑)."""

    __tablename__ = "issuer_employees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_number: Mapped[str] = mapped_column(String(20), unique=True)
    hr_source: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str | None] = mapped_column(String(100))
    agency: Mapped[str] = mapped_column(String(100))
    agency_code: Mapped[str] = mapped_column(String(7), index=True)
    department: Mapped[str] = mapped_column(String(100))
    department_code: Mapped[str] = mapped_column(String(20), index=True)
    position: Mapped[str] = mapped_column(String(50))
    grade: Mapped[str] = mapped_column(String(50))
    employment_type: Mapped[str] = mapped_column(String(20))
    employment_status: Mapped[str] = mapped_column(String(16))
    retirement_date: Mapped[date | None] = mapped_column(Date)
    dispatched_to_agency_code: Mapped[str | None] = mapped_column(String(7), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    photo: Mapped[str | None] = mapped_column(Text)
    opaque_id: Mapped[str] = mapped_column(String(43), unique=True)
    record_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A bearer token for the HR API, bound to a role and its scope."""

    __tablename__ = "issuer_api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    department_code: Mapped[str | None] = mapped_column(String(20))
    agency_code: Mapped[str | None] = mapped_column(String(7))
    employee_number: Mapped[str | None] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """After it the token is refused like an unknown one (MOBILEID_API_TOKEN_LIFETIME_DAYS)."""


class SecretFailures(Base):
    """Failed secret checks (HR API tokens) of one source address in its current window, shared
    by every worker on this database; counted by the assembly's throttle (`mobileid.throttle`).
    Times are epoch seconds, as in the login service's table of the same shape."""

    __tablename__ = "issuer_secret_failures"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_ends_at: Mapped[float] = mapped_column(Float, index=True)


class Application(Base):
    """An application for a credential: pending -> approved -> issued | rejected | lapsed."""

    __tablename__ = "issuer_applications"
    __table_args__ = (
        Index(
            "uq_issuer_applications_one_open",
            "employee_id",
            unique=True,
            sqlite_where=text("state IN ('pending', 'approved')"),
            postgresql_where=text("state IN ('pending', 'approved')"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("issuer_employees.id"), index=True)
    reason: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(12))
    filed_by: Mapped[str] = mapped_column(String(100))
    filed_by_role: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decision_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Offer(Base):
    """A single-use pre-authorized credential offer (OpenID4VCI §4.1.1)."""

    __tablename__ = "issuer_offers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("issuer_applications.id"), unique=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("issuer_employees.id"), index=True)
    ref_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tx_code_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(8))
    tx_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AccessToken(Base):
    """An access token from the token endpoint; good for one credential and notifications."""

    __tablename__ = "issuer_access_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("issuer_offers.id"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("issuer_employees.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    credential_issued: Mapped[bool] = mapped_column(Boolean, default=False)
    dpop_jkt: Mapped[str | None] = mapped_column(String(64), default=None)
    """The thumbprint of the key the token is bound to (RFC 9449); None for a Bearer token."""


class DpopProofSeen(Base):
    """A DPoP proof's `jti` (with its key) while its `iat` is in the window: replays are refused."""

    __tablename__ = "issuer_dpop_proofs"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Nonce(Base):
    """A `c_nonce` from the nonce endpoint; deleted when used (single use)."""

    __tablename__ = "issuer_nonces"

    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class SigningKeyRecord(Base):
    """An issuer signing key, shared by every process on this database (`issuer.keys.signing`).

    `number` orders the keys (the newest usable one signs) and, being the primary key, lets
    exactly one of two concurrent first starts or rotations win. The private JWK is sealed
    (`vc.sealing`, bound to `kid`) under a key derived from MOBILEID_SECRET_KEY.
    """

    __tablename__ = "issuer_signing_keys"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kid: Mapped[str] = mapped_column(String(100), unique=True)
    alg: Mapped[str] = mapped_column(String(10))
    public_jwk: Mapped[str] = mapped_column(Text)
    sealed_private_jwk: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    activates_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    publish_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_reason: Mapped[str | None] = mapped_column(String(30))


class StatusListRecord(Base):
    """A Token Status List the issuer publishes; credentials hold random indexes into it.

    The statuses themselves are the credentials' states (the one source of truth). `version`
    counts status changes; the signed token published at `uri` reflects `token_version`, so a
    token older than the committed state is detected and rebuilt (`issuer.status.publication`).
    """

    __tablename__ = "issuer_status_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uri: Mapped[str] = mapped_column(String(300), unique=True)
    bits: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    token_version: Mapped[int] = mapped_column(Integer, default=-1, server_default=text("-1"))
    token: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(64))
    token_kid: Mapped[str | None] = mapped_column(String(100))
    token_iat: Mapped[datetime | None] = mapped_column(UTCDateTime())
    token_exp: Mapped[datetime | None] = mapped_column(UTCDateTime())
    feed_seq: Mapped[int | None] = mapped_column(Integer, index=True)
    """The change feed's sequence number of the current token (`issuer.status_feed`)."""


class Credential(Base):
    """An issued credential (never the credential itself): holder key, kid, status slot, state."""

    __tablename__ = "issuer_credentials"
    __table_args__ = (
        UniqueConstraint("status_list_id", "status_idx", name="uq_issuer_credentials_status_slot"),
        Index("ix_issuer_credentials_list_state", "status_list_id", "state"),
        Index(
            "uq_issuer_credentials_one_live",
            "employee_id",
            unique=True,
            sqlite_where=text("state IN ('active', 'suspended')"),
            postgresql_where=text("state IN ('active', 'suspended')"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("issuer_employees.id"), index=True)
    application_id: Mapped[str | None] = mapped_column(ForeignKey("issuer_applications.id"))
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("issuer_offers.id"))
    holder_jkt: Mapped[str] = mapped_column(String(43), index=True)
    kid: Mapped[str] = mapped_column(String(100), index=True)
    status_list_id: Mapped[int] = mapped_column(ForeignKey("issuer_status_lists.id"))
    status_idx: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revocation_reason: Mapped[str | None] = mapped_column(String(30))
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    suspension_reason: Mapped[str | None] = mapped_column(String(30))
    notification_id: Mapped[str] = mapped_column(String(43), unique=True)
    notification_event: Mapped[str | None] = mapped_column(String(30))
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """A message waiting for (or past) delivery; sent at least once (`issuer.messages.outbox`).

    `body` is what operators see, with any secret cut out; the text to send waits in
    `sealed_body` (`vc.sealing`, bound to the row) and is cleared once delivered, except in
    development, where `mobileid outbox` shows it.
    """

    __tablename__ = "issuer_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    sealed_body: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """One audit record; `hash` chains it to the previous one (`issuer.audit`): HMAC-SHA256
    under a key outside the database, or plain SHA-256 for entries of an earlier release."""

    __tablename__ = "issuer_audit_log"
    __table_args__ = (
        # an employee's history, newest first (`issuer.audit.search_audit`)
        Index("ix_issuer_audit_log_subject_seq", "subject", "seq"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    hash_alg: Mapped[str] = mapped_column(String(12), server_default="sha256")


class AuditHead(Base):
    """The single row holding the chain's head; locking it serializes appends. `key_check`
    tells which key the chain is under (a MAC of a constant), so another secret is named as
    such rather than as tampering."""

    __tablename__ = "issuer_audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    key_check: Mapped[str | None] = mapped_column(String(16))


class RoleGrant(Base):
    """A console role held by an employee (`issuer.grants`), active until revoked; revoked rows
    stay as history. `scope` is an agency code, a department code or a gate id, or "" for none
    (not NULL: the unique index below must see two unscoped grants of a role as the same)."""

    __tablename__ = "issuer_grants"
    __table_args__ = (
        Index(
            "uq_issuer_grants_one_active",
            "employee_id",
            "role",
            "scope",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("issuer_employees.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))
    granted_by: Mapped[str] = mapped_column(String(100))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoke_reason: Mapped[str | None] = mapped_column(String(200))


class LoginLink(Base):
    """A single-use console sign-in link (`issuer.console_auth`); only its token's SHA-256."""

    __tablename__ = "issuer_login_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("issuer_employees.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SigninCode(Base):
    """A one-time console sign-in code sent by SMS (`issuer.console_auth`): its keyed hash, the
    wrong tries, and its state (active, used, void, replaced); one active code per employee."""

    __tablename__ = "issuer_signin_codes"
    __table_args__ = (
        Index(
            "uq_issuer_signin_codes_one_active",
            "employee_id",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("issuer_employees.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StatusFeedHead(Base):
    """The single row counting status-list publications; its lock, held until commit, makes
    the change feed's sequence follow commit order across issuer processes."""

    __tablename__ = "issuer_status_feed_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
