"""HR API bearer tokens bound to a role and its scope, and the principal they authenticate.

Roles (issue 3): `hr_admin` (everything), `department_head` (decides applications of one
department), `agency_officer` (applies for employees dispatched to one agency), `employee` (applies
for and sees their own), `hr_officer` (issue 19: HR of one agency, its employees and those
dispatched to it; manages their credentials), `grant_reader` (reads console grants,
`GET /console/api/grants/...`, and nothing else: gates and the login service hold one). Tokens
are shown once and stored as SHA-256, and expire. A client address that presents too many tokens
that fail (unknown, expired or revoked alike) is refused for a while before its token is even
looked up (`FailureCounter`, shared by the workers of one database); console sign-in links and
codes are counted the same way (`refuse_if_throttled`, `failed_secret`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from issuer.audit import append_audit
from issuer.errors import AuthError, HrError, IssuerCode, IssuerError
from issuer.hashing import new_secret, sha256_hex
from issuer.models import ApiToken, Employee

__all__ = [
    "API_TOKEN_FAILURES",
    "FailureCounter",
    "Principal",
    "Role",
    "authenticate",
    "count_failure",
    "create_api_token",
    "failed_secret",
    "list_api_tokens",
    "operator",
    "refuse_if_throttled",
    "revoke_api_token",
]

TOKEN_PREFIX = "mid_"  # noqa: S105 - a prefix, not a secret
API_TOKEN_FAILURES = "api_token"  # noqa: S105 - the name the failures are counted under
_MAX_TOKEN_CHARS = 200
log = logging.getLogger(__name__)


class FailureCounter(Protocol):
    """Failed secret checks per client address, in the database (`mobileid.throttle`)."""

    def retry_after(self, kind: str, source: str, now: float) -> int | None:
        """Seconds until `source` may try again; None while it may."""

    def record_failure(self, db: Connection, kind: str, source: str, now: float) -> int | None:
        """Count a failure; the seconds to wait if `source` was over the limit already."""


class Role(StrEnum):
    hr_admin = "hr_admin"
    department_head = "department_head"
    agency_officer = "agency_officer"
    employee = "employee"
    hr_officer = "hr_officer"
    grant_reader = "grant_reader"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's id, role and scope."""

    token_id: int
    role: Role
    department_code: str | None = None
    agency_code: str | None = None
    employee_number: str | None = None
    name: str | None = None
    """Set for operators acting outside the HR API (`cli`, `system:...`)."""

    @property
    def actor(self) -> str:
        if self.name is not None:
            return self.name
        scope = self.department_code or self.agency_code or self.employee_number
        return f"token:{self.token_id}" + (f"({scope})" if scope else "")


def operator(name: str = "cli") -> Principal:
    """An `hr_admin` principal for commands run on the issuer host (CLI, system jobs)."""
    return Principal(token_id=0, role=Role.hr_admin, name=name)


