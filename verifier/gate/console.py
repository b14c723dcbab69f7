"""The gate's pages for people: the guard display (`/display`, decisions live over Server-Sent
Events) and the entry records (`/records`, filters, paging, `/records.csv`).

Both need the `gate_operator` role for this gate (a grant scoped to its id, or unscoped). The
display shows what each decision itself carries (`verifier.gate.lane`): allow or deny in large
type, the reason in Korean and English, and the name, department and photo only where the gate's
purpose disclosed them; beside it the gate's own state (status lists' age, records waiting for
upload), so a guard sees a stale or offline gate plainly. Pages are built on the console kit
(`console.web`); `mobileid.gate_app` builds the `Console` from the gate's settings.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from console.viewer import RoleSource, Viewer
from console.web import Console, ConsoleError, NavItem, SignInConfig, require_role
from verifier.gate.lane import LaneEvent
from verifier.gate.service import GateService
from verifier.gate.store import (
    RecordFilter,
    count_records,
    find_records,
    records_after,
    records_csv,
)
from verifier.reasons import REASON_LABELS, Reason

__all__ = ["HEARTBEAT_S", "PATHS", "gate_console", "install_gate_console"]

ROLE = "gate_operator"
HEARTBEAT_S = 15.0
"""A comment on an idle event stream this often, so proxies and the browser keep it open."""
KST = timezone(timedelta(hours=9), "KST")
"""Times on the pages: Korea Standard Time (no daylight saving)."""
PAGE_SIZE = 50
CSV_CHUNK = 1000
HISTORY = 6
"""Decisions a display lists (the newest in large type, the ones before it small)."""
PATHS = ("/display", "/records", "/records.csv")
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
NAV = (
    NavItem("현황판 / Display", "/display", (ROLE,)),
    NavItem("출입 기록 / Entry records", "/records", (ROLE,)),
)
_PHOTO = re.compile(r"^data:image/jpeg;base64,[A-Za-z0-9+/]+={0,2}$")
_EMPLOYEE_NUMBER = re.compile(r"^[A-Za-z0-9-]{1,20}$")
_LANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def gate_console(
    service: GateService,
    *,
    roles: RoleSource,
    signin: SignInConfig,
    session_secret: bytes,
    secure_cookies: bool,
    idle_timeout_s: int = 900,
) -> Console:
    """The console of one gate: its templates, paths and navigation on the kit."""
    return Console(
        title=f"출입 게이트 {service.policy.gate_id} / Gate {service.policy.gate_id}",
        templates=TEMPLATES,
        roles=roles,
        signin=signin,
        session_secret=session_secret,
        secure_cookies=secure_cookies,
        idle_timeout_s=idle_timeout_s,
        nav=NAV,
        paths=PATHS,
        clock=service.clock,
    )


def install_gate_console(app: FastAPI, service: GateService, console: Console) -> None:
    """Put the display and records pages (and the kit's sign-in) on a gate's app."""
    console.install(app)
    app.mount("/display/static", StaticFiles(directory=STATIC), name="gate-static")
    app.include_router(_router(service, console))


# --- who may look -------------------------------------------------------------------------


def _covered_lane(viewer: Viewer, service: GateService, lane: str | None) -> str | None:
    """The lane a page shows: `lane` if the viewer's grants cover it; None (all) for an unscoped
    operator who names none; this gate's own for a scoped one."""
    if lane is not None and not _LANE.match(lane):
        raise _bad_filter()
    if lane is None and None in viewer.scopes(ROLE):
        return None
    lane = lane or service.policy.gate_id
    if not viewer.has(ROLE, lane):
        raise ConsoleError(
            403,
            "forbidden_scope",
            "이 게이트에 대한 권한이 없습니다 / Your role does not cover this gate",
        )
    return lane


def _bad_filter() -> ConsoleError:
    return ConsoleError(
        400, "invalid_filter", "검색 조건이 올바르지 않습니다 / The filter is not valid"
    )


# --- the display --------------------------------------------------------------------------


def gate_state(service: GateService) -> dict[str, Any]:
    """The gate's own state as the display shows it: online or not, status lists' age, records
    not yet uploaded (only where there is a central service to upload them to)."""
    health = service.health()
    age = health["status_age_s"]
    stale = age is None or age > health["max_status_age_s"]
    return {
        "online": service.client is not None,
        "status_lists": health["status_lists"],
        "status_age_min": None if age is None else int(age // 60),
        "stale": stale,
        "stale_policy": health["stale_policy"],
        "issuers_with_keys": health["issuers_with_keys"],
        "not_uploaded": health["records_not_uploaded"] if service.policy.central_url else 0,
    }


def _labels(reason: str) -> tuple[str, str]:
    """(Korean, English) of a reason; a code this version does not know, as it is."""
    try:
        return REASON_LABELS[Reason(reason)]
    except (ValueError, KeyError):
        return reason, reason


def _shown(event: LaneEvent, now: float) -> dict[str, Any]:
    ko, en = _labels(event.reason)
    photo = event.shown.get("photo")
    return {
        "lane": event.lane,
        "allow": event.allow,
        "reason": str(event.reason),
        "reason_ko": ko,
        "reason_en": en,
        "stale_status": event.stale_status,
        "time": _kst(event.at).strftime("%H:%M:%S"),
        "old": now - event.at > HEARTBEAT_S,
        "photo": photo if isinstance(photo, str) and _PHOTO.match(photo) else None,
        **{k: v for k, v in event.shown.items() if k != "photo"},
    }


def _panel(console: Console, service: GateService, history: deque[LaneEvent]) -> str:
    now = service.clock()
    return console.env.get_template("gate/panel.html").render(
        decisions=[_shown(e, now) for e in history], state=gate_state(service)
    )


def _sse(fragment: str) -> str:
    """One Server-Sent Event whose data is `fragment` (HTML5 §9.2: a `data:` line per line)."""
    lines = fragment.replace("\r", "").split("\n")
    return "".join(f"data: {line}\n" for line in lines) + "\n"


async def _still_watching(
    console: Console, service: GateService, request: Request, lane: str | None
) -> bool:
    """The person watching a stream is still signed in and still covers its lane (a guard who
    signed out, or whose grant was revoked, stops receiving names and photos)."""
    viewer = await console.still_signed_in(request)
    if viewer is None or not viewer.has(ROLE):
        return False
    try:
        return _covered_lane(viewer, service, lane) == lane
    except ConsoleError:
        return False


async def _events(
    console: Console, service: GateService, lane: str | None, request: Request
) -> AsyncIterator[str]:
    history: deque[LaneEvent] = deque(maxlen=HISTORY)
    async with service.lanes.subscribe(lane) as subscription:
        sent = _panel(console, service, history)
        yield "retry: 3000\n" + _sse(sent)
        while True:
            event = await subscription.next(HEARTBEAT_S)
            if not await _still_watching(console, service, request, lane):
                return
            if event is not None:
                history.appendleft(event)
            panel = _panel(console, service, history)
            if event is None and panel == sent:
                yield ": keep-alive\n\n"
                continue
            sent = panel
            yield _sse(panel)


# --- the records ----------------------------------------------------------------------------


def _kst(at: float) -> datetime:
    return datetime.fromtimestamp(at, KST)


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _bad_filter() from None


def _record_filter(query: Mapping[str, str], lane: str | None) -> RecordFilter:
    """The records a query asks for: dates (KST, both inclusive), decision, employee number."""
    since, until = _day(query.get("from")), _day(query.get("to"))
    decision = query.get("decision") or None
    if decision not in (None, "allow", "deny"):
        raise _bad_filter()
    employee = query.get("employee", "").strip() or None
    if employee is not None and not _EMPLOYEE_NUMBER.match(employee):
        raise _bad_filter()

    def start(day: date) -> float:
        return datetime(day.year, day.month, day.day, tzinfo=KST).timestamp()

    return RecordFilter(
        since=start(since) if since else None,
        until=start(until + timedelta(days=1)) if until else None,
        allow=None if decision is None else decision == "allow",
        employee_number=employee,
        gate_id=lane,
    )


def _page(query: Mapping[str, str]) -> int:
    value = query.get("page", "1")
    if not value.isdigit() or not 1 <= int(value) <= 100_000:
        raise _bad_filter()
    return int(value)


def _row(record: dict[str, Any]) -> dict[str, Any]:
    ko, en = _labels(record["reason"])
    time = _kst(record["at"]).strftime("%Y-%m-%d %H:%M:%S")
    return {**record, "time": time, "reason_ko": ko, "reason_en": en}


def _csv_chunks(service: GateService, where: RecordFilter) -> Iterator[bytes]:
    yield "\ufeff".encode()  # the BOM: Excel reads the file as UTF-8
    yield records_csv((), header=True).encode()
    after: tuple[float, str] | None = None
    while True:
        with service.engine.connect() as conn:
            rows = records_after(conn, where, after, CSV_CHUNK)
        if not rows:
            return
        yield records_csv(rows, header=False).encode()
        after = (rows[-1]["at"], rows[-1]["id"])


# --- the routes -------------------------------------------------------------------------------


def _router(service: GateService, console: Console) -> APIRouter:
    router = APIRouter()
    operator = Depends(require_role(ROLE))

    @router.get("/console")
    async def home() -> Response:
        return RedirectResponse("/display", 303)

    @router.get("/display")
    async def display(request: Request, viewer: Viewer = operator) -> Response:
        lane = _covered_lane(viewer, service, request.query_params.get("lane"))
        events = "/display/events" + (f"?{urlencode({'lane': lane})}" if lane else "")
        return console.render(
            request,
            "gate/display.html",
            {"events": events, "lane": lane, "decisions": [], "state": gate_state(service)},
        )

    @router.get("/display/events")
    async def display_events(request: Request, viewer: Viewer = operator) -> Response:
        lane = _covered_lane(viewer, service, request.query_params.get("lane"))
        return StreamingResponse(
            _events(console, service, lane, request),
            media_type="text/event-stream",
            headers={**console.headers, "X-Accel-Buffering": "no"},
        )

    @router.get("/records")
    async def records(request: Request, viewer: Viewer = operator) -> Response:
        query = request.query_params
        lane = _covered_lane(viewer, service, query.get("lane") or None)
        where, page = _record_filter(query, lane), _page(query)
        with service.engine.connect() as conn:
            total = count_records(conn, where)
            rows = find_records(conn, where, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        kept = {k: v for k, v in query.items() if k != "page" and v}
        return console.render(
            request,
            "gate/records.html",
            {
                "rows": [_row(r) for r in rows],
                "total": total,
                "page": page,
                "pages": max(1, -(-total // PAGE_SIZE)),
                "query": kept,
                "query_string": urlencode(kept),
            },
        )

    @router.get("/records.csv")
    async def records_export(request: Request, viewer: Viewer = operator) -> Response:
        query = request.query_params
        where = _record_filter(query, _covered_lane(viewer, service, query.get("lane") or None))
        name = f"entry-records-{service.policy.gate_id}-{_kst(service.clock()):%Y%m%d-%H%M%S}.csv"
        return StreamingResponse(
            _csv_chunks(service, where),
            media_type="text/csv; charset=utf-8",
            headers={**console.headers, "Content-Disposition": f'attachment; filename="{name}"'},
        )

    return router
