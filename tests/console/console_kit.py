"""Test kit for the console: a small app with the console installed (a role source from a
dict, a clock tests advance), a sign-in shortcut for tests that are not about signing in, and a
browser (httpx with cookies) that reads CSRF tokens off pages."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from server_kit import serve_app

from console.viewer import Grant, Viewer
from console.web import Console, ConsoleError, NavItem, SignInConfig, check_csrf, require_role

SECRET = b"k" * 32
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Clock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Roles:
    """Grants by employee number, as the issuer's database would give them."""

    grants: dict[str, list[Grant]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    async def __call__(self, employee_number: str) -> Sequence[Grant]:
        self.asked.append(employee_number)
        return list(self.grants.get(employee_number, ()))


def make_console(
    roles: Roles,
    clock: Clock,
    *,
    login_url: str = "http://localhost:9",
    base_url: str = "http://testserver",
    client_id: str = "console",
    client_secret: str | None = "console-secret",
    **kwargs: Any,
) -> Console:
    kwargs.setdefault("secure_cookies", False)
    return Console(
        title="테스트 콘솔 / Test console",
        templates=Path(__file__).parent / "templates",
        roles=roles,
        signin=SignInConfig(login_url, client_id, client_secret, base_url),
        session_secret=SECRET,
        clock=clock,
        nav=[NavItem("인사 / HR", "/console/hr", ("hr_officer",))],
        **kwargs,
    )


def kit_app(console: Console) -> FastAPI:
    """Pages that exercise the kit, and `/test-signin/{n}` to start a session directly."""
    app = FastAPI()

    @app.get("/test-signin/{number}")
    async def test_signin(request: Request, number: str, only: str | None = None) -> Response:
        console.sign_in(
            request, number, f"직원 {number}", amr=["test"], only=[only] if only else None
        )
        return Response("signed in")

    @app.get("/console")
    async def home(
        request: Request, viewer: Annotated[Viewer, Depends(require_role("employee"))]
    ) -> Any:
        return console.render(request, "page.html", {"message": f"home of {viewer.name}"})

    @app.get("/console/hr")
    async def hr(
        request: Request, viewer: Annotated[Viewer, Depends(require_role("hr_officer"))]
    ) -> Any:
        scopes = sorted(s or "*" for s in viewer.scopes("hr_officer"))
        return console.render(request, "page.html", {"message": "hr " + ",".join(scopes)})

    @app.post("/console/act", dependencies=[Depends(check_csrf)])
    async def act(
        request: Request, viewer: Annotated[Viewer, Depends(require_role("employee"))]
    ) -> Any:
        return console.render(request, "page.html", {"message": f"acted by {viewer.actor}"})

    @app.get("/console/boom")
    async def boom() -> Any:
        raise ConsoleError(409, "already_decided", "이미 처리됨 / Already decided")

    @app.get("/console/crash")
    async def crash() -> Any:
        raise RuntimeError("secret internals /etc/passwd")

    @app.get("/api/thing")
    async def api_thing() -> dict[str, str]:
        return {"thing": "json"}

    from mobileid.edge import ServiceErrors, install_edge

    install_edge(app, ServiceErrors(ValueError, _no_refusal), max_body_bytes=64 * 1024)
    console.install(app)
    return app


def _no_refusal(exc: Exception) -> Any:
    from mobileid.edge import Refusal

    return Refusal("invalid_request", "bad value", 400)


@contextlib.contextmanager
def browser_on(app: FastAPI) -> Iterator[httpx.Client]:
    """`app` served on 127.0.0.1 and a browser (cookies kept, redirects not followed)."""
    with serve_app(app) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        yield client


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, html
    return match.group(1)


def signed_in(client: httpx.Client | Any, number: str, only: str | None = None) -> None:
    response = client.get(f"/test-signin/{number}", params={"only": only} if only else None)
    assert response.status_code == 200, response.text
