"""The login administrator's console (`/admin`): business systems and login records.

Pages for people on the shared console kit (`console.web`): server-rendered, Korean with English,
CSRF on every form, role `login_admin` on every page. Business systems are added (the secret is
shown on the answer page once and kept nowhere but as a digest), disabled and enabled, and their
allowed claims and redirect URIs edited; each change goes through `verifier.login.admin`, which
audits it with the person. Login records are found by system, employee, date and outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from console.viewer import Viewer
from console.web import ConsoleError, NavItem, check_csrf, require_role
from verifier.errors import VerifierError
from verifier.login.admin import (
    ClientNotFound,
    add_client,
    change_allowed_claims,
    change_redirect_uris,
    enable_client,
    require_client,
)
from verifier.login.audit import admin_actions
from verifier.login.claims import CLAIM_LABELS, SUBJECT_TYPES
from verifier.login.clients import list_clients
from verifier.login.records import RecordFilter, find_login_records
from verifier.login.service import LoginService
from verifier.reasons import REASON_LABELS

__all__ = ["CONSOLE_HOME", "CONSOLE_NAV", "LOGIN_ADMIN", "TEMPLATES", "login_console_router"]

LOGIN_ADMIN = "login_admin"
CONSOLE_HOME = "/admin"
TEMPLATES = Path(__file__).with_name("templates")
CONSOLE_NAV = (
    NavItem("업무시스템 / Business systems", f"{CONSOLE_HOME}/clients", (LOGIN_ADMIN,)),
    NavItem("로그인 기록 / Login records", f"{CONSOLE_HOME}/records", (LOGIN_ADMIN,)),
    NavItem("감사 기록 / Audit log", f"{CONSOLE_HOME}/audit", (LOGIN_ADMIN,)),
)
PAGE_SIZE = 50
KST = timezone(timedelta(hours=9), "KST")
"""Times on the pages are Korean Standard Time (no daylight saving), dates filter by KST days."""
T = TypeVar("T")
Admin = Annotated[Viewer, Depends(require_role(LOGIN_ADMIN))]


def _kst(at: float) -> str:
    return datetime.fromtimestamp(at, KST).strftime("%Y-%m-%d %H:%M:%S")


def _day(value: str, field: str) -> float | None:
    """The start of a KST day given as YYYY-MM-DD (empty: no bound)."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ConsoleError(
            400, "invalid_filter", f"날짜 형식 오류 / {field}: a date is YYYY-MM-DD"
        ) from None
    return datetime(day.year, day.month, day.day, tzinfo=KST).timestamp()


