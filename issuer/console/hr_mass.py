"""Mass actions from the console: suspend or revoke every live credential of an agency or a
department, confirmed with the count, run in the background with a live progress bar (issue 19).

The run is `issuer.lifecycle.mass_actions.run_mass_action` (one transaction per batch, audited
with the person) in a thread of this process; its progress is kept in memory (`MassJobs`, on
`app.state.hr_mass_jobs`) and streamed to the page as Server-Sent Events of HTML fragments (the
kit's `data-sse`) holding a native `<progress>` bar, which shows its value without script or
style, or read by reloading the page. A job is seen by whoever started it and by HR
administrators; after a restart its page is gone, its effect and audit entries are not.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from console.viewer import Viewer
from console.web import ConsoleError
from issuer.console.hr_common import (
    CHANGE_EFFECT,
    REASON_LABELS,
    Csrf,
    Ctx,
    HrViewer,
    reach_of,
    render,
)
from issuer.console.refusals import page_refusals
from issuer.context import IssuerContext
from issuer.errors import IssuerError
from issuer.lifecycle.mass_actions import MassPlan, MassScope, plan_mass_action, run_mass_action
from issuer.lifecycle.state_changes import REVOCATION_REASONS, SUSPENSION_REASONS
from schemas.lifecycle_api import MASS_ACTION_BATCH_SIZE

__all__ = ["MassJob", "MassJobs", "hr_mass_router"]

log = logging.getLogger(__name__)
hr_mass_router = APIRouter(prefix="/console/hr/mass", include_in_schema=False)
ACTIONS = {
    "suspend": ("정지 / Suspend", SUSPENSION_REASONS),
    "revoke": ("폐기 / Revoke", REVOCATION_REASONS),
}
EVENT_EVERY_S = 0.5
MAX_JOBS_KEPT = 100


@dataclass(slots=True)
class MassJob:
    """One run's progress, updated by its thread, read by pages."""

    id: str
    owner: str
    plan: MassPlan
    started_at: datetime
    done: int = 0
    state: str = "running"  # running | done | failed
    error: str = ""
    changed: int = 0
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def percent(self) -> int:
        if self.state == "done" or self.plan.matched <= 0:
            return 100 if self.state == "done" else 0
        return min(99, self.done * 100 // self.plan.matched)

    def advance(self, count: int) -> None:
        self.done += count


class MassJobs:
    """The mass actions this process runs or ran (the last `MAX_JOBS_KEPT`)."""

    def __init__(self, batch_size: int = MASS_ACTION_BATCH_SIZE) -> None:
        self.batch_size = batch_size
        self._jobs: dict[str, MassJob] = {}
        self._lock = threading.Lock()

    def start(self, plan: MassPlan, *, ctx: IssuerContext, owner: str, comment: str) -> MassJob:
        job = MassJob(secrets.token_urlsafe(12), owner, plan, ctx.clock())
        with self._lock:
            self._jobs[job.id] = job
            for stale in list(self._jobs)[:-MAX_JOBS_KEPT]:
                del self._jobs[stale]
        threading.Thread(
            target=self._run, args=(job, ctx, comment), name=f"mass-{job.id}", daemon=True
        ).start()
        return job

    def _run(self, job: MassJob, ctx: IssuerContext, comment: str) -> None:
        try:
            result = run_mass_action(
                job.plan,
                unit_of_work=ctx.unit_of_work,
                publisher=ctx.status,
                keyring=lambda: ctx.keyring,
                clock=ctx.clock,
                batch_size=self.batch_size,
                comment=comment,
                progress=lambda count: self.on_batch(job, count),
            )
            job.changed, job.state = result.changed, "done"
        except IssuerError as exc:
            job.state, job.error = "failed", str(exc.code)
        except Exception:
            log.exception("mass action %s failed", job.id)
            job.state, job.error = "failed", "server_error"
        finally:
            job.finished.set()

    def on_batch(self, job: MassJob, count: int) -> None:
        """Told of each committed batch (in the job's thread); counts it towards the bar."""
        job.advance(count)

    def get(self, job_id: str, viewer: Viewer) -> MassJob:
        job = self._jobs.get(job_id)
        if job is None or not (job.owner == viewer.actor or viewer.has("hr_admin")):
            raise ConsoleError(404, "not_found", "그런 작업이 없습니다 / No such job")
        return job


def _jobs(request: Request) -> MassJobs:
    jobs = getattr(request.app.state, "hr_mass_jobs", None)
    if not isinstance(jobs, MassJobs):
        jobs = request.app.state.hr_mass_jobs = MassJobs()
    return jobs


def _form_context(viewer: Viewer) -> dict[str, object]:
    return {
        "actions": {k: (label, [(r, REASON_LABELS.get(r, r)) for r in reasons])
                    for k, (label, reasons) in ACTIONS.items()},
        "reach": reach_of(viewer),
    }  # fmt: skip


@hr_mass_router.get("", response_class=HTMLResponse)
def mass_form(request: Request, viewer: HrViewer) -> HTMLResponse:
    """일괄 조치 / Mass action: what, on whom, why."""
    return render(request, "hr/mass.html", _form_context(viewer))


@hr_mass_router.post("", response_model=None, dependencies=[Csrf])
def mass_action(
    request: Request,
    *,
    viewer: HrViewer,
    ctx: Ctx,
    action: Annotated[str, Form(max_length=10)],
    reason: Annotated[str, Form(max_length=30)],
    agency_code: Annotated[str, Form(max_length=7)] = "",
    department_code: Annotated[str, Form(max_length=20)] = "",
    comment: Annotated[str, Form(max_length=500)] = "",
    confirmed: Annotated[str, Form(max_length=3)] = "",
) -> HTMLResponse | RedirectResponse:
    """Without `confirmed=yes`: the confirmation page with how many credentials it changes.
    With it: the run starts and the browser goes to its progress page."""
    reach = reach_of(viewer)
    with page_refusals(), ctx.unit_of_work() as session:
        scope = MassScope.parse(
            agency_code=agency_code.strip() or None,
            department_code=department_code.strip() or None,
        )
        principal = reach.principal_for_agency(scope.agency_code)
        plan = plan_mass_action(session, principal, scope, action=action, reason=reason)
    if confirmed != "yes":
        return render(
            request,
            "hr/mass_confirm.html",
            {
                "plan": plan,
                "label": ACTIONS[plan.action][0],
                "reason_label": REASON_LABELS.get(plan.reason, plan.reason),
                "agency_code": agency_code,
                "department_code": department_code,
                "comment": comment,
                "effect": CHANGE_EFFECT,
            },
        )
    job = _jobs(request).start(plan, ctx=ctx, owner=viewer.actor, comment=comment)
    return RedirectResponse(f"/console/hr/mass/jobs/{job.id}", status_code=303)


def _fragment(request: Request, job: MassJob) -> str:
    response = render(request, "hr/_mass_progress.html", {"job": job})
    return bytes(response.body).decode()


@hr_mass_router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str, viewer: HrViewer) -> HTMLResponse:
    """진행 / Progress of a mass action, live."""
    job = _jobs(request).get(job_id, viewer)
    return render(
        request,
        "hr/mass_job.html",
        {
            "job": job,
            "label": ACTIONS[job.plan.action][0],
            "reason_label": REASON_LABELS.get(job.plan.reason, job.plan.reason),
            "fragment": _fragment(request, job),
        },
    )


@hr_mass_router.get("/jobs/{job_id}/progress", response_class=HTMLResponse)
def job_progress(request: Request, job_id: str, viewer: HrViewer) -> HTMLResponse:
    """The progress fragment alone (polling)."""
    return render(request, "hr/_mass_progress.html", {"job": _jobs(request).get(job_id, viewer)})


@hr_mass_router.get("/jobs/{job_id}/events")
async def job_events(request: Request, job_id: str, viewer: HrViewer) -> StreamingResponse:
    """Server-Sent Events: the progress fragment every half second while it changes, the last
    one as a `done` event when the job ends (the kit's console.js then closes the stream)."""
    job = _jobs(request).get(job_id, viewer)

    async def events() -> AsyncIterator[str]:
        last = ""
        while True:
            ended = job.finished.is_set()
            fragment = _fragment(request, job)
            if fragment != last or ended:
                last = fragment
                data = "".join(f"data: {line}\n" for line in fragment.splitlines())
                yield ("event: done\n" if ended else "") + data + "\n"
            if ended or await request.is_disconnected():
                return
            await asyncio.sleep(EVENT_EVERY_S)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )
