"""The department head's team view (`/work/team`): the month's sessions of the departments
they head, the CSV export for payroll, and corrections (each a new audited entry)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from console.viewer import Viewer
from console.web import Console, check_csrf, require_role
from remote_work.context import DEPARTMENT_HEAD
from remote_work.errors import RemoteWorkError
from remote_work.plans import KST, headed_by
from remote_work.web import (
    HOME_PATH,
    Worker,
    WorkerDep,
    at_time,
    in_unit,
    month_of,
    refusal,
    remote_work_of,
    render,
)
from remote_work.work import correct_record, work_records

__all__ = ["CSV_COLUMNS", "csv_safe", "team_router"]

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


def _local_time(value: str) -> float:
    """A `datetime-local` form value (Korean time, minutes) as Unix seconds."""
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M").replace(tzinfo=KST).timestamp()
    except ValueError:
        raise refusal(RemoteWorkError("invalid_correction", "not a date and time")) from None


def csv_safe(value: str) -> str:
    """No formula injection when payroll opens the file in a spreadsheet."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def team_router(console: Console) -> APIRouter:
    router = APIRouter()

    def team_of(request: Request, worker: Worker, month: str | None) -> tuple[Any, ...]:
        rw = remote_work_of(request)
        now = rw.clock()
        chosen = month_of(month, now)
        departments = headed_by(rw.heads, worker.viewer.employee_number)
        rows = in_unit(rw, lambda db: work_records(db, departments=departments, month=chosen))
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
        return render(
            console, request, "remote_work/team.html", records=rows, month=chosen, now=now
        )

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
                    csv_safe(r.employee_name),
                    csv_safe(r.department),
                    r.day.isoformat(),
                    at_time(r.started_at),
                    at_time(r.ended_at),
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
        in_unit(
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

    return router
