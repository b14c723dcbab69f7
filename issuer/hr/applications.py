"""Applications for a credential: file, approve or reject, list and view (issue 3, the flow).

Who may do what (`Principal` roles): an employee files for themself, an agency officer for
employees dispatched to their agency, the department head of the employee's department decides,
`hr_admin` may do everything else. Only the employee (or, for a dispatched employee, the agency
officer) names a phone: HR may file on the employee's behalf only to a phone on record
(`phones_on_record`), and nobody approves an application they filed, so a credential never goes
to a phone of one person's choosing. Approval creates the offer and queues both SMS in the same
transaction; a conditional UPDATE makes concurrent approvals yield exactly one offer.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer.api_tokens import Principal, Role
from issuer.audit import append_audit
from issuer.config import IssuerConfig
from issuer.errors import AuthError, HrError, IssuerCode
from issuer.messages.outbox import REDACTED, enqueue_message, outbox_sealer
from issuer.models import LIVE_CREDENTIAL_STATES, Application, Credential, Employee, Offer
from issuer.oid4vci.offers import create_offer
from schemas.hr_record import normalize_phone
from vc.openid4vci import credential_offer_uri_link

__all__ = [
    "OFFER_LINK_SMS",
    "TX_CODE_SMS",
    "ApplicationRecord",
    "decide_application",
    "file_application",
    "file_preapproved_application",
    "get_application",
    "get_employee",
    "list_applications",
    "may_see",
    "phones_on_record",
    "send_offer",
]

REASONS = ("new", "reissue")
OFFER_LINK_SMS = "offer_link"
"""The outbox `kind` of an offer's first SMS, its link; the second, `TX_CODE_SMS`, its code."""
TX_CODE_SMS = "tx_code"


@dataclass(frozen=True, slots=True)
class ApplicationRecord:
    application: Application
    employee: Employee
    offer: Offer | None


def may_see(principal: Principal, employee: Employee) -> bool:
    match principal.role:
        case Role.hr_admin:
            return True
        case Role.department_head:
            return employee.department_code == principal.department_code
        case Role.agency_officer:
            return employee.dispatched_to_agency_code == principal.agency_code
        case Role.employee:
            return employee.employee_number == principal.employee_number
        case Role.hr_officer:
            return principal.agency_code in (
                employee.agency_code,
                employee.dispatched_to_agency_code,
            )
    return False  # pragma: no cover


def get_employee(session: Session, principal: Principal, employee_number: str) -> Employee:
    """The employee, if the principal may see them; one answer for "no such employee" and
    "outside your scope", so a token cannot find out who exists beyond its scope."""
    employee = session.scalar(select(Employee).where(Employee.employee_number == employee_number))
    if employee is None or not may_see(principal, employee):
        raise HrError(IssuerCode.employee_not_found, "no such employee")
    return employee


def phones_on_record(
    session: Session, employee: Employee, credential: Credential | None = None
) -> list[str]:
    """The phones the issuer already knows as the employee's, preferred first: the one
    `credential` (by default the employee's live credential) was offered to, then the HR
    record's. The only phones anyone but the employee may send a credential to."""
    if credential is None:
        credential = session.scalar(
            select(Credential)
            .where(
                Credential.employee_id == employee.id,
                Credential.state.in_(LIVE_CREDENTIAL_STATES),
            )
            .order_by(Credential.issued_at.desc())
            .limit(1)
        )
    phones: list[str] = []
    if credential is not None and credential.application_id is not None:
        phone = session.scalar(
            select(Application.phone).where(Application.id == credential.application_id)
        )
        if phone:
            phones.append(phone)
    if employee.phone and employee.phone not in phones:
        phones.append(employee.phone)
    return phones


def _lapse_dead_approvals(session: Session, employee_id: int, now: datetime) -> None:
    """An approved application whose offer can no longer be redeemed no longer counts as open."""
    rows = session.execute(
        select(Application, Offer)
        .join(Offer, Offer.application_id == Application.id)
        .where(Application.employee_id == employee_id, Application.state == "approved")
    ).all()
    for application, offer in rows:
        if offer.state != "active" or offer.expires_at <= now:
            application.state = "lapsed"