def _page_number(value: str | None) -> int:
    if value is None or value == "":
        return 1
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 100_000:
        raise ConsoleError(400, "invalid_filter", "쪽 번호 오류 / page: a number from 1")
    return int(value)


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def login_console_router(service: LoginService) -> APIRouter:
    """`/admin/...`: pages for holders of `login_admin`; every form needs its CSRF token."""
    runtime = service.runtime
    router = APIRouter(prefix=CONSOLE_HOME)
    posted = [Depends(check_csrf)]

    async def in_db(work: Callable[[Connection], T]) -> T:
        """One unit of work in a worker thread; the verifier's refusals become error pages."""

        def run() -> T:
            with runtime.unit_of_work() as db:
                return work(db)

        try:
            return await run_in_threadpool(run)
        except VerifierError as exc:
            status = 404 if isinstance(exc, ClientNotFound) else 400
            message = f"처리할 수 없습니다 / Refused: {exc.detail or exc.code}"
            raise ConsoleError(status, exc.code, message) from None

    def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        response: HTMLResponse = request.app.state.console.render(
            request, template, {"kst": _kst, "claim_labels": CLAIM_LABELS, **context}, status
        )
        return response

    def to_client(client_id: str) -> Response:
        return RedirectResponse(f"{CONSOLE_HOME}/clients/{client_id}", status_code=303)

    @router.get("")
    async def home(_viewer: Admin) -> Response:
        return RedirectResponse(f"{CONSOLE_HOME}/clients", status_code=303)

    @router.get("/clients")
    async def clients(request: Request, _viewer: Admin) -> HTMLResponse:
        found = await in_db(list_clients)
        return render(request, "login_clients.html", clients=found, subject_types=SUBJECT_TYPES)

    @router.post("/clients", dependencies=posted)
    async def add(request: Request, viewer: Admin) -> HTMLResponse:
        form = await request.form()
        values: dict[str, Any] = {
            "name": _text(form, "name"),
            "redirect_uris": _lines(_text(form, "redirect_uris")),
            "allowed_claims": [str(c) for c in form.getlist("claim")],
            "subject_type": _text(form, "subject_type") or SUBJECT_TYPES[0],
            "public": _text(form, "public") == "on",
        }
        try:
            new = await in_db(
                lambda db: add_client(db, actor=viewer.actor, now=runtime.clock(), **values)
            )
        except ConsoleError as exc:
            found = await in_db(list_clients)
            return render(
                request,
                "login_clients.html",
                400,
                clients=found,
                subject_types=SUBJECT_TYPES,
                error=exc,
                form=values,
            )
        response = render(request, "login_client_added.html", 201, new=new)
        response.headers["Cache-Control"] = "no-store"  # the secret is on this page only
        return response

    @router.get("/clients/{client_id}")
    async def client(request: Request, client_id: str, _viewer: Admin) -> HTMLResponse:
        return await _client_page(request, client_id)

    async def _client_page(
        request: Request, client_id: str, *, error: ConsoleError | None = None
    ) -> HTMLResponse:
        def read(db: Connection) -> tuple[Any, Any]:
            return require_client(db, client_id), admin_actions(db, target=client_id, limit=20)[0]

        found, history = await in_db(read)
        status = 400 if error else 200
        return render(
            request, "login_client.html", status, client=found, history=history, error=error
        )

    async def edit(
        request: Request, viewer: Viewer, client_id: str, change: Callable[..., Any], value: Any
    ) -> Response:
        """Apply one change to a system (`change(db, client_id, value, actor=, now=)`, from
        `verifier.login.admin`); a refusal shows the system's page again with the reason."""
        try:
            await in_db(
                lambda db: change(db, client_id, value, actor=viewer.actor, now=runtime.clock())
            )
        except ConsoleError as exc:
            return await _client_page(request, client_id, error=exc)
        return to_client(client_id)

    @router.post("/clients/{client_id}/enabled", dependencies=posted)
    async def set_enabled(request: Request, client_id: str, viewer: Admin) -> Response:
        enabled = _text(await request.form(), "enabled") == "true"
        return await edit(request, viewer, client_id, enable_client, enabled)

    @router.post("/clients/{client_id}/claims", dependencies=posted)
    async def set_claims(request: Request, client_id: str, viewer: Admin) -> Response:
        claims = [str(c) for c in (await request.form()).getlist("claim")]
        return await edit(request, viewer, client_id, change_allowed_claims, claims)

    @router.post("/clients/{client_id}/redirect-uris", dependencies=posted)
    async def set_uris(request: Request, client_id: str, viewer: Admin) -> Response:
        uris = _lines(_text(await request.form(), "redirect_uris"))
        return await edit(request, viewer, client_id, change_redirect_uris, uris)

    @router.get("/records")
    async def records(request: Request, _viewer: Admin) -> HTMLResponse:
        q = request.query_params
        params = {k: q.get(k, "").strip() for k in ("client", "employee", "from", "to", "outcome")}
        page = _page_number(q.get("page"))
        to_day = _day(params["to"], "to")
        where = RecordFilter(
            client_id=params["client"] or None,
            employee_number=params["employee"] or None,
            outcome=params["outcome"] or None,
            since=_day(params["from"], "from"),
            until=to_day + 86400 if to_day is not None else None,
        )
        rows, total = await in_db(
            lambda db: find_login_records(
                db, where, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, newest_first=True
            )
        )
        found = await in_db(list_clients)
        return render(
            request,
            "login_records.html",
            records=rows,
            total=total,
            page=page,
            pages=max(1, -(-total // PAGE_SIZE)),
            params=params,
            clients=found,
            reasons={str(k): v for k, v in REASON_LABELS.items()},
        )

    @router.get("/audit")
    async def audit(request: Request, _viewer: Admin) -> HTMLResponse:
        page = _page_number(request.query_params.get("page"))
        entries, total = await in_db(
            lambda db: admin_actions(db, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        )
        return render(
            request,
            "login_audit.html",
            entries=entries,
            page=page,
            pages=max(1, -(-total // PAGE_SIZE)),
        )

    return router
