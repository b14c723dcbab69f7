"""What an HR change does to the employee's credential (re-import or `PUT /hr/employees/...`).

A credential carries claims from the HR record and must not outlive the employment it attests:
- a changed claim (name, department, position, grade, agency, ...) or an earlier retirement date
  than the credential's expiry: revoke (`info_changed`) and send a new offer to the phone it was
  issued to, else the HR record's, never one an operator names (not when the employee is away
  or the credential was suspended for an investigation);
- retirement or dismissal: revoke (`retired`, `dismissed`);
- leave of absence: suspend (`leave_of_absence`); back from leave: reinstate (`leave_ended`).
`plan_hr_actions` only reads (the dry run shows it); `apply_hr_actions` carries it out, one status
list publication per list and reason group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.api_tokens import Principal, Role
from issuer.audit import append_audit
from issuer.config import IssuerConfig
from issuer.errors import AuthError, HrError, IssuerCode
from issuer.hr.applications import file_preapproved_application
from issuer.hr.importing import HrSource, ImportResult, import_records
from issuer.keys.signing import IssuerKeyring
from issuer.lifecycle.state_changes import change_states
from issuer.models import LIVE_CREDENTIAL_STATES, Credential, Employee
from issuer.oid4vci.issuance import KST
from issuer.status.publication import StatusListPublisher
from schemas.hr_record import HrRecord

__all__ = [
    "CLAIM_FIELDS",
    "EmployeeChange",
    "HrAction",
    "apply_hr_actions",
    "plan_hr_actions",
    "update_employee",
]

CLAIM_FIELDS = frozenset(
    {
        "name",
        "name_en",
        "agency",
        "agency_code",
        "department",
        "position",
        "grade",
        "employment_type",
        "photo",
    }
)
"""HR fields that end up in the credential (`issuer.oid4vci.issuance.employee_claims`)."""

REVOKE_AND_REOFFER = "revoke_and_reoffer"
REVOKE = "revoke"
SUSPEND = "suspend"
REINSTATE = "reinstate"


@dataclass(frozen=True, slots=True)
class HrAction:
    """One planned (or, after `apply_hr_actions`, done) consequence of an HR change."""

    employee_number: str
    action: str
    reason: str
    changed_fields: tuple[str, ...]
    credential_id: str | None
    application_id: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class EmployeeChange:
    created: bool
    changed_fields: tuple[str, ...]
    actions: list[HrAction]


def _retirement_cut(employee: Employee, credential: Credential) -> bool:
    """The (new) retirement date ends service before the credential expires."""
    if employee.retirement_date is None:
        return False
    end = datetime.combine(employee.retirement_date + timedelta(days=1), time(), KST)
    return end.astimezone(UTC) < credential.expires_at


def _plan_one(
    employee: Employee, credential: Credential, fields: tuple[str, ...]
) -> HrAction | None:
    number, cid = employee.employee_number, credential.id
    status = employee.employment_status
    claims_changed = bool(CLAIM_FIELDS.intersection(fields)) or (
        "retirement_date" in fields and _retirement_cut(employee, credential)
    )
    if status in ("retired", "dismissed"):
        return HrAction(number, REVOKE, status, fields, cid)
    if status == "leave":
        if claims_changed:
            return HrAction(
                number, REVOKE, "info_changed", fields, cid, note="no new offer while on leave"
            )
        if credential.state == "active":
            return HrAction(number, SUSPEND, "leave_of_absence", fields, cid)
        return None
    on_leave = credential.state == "suspended" and (
        credential.suspension_reason == "leave_of_absence"
    )
    if claims_changed:
        if credential.state == "suspended" and not on_leave:
            return HrAction(
                number,
                REVOKE,
                "info_changed",
                fields,
                cid,
                note="suspended: no new offer until HR decides",
            )
        return HrAction(number, REVOKE_AND_REOFFER, "info_changed", fields, cid)
    if on_leave and "employment_status" in fields:
        return HrAction(number, REINSTATE, "leave_ended", fields, cid)
    return None


def plan_hr_actions(
    session: Session, changes: Sequence[tuple[str, tuple[str, ...]]]
) -> list[HrAction]:
    """The lifecycle actions the (already applied, not yet committed) HR changes call for."""
    fields_of = dict(changes)
    if not fields_of:
        return []
    plan: list[HrAction] = []
    numbers = sorted(fields_of)
    for start in range(0, len(numbers), 500):
        rows = session.execute(
            select(Employee, Credential)
            .join(Credential, Credential.employee_id == Employee.id)
            .where(
                Employee.employee_number.in_(numbers[start : start + 500]),
                Credential.state.in_(LIVE_CREDENTIAL_STATES),
            )
            .order_by(Employee.employee_number)
        ).all()
        for employee, credential in rows:
            action = _plan_one(employee, credential, fields_of[employee.employee_number])
            if action is not None:
                plan.append(action)
    return plan


def apply_hr_actions(
    session: Session,
    plan: Sequence[HrAction],
    *,
    actor: str,
    role: str,
    config: IssuerConfig,
    publisher: StatusListPublisher,
    keyring: IssuerKeyring,
    now: datetime,
) -> list[HrAction]:
    """Carry out the plan in the caller's transaction; returns it with application ids."""
    if not plan:
        return []
    ids = [a.credential_id for a in plan]
    rows = {
        c.id: (c, e)
        for c, e in session.execute(
            select(Credential, Employee)
            .join(Employee, Employee.id == Credential.employee_id)
            .where(Credential.id.in_(ids))
            .with_for_update(of=Credential)
            .execution_options(populate_existing=True)
        ).all()
    }
    groups: dict[tuple[str, str], list[tuple[Credential, Employee]]] = defaultdict(list)
    new_state = {
        REVOKE_AND_REOFFER: "revoked",
        REVOKE: "revoked",
        SUSPEND: "suspended",
        REINSTATE: "active",
    }
    for action in plan:
        target = rows.get(action.credential_id or "")
        if target is None or target[0].state not in LIVE_CREDENTIAL_STATES:
            continue  # changed by someone else since the plan was made
        groups[(new_state[action.action], action.reason)].append(target)
    for (state, reason), targets in groups.items():
        change_states(
            session,
            targets,
            new_state=state,
            reason=reason,
            actor=actor,
            role=role,
            publisher=publisher,
            keyring=keyring,
            now=now,
            detail={"cause": "hr_change"},
        )
    done: list[HrAction] = []
    for action in plan:
        if action.action != REVOKE_AND_REOFFER or action.credential_id not in rows:
            done.append(action)
            continue
        credential, employee = rows[action.credential_id]
        try:
            record = file_preapproved_application(
                session,
                employee,
                previous=credential,
                actor=actor,
                role=role,
                comment=f"HR change: {', '.join(action.changed_fields)}",
                config=config,
                now=now,
            )
        except HrError:
            done.append(_replace(action, note="an open application will issue the new data"))
            continue
        if record is None:
            done.append(_replace(action, note="no phone on record: no new offer"))
            continue
        append_audit(
            session,
            actor=actor,
            role=role,
            action="credential.reissue",
            subject=f"employee:{employee.employee_number}",
            now=now,
            detail={"application": record.application.id, "reason": "info_changed"},
        )
        done.append(_replace(action, application_id=record.application.id))
    return done


