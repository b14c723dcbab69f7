"""HTTP routes of the issuer's console API (`/console/api/...`) for the other services.

`GET /console/api/grants/{employee_number}`: the person's console grants, for the gates and the
login service, which cache them for at most 30 s (so a revoked grant stops working there within
that). A bearer token of role `grant_reader` (`mobileid admin grant-reader-token`) or `hr_admin`;
any other token is 403 `forbidden_role`, a missing or failed one 401 (counted by the throttle).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from issuer.api_tokens import Principal, Role
from issuer.context import IssuerContext, issuer_context
from issuer.errors import AuthError, IssuerCode
from issuer.grants import employee_grants
from issuer.hr.api import token_principal
from schemas.console_api import EmployeeGrantsView, GrantView
from schemas.hr_api import ErrorBody

__all__ = ["GRANT_READERS", "console_api_router"]

GRANT_READERS = frozenset({Role.grant_reader, Role.hr_admin})
_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 429)
}
console_api_router = APIRouter(
    prefix="/console/api", tags=["Console API (콘솔)"], responses=_ERRORS
)
Ctx = Annotated[IssuerContext, Depends(issuer_context)]


def grant_reader(principal: Annotated[Principal, Depends(token_principal)]) -> Principal:
    """The caller, if its token may read grants."""
    if principal.role not in GRANT_READERS:
        raise AuthError(IssuerCode.forbidden_role, "a grant_reader or hr_admin token is needed")
    return principal


@console_api_router.get("/grants/{employee_number}")
def grants(
    employee_number: Annotated[str, Path(max_length=20)],
    ctx: Ctx,
    _reader: Annotated[Principal, Depends(grant_reader)],
) -> EmployeeGrantsView:
    """The employee's active console grants (none while out of service); 404
    `employee_not_found` for a number HR does not have."""
    with ctx.unit_of_work() as session:
        found = employee_grants(session, employee_number, ctx.clock())
    return EmployeeGrantsView(
        employee_number=found.employee_number,
        name=found.name,
        grants=[GrantView(role=g.role, scope=g.scope) for g in found.grants],
    )
