"""HTTP routes of the credential lifecycle in the HR API (`/hr/...`).

List an employee's credentials; revoke, suspend or reinstate one (each with a reason); reissue
(HR files an application to a phone on record, for the department head to approve); change an
employee's HR record (the lifecycle follows: revoke and re-offer, revoke, suspend or reinstate;
`dry_run=true` only reports); and suspend or revoke every credential of an agency or
department. Each handler opens one transaction (mass actions: one per batch) and calls one
service function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from issuer.api_tokens import Principal
from issuer.context import IssuerContext, issuer_context
from issuer.hr.api import Caller, application_view
from issuer.hr.changes import HrAction, update_employee
from issuer.lifecycle.credentials import (
    CredentialRecord,
    list_credentials,
    reinstate_credential,
    reissue_credential,
    revoke_credential,
    suspend_credential,
)
from issuer.lifecycle.mass_actions import MassScope, plan_mass_action, run_mass_action
from issuer.lifecycle.state_changes import StatusChange
from schemas.hr_api import ErrorBody
from schemas.lifecycle_api import (
    CredentialView,
    EmployeeChangeView,
    HrActionView,
    MassActionRequest,
    MassActionView,
    ReasonRequest,
    ReissueRequest,
    ReissueView,
    StatusChangeView,
)

__all__ = ["lifecycle_router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 429)
}
lifecycle_router = APIRouter(
    prefix="/hr", tags=["Credential lifecycle (자격 관리)"], responses=_ERRORS
)
Ctx = Annotated[IssuerContext, Depends(issuer_context)]


def _credential_view(record: CredentialRecord) -> CredentialView:
    c = record.credential
    return CredentialView(
        id=c.id,
        employee_number=record.employee.employee_number,
        state=c.state,
        kid=c.kid,
        status_uri=record.status_uri,
        status_idx=c.status_idx,
        issued_at=c.issued_at,
        expires_at=c.expires_at,
        revoked_at=c.revoked_at,
        revocation_reason=c.revocation_reason,
        suspended_at=c.suspended_at,
        suspension_reason=c.suspension_reason,
    )


def _change_view(change: StatusChange) -> StatusChangeView:
    return StatusChangeView(
        credential_id=change.credential_id,
        employee_number=change.employee_number,
        before=change.before,
        after=change.after,
        reason=change.reason,
        status_list_id=change.status_list_id,
        status_idx=change.status_idx,
    )


def _action_view(action: HrAction) -> HrActionView:
    return HrActionView(
        employee_number=action.employee_number,
        action=action.action,
        reason=action.reason,
        changed_fields=list(action.changed_fields),
        credential_id=action.credential_id,
        application_id=action.application_id,
    )


@lifecycle_router.get("/employees/{employee_number}/credentials")
def credentials(employee_number: str, ctx: Ctx, principal: Caller) -> list[CredentialView]:
    """Every credential issued to the employee, newest first, with its state and status slot."""
    with ctx.unit_of_work() as session:
        return [_credential_view(r) for r in list_credentials(session, principal, employee_number)]


def _status_change(
    verb: Callable[..., StatusChange],
    credential_id: str,
    body: ReasonRequest,
    ctx: IssuerContext,
    principal: Principal,
) -> StatusChangeView:
    with ctx.unit_of_work() as session:
        change = verb(
            session,
            principal,
            credential_id,
            reason=body.reason,
            comment=body.comment,
            publisher=ctx.status,
            keyring=ctx.keyring,
            now=ctx.clock(),
        )
    return _change_view(change)


@lifecycle_router.post("/credentials/{credential_id}/revoke")
def revoke(
    credential_id: str, body: ReasonRequest, ctx: Ctx, principal: Caller
) -> StatusChangeView:
    """Revoke (폐지): INVALID in the status list, irreversible."""
    return _status_change(revoke_credential, credential_id, body, ctx, principal)


@lifecycle_router.post("/credentials/{credential_id}/suspend")
def suspend(
    credential_id: str, body: ReasonRequest, ctx: Ctx, principal: Caller
) -> StatusChangeView:
    """Suspend (정지): SUSPENDED in the status list until reinstated."""
    return _status_change(suspend_credential, credential_id, body, ctx, principal)


@lifecycle_router.post("/credentials/{credential_id}/reinstate")
def reinstate(
    credential_id: str, body: ReasonRequest, ctx: Ctx, principal: Caller
) -> StatusChangeView:
    """Reinstate (정지 해제): VALID again; only a suspended credential."""
    return _status_change(reinstate_credential, credential_id, body, ctx, principal)


@lifecycle_router.post("/employees/{employee_number}/reissue", status_code=201)
def reissue(employee_number: str, body: ReissueRequest, ctx: Ctx, principal: Caller) -> ReissueView:
    """Reissue (재발급), HR administrators: a pending application on the employee's behalf to a
    phone on record, which the department head approves (the offer goes out then). A new phone
    is the employee's own application (`POST /hr/applications`); a department head is refused
    (`reissue_requires_employee_application`). `phone_lost` revokes the old credential at once;
    `phone_changed` when the new one is issued."""
    with ctx.unit_of_work() as session:
        result = reissue_credential(
            session,
            principal,
            employee_number,
            phone=body.phone,
            reason=body.reason,
            comment=body.comment,
            publisher=ctx.status,
            keyring=ctx.keyring,
            now=ctx.clock(),
        )
        return ReissueView(
            application=application_view(result.application),
            revoked=_change_view(result.revoked) if result.revoked else None,
        )


@lifecycle_router.put("/employees/{employee_number}")
def change_employee(
    employee_number: str,
    ctx: Ctx,
    record: Annotated[
        dict[str, Any],
        Body(description="the employee's full HR record (columns of `mobileid hr import`)"),
    ],
    principal: Caller,
    dry_run: Annotated[bool, Query(description="report what would happen, change nothing")] = False,
) -> EmployeeChangeView:
    """Create or update an employee's HR record (HR administrators); a change to a claim the
    credential carries revokes it and sends a new offer, retirement or dismissal revokes, leave
    suspends, return from leave reinstates."""
    with ctx.unit_of_work() as session:
        outcome = update_employee(
            session,
            principal,
            employee_number,
            record,
            dry_run=dry_run,
            config=ctx.config,
            publisher=ctx.status,
            keyring=ctx.keyring,
            now=ctx.clock(),
        )
        view = EmployeeChangeView(
            employee_number=employee_number,
            created=outcome.created,
            changed_fields=list(outcome.changed_fields),
            dry_run=dry_run,
            actions=[_action_view(a) for a in outcome.actions],
        )
        if dry_run:
            session.rollback()
    if not dry_run and any(a.application_id for a in outcome.actions):
        ctx.wake_outbox()
    return view


@lifecycle_router.post("/mass-actions")
def mass_action(body: MassActionRequest, ctx: Ctx, principal: Caller) -> MassActionView:
    """Suspend or revoke every live credential of an agency or department (HR administrators),
    one transaction per batch; a rerun after an interruption continues where it stopped."""
    with ctx.unit_of_work() as session:
        scope = MassScope.parse(agency_code=body.agency_code, department_code=body.department_code)
        plan = plan_mass_action(session, principal, scope, action=body.action, reason=body.reason)
    if body.dry_run:
        return MassActionView(
            action=plan.action,
            scope=scope.label,
            dry_run=True,
            matched=plan.matched,
            changed=0,
            batches=0,
        )
    result = run_mass_action(
        plan,
        unit_of_work=ctx.unit_of_work,
        publisher=ctx.status,
        keyring=lambda: ctx.keyring,
        clock=ctx.clock,
        batch_size=body.batch_size,
        comment=body.comment,
    )
    return MassActionView(
        action=plan.action,
        scope=scope.label,
        dry_run=False,
        matched=plan.matched,
        changed=result.changed,
        batches=result.batches,
    )
