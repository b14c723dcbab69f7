"""What every remote-work page shares: the context, one unit of work per call with refusals as
error pages, the signed-in worker (their login checked and marked active at every request), the
sign-in hook, and rendering with the templates' helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from console.viewer import Viewer
from console.web import (
    Console,
    ConsoleError,
    console_of,
    require_role,
)
from remote_work.context import RemoteWork
from remote_work.errors import MESSAGES, RemoteWorkError
from remote_work.plans import (
    HOME,
    KST,
    approved_plan_on,
    today,
)
from remote_work.work import (
    ENDINGS,
    close_idle_sessions,
    record_signin,
    sid_ended,
    start_work,
    touch,
)

__all__ = [
    "HOME_PATH",
    "TEMPLATES",
    "Worker",
    "WorkerDep",
    "at_time",
    "current_worker",
    "day_of",
    "in_unit",
    "month_of",
    "on_signin",
    "refusal",
    "remote_work_of",
    "render",
]

TEMPLATES = Path(__file__).parent / "templates"
HOME_PATH = "/work"
T = TypeVar("T")


def remote_work_of(request: Request) -> RemoteWork:
    rw = request.app.state.remote_work
    assert isinstance(rw, RemoteWork)
    return rw


def refusal(exc: RemoteWorkError) -> ConsoleError:
    return ConsoleError(exc.status, exc.code, exc.message)


def in_unit(rw: RemoteWork, work: Callable[[Any], T]) -> T:
    """`work(db)` in one unit of work; its refusal as the error page (nothing written)."""
    try:
        with rw.unit_of_work() as db:
            return work(db)
    except RemoteWorkError as exc:
        raise refusal(exc) from None


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
        if who["sid"] and approved_plan_on(db, who["n"], today(now)) is not None:
            start_work(db, employee_number=who["n"], sid=who["sid"], amr=who["amr"], now=now)

    await run_in_threadpool(in_unit, rw, record)


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
        close_idle_sessions(db, idle_timeout_s=rw.idle_timeout_s, now=now, employee_number=number)
        if sid_ended(db, sid):
            return "session_ended"
        return None if touch(db, sid=sid, employee_number=number, now=now) else "clock_changed"

    problem = await run_in_threadpool(in_unit, rw, check)
    if problem is not None:
        console_of(request).sign_out(request)
        raise ConsoleError(401 if problem == "session_ended" else 409, problem, MESSAGES[problem])
    return Worker(viewer, sid, tuple(who.get("amr") or ()))


WorkerDep = Annotated[Worker, Depends(current_worker)]


def day_of(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise refusal(RemoteWorkError("invalid_plan", f"{what} is not a date")) from None


def month_of(value: str | None, now: float) -> tuple[int, int]:
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


def at_time(at: float | None) -> str:
    return "-" if at is None else datetime.fromtimestamp(at, KST).strftime("%Y-%m-%d %H:%M")


def _place(rw: RemoteWork, place: str) -> str:
    if place == HOME:
        return "재택 / Home"
    centre = place.removeprefix("centre:")
    return f"{rw.centres.get(centre, centre)} (스마트워크센터 / Smart-work centre)"


def render(console: Console, request: Request, template: str, **context: Any) -> Response:
    """A remote-work page: `context` plus the helpers every template uses."""
    rw = remote_work_of(request)
    return console.render(
        request,
        template,
        {
            "centres": rw.centres,
            "home_place": HOME,
            "place": lambda value: _place(rw, value),
            "hours": _hours,
            "at": at_time,
            "endings": ENDINGS,
            **context,
        },
    )
