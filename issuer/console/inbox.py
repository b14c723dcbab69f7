"""The department head's pages (`/console/inbox`): pending applications of the departments the
viewer heads, approve or reject with a comment, and the history of decided ones. Role
`department_head`, scoped by each grant's department code; a decision on another department's
application is a 403 page and changes nothing (`issuer.hr.inbox`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from console.viewer import Viewer
from console.web import Console, ConsoleError, check_csrf, require_role
from issuer.console.employee import CONSOLE_ACTOR, people_names
from issuer.console.refusals import page_refusals
from issuer.context import IssuerContext, issuer_context
from issuer.hr.inbox import APPLICATION_STATES, decide_in_inbox, inbox

__all__ = ["DEPARTMENT_HEAD", "headed_departments", "inbox_router"]

DEPARTMENT_HEAD = "department_head"
DECIDED_STATES = tuple(s for s in APPLICATION_STATES if s != "pending")
_MAX_COMMENT_CHARS = 1000
_DECISIONS = {"approve": True, "reject": False}
_NOTICES = {"approved", "rejected"}

Ctx = Annotated[IssuerContext, Depends(issuer_context)]
Head = Annotated[Viewer, Depends(require_role(DEPARTMENT_HEAD))]


def headed_departments(viewer: Viewer) -> frozenset[str]:
    """The department codes the viewer's `department_head` grants name (a grant of this role
    always names one)."""
    return frozenset(s for s in viewer.scopes(DEPARTMENT_HEAD) if s is not None)


def inbox_router(console: Console) -> APIRouter:
    """`/console/inbox`, its history and its decision form, rendered by `console`."""
    router = APIRouter(prefix="/console/inbox", include_in_schema=False)

    def listing(viewer: Viewer, ctx: IssuerContext, states: tuple[str, ...]) -> dict[str, object]:
        with page_refusals(), ctx.unit_of_work() as session:
            records = inbox(session, viewer.actor, headed_departments(viewer), states=states)
            names = people_names(session, records)
        return {
            "viewer": viewer,
            "records": records,
            "departments": sorted(headed_departments(viewer)),
            "names": names,
            "actor_prefix": CONSOLE_ACTOR,
            "now": ctx.clock(),
        }

    @router.get("", response_class=HTMLResponse)
    def pending(request: Request, viewer: Head, ctx: Ctx, done: str = "") -> HTMLResponse:
        context = listing(viewer, ctx, ("pending",))
        context["notice"] = done if done in _NOTICES else None
        return console.render(request, "inbox/pending.html", context)

    @router.get("/history", response_class=HTMLResponse)
    def history(request: Request, viewer: Head, ctx: Ctx, state: str = "") -> HTMLResponse:
        if state and state not in DECIDED_STATES:
            raise ConsoleError(
                400, "invalid_request", "알 수 없는 상태입니다 / Unknown application state"
            )
        states = (state,) if state else DECIDED_STATES
        context = listing(viewer, ctx, states)
        context |= {"state": state, "states": DECIDED_STATES}
        return console.render(request, "inbox/history.html", context)

    @router.post("/{application_id}", dependencies=[Depends(check_csrf)])
    def decide(
        application_id: str,
        viewer: Head,
        ctx: Ctx,
        decision: Annotated[str, Form()] = "",
        comment: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        if decision not in _DECISIONS:
            raise ConsoleError(
                400, "invalid_request", "승인 또는 반려를 고르세요 / Choose approve or reject"
            )
        if len(comment) > _MAX_COMMENT_CHARS:
            raise ConsoleError(
                400,
                "invalid_request",
                f"의견은 {_MAX_COMMENT_CHARS}자까지입니다 / "
                f"A comment has at most {_MAX_COMMENT_CHARS} characters",
            )
        approve = _DECISIONS[decision]
        with page_refusals(), ctx.unit_of_work() as session:
            decide_in_inbox(
                session,
                viewer.actor,
                headed_departments(viewer),
                application_id,
                approve=approve,
                comment=comment.strip(),
                config=ctx.config,
                now=ctx.clock(),
            )
        if approve:
            ctx.wake_outbox()  # committed: the SMS may go now
        done = "approved" if approve else "rejected"
        return RedirectResponse(f"/console/inbox?done={done}", status_code=303)

    return router
