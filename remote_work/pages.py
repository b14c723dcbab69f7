"""The remote-work pages (`/work/...`): home with today's work session and the office PC
placeholder, plans, the head's inbox, work records with daily and monthly totals, sign-out.

Each page calls one service function in one unit of work; a `RemoteWorkError` becomes the
console's error page with its code. Every request of a signed-in person first checks that their
login (`sid`) has not ended (back-channel logout, idle timeout) and marks them active.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from console.viewer import Viewer
from console.web import (
    Console,
    ConsoleError,
    NavItem,
    check_csrf,
    console_of,
    require_role,
)
from remote_work.context import DEPARTMENT_HEAD, RemoteWork
from remote_work.errors import MESSAGES, RemoteWorkError
from remote_work.plans import (
    HOME,
    KST,
    PlanRequest,
    approved_plan_on,
    decide_plan,
    file_plan,
    headed_by,
    inbox,
    plans_of,
    today,
)
from remote_work.work import (
    ENDINGS,
    close_idle_sessions,
    correct_record,
    daily_totals,
    department_of,
    end_sid,
    open_session_for,
    record_signin,
    sid_ended,
    start_work,
    touch,
    work_records,
)

__all__ = ["HOME_PATH", "NAV", "TEMPLATES", "Worker", "on_signin", "remote_work_router"]

TEMPLATES = Path(__file__).parent / "templates"
HOME_PATH = "/work"
NAV = (
    NavItem("오늘 / Today", HOME_PATH, ("employee",)),
    NavItem("원격근무 계획 / Plans", f"{HOME_PATH}/plans", ("employee",)),
    NavItem("근무 기록 / Work records", f"{HOME_PATH}/records", ("employee",)),
    NavItem("결재함 / Approvals", f"{HOME_PATH}/approvals", (DEPARTMENT_HEAD,)),
    NavItem("팀 근무 기록 / Team records", f"{HOME_PATH}/team", (DEPARTMENT_HEAD,)),
)
CSV_COLUMNS = (
    "employee_number",
    "employee_name",
    "department",
    "day",
    "started_at",
    "ended_at",
    "ended_by",
    "place",
    "plan_id",
    "minutes",
    "corrected_by",
)
T = TypeVar("T")


def remote_work_of(request: Request) -> RemoteWork:
    rw = request.app.state.remote_work
    assert isinstance(rw, RemoteWork)
    return rw


def _refusal(exc: RemoteWorkError) -> ConsoleError:
    return ConsoleError(exc.status, exc.code, exc.message)


def _in_unit(rw: RemoteWork, work: Callable[[Any], T]) -> T:
    """`work(db)` in one unit of work; its refusal as the error page (nothing written)."""
    try:
        with rw.unit_of_work() as db:
            return work(db)
    except RemoteWorkError as exc:
        raise _refusal(exc) from None


@dataclass(frozen=True, slots=True)
class Worker:
    """The signed-in person and their login (`sid`) at the login service."""

    viewer: Viewer
    sid: str | None
    amr: tuple[str, ...]


async def on_signin(request: Request, claims: Any) -> None:
    """After sign-in with the mobile ID: record it (with `amr` and `department`) and open the
    day's work session when a plan for today is approved (else the home page says
    `no_approved_plan`; the person may still file plans)."""
    rw = remote_work_of(request)
    who = request.session["who"]
    department = claims.get("department")

    def record(db: Any) -> None:
        now = rw.clock()
        record_signin(
            db,
            employee_number=who["n"],
            name=who["name"],
            department=department if isinstance(department, str) else None,
            amr=who["amr"],
            sid=who["sid"],
            now=now,
        )
        if approved_plan_on(db, who["n"], today(now)) is not None:
            start_work(db, employee_number=who["n"], sid=who["sid"], amr=who["amr"], now=now)

    await run_in_threadpool(_in_unit, rw, record)


async def current_worker(
    request: Request, viewer: Annotated[Viewer, Depends(require_role("employee"))]
) -> Worker:
    """The signed-in person, signed out here if their login ended elsewhere or idled out;
    otherwise marked active (their work session's last activity)."""
    rw = remote_work_of(request)
    who = request.session.get("who") or {}
    sid = who.get("sid")
    number = viewer.employee_number

    def check(db: Any) -> str | None:
        now = rw.clock()
        close_idle_sessions(db, idle_timeout_s=rw.idle_timeout_s, now=now)
        if sid_ended(db, sid):
            return "session_ended"
        return None if touch(db, sid=sid, employee_number=number, now=now) else "clock_changed"

    problem = await run_in_threadpool(_in_unit, rw, check)
    if problem is not None:
        console_of(request).sign_out(request)
        raise ConsoleError(401 if problem == "session_ended" else 409, problem, MESSAGES[problem])
    return Worker(viewer, sid, tuple(who.get("amr") or ()))


WorkerDep = Annotated[Worker, Depends(current_worker)]


def _day(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _refusal(RemoteWorkError("invalid_plan", f"{what} is not a date")) from None


def _month(value: str | None, now: float) -> tuple[int, int]:
    if value:
        try:
            parsed = datetime.strptime(value, "%Y-%m")
        except ValueError:
            raise ConsoleError(400, "invalid_request", MESSAGES["invalid_plan"]) from None
        return parsed.year, parsed.month
    day = today(now)
    return day.year, day.month


def _hours(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def _time(at: float | None) -> str:
    return "-" if at is None else datetime.fromtimestamp(at, KST).strftime("%Y-%m-%d %H:%M")


def _local_time(value: str) -> float:
    """A `datetime-local` form value (Korean time, minutes) as Unix seconds."""
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M").replace(tzinfo=KST).timestamp()
    except ValueError:
        raise _refusal(RemoteWorkError("invalid_correction", "not a date and time")) from None


def _csv_safe(value: str) -> str:
    """No formula injection when payroll opens the file in a spreadsheet."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _place(rw: RemoteWork, place: str) -> str:
    if place == HOME:
        return "재택 / Home"
    centre = place.removeprefix("centre:")
    return f"{rw.centres.get(centre, centre)} (스마트워크센터 / Smart-work centre)"


def remote_work_router(console: Console) -> APIRouter:
    router = APIRouter(prefix=HOME_PATH, include_in_schema=False)

    def page(request: Request, template: str, **context: Any) -> Response:
        rw = remote_work_of(request)
        return console.render(
            request,
            template,
            {
                "centres": rw.centres,
                "home_place": HOME,
                "place": lambda value: _place(rw, value),
                "hours": _hours,
                "at": _time,
                "endings": ENDINGS,
                **context,
            },
        )

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

        return page(request, "remote_work/home.html", amr=worker.amr, **_in_unit(rw, load))

    @router.get("/office-pc")
    def office_pc(request: Request, worker: WorkerDep) -> Response:
        rw = remote_work_of(request)
        number = worker.viewer.employee_number
        session = _in_unit(rw, lambda db: open_session_for(db, worker.sid, number))
        if session is None:
            raise _refusal(RemoteWorkError("no_approved_plan", status=403))
        return page(request, "remote_work/office_pc.html", session=session)

    @router.post("/start", dependencies=[Depends(check_csrf)])
    def start(request: Request, worker: WorkerDep) -> Response:
        rw = remote_work_of(request)
        _in_unit(
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
        mine = _in_unit(rw, lambda db: plans_of(db, number))
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
            _day(start_date, "start_date"), _day(end_date, "end_date"), place, tasks, overtime_hours
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

        _in_unit(rw, act)
        return RedirectResponse(f"{HOME_PATH}/plans", 303)

    @router.get("/approvals")
    def approvals(
        request: Request,
        worker: WorkerDep,
        _head: Annotated[Viewer, Depends(require_role(DEPARTMENT_HEAD))],
    ) -> Response:
        rw = remote_work_of(request)
        plans = _in_unit(rw, lambda db: inbox(db, rw.heads, worker.viewer.employee_number))
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
        _in_unit(
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
        chosen = _month(month, now)
        rows = _in_unit(
            rw, lambda db: work_records(db, worker.viewer.employee_number, month=chosen)
        )
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

    def team_of(request: Request, worker: Worker, month: str | None) -> tuple[Any, ...]:
        rw = remote_work_of(request)
        now = rw.clock()
        chosen = _month(month, now)
        departments = headed_by(rw.heads, worker.viewer.employee_number)
        rows = _in_unit(rw, lambda db: work_records(db, departments=departments, month=chosen))
        mine = [r for r in rows if r.employee_number != worker.viewer.employee_number]
        return mine, f"{chosen[0]:04d}-{chosen[1]:02d}", now

    @router.get("/team")
    def team(
        request: Request,
        worker: WorkerDep,
        _head: Annotated[Viewer, Depends(require_role(DEPARTMENT_HEAD))],
        month: str | None = None,
    ) -> Response:
        rows, chosen, now = team_of(request, worker, month)
        return page(request, "remote_work/team.html", records=rows, month=chosen, now=now)

    @router.get("/team.csv")
    def team_csv(
        request: Request,
        worker: WorkerDep,
        _head: Annotated[Viewer, Depends(require_role(DEPARTMENT_HEAD))],
        month: str | None = None,
    ) -> Response:
        """For payroll: one row per session of the month (corrected times when corrected)."""
        rows, chosen, now = team_of(request, worker, month)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for r in rows:
            writer.writerow(
                [
                    r.employee_number,
                    _csv_safe(r.employee_name),
                    _csv_safe(r.department),
                    r.day.isoformat(),
                    _time(r.started_at),
                    _time(r.ended_at),
                    r.how or "open",
                    r.place,
                    r.plan_id,
                    round(r.seconds(now) / 60),
                    r.corrected_by or "",
                ]
            )
        return Response(
            out.getvalue().encode("utf-8-sig"),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="remote-work-{chosen}.csv"',
                "Cache-Control": "no-store",
            },
        )

    @router.post("/team/{session_id}/correct", dependencies=[Depends(check_csrf)])
    def correct(  # noqa: PLR0917 - FastAPI maps parameters to form fields
        request: Request,
        session_id: str,
        worker: WorkerDep,
        started_at: Annotated[str, Form(max_length=16)],
        ended_at: Annotated[str, Form(max_length=16)],
        reason: Annotated[str, Form(max_length=2000)],
    ) -> Response:
        rw = remote_work_of(request)
        begin, end = _local_time(started_at), _local_time(ended_at)
        _in_unit(
            rw,
            lambda db: correct_record(
                db,
                rw.heads,
                session_id=session_id[:32],
                head=worker.viewer.employee_number,
                started_at=begin,
                ended_at=end,
                reason=reason,
                now=rw.clock(),
            ),
        )
        return RedirectResponse(f"{HOME_PATH}/team", 303)

    @router.post("/signout", dependencies=[Depends(check_csrf)])
    def signout(request: Request, worker: WorkerDep) -> Response:
        """Sign-out ends the work session (before the console's own sign-out, which it
        replaces on this app: the route is added first)."""
        rw = remote_work_of(request)
        sid = worker.sid
        if sid:
            _in_unit(
                rw,
                lambda db: end_sid(
                    db, sid, how="signout", actor=worker.viewer.actor, now=rw.clock()
                ),
            )
        console.sign_out(request)
        return RedirectResponse(f"{HOME_PATH}/signin?signed_out=1", 303)

    return router