def create_api_token(
    session: Session,
    *,
    role: Role,
    now: datetime,
    lifetime: timedelta,
    department_code: str | None = None,
    agency_code: str | None = None,
    employee_number: str | None = None,
    label: str = "",
    created_by: str = "cli",
) -> tuple[str, ApiToken]:
    """Create a token good for `lifetime`; returns (the token, shown once; its row). The scope
    must fit the role."""
    needs = {
        Role.hr_admin: (),
        Role.department_head: ("department",),
        Role.agency_officer: ("agency",),
        Role.employee: ("employee",),
        Role.hr_officer: ("agency",),
        Role.grant_reader: (),
    }[role]
    given = {
        k
        for k, v in (
            ("department", department_code),
            ("agency", agency_code),
            ("employee", employee_number),
        )
        if v
    }
    if given != set(needs):
        wanted = ", ".join(f"--{n}" for n in needs) or "no scope option"
        raise HrError(IssuerCode.invalid_token_binding, f"role {role} takes {wanted}")
    if (
        employee_number is not None
        and session.scalar(select(Employee.id).where(Employee.employee_number == employee_number))
        is None
    ):
        raise HrError(IssuerCode.employee_not_found, "no such employee")
    token = TOKEN_PREFIX + new_secret(32)
    row = ApiToken(
        token_hash=sha256_hex(token),
        role=role.value,
        department_code=department_code,
        agency_code=agency_code,
        employee_number=employee_number,
        label=label[:100],
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    append_audit(
        session,
        actor=created_by,
        role="admin",
        action="token.create",
        subject=f"token:{row.id}",
        now=now,
        detail={
            "role": role.value,
            "department": department_code,
            "agency": agency_code,
            "employee": employee_number,
            "expires": row.expires_at.isoformat(timespec="seconds"),
        },
    )
    return token, row


def _too_many_attempts(wait: int) -> AuthError:
    """The refusal of a source over the limit; the failure that showed it is kept."""
    return AuthError(
        IssuerCode.too_many_attempts,
        "too many failed attempts from this address; try again later",
        retry_after=wait,
        keep_changes=True,
    )


def refuse_if_throttled(throttle: FailureCounter, kind: str, source: str, now: datetime) -> None:
    """Raise `too_many_attempts` (429) while `source` is over the limit of failed `kind`
    secrets; call it before the secret is looked up."""
    wait = throttle.retry_after(kind, source, now.timestamp())
    if wait is not None:
        raise _too_many_attempts(wait)


def count_failure(
    session: Session, throttle: FailureCounter, kind: str, *, source: str, now: datetime
) -> None:
    """Count one failed `kind` secret (or one request of a kind that is limited like them) of
    `source` in the session's transaction; raise `too_many_attempts` when the source was over
    the limit already (the count kept)."""
    wait = throttle.record_failure(session.connection(), kind, source, now.timestamp())
    if wait is not None:
        raise _too_many_attempts(wait)


def failed_secret(
    session: Session,
    throttle: FailureCounter,
    kind: str,
    *,
    source: str,
    now: datetime,
    refusal: IssuerError,
) -> IssuerError:
    """`count_failure`, then the error to raise: `refusal`, made to keep the transaction's
    changes (the count, and whatever the caller recorded of the failure)."""
    count_failure(session, throttle, kind, source=source, now=now)
    refusal.keep_changes = True
    return refusal


def authenticate(
    session: Session,
    authorization: str | None,
    *,
    source: str,
    now: datetime,
    throttle: FailureCounter,
) -> Principal:
    """Resolve an `Authorization: Bearer` header to a principal, or raise `unauthorized`.

    An unknown, revoked or expired token gets the same answer (an expired one is logged) and
    counts as a failure of `source`, kept although the request fails; a source the throttle
    knows to be over the limit is refused (`too_many_attempts`, 429) before its token is looked
    up (and after, when the failure's count shows it was over already). Call it first in its
    unit of work: the failure is committed with whatever the transaction holds.
    """
    if not authorization:
        raise AuthError(IssuerCode.unauthorized, "bearer token required")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > _MAX_TOKEN_CHARS:
        raise AuthError(IssuerCode.unauthorized, "bearer token required")
    refuse_if_throttled(throttle, API_TOKEN_FAILURES, source, now)
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == sha256_hex(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        if row is not None and row.revoked_at is None:
            log.warning("expired HR API token #%d presented from %s", row.id, source)
        raise failed_secret(
            session,
            throttle,
            API_TOKEN_FAILURES,
            source=source,
            now=now,
            refusal=AuthError(IssuerCode.unauthorized, "unknown, expired or revoked token"),
        )
    return Principal(
        token_id=row.id,
        role=Role(row.role),
        department_code=row.department_code,
        agency_code=row.agency_code,
        employee_number=row.employee_number,
    )


def list_api_tokens(session: Session) -> Sequence[ApiToken]:
    """Every token's row, oldest first (the hash stays here: show the other columns only)."""
    return session.scalars(select(ApiToken).order_by(ApiToken.id)).all()


def revoke_api_token(session: Session, token_id: int, now: datetime, actor: str = "cli") -> None:
    """Revoke at once (audited); revoking a revoked token changes nothing."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise HrError(IssuerCode.not_found, "no such token")
    if row.revoked_at is None:
        row.revoked_at = now
        append_audit(
            session,
            actor=actor,
            role="admin",
            action="token.revoke",
            subject=f"token:{token_id}",
            now=now,
        )
