"""The issuer's console: pages for people under `/console` (employee, department head, HR
officer, operator), mounted by the assembly when a login service is configured.

Each area is a module with a router (`home`, and the areas other modules add); templates live in
`templates/issuer/`. Pages reach the console through `console.web.console_of(request)` and the
issuer through `issuer.context.issuer_context`, like the HR API.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.orm import Session

from console.web import Console, NavItem, SignInConfig
from issuer.console.employee import employee_router
from issuer.console.home import AREAS, home_router
from issuer.console.hr import HR_ROUTERS
from issuer.console.inbox import inbox_router
from issuer.console.ops import OpsConfig, ops_router
from issuer.console.roles import issuer_role_source
from issuer.console.signin import signin_router

__all__ = ["ISSUER_CONSOLE_TITLE", "TEMPLATES", "install_issuer_console", "issuer_console"]

ISSUER_CONSOLE_TITLE = "모바일 공무원증 관리 / Mobile ID console"
TEMPLATES = Path(__file__).parent / "templates"


def issuer_console(
    *,
    unit_of_work: Callable[[], AbstractContextManager[Session]],
    clock: Callable[[], datetime],
    signin: SignInConfig,
    session_secret: bytes,
    secure_cookies: bool,
    idle_timeout_s: int = 900,
    session_clock: Callable[[], float] | None = None,
) -> Console:
    """The console of the issuer: roles from HR data and grants, the areas in its navigation."""
    return Console(
        title=ISSUER_CONSOLE_TITLE,
        templates=TEMPLATES,
        roles=issuer_role_source(unit_of_work, clock),
        signin=signin,
        session_secret=session_secret,
        secure_cookies=secure_cookies,
        idle_timeout_s=idle_timeout_s,
        nav=[NavItem(area.label, area.href, area.roles) for area in AREAS],
        clock=session_clock or time.time,
    )


def install_issuer_console(app: FastAPI, console: Console, ops: OpsConfig | None = None) -> None:
    """Mount the console and its pages on the issuer's app (after its error handlers); `ops`:
    what the operators' overview asks of the other services (none: only the issuer itself)."""
    app.include_router(home_router)
    app.include_router(signin_router)
    app.include_router(employee_router(console))
    app.include_router(inbox_router(console))
    for router in HR_ROUTERS:
        app.include_router(router)
    app.include_router(ops_router(ops or OpsConfig()))
    console.install(app)
