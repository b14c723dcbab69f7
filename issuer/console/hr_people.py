"""The HR officer's people pages: find an employee, see their record, applications, credentials
and history, and revoke, suspend or reinstate a credential after a confirmation (issue 19).

Every action goes through the lifecycle services with the person as the actor (`viewer.actor`),
so it lands in the issuer's audit chain under their name; what lies outside the viewer's agencies
is a 403 page with no data.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from console.web import ConsoleError
from issuer.api_tokens import Principal
from issuer.audit import search_audit
from issuer.console.hr_common import (
    CHANGE_EFFECT,
    REASON_LABELS,
    Csrf,
    Ctx,
    HrViewer,
    audit_rows,
    mask_phone,
    reach_of,
    render,
)
from issuer.console.refusals import page_refusals
from issuer.hr.directory import (
    HrReach,
    employee_applications,
    employee_in_reach,
    find_employees,
)
from issuer.lifecycle.credentials import (
    list_credentials,
    reinstate_credential,
    revoke_credential,
    suspend_credential,
)
from issuer.lifecycle.state_changes import (
    REINSTATEMENT_REASONS,
    REVOCATION_REASONS,
    SUSPENSION_REASONS,
)
from issuer.models import Credential, Employee

__all__ = ["hr_people_router"]

hr_people_router = APIRouter(prefix="/console/hr", include_in_schema=False)

HISTORY_ENTRIES = 100
VERBS = {
    "revoke": (revoke_credential, REVOCATION_REASONS, "폐기 / Revoke"),
    "suspend": (suspend_credential, SUSPENSION_REASONS, "정지 / Suspend"),
    "reinstate": (reinstate_credential, REINSTATEMENT_REASONS, "재개 / Reinstate"),
}
REINSTATE_EFFECT = (
    "게이트와 로그인은 몇 초 안에 다시 받아들입니다 / Gates and logins accept it again within "
    "seconds; offline gates at their next sync"
)


@hr_people_router.get("", response_class=HTMLResponse)
def search(
    request: Request,
    viewer: HrViewer,
    ctx: Ctx,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """직원 찾기 / Find an employee: by number, name or department, paged."""
    reach = reach_of(viewer)
    with ctx.unit_of_work() as session:
        found = find_employees(session, reach, q, page=page)
        return render(
            request,
            "hr/search.html",
            {"q": q, "found": found, "reach": reach, "is_admin": reach.everyone},
        )


@hr_people_router.get("/employees/{employee_number}", response_class=HTMLResponse)
def employee_page(
    request: Request, employee_number: str, viewer: HrViewer, ctx: Ctx
) -> HTMLResponse:
    """직원 / Employee: HR data, applications, credentials and their history."""
    reach = reach_of(viewer)
    with page_refusals(), ctx.unit_of_work() as session:
        employee = employee_in_reach(session, reach, employee_number)
        applications = employee_applications(session, employee)
        phones = {a.id: mask_phone(a.phone) for a in applications}
        credentials = list_credentials(session, reach.principal_for(employee), employee_number)
        history = audit_rows(
            search_audit(session, subject=f"employee:{employee_number}", limit=HISTORY_ENTRIES)
        )
        return render(
            request,
            "hr/employee.html",
            {
                "e": employee,
                "phone": mask_phone(employee.phone),
                "applications": applications,
                "phones": phones,
                "credentials": credentials,
                "history": history,
                "reasons": REASON_LABELS,
                "done": request.query_params.get("done", ""),
            },
        )


def _holder_of(
    session: Session, reach: HrReach, employee_number: str, credential_id: str
) -> tuple[Employee, Principal, Credential]:
    """The employee (in reach), the principal to act as, and their credential `credential_id`
    (404 when it is not theirs)."""
    employee = employee_in_reach(session, reach, employee_number)
    principal = reach.principal_for(employee)
    for record in list_credentials(session, principal, employee_number):
        if record.credential.id == credential_id:
            return employee, principal, record.credential
    raise ConsoleError(404, "credential_not_found", "그런 자격이 없습니다 / No such credential")


def _confirmation(
    request: Request,
    *,
    ctx: Ctx,
    viewer: HrViewer,
    employee_number: str,
    credential_id: str,
    verb: str,
    reason: str = "",
    comment: str = "",
    status: int = 200,
) -> HTMLResponse:
    if verb not in VERBS:
        raise ConsoleError(404, "not_found", "그런 작업이 없습니다 / No such action")
    _, reasons, label = VERBS[verb]
    reach = reach_of(viewer)
    with page_refusals(), ctx.unit_of_work() as session:
        employee, _, credential = _holder_of(session, reach, employee_number, credential_id)
        return render(
            request,
            "hr/confirm.html",
            {
                "e": employee,
                "c": credential,
                "verb": verb,
                "label": label,
                "reasons": [(r, REASON_LABELS.get(r, r)) for r in reasons],
                "reason": reason,
                "comment": comment,
                "effect": REINSTATE_EFFECT if verb == "reinstate" else CHANGE_EFFECT,
                "final": verb == "revoke",
            },
            status,
        )


@hr_people_router.get(
    "/employees/{employee_number}/credentials/{credential_id}/{verb}",
    response_class=HTMLResponse,
)
def confirm_change(
    request: Request,
    *,
    employee_number: str,
    credential_id: str,
    verb: str,
    viewer: HrViewer,
    ctx: Ctx,
) -> HTMLResponse:
    """확인 / Confirm: what the action does at gates and logins, with the reasons it takes."""
    return _confirmation(
        request,
        ctx=ctx,
        viewer=viewer,
        employee_number=employee_number,
        credential_id=credential_id,
        verb=verb,
    )


@hr_people_router.post(
    "/employees/{employee_number}/credentials/{credential_id}/{verb}",
    dependencies=[Csrf],
    response_model=None,
)
def change(
    request: Request,
    *,
    employee_number: str,
    credential_id: str,
    verb: str,
    viewer: HrViewer,
    ctx: Ctx,
    reason: Annotated[str, Form(max_length=30)] = "",
    comment: Annotated[str, Form(max_length=500)] = "",
    confirmed: Annotated[str, Form(max_length=3)] = "",
) -> HTMLResponse | RedirectResponse:
    """The action itself, only from the confirmation page (`confirmed=yes`): otherwise that page
    again. Audited with the person."""
    if confirmed != "yes" or verb not in VERBS:
        return _confirmation(
            request,
            ctx=ctx,
            viewer=viewer,
            employee_number=employee_number,
            credential_id=credential_id,
            verb=verb,
            reason=reason,
            comment=comment,
            status=400,
        )
    action = VERBS[verb][0]
    reach = reach_of(viewer)
    with page_refusals(), ctx.unit_of_work() as session:
        employee, principal, _ = _holder_of(session, reach, employee_number, credential_id)
        action(
            session,
            principal,
            credential_id,
            reason=reason,
            comment=comment,
            publisher=ctx.status,
            keyring=ctx.keyring,
            now=ctx.clock(),
        )
        number = employee.employee_number
    return RedirectResponse(f"/console/hr/employees/{number}?done={verb}", status_code=303)
