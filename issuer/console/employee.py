"""The employee's pages (`/console/me`): own HR data, applying for the mobile ID, following the
application, own credentials, and reporting a lost phone. Any signed-in person, own data only:
every service call acts as an `employee` principal of the viewer's own number, recorded in the
audit chain as `viewer.actor`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from console.viewer import Viewer
from console.web import Console, ConsoleError, check_csrf, current_viewer
from issuer.console.refusals import page_refusals
from issuer.context import IssuerContext, issuer_context
from issuer.hr.applications import ApplicationRecord
from issuer.hr.self_service import (
    apply_for_credential,
    employee_overview,
    employee_principal,
    names_of,
)
from issuer.lifecycle.lost_phone import report_lost_phone

__all__ = ["CONSOLE_ACTOR", "employee_router", "people_names"]

CONSOLE_ACTOR = "console:"
"""The prefix of `Viewer.actor`: what follows is the person's employee number."""
_MAX_PHONE_CHARS = 40
_NOTICES = {"applied", "reported"}

Ctx = Annotated[IssuerContext, Depends(issuer_context)]
SignedIn = Annotated[Viewer, Depends(current_viewer)]
Phone = Annotated[str, Form()]


def people_names(session: Session, records: Iterable[ApplicationRecord]) -> Mapping[str, str]:
    """Employee number -> name of the people who filed or decided `records` in the console."""
    numbers = {
        actor.removeprefix(CONSOLE_ACTOR)
        for r in records
        for actor in (r.application.filed_by, r.application.decided_by)
        if actor and actor.startswith(CONSOLE_ACTOR)
    }
    return names_of(session, numbers)


def _phone(value: str) -> str:
    """The form's phone, its size capped before any service sees it."""
    if not value.strip() or len(value) > _MAX_PHONE_CHARS:
        raise ConsoleError(
            400, "invalid_request", "휴대전화 번호를 입력하세요 / Enter a mobile phone number"
        )
    return value


def employee_router(console: Console) -> APIRouter:
    """`/console/me` and its forms, rendered by `console`."""
    router = APIRouter(prefix="/console/me", include_in_schema=False)

    def overview_context(ctx: IssuerContext, viewer: Viewer) -> dict[str, object]:
        principal = employee_principal(viewer.employee_number, viewer.actor)
        with page_refusals(), ctx.unit_of_work() as session:
            overview = employee_overview(
                session, principal, viewer.employee_number, now=ctx.clock()
            )
            names = people_names(session, overview.applications)
        return {
            "viewer": viewer,
            "me": overview,
            "now": ctx.clock(),
            "names": names,
            "actor_prefix": CONSOLE_ACTOR,
        }

    @router.get("", response_class=HTMLResponse)
    def me(request: Request, viewer: SignedIn, ctx: Ctx, done: str = "") -> HTMLResponse:
        context = overview_context(ctx, viewer)
        context["notice"] = done if done in _NOTICES else None
        return console.render(request, "employee/me.html", context)

    @router.post("/applications", dependencies=[Depends(check_csrf)])
    def apply(viewer: SignedIn, ctx: Ctx, phone: Phone = "") -> RedirectResponse:
        principal = employee_principal(viewer.employee_number, viewer.actor)
        with page_refusals(), ctx.unit_of_work() as session:
            apply_for_credential(session, principal, phone=_phone(phone), now=ctx.clock())
        return RedirectResponse("/console/me?done=applied", status_code=303)

    @router.get("/lost", response_class=HTMLResponse)
    def lost_confirmation(request: Request, viewer: SignedIn, ctx: Ctx) -> HTMLResponse:
        return console.render(request, "employee/lost.html", overview_context(ctx, viewer))

    @router.post("/lost", dependencies=[Depends(check_csrf)])
    def report_lost(viewer: SignedIn, ctx: Ctx, phone: Phone = "") -> RedirectResponse:
        principal = employee_principal(viewer.employee_number, viewer.actor)
        with page_refusals(), ctx.unit_of_work() as session:
            report_lost_phone(
                session,
                principal,
                phone=_phone(phone),
                publisher=ctx.status,
                keyring=ctx.keyring,
                now=ctx.clock(),
            )
        return RedirectResponse("/console/me?done=reported", status_code=303)

    return router
