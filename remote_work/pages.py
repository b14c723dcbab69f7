"""The remote-work pages (`/work/...`): home with today's work session and the office PC
placeholder, plans, the head's inbox, work records with daily and monthly totals, sign-out; the
team view is `remote_work.team`.

Each page calls one service function in one unit of work (`remote_work.web.in_unit`); a
`RemoteWorkError` becomes the console's error page with its code.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from console.viewer import Viewer
from console.web import (
    Console,
    NavItem,
    check_csrf,
    require_role,
)
from remote_work.context import DEPARTMENT_HEAD
from remote_work.errors import RemoteWorkError
from remote_work.plans import (
    PlanRequest,
    approved_plan_on,
    decide_plan,
    file_plan,
    inbox,
    plans_of,
    today,
)
from remote_work.team import team_router
from remote_work.web import (
    HOME_PATH,
    TEMPLATES,
    WorkerDep,
    day_of,
    in_unit,
    month_of,
    refusal,
    remote_work_of,
    render,
)
from remote_work.work import (
    daily_totals,
    department_of,
    end_sid,
    open_session_for,
    start_work,
    work_records,
)

__all__ = ["HOME_PATH", "NAV", "TEMPLATES", "remote_work_router"]

NAV = (
    NavItem("오늘 / Today", HOME_PATH, ("employee",)),
    NavItem("원격근무 계획 / Plans", f"{HOME_PATH}/plans", ("employee",)),
    NavItem("근무 기록 / Work records", f"{HOME_PATH}/records", ("employee",)),
    NavItem("결재함 / Approvals", f"{HOME_PATH}/approvals", (DEPARTMENT_HEAD,)),
    NavItem("팀 근무 기록 / Team records", f"{HOME_PATH}/team", (DEPARTMENT_HEAD,)),
)


def remote_work_router(console: Console) -> APIRouter:
    router = APIRouter(prefix=HOME_PATH, include_in_schema=False)

    def page(request: Request, template: str, **context: Any) -> Response:
        return render(console, request, template, **context)

    @router.get("")
    def home(request: Request, worker: WorkerDep) -> Response:
        rw = remote_work_of(request)
        number = worker.viewer.employee_number

        def load(db: Any) -> dict[str, Any]:
            now = rw.clock()
            return {
                "session": open_session_for(db, worker.sid, number),
                "plan": approved_plan_on(db, number, today(now)),
                "department": department_of(db, number),
            }

        return page(request, "remote_work/home.html", amr=worker.amr, **in_unit(rw, load))

    @router.get("/office-pc")
    def office_pc(request: Request, worker: WorkerDep) -> Response:
        rw = remote_work_of(request)
        number = worker.viewer.employee_number
        session = in_unit(rw, lambda db: open_session_for(db, worker.sid, number))
        if session is None:
            raise refusal(RemoteWorkError("no_approved_plan", status=403))
        return page(request, "remote_work/office_pc.html", session=session)

    @router.post("/start", dependencies=[Depends(check_csrf)])
    def start(request: Request, worker: WorkerDep) -> Response:
        rw = remote_work_of(request)
        in_unit(
            rw,
            lambda db: start_work(
                db,
                employee_number=worker.viewer.employee_number,
                sid=worker.sid,
                amr=worker.amr,
                now=rw.clock(),
            ),
        )
        return RedirectResponse(HOME_PATH, 303)

    @router.get("/plans")
    def plans_page(request: Request, worker: WorkerDep) -> Response:
        rw = remote_work_of(request)
        number = worker.viewer.employee_number
        mine = in_unit(rw, lambda db: plans_of(db, number))
        return page(request, "remote_work/plans.html", plans=mine, today=today(rw.clock()))

    @router.post("/plans", dependencies=[Depends(check_csrf)])
    def file(  # noqa: PLR0917 - FastAPI maps parameters to form fields
        request: Request,
        worker: WorkerDep,
        start_date: Annotated[str, Form(max_length=10)],
        end_date: Annotated[str, Form(max_length=10)],
        place: Annotated[str, Form(max_length=80)],
        tasks: Annotated[str, Form(max_length=2000)],
        overtime_hours: Annotated[int, Form(ge=0, le=24)] = 0,
    ) -> Response:
        rw = remote_work_of(request)
        plan = PlanRequest(
            day_of(start_date, "start_date"),
            day_of(end_date, "end_date"),
            place,
            tasks,
            overtime_hours,
        )
        viewer = worker.viewer

        def act(db: Any) -> None:
            department = department_of(db, viewer.employee_number)
            if not department:
                raise RemoteWorkError("invalid_plan", "no department known for you")
            file_plan(
                db,
                employee_number=viewer.employee_number,
                employee_name=viewer.name,
                department=department,
                request=plan,
                centres=rw.centre_ids,
                now=rw.clock(),
            )

        in_unit(rw, act)
        return RedirectResponse(f"{HOME_PATH}/plans", 303)

    @router.get("/approvals")
    def approvals(
        request: Request,
        worker: WorkerDep,
        _head: Annotated[Viewer, Depends(require_role(DEPARTMENT_HEAD))],
    ) -> Response:
        rw = remote_work_of(request)
        plans = in_unit(rw, lambda db: inbox(db, rw.heads, worker.viewer.employee_number))
        return page(request, "remote_work/approvals.html", plans=plans)

    @router.post("/approvals/{plan_id}", dependencies=[Depends(check_csrf)])
    def decide(
        request: Request,
        plan_id: str,
        worker: WorkerDep,
        decision: Annotated[str, Form(max_length=16)],
        comment: Annotated[str, Form(max_length=2000)] = "",
    ) -> Response:
        rw = remote_work_of(request)
        in_unit(
            rw,
            lambda db: decide_plan(
                db,
                rw.heads,
                plan_id=plan_id[:32],
                head=worker.viewer.employee_number,
                decision=decision,
                comment=comment,
                now=rw.clock(),
            ),
        )
        return RedirectResponse(f"{HOME_PATH}/approvals", 303)

    @router.get("/records")
    def records(request: Request, worker: WorkerDep, month: str | None = None) -> Response:
        rw = remote_work_of(request)
        now = rw.clock()
        chosen = month_of(month, now)
        rows = in_unit(rw, lambda db: work_records(db, worker.viewer.employee_number, month=chosen))
        daily = daily_totals(rows, now)
        return page(
            request,
            "remote_work/records.html",
            records=rows,
            daily=daily,
            month=f"{chosen[0]:04d}-{chosen[1]:02d}",
            month_total=sum(daily.values()),
            now=now,
        )

    @router.post("/signout", dependencies=[Depends(check_csrf)])
    def signout(request: Request, worker: WorkerDep) -> Response:
        """Sign-out ends the work session (before the console's own sign-out, which it
        replaces on this app: the route is added first)."""
        rw = remote_work_of(request)
        sid = worker.sid
        if sid:
            in_unit(
                rw,
                lambda db: end_sid(
                    db, sid, how="signout", actor=worker.viewer.actor, now=rw.clock()
                ),
            )
        console.sign_out(request)
        return RedirectResponse(f"{HOME_PATH}/signin?signed_out=1", 303)

    router.include_router(team_router(console))
    return router