def _replace(action: HrAction, **changes: Any) -> HrAction:
    fields = {name: getattr(action, name) for name in HrAction.__slots__}
    fields.update(changes)
    return HrAction(**fields)


def _source_of(employee: Employee | None) -> HrSource:
    if employee is not None and employee.hr_source == HrSource.local.system:
        return HrSource.local
    return HrSource.central


def update_employee(
    session: Session,
    principal: Principal,
    employee_number: str,
    record: Mapping[str, Any],
    *,
    dry_run: bool,
    config: IssuerConfig,
    publisher: StatusListPublisher,
    keyring: IssuerKeyring,
    now: datetime,
) -> EmployeeChange:
    """Create or replace one employee's HR record (HR administrators) and apply the lifecycle
    consequences; with `dry_run` the caller rolls back and nothing is applied."""
    if principal.role is not Role.hr_admin:
        raise AuthError(IssuerCode.forbidden_role, "only HR administrators change HR records")
    data = dict(record)
    if data.setdefault("employee_number", employee_number) != employee_number:
        raise HrError(IssuerCode.invalid_request, "employee_number differs from the URL")
    try:
        validated = HrRecord.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "record" for e in exc.errors()})
        raise HrError(
            IssuerCode.invalid_request, "invalid or missing: " + ", ".join(fields[:10])
        ) from None
    existing = session.scalar(select(Employee).where(Employee.employee_number == employee_number))
    result: ImportResult = import_records(
        session, [validated], source=_source_of(existing), now=now, actor=principal.actor
    )
    plan = plan_hr_actions(session, result.changes)
    changed = result.changes[0][1] if result.changes else ()
    if dry_run:
        return EmployeeChange(result.created == 1, changed, plan)
    done = apply_hr_actions(
        session,
        plan,
        actor=principal.actor,
        role=principal.role.value,
        config=config,
        publisher=publisher,
        keyring=keyring,
        now=now,
    )
    return EmployeeChange(result.created == 1, changed, done)
