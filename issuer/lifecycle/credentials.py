"""Credential lifecycle: revoke, suspend, reinstate and reissue, each with a reason, audited.

Each operation checks the operator's role and the credential's current state, then applies the
change with `state_changes.change_states`, in the caller's transaction, so verifiers see it as
soon as it commits. Revocation (INVALID) is final; suspension (SUSPENDED) is undone by
reinstatement (VALID). `hr_admin` may do everything, an `hr_officer` the same for the employees
of their agency and those dispatched to it (no reissue: HR administrators file those); a
department head may act on their own
department's credentials for the operational reasons (a lost phone, an investigation), not for
HR decisions. A reissue is never one person's: HR files it on the employee's behalf, only to a
phone on record, and the department head approves it; a new phone is the employee's own
application (`issuer.hr.applications`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.api_tokens import Principal, Role
from issuer.audit import DetailValue, append_audit
from issuer.errors import AuthError, HrError, IssuerCode, LifecycleError
from issuer.hr.applications import (
    ApplicationRecord,
    file_application,
    get_employee,
    may_see,
    phones_on_record,
)
from issuer.keys.signing import IssuerKeyring
from issuer.lifecycle.state_changes import (
    REINSTATEMENT_REASONS,
    REVOCATION_REASONS,
    SUSPENSION_REASONS,
    StatusChange,
    change_states,
)
from issuer.models import LIVE_CREDENTIAL_STATES, Credential, Employee, StatusListRecord
from issuer.status.publication import StatusListPublisher

__all__ = [
    "REISSUE_REASONS",
    "CredentialRecord",
    "ReissueResult",
    "file_reissue",
    "list_credentials",
    "live_credential",
    "locked_live_credential",
    "reinstate_credential",
    "reissue_credential",
    "revoke_credential",
    "suspend_credential",
]

REISSUE_REASONS = ("phone_lost", "phone_changed")

_DEPARTMENT_HEAD_MAY: Mapping[str, frozenset[str]] = {
    "revoke": frozenset({"phone_lost", "phone_changed", "app_deleted", "pin_lockout"}),
    "suspend": frozenset({"investigation"}),
    "reinstate": frozenset({"investigation_closed"}),
}
_MAX_ID_CHARS = 32


@dataclass(frozen=True, slots=True)
class CredentialRecord:
    credential: Credential
    employee: Employee
    status_uri: str


@dataclass(frozen=True, slots=True)
class ReissueResult:
    application: ApplicationRecord
    revoked: StatusChange | None


def _check_reason(reason: str, allowed: Sequence[str]) -> None:
    if reason not in allowed:
        raise LifecycleError(
            IssuerCode.invalid_reason, f"reason must be one of: {', '.join(allowed)}"
        )


def _check_role(principal: Principal) -> None:
    """Checked before anything is looked up."""
    if principal.role not in (Role.hr_admin, Role.hr_officer, Role.department_head):
        raise AuthError(
            IssuerCode.forbidden_role, "only HR and department heads manage credentials"
        )


def _check_reason_for_role(principal: Principal, action: str, reason: str) -> None:
    """A department head: operational reasons only. Checked before anything is looked up, so the
    answer does not depend on what exists."""
    if principal.role is Role.department_head and reason not in _DEPARTMENT_HEAD_MAY[action]:
        raise AuthError(IssuerCode.forbidden_role, f"reason {reason} is for HR administrators")


def _load_for_update(
    session: Session, principal: Principal, credential_id: str
) -> tuple[Credential, Employee]:
    """The credential and its holder, locked; `credential_not_found` alike for a credential that
    does not exist and for one outside the principal's scope (a department, an agency)."""
    row = (
        session.execute(
            select(Credential, Employee)
            .join(Employee, Employee.id == Credential.employee_id)
            .where(Credential.id == credential_id)
            .with_for_update(of=Credential)
            .execution_options(populate_existing=True)
        ).first()
        if 0 < len(credential_id) <= _MAX_ID_CHARS
        else None
    )
    if row is None or not may_see(principal, row[1]):
        raise LifecycleError(IssuerCode.credential_not_found, "no such credential")
    return row[0], row[1]


