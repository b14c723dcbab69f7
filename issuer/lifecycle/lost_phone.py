"""An employee reports their phone lost (분실 신고): the credential is suspended at once and a
reissue application goes to the department head, in the caller's one transaction.

Suspended, not revoked: the report comes from the employee's own sign-in, so a phone found again
can be reinstated by HR, and the department head still decides the new credential. Its reason,
`LOST_PHONE_SUSPENSION`, is the one suspension a reissue may replace: when the new credential is
issued the suspended one is superseded (`issuer.oid4vci.issuance`), while any other suspension
keeps blocking issuance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from issuer.api_tokens import Principal, Role
from issuer.audit import append_audit
from issuer.errors import AuthError, IssuerCode, LifecycleError
from issuer.hr.applications import ApplicationRecord, get_employee
from issuer.keys.signing import IssuerKeyring
from issuer.lifecycle.credentials import file_reissue, locked_live_credential
from issuer.lifecycle.state_changes import LOST_PHONE_SUSPENSION, StatusChange
from issuer.status.publication import StatusListPublisher

__all__ = ["LostPhoneReport", "report_lost_phone"]


@dataclass(frozen=True, slots=True)
class LostPhoneReport:
    suspended: StatusChange | None
    """None when the credential was suspended for the lost phone already (a second report)."""
    application: ApplicationRecord


def report_lost_phone(
    session: Session,
    principal: Principal,
    *,
    phone: str,
    publisher: StatusListPublisher,
    keyring: IssuerKeyring,
    now: datetime,
) -> LostPhoneReport:
    """Suspend the employee's own live credential (reason `phone_lost`) and file their reissue
    application to `phone`, both or neither. Employees only, for themselves; refused when there
    is no live credential, when it is suspended for another reason (a lost phone does not lift
    an investigation), or when an application is open already (`application_open`: HR
    suspends then); a refusal writes nothing."""
    if principal.role is not Role.employee or principal.employee_number is None:
        raise AuthError(IssuerCode.forbidden_role, "employees report their own phone lost")
    employee = get_employee(session, principal, principal.employee_number)
    live = locked_live_credential(session, employee)
    if live is None:
        raise LifecycleError(IssuerCode.credential_not_found, "no live credential to report")
    if live.state == "suspended" and live.suspension_reason != LOST_PHONE_SUSPENSION:
        raise LifecycleError(
            IssuerCode.credential_suspended,
            "the credential is suspended for another reason; HR reinstates or revokes it",
        )
    record, suspended = file_reissue(
        session,
        principal,
        employee,
        live,
        phone=phone,
        new_state="suspended" if live.state == "active" else None,
        reason=LOST_PHONE_SUSPENSION,
        publisher=publisher,
        keyring=keyring,
        now=now,
    )
    append_audit(
        session,
        actor=principal.actor,
        role=principal.role.value,
        action="credential.report_lost",
        subject=f"employee:{employee.employee_number}",
        now=now,
        detail={
            "credential_id": live.id,
            "application": record.application.id,
            "suspended_now": suspended is not None,
        },
    )
    return LostPhoneReport(suspended, record)
