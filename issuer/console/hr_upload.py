"""Upload an HR export, read its dry run, apply exactly that file (issue 19).

The upload is kept server-side under its digest (`issuer.hr.uploads.UploadStore`, set by the
assembly on `app.state.hr_uploads`) and the dry run shown (`issuer.hr.review`); "적용 / Apply"
names the digest, so what is applied is the file that was reviewed, by the person who reviewed
it, before it expires. Another file is another upload with its own dry run.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse

from console.web import ConsoleError
from issuer.console.hr_common import REASON_LABELS, Csrf, Ctx, HrViewer, reach_of, render
from issuer.console.refusals import page_refusals
from issuer.errors import HrImportRejected
from issuer.hr.importing import HrSource
from issuer.hr.review import LineProblem, apply_hr_upload, review_hr_upload
from issuer.hr.uploads import UploadStore

__all__ = ["HR_UPLOAD_PATH", "hr_upload_router"]

HR_UPLOAD_PATH = "/console/hr/upload"
"""The one path whose body may exceed the app's usual cap (up to the store's `max_bytes`)."""
hr_upload_router = APIRouter(prefix=HR_UPLOAD_PATH, include_in_schema=False)
SOURCES = {
    HrSource.central.value: "e-사람 (중앙 / central government)",
    HrSource.local.value: "인사랑 (지방 / local government)",
}


def _store(request: Request) -> UploadStore:
    store = getattr(request.app.state, "hr_uploads", None)
    if not isinstance(store, UploadStore):
        raise ConsoleError(
            503, "hr_upload_unavailable", "업로드를 받을 수 없습니다 / Uploads are not set up here"
        )
    return store


@hr_upload_router.get("", response_class=HTMLResponse)
def upload_form(request: Request, viewer: HrViewer) -> HTMLResponse:
    """인사 자료 올리기 / Upload an HR export (CSV as `mobileid hr import` takes)."""
    store = _store(request)
    return render(
        request,
        "hr/upload.html",
        {
            "sources": SOURCES,
            "max_mib": store.max_bytes // (1024 * 1024),
            "reach": reach_of(viewer),
        },
    )


@hr_upload_router.post("", response_class=HTMLResponse, dependencies=[Csrf])
def upload(
    request: Request,
    viewer: HrViewer,
    ctx: Ctx,
    file: Annotated[UploadFile, File()],
    source: Annotated[str, Form(max_length=10)] = HrSource.central.value,
) -> HTMLResponse:
    """Keep the file and show its dry run: added, changed field by field, left, problems."""
    store = _store(request)
    if source not in SOURCES:
        raise ConsoleError(400, "invalid_request", "인사 시스템을 고르세요 / Choose the HR system")
    data = file.file.read(store.max_bytes + 1)
    now = ctx.clock()
    reach = reach_of(viewer)
    with page_refusals():
        digest = store.put(
            data, uploader=viewer.actor, source=source, filename=file.filename or "", now=now
        )
    with page_refusals(), ctx.unit_of_work() as session:
        review = review_hr_upload(session, data, source=HrSource(source), reach=reach, now=now)
        session.rollback()
    if not review.ok:
        store.discard(digest)
    return render(
        request,
        "hr/review.html",
        {
            "review": review,
            "digest": digest,
            "filename": file.filename or "",
            "source_label": SOURCES[source],
            "reasons": REASON_LABELS,
        },
        200 if review.ok else 422,
    )


@hr_upload_router.post("/{digest}/apply", response_class=HTMLResponse, dependencies=[Csrf])
def apply(
    request: Request,
    digest: str,
    viewer: HrViewer,
    ctx: Ctx,
    confirmed: Annotated[str, Form(max_length=3)] = "",
) -> HTMLResponse:
    """적용 / Apply the reviewed upload named by its digest (and nothing else)."""
    store = _store(request)
    if confirmed != "yes":
        raise ConsoleError(400, "confirmation_required", "확인이 필요합니다 / Confirm first")
    now = ctx.clock()
    with page_refusals():
        upload = store.get(digest, uploader=viewer.actor, now=now)
    with page_refusals():  # outside: a file with problems now is its own page, not a refusal
        try:
            with ctx.unit_of_work() as session:
                result, actions = apply_hr_upload(
                    session,
                    upload.data,
                    source=HrSource(upload.source),
                    reach=reach_of(viewer),
                    config=ctx.config,
                    publisher=ctx.status,
                    keyring=ctx.keyring,
                    now=now,
                )
        except HrImportRejected as exc:
            problems = [LineProblem(p.row, p.field, p.message) for p in exc.problems]
            return render(request, "hr/applied.html", {"problems": problems}, 409)
    store.discard(digest)
    if any(a.application_id for a in actions):
        ctx.wake_outbox()
    return render(
        request,
        "hr/applied.html",
        {
            "problems": [],
            "result": result,
            "actions": actions,
            "filename": upload.filename,
            "reasons": REASON_LABELS,
        },
    )
