"""HTTP routes of the HR API (`/hr/...`): file, decide, list and view applications.

Bearer tokens from `mobileid admin create-token`; a missing, unknown, expired or revoked token is
401 `unauthorized`, and too many of them from one address 429 `too_many_attempts` for a while
(`Retry-After`). A role that does not allow the action is 403 `forbidden_role`; what lies outside
the caller's scope is answered exactly as what does not exist (404 `employee_not_found`, ...), so
a token cannot find out who exists. Handlers are synchronous (FastAPI runs them in its thread
pool).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request

from issuer.api_tokens import Principal, Role, authenticate
from issuer.context import IssuerContext, issuer_context
from issuer.errors import AuthError, IssuerCode
from issuer.hr.applications import (
    ApplicationRecord,
    decide_application,
    file_application,
    get_application,
    get_employee,
    list_applications,
)
from schemas.hr_api import (
    ApplicationView,
    ApplyRequest,
    DecisionRequest,
    EmployeeView,
    ErrorBody,
    OfferView,
    PrincipalView,
)

__all__ = ["Caller", "application_view", "client_source", "hr_router", "token_principal"]

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 429)
}
hr_router = APIRouter(prefix="/hr", tags=["HR API (인사)"], responses=_ERRORS)
Ctx = Annotated[IssuerContext, Depends(issuer_context)]
Authorization = Annotated[str | None, Header(description="Bearer <token>")]


def client_source(request: Request) -> str:
    """The client's address as the server saw it: uvicorn reads `X-Forwarded-For` only from a
    proxy it trusts (FORWARDED_ALLOW_IPS, by default 127.0.0.1); this code never reads it."""
    return request.client.host if request.client else "unknown"


def token_principal(request: Request, ctx: Ctx, authorization: Authorization = None) -> Principal:
    """The caller's token, checked in a unit of work of its own before the handler runs (so a
    failed token is counted and committed although the request fails)."""
    with ctx.unit_of_work() as session:
        return authenticate(
            session,
            authorization,
            source=client_source(request),
            now=ctx.clock(),
            throttle=ctx.throttle,
        )


def current_principal(principal: Annotated[Principal, Depends(token_principal)]) -> Principal:
    """The caller of the HR API: any token but a `grant_reader` one, which reads grants only."""
    if principal.role is Role.grant_reader:
        raise AuthError(IssuerCode.forbidden_role, "a grant_reader token reads grants only")
    return principal


Caller = Annotated[Principal, Depends(current_principal)]


def _mask(phone: str) -> str:
    return f"{phone[:3]}-****-{phone[-4:]}" if len(phone) >= 10 else "***"


def application_view(record: ApplicationRecord) -> ApplicationView:
    a, e, o = record.application, record.employee, record.offer
    return ApplicationView(
        id=a.id,
        employee_number=e.employee_number,
        employee_name=e.name,
        department=e.department,
        reason=a.reason,
        phone=_mask(a.phone),
        state=a.state,
        filed_by=a.filed_by,
        created_at=a.created_at,
        decided_by=a.decided_by,
        decision_comment=a.decision_comment,
        decided_at=a.decided_at,
        offer=OfferView(state=o.state, expires_at=o.expires_at, tx_attempts=o.tx_attempts)
        if o is not None
        else None,
    )


@hr_router.get("/me")
def whoami(p: Caller) -> PrincipalView:
    """The role and scope of the calling token."""
    return PrincipalView(
        role=p.role.value,
        department_code=p.department_code,
        agency_code=p.agency_code,
        employee_number=p.employee_number,
    )


@hr_router.post("/applications", status_code=201)
def apply(body: ApplyRequest, ctx: Ctx, principal: Caller) -> ApplicationView:
    """File an application (employee for self, agency officer for dispatched employees)."""
    with ctx.unit_of_work() as session:
        record = file_application(
            session,
            principal,
            employee_number=body.employee_number,
            phone=body.phone,
            reason=body.reason,
            now=ctx.clock(),
        )
        return application_view(record)


@hr_router.get("/applications")
def applications(
    ctx: Ctx,
    principal: Caller,
    state: Annotated[str | None, Query(max_length=12)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ApplicationView]:
    """Applications visible to the caller, newest first."""
    with ctx.unit_of_work() as session:
        records = list_applications(session, principal, state=state, limit=limit)
        return [application_view(r) for r in records]


@hr_router.get("/applications/{application_id}")
def application(application_id: str, ctx: Ctx, principal: Caller) -> ApplicationView:
    with ctx.unit_of_work() as session:
        return application_view(get_application(session, principal, application_id))


def _decide(
    application_id: str,
    body: DecisionRequest,
    ctx: IssuerContext,
    principal: Principal,
    approve: bool,
) -> ApplicationView:
    with ctx.unit_of_work() as session:
        record = decide_application(
            session,
            principal,
            application_id,
            approve=approve,
            comment=body.comment,
            config=ctx.config,
            now=ctx.clock(),
        )
        view = application_view(record)
    if approve:
        ctx.wake_outbox()  # committed: the SMS may go now
    return view


@hr_router.post("/applications/{application_id}/approve")
def approve(
    application_id: str, body: DecisionRequest, ctx: Ctx, principal: Caller
) -> ApplicationView:
    """Approve (department head of the employee's department): creates the offer, sends SMS."""
    return _decide(application_id, body, ctx, principal, approve=True)


@hr_router.post("/applications/{application_id}/reject")
def reject(
    application_id: str, body: DecisionRequest, ctx: Ctx, principal: Caller
) -> ApplicationView:
    """Reject with a comment."""
    return _decide(application_id, body, ctx, principal, approve=False)


@hr_router.get("/employees/{employee_number}")
def employee(employee_number: str, ctx: Ctx, principal: Caller) -> EmployeeView:
    """An employee's HR record, within the caller's scope."""
    with ctx.unit_of_work() as session:
        e = get_employee(session, principal, employee_number)
        return EmployeeView.model_validate(e, from_attributes=True)