def _comment(comment: str) -> dict[str, DetailValue]:
    return {"comment": comment[:500]} if comment.strip() else {}


@dataclass(frozen=True, slots=True)
class _Transition:
    """One status change by hand: its name, target state, reasons, and refusals by state."""

    verb: str
    new_state: str
    reasons: tuple[str, ...]
    refusals: Mapping[str, tuple[IssuerCode, str]]


_REVOKE = _Transition(
    "revoke",
    "revoked",
    REVOCATION_REASONS,
    {"revoked": (IssuerCode.credential_already_revoked, "credential already revoked")},
)
_SUSPEND = _Transition(
    "suspend",
    "suspended",
    SUSPENSION_REASONS,
    {
        "revoked": (IssuerCode.credential_revoked, "a revoked credential stays revoked"),
        "suspended": (IssuerCode.credential_already_suspended, "already suspended"),
    },
)
_REINSTATE = _Transition(
    "reinstate",
    "active",
    REINSTATEMENT_REASONS,
    {
        "revoked": (IssuerCode.credential_revoked, "a revoked credential stays revoked"),
        "active": (IssuerCode.credential_not_suspended, "credential is not suspended"),
    },
)


def _transition(
    session: Session,
    principal: Principal,
    credential_id: str,
    transition: _Transition,
    *,
    reason: str,
    comment: str,
    publisher: StatusListPublisher,
    keyring: IssuerKeyring,
    now: datetime,
) -> StatusChange:
    _check_role(principal)
    _check_reason(reason, transition.reasons)
    _check_reason_for_role(principal, transition.verb, reason)
    credential, employee = _load_for_update(session, principal, credential_id)
    refusal = transition.refusals.get(credential.state)
    if refusal is not None:
        raise LifecycleError(*refusal)
    return change_states(
        session,
        [(credential, employee)],
        new_state=transition.new_state,
        reason=reason,
        actor=principal.actor,
        role=principal.role.value,
        publisher=publisher,
        keyring=keyring,
        now=now,
        detail=_comment(comment),
    )[0]


def revoke_credential(
    session: Session,
    principal: Principal,
    credential_id: str,
    *,
    reason: str,
    comment: str = "",
    publisher: StatusListPublisher,
    keyring: IssuerKeyring,
    now: datetime,
) -> StatusChange:
    """Revoke (INVALID, irreversible) an active or suspended credential."""
    return _transition(
        session,
        principal,
        credential_id,
        _REVOKE,
        reason=reason,
        comment=comment,
        publisher=publisher,
        keyring=keyring,
        now=now,
    )


def suspend_credential(
    session: Session,
    principal: Principal,
    credential_id: str,
    *,
    reason: str,
    comment: str = "",
    publisher: StatusListPublisher,
    keyring: IssuerKeyring,
    now: datetime,
) -> StatusChange:
    """Suspend (SUSPENDED, reversible) an active credential."""
    return _transition(
        session,
        principal,
        credential_id,
        _SUSPEND,
        reason=reason,
        comment=comment,
        publisher=publisher,
        keyring=keyring,
        now=now,
    )


def reinstate_credential(
    session: Session,
    principal: Principal,
    credential_id: str,
    *,
    reason: str,
    comment: str = "",
    publisher: StatusListPublisher,
    keyring: IssuerKeyring,
    now: datetime,
) -> StatusChange:
    """Reinstate (VALID) a suspended credential; a revoked one cannot come back."""
    return _transition(
        session,
        principal,
        credential_id,
        _REINSTATE,
        reason=reason,
        comment=comment,
        publisher=publisher,
        keyring=keyring,
        now=now,
    )


def live_credential(session: Session, principal: Principal, employee_number: str) -> Credential:
    """The employee's active or suspended credential (within the caller's scope)."""
    employee = get_employee(session, principal, employee_number)
    credential = session.scalar(
        select(Credential).where(
            Credential.employee_id == employee.id, Credential.state.in_(LIVE_CREDENTIAL_STATES)
        )
    )
    if credential is None:
        raise LifecycleError(IssuerCode.credential_not_found, "employee has no live credential")
    return credential