def file_application(
    session: Session,
    principal: Principal,
    *,
    employee_number: str | None,
    phone: str,
    reason: str,
    now: datetime,
) -> ApplicationRecord:
    """File an application; one open application per employee. The employee (or a dispatched
    employee's agency officer) names any phone; HR only one of `phones_on_record`."""
    if principal.role is Role.department_head:
        raise AuthError(IssuerCode.forbidden_role, "department heads decide, they do not apply")
    if principal.role is Role.employee:
        if employee_number not in (None, principal.employee_number):
            raise AuthError(IssuerCode.forbidden_scope, "employees apply for themselves only")
        employee_number = principal.employee_number
    if not employee_number:
        raise HrError(IssuerCode.invalid_request, "employee_number is required")
    if reason not in REASONS:
        raise HrError(IssuerCode.invalid_request, "reason must be new or reissue")
    try:
        phone = normalize_phone(phone)
    except ValueError:
        raise HrError(IssuerCode.invalid_request, "phone is not a Korean mobile number") from None
    employee = get_employee(session, principal, employee_number)
    if employee.employment_status != "active":
        raise HrError(IssuerCode.employee_not_active, "employee is not in active service")
    if principal.role not in (Role.employee, Role.agency_officer) and (
        phone not in phones_on_record(session, employee)
    ):
        raise AuthError(
            IssuerCode.phone_not_on_record,
            "a new phone is named by the employee's own application",
        )
    _lapse_dead_approvals(session, employee.id, now)
    application = Application(
        id=uuid.uuid4().hex,
        employee_id=employee.id,
        reason=reason,
        phone=phone,
        state="pending",
        filed_by=principal.actor,
        filed_by_role=principal.role.value,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(application)
    except IntegrityError:
        raise HrError(
            IssuerCode.application_open, "employee already has an open application"
        ) from None
    append_audit(
        session,
        actor=principal.actor,
        role=principal.role.value,
        action="application.file",
        subject=f"employee:{employee.employee_number}",
        now=now,
        detail={"application": application.id, "reason": reason},
    )
    return ApplicationRecord(application, employee, None)


def _load(
    session: Session, application_id: str, principal: Principal
) -> tuple[Application, Employee]:
    """The application and its employee, the same `application_not_found` whether it does not
    exist or is outside the principal's scope."""
    row = (
        session.execute(
            select(Application, Employee)
            .join(Employee, Employee.id == Application.employee_id)
            .where(Application.id == application_id)
        ).first()
        if 0 < len(application_id) <= 32
        else None
    )
    if row is None or not may_see(principal, row[1]):
        raise HrError(IssuerCode.application_not_found, "no such application")
    return row[0], row[1]


def _sms_texts(link: str, tx_code: str, expires_at: datetime) -> tuple[str, str]:
    expires = expires_at.strftime("%Y-%m-%d %H:%M UTC")
    link_text = (
        f"[모바일 공무원증] 발급 링크 / Issuance link: {link} (유효기한 / valid until {expires})"
    )
    code_text = (
        f"[모바일 공무원증] 인증번호 / Transaction code: {tx_code} "
        "(링크와 함께 타인에게 알리지 마세요 / never share it)"
    )
    return link_text, code_text


def send_offer(
    session: Session,
    application: Application,
    employee: Employee,
    *,
    config: IssuerConfig,
    now: datetime,
) -> Offer:
    """Create the approved application's offer and queue its two SMS (link, then tx_code),
    sealed; operators see them with the offer reference and the tx_code cut out."""
    secrets = create_offer(session, application, config=config, now=now)
    texts = _sms_texts(secrets.link, secrets.tx_code, secrets.expires_at)
    cut_link = credential_offer_uri_link(config.offer_uri("")) + REDACTED
    shown = _sms_texts(cut_link, REDACTED, secrets.expires_at)
    sealer = outbox_sealer(config.secret_key)
    for kind, text, seen in zip((OFFER_LINK_SMS, TX_CODE_SMS), texts, shown, strict=True):
        enqueue_message(
            session,
            channel="sms",
            recipient=application.phone,
            kind=kind,
            subject=f"employee:{employee.employee_number}",
            text=text,
            shown=seen,
            sealer=sealer,
            now=now,
        )
    offer = session.scalar(select(Offer).where(Offer.application_id == application.id))
    assert offer is not None
    return offer


def file_preapproved_application(
    session: Session,
    employee: Employee,
    *,
    previous: Credential,
    actor: str,
    role: str,
    comment: str,
    config: IssuerConfig,
    now: datetime,
) -> ApplicationRecord | None:
    """The issuer's own re-offer for a credential it revoked (changed claims, key compromise):
    a reissue application approved at once, its offer and SMS queued in this transaction, to
    the phone `previous` was offered to, else the HR record's; never to a phone an operator
    names. None when there is no phone on record."""
    phones = phones_on_record(session, employee, previous)
    if not phones:
        return None
    phone = phones[0]
    _lapse_dead_approvals(session, employee.id, now)
    application = Application(
        id=uuid.uuid4().hex,
        employee_id=employee.id,
        reason="reissue",
        phone=phone,
        state="approved",
        filed_by=actor,
        filed_by_role=role,
        decided_by=actor,
        decision_comment=comment[:1000],
        created_at=now,
        decided_at=now,
    )
    try:
        with session.begin_nested():
            session.add(application)
    except IntegrityError:
        raise HrError(
            IssuerCode.application_open, "employee already has an open application"
        ) from None
    offer = send_offer(session, application, employee, config=config, now=now)
    return ApplicationRecord(application, employee, offer)


def decide_application(
    session: Session,
    principal: Principal,
    application_id: str,
    *,
    approve: bool,
    comment: str,
    config: IssuerConfig,
    now: datetime,
) -> ApplicationRecord:
    """Approve (creating the offer and queuing both SMS) or reject, with a comment. The filer
    may withdraw by rejecting, never approve: an application needs a second person."""
    if principal.role not in (Role.department_head, Role.hr_admin):
        raise AuthError(IssuerCode.forbidden_role, "only department heads decide applications")
    application, employee = _load(session, application_id, principal)
    if not approve and not comment.strip():
        raise HrError(IssuerCode.invalid_request, "a rejection needs a comment")
    if approve and application.filed_by == principal.actor:
        raise AuthError(IssuerCode.approver_is_filer, "someone other than its filer approves it")
    if approve and employee.employment_status != "active":
        raise HrError(IssuerCode.employee_not_active, "employee is not in active service")
    decided = session.execute(
        update(Application)
        .where(Application.id == application.id, Application.state == "pending")
        .values(
            state="approved" if approve else "rejected",
            decided_by=principal.actor,
            decision_comment=comment,
            decided_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if decided.rowcount != 1:  # type: ignore[attr-defined]
        raise HrError(IssuerCode.application_not_pending, "application was already decided")
    session.refresh(application)
    offer = send_offer(session, application, employee, config=config, now=now) if approve else None
    append_audit(
        session,
        actor=principal.actor,
        role=principal.role.value,
        action="application.approve" if approve else "application.reject",
        subject=f"employee:{employee.employee_number}",
        now=now,
        detail={"application": application.id, "filed_by": application.filed_by},
    )
    return ApplicationRecord(application, employee, offer)


def get_application(
    session: Session, principal: Principal, application_id: str
) -> ApplicationRecord:
    application, employee = _load(session, application_id, principal)
    offer = session.scalar(select(Offer).where(Offer.application_id == application.id))
    return ApplicationRecord(application, employee, offer)


def list_applications(
    session: Session, principal: Principal, *, state: str | None = None, limit: int = 100
) -> Sequence[ApplicationRecord]:
    """Applications the principal may see, newest first."""
    query = (
        select(Application, Employee, Offer)
        .join(Employee, Employee.id == Application.employee_id)
        .outerjoin(Offer, Offer.application_id == Application.id)
        .order_by(Application.created_at.desc(), Application.id)
        .limit(limit)
    )
    match principal.role:
        case Role.department_head:
            query = query.where(Employee.department_code == principal.department_code)
        case Role.agency_officer:
            query = query.where(Employee.dispatched_to_agency_code == principal.agency_code)
        case Role.employee:
            query = query.where(Employee.employee_number == principal.employee_number)
        case Role.hr_officer:
            query = query.where(
                (Employee.agency_code == principal.agency_code)
                | (Employee.dispatched_to_agency_code == principal.agency_code)
            )
    if state is not None:
        query = query.where(Application.state == state)
    return [ApplicationRecord(a, e, o) for a, e, o in session.execute(query).all()]