def list_credentials(
    session: Session, principal: Principal, employee_number: str
) -> list[CredentialRecord]:
    """Every credential issued to an employee, newest first."""
    employee = get_employee(session, principal, employee_number)
    rows = session.execute(
        select(Credential, StatusListRecord.uri)
        .join(StatusListRecord, StatusListRecord.id == Credential.status_list_id)
        .where(Credential.employee_id == employee.id)
        .order_by(Credential.issued_at.desc(), Credential.id)
    ).all()
    return [CredentialRecord(c, employee, uri) for c, uri in rows]


def locked_live_credential(session: Session, employee: Employee) -> Credential | None:
    """The employee's active or suspended credential, locked until the transaction ends."""
    return session.execute(
        select(Credential)
        .where(Credential.employee_id == employee.id, Credential.state.in_(LIVE_CREDENTIAL_STATES))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar()


def file_reissue(
    session: Session,
    principal: Principal,
    employee: Employee,
    live: Credential | None,
    *,
    phone: str,
    new_state: str | None,
    reason: str,
    publisher: StatusListPublisher,
    keyring: IssuerKeyring,
    now: datetime,
) -> tuple[ApplicationRecord, StatusChange | None]:
    """File the reissue application to `phone`, then, given `new_state`, put the live
    credential in it for `reason`, in the caller's transaction (a refused application changes
    nothing); the state change's audit entry names the application."""
    record = file_application(
        session,
        principal,
        employee_number=employee.employee_number,
        phone=phone,
        reason="reissue",
        now=now,
    )
    if new_state is None or live is None:
        return record, None
    change = change_states(
        session,
        [(live, employee)],
        new_state=new_state,
        reason=reason,
        actor=principal.actor,
        role=principal.role.value,
        publisher=publisher,
        keyring=keyring,
        now=now,
        detail={"application": record.application.id},
    )[0]
    return record, change


def reissue_credential(
    session: Session,
    principal: Principal,
    employee_number: str,
    *,
    phone: str | None = None,
    reason: str,
    comment: str = "",
    publisher: StatusListPublisher,
    keyring: IssuerKeyring,
    now: datetime,
) -> ReissueResult:
    """HR files a reissue application on the employee's behalf, to a phone on record (by
    default the one the live credential went to, else the HR record's), for the department head
    to approve; the offer goes out on approval. A new phone is only ever named by the employee's
    own application; a department head approves, revokes or suspends, and never files.

    `phone_lost`: the live credential is revoked now, before the new one is even approved.
    `phone_changed`: the old phone keeps working until the new credential is issued, which
    revokes it (one phone).
    """
    _check_role(principal)
    if principal.role is not Role.hr_admin:
        raise AuthError(
            IssuerCode.reissue_requires_employee_application,
            "the employee applies for the new credential and the department head approves it",
        )
    _check_reason(reason, REISSUE_REASONS)
    employee = get_employee(session, principal, employee_number)
    if employee.employment_status != "active":
        raise HrError(IssuerCode.employee_not_active, "employee is not in active service")
    live = locked_live_credential(session, employee)
    if live is not None and live.state == "suspended":
        raise LifecycleError(
            IssuerCode.credential_suspended,
            "the credential is suspended; reinstate or revoke it first",
        )
    if phone is None:
        known = phones_on_record(session, employee, live)
        if not known:
            raise AuthError(
                IssuerCode.phone_not_on_record, "no phone on record: the employee applies"
            )
        phone = known[0]
    record, revoked = file_reissue(
        session,
        principal,
        employee,
        live,
        phone=phone,
        new_state="revoked" if reason == "phone_lost" else None,
        reason=reason,
        publisher=publisher,
        keyring=keyring,
        now=now,
    )
    append_audit(
        session,
        actor=principal.actor,
        role=principal.role.value,
        action="credential.reissue",
        subject=f"employee:{employee.employee_number}",
        now=now,
        detail={
            "application": record.application.id,
            "reason": reason,
            "revoked_now": revoked is not None,
            **_comment(comment),
        },
    )
    return ReissueResult(record, revoked)
